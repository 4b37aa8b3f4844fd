"""scenegym's rollout (``scenegym.scene.roll_out``) against highway-env stepping the same
scenes with its own traffic, in the same run.

What it measures
----------------
The scenes are drivable scenes of the random space whose lanes all span the road (the
rollout's agreement with highway-env is tested on such scenes). For each batch size
(``--batches``), the same scenes are:

- **highway-env**: built with ``scenegym.bridges.to_highway`` as ``IDMVehicle`` traffic on a
  ``Road`` with ``neighbour_vehicles_connected_lanes``, then ``road.act()`` and
  ``road.step(dt)`` for ``--horizon`` s at ``--frequency`` Hz, one scene after another
  (highway-env simulates one road at a time); the road construction is timed apart
  (``build_s``) and is not in ``steps_per_s``;
- **scenegym**: ``roll_out(batch)``: all scenes of the batch at once, everything included.

``vehicle_steps_per_s`` counts one vehicle moved by one step; ``ratio`` is scenegym's rate
over highway-env's (target: at least 20, so that a rollout can score every scene of a
training batch). The agreement measured on the same scenes is reported too: scenes whose first
collision (step and vehicles) is the same, and the largest position gap over the horizon in
the scenes without a collision (median and share within 1 m). The process is pinned to one
core; the best of ``--repeats`` rounds is kept.

Run::

    .venv/bin/python benchmarks/rollout_speed.py     # about 3 minutes on one core
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from scenegym.agents.teachers import drivable
from scenegym.bridges.highway import to_highway
from scenegym.scene import HighwaySceneSpace, roll_out

TARGET = 20.0


def scenes_for(count: int, seed: int) -> list:
    scenes = []
    for scene in HighwaySceneSpace().sample_many(12 * count, seed):
        road = scene.road
        if (road.lane_starts <= 0).all() and (road.lane_ends >= road.length).all():
            kept = drivable(scene)
            if kept is not None:
                scenes.append(kept)
        if len(scenes) == count:
            return scenes
    raise RuntimeError(f"only {len(scenes)} of {count} scenes were drivable")


def highway_run(scenes, steps: int, dt: float) -> tuple[float, float, list]:
    """(stepping seconds, building seconds, per scene: positions and first crash steps)."""
    from highway_env.vehicle.behavior import IDMVehicle

    stepping = building = 0.0
    runs = []
    for scene in scenes:
        began = time.perf_counter()
        road, _, vehicles = to_highway(scene, vehicle_class=IDMVehicle)
        road.neighbour_vehicles_connected_lanes = True
        built = time.perf_counter()
        positions, crashed = [np.array([v.position for v in vehicles])], {}
        moving = 0.0
        for step in range(1, steps + 1):
            tick = time.perf_counter()
            road.act()
            road.step(dt)
            moving += time.perf_counter() - tick
            positions.append(np.array([v.position for v in vehicles]))
            for k, vehicle in enumerate(vehicles):
                if vehicle.crashed:
                    crashed.setdefault(k, step)
        building += built - began
        stepping += moving
        runs.append((np.array(positions) * [1.0, -1.0], crashed))
    return stepping, building, runs


def _first(crashes: dict[int, int]):
    if not crashes:
        return None, ()
    step = min(crashes.values())
    return step, tuple(sorted(k for k, s in crashes.items() if s == step))


def agreement(scenes, rollout, runs) -> dict:
    same, gaps = 0, []
    worlds = [rollout.world(step) for step in range(rollout.steps + 1)]
    for k, (scene, (positions, crashed)) in enumerate(zip(scenes, runs)):
        at = slice(rollout.batch.first[k], rollout.batch.first[k] + len(scene.vehicles))
        mine = {j: int(c) for j, c in enumerate(rollout.crash_step[at]) if c >= 0}
        same += _first(mine) == _first(crashed)
        if not mine and not crashed:
            gaps.append(
                max(
                    float(np.max(np.hypot(x[at] - p[:, 0], y[at] - p[:, 1])))
                    for (x, y, _), p in zip(worlds, positions)
                )
            )
    gaps = np.array(gaps)
    return {
        "scenes": len(scenes),
        "same_first_collision": same,
        "collision_free_scenes": int(gaps.size),
        "position_gap_median_m": round(float(np.median(gaps)), 4) if gaps.size else None,
        "position_gap_p95_m": round(float(np.quantile(gaps, 0.95)), 4) if gaps.size else None,
        "share_within_1m": round(float(np.mean(gaps <= 1.0)), 4) if gaps.size else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 128, 512])
    parser.add_argument("--horizon", type=float, default=5.0)
    parser.add_argument("--frequency", type=float, default=15.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--agreement", type=int, default=200, help="scenes compared")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    steps = round(args.horizon * args.frequency)
    dt = 1.0 / args.frequency
    largest = max(max(args.batches), args.agreement)
    pool = scenes_for(largest, args.seed)
    result = {
        "horizon_s": args.horizon,
        "frequency_hz": args.frequency,
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cases": [],
    }
    for size in args.batches:
        scenes = pool[:size]
        vehicle_steps = sum(len(s.vehicles) for s in scenes) * steps
        # highway-env steps a scene in milliseconds: time at most 64 scenes, scaled up.
        sample = scenes[: min(size, 64)]
        sample_steps = sum(len(s.vehicles) for s in sample) * steps
        peer, mine = [], []
        for _ in range(args.repeats):
            stepping, building, _ = highway_run(sample, steps, dt)
            peer.append((sample_steps / stepping, building / len(sample)))
            began = time.perf_counter()
            roll_out(scenes, horizon=args.horizon, frequency=args.frequency)
            mine.append(vehicle_steps / (time.perf_counter() - began))
        best_peer = max(rate for rate, _ in peer)
        result["cases"].append(
            {
                "scenes": size,
                "vehicles": int(sum(len(s.vehicles) for s in scenes)),
                "highway_env_vehicle_steps_per_s": round(best_peer),
                "highway_env_build_ms_per_scene": round(1000 * min(b for _, b in peer), 2),
                "scenegym_vehicle_steps_per_s": round(max(mine)),
                "ratio": round(max(mine) / best_peer, 2),
            }
        )
    scenes = pool[: args.agreement]
    _, _, runs = highway_run(scenes, steps, dt)
    rollout = roll_out(scenes, horizon=args.horizon, frequency=args.frequency)
    result["agreement"] = agreement(scenes, rollout, runs)
    result["target_ratio"] = TARGET
    result["met_at"] = [c["scenes"] for c in result["cases"] if c["ratio"] >= TARGET]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
