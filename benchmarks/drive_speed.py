"""Drive-v1 steps per second against highway-env's highway-v0 and highway-fast-v0 with the same
settings, in the same run.

What it measures
----------------
For each peer, ``highway-v0`` (simulation at 15 Hz, 4 lanes, 50 vehicles, 40 s episodes, every
vehicle checked for collisions) and ``highway-fast-v0`` (5 Hz, 3 lanes, 20 vehicles, 30 s, other
vehicles checked against the ego only):

- **the same scenes**: the peer is reset with seeds ``seed .. seed + scenes - 1`` and each road
  it creates is captured as a scenegym ``Scene`` (``scenegym.bridges.from_highway`` on a
  scenegym ``Road`` with the same lanes: straight, 10 km, 4 m wide, 30 m/s); ``scenegym/Drive-v1``
  starts episode ``k`` in scene ``k`` with highway-env's ego (vehicle 0) as its ego and seed
  ``seed + k``, the peer with reset seed ``seed + k``: both start from the same positions,
  speeds and sizes;
- **the same settings**: Drive-v1 gets ``simulation_frequency``, ``duration`` and (for the
  fast pair) ``traffic_collisions: False``, the peer's; observation (Kinematics), policy
  frequency (1 Hz), traffic (``IDMVehicle`` with randomised behaviour) are both highway-env's
  defaults. What differs is listed under ``differences`` in the JSON;
- **the same actions**: one seeded random sequence of the 5 meta-actions, shared by both.

``steps_per_s`` counts ``env.step`` calls over the time of the whole loop, resets at episode
ends included; ``step_only_steps_per_s`` leaves the resets out; ``reset_ms`` is the time of one
reset, the mean over a reset into each captured scene. ``ratio`` is Drive-v1's rate over the
peer's (target: not below 1, within this machine's run-to-run spread of ``TOLERANCE``). Each
environment is used unwrapped (no Gymnasium checker wrappers), the process is pinned to one
core, and the best of ``--repeats`` rounds is reported (rounds alternate peer and Drive-v1).

``dense`` repeats both pairs with 80 vehicles (the peer's ``vehicles_count`` and the scenes
captured from it): how the step time grows with traffic. ``curved`` steps Drive-v1 on the
highway-fast-v0 scenes moved onto curved roads of 2 and 10 km (the same lanes and vehicles in
road coordinates; 400 m pieces, straight and 1 km radius turns alternating, each piece a
section of its own in highway-env's network), which highway-env's highway environments cannot
hold: what curves and lane sections cost. ``--profile`` adds each case's top functions under
cProfile (by own time) for Drive-v1 and the peer.

Run::

    .venv/bin/python benchmarks/drive_speed.py               # about 2 minutes on 2 cores
    .venv/bin/python benchmarks/drive_speed.py --long        # 3 times the steps, 3 rounds: 17 min
    .venv/bin/python benchmarks/drive_speed.py --profile     # about 3 minutes
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import json
import os
import platform
import pstats
import sys
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

TOLERANCE = 0.05
"""Ratios within this of 1 count as "not slower": the spread of one environment's rate between
rounds on this machine."""

FAST = {"simulation_frequency": 5, "traffic_collisions": False, "duration": 30}
PEERS = {
    # peer id: (lanes, vehicles, Drive-v1 config with the peer's settings)
    "highway-v0": (4, 50, {"simulation_frequency": 15, "duration": 40}),
    "highway-fast-v0": (3, 20, FAST),
}
DENSE_VEHICLES = 80
ROAD_LENGTH = 10_000.0  # highway-env's straight_road_network
LANE_WIDTH = 4.0
SPEED_LIMIT = 30.0
CURVE_PIECE = 400.0
CURVE_RADIUS = 1_000.0
CURVED_LENGTHS = (2_000.0, 10_000.0)


def _road(lanes: int, curved_length: float | None = None):
    """highway-env's straight road as a scenegym ``Road``, or a curved one of that length."""
    from scenegym.scene.road import Road

    if curved_length is not None:
        pieces = int(curved_length // CURVE_PIECE)
        turns = np.tile([0.0, 1.0 / CURVE_RADIUS, 0.0, -1.0 / CURVE_RADIUS], pieces // 4 + 1)
        return Road(
            segment_lengths=[CURVE_PIECE] * pieces,
            segment_curvatures=turns[:pieces],
            lane_widths=[LANE_WIDTH] * lanes,
            speed_limit=SPEED_LIMIT,
        )
    straight = Road.straight(
        length=ROAD_LENGTH, lanes=lanes, lane_width=LANE_WIDTH, speed_limit=SPEED_LIMIT
    )
    # highway-env's lane 0 is centred on y = 0: move the reference line (the left edge of
    # lane 0) half a lane to the left so that captured vehicles are centred in their lanes.
    return dataclasses.replace(straight, origin=(0.0, LANE_WIDTH / 2.0, 0.0))


def _capture(peer, road, seeds: list[int]) -> list:
    from scenegym.bridges import from_highway

    scenes = []
    for seed in seeds:
        peer.reset(seed=seed)
        scenes.append(from_highway(road, peer.road))
    return scenes


def _run(env, reset: Callable[[int], object], actions: np.ndarray) -> dict:
    """Step through ``actions``, resetting into the next episode when one ends."""
    episode = 0
    reset(episode)
    reset_time = 0.0
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            episode += 1
            began = time.perf_counter()
            reset(episode)
            reset_time += time.perf_counter() - began
    total = time.perf_counter() - start
    return {
        "steps_per_s": len(actions) / total,
        "step_only_steps_per_s": len(actions) / (total - reset_time),
        "episodes_ended": episode,
    }


def _reset_ms(reset: Callable[[int], object], count: int) -> float:
    start = time.perf_counter()
    for episode in range(count):
        reset(episode)
    return (time.perf_counter() - start) / count * 1000.0


def _best(rounds: list[dict]) -> dict:
    return {
        "steps_per_s": round(max(r["steps_per_s"] for r in rounds), 2),
        "step_only_steps_per_s": round(max(r["step_only_steps_per_s"] for r in rounds), 2),
        "reset_ms": round(min(r["reset_ms"] for r in rounds), 2),
        "episodes_ended": rounds[0]["episodes_ended"],
    }


def _profile(env, reset: Callable[[int], object], actions: np.ndarray, top: int) -> list:
    profiler = cProfile.Profile()
    profiler.enable()
    _run(env, reset, actions)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    site = os.sep + "site-packages" + os.sep
    return [
        {
            "function": f"{path.split(site)[-1]}:{line}({name})",
            "own_share": round(own / total, 3),
            "cumulative_share": round(cumulative / total, 3),
            "calls": calls,
        }
        for (path, line, name), (_, calls, own, cumulative, _) in rows
    ]


def _case(
    peer_id: str,
    vehicles: int,
    drive_config: dict,
    steps: int,
    args: argparse.Namespace,
    *,
    curved: float | None = None,
) -> dict:
    from scenegym.envs.drive import start_report
    from scenegym.scene.scene import Scene

    lanes = PEERS[peer_id][0]
    peer = gym.make(peer_id, config={"vehicles_count": vehicles}).unwrapped
    drive = gym.make("scenegym/Drive-v1", config=drive_config).unwrapped
    seeds = [args.seed + k for k in range(args.scenes)]
    scenes = _capture(peer, _road(lanes), seeds)
    assert all(len(scene.vehicles) == vehicles + 1 for scene in scenes)
    if curved is not None:
        scenes = [Scene(_road(lanes, curved), scene.vehicles) for scene in scenes]
    drivable = sum(start_report(scene, 0)["drivable"] for scene in scenes)
    actions = np.random.default_rng(args.seed).integers(0, 5, steps)

    def peer_reset(episode: int):
        return peer.reset(seed=seeds[episode % len(seeds)])

    def drive_reset(episode: int):
        k = episode % len(seeds)
        return drive.reset(seed=seeds[k], options={"scene": scenes[k], "ego": 0})

    runs = {"peer": (peer, peer_reset), "drive": (drive, drive_reset)}
    if curved is not None:
        del runs["peer"]
    rounds: dict[str, list[dict]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, (env, reset) in runs.items():
            result = _run(env, reset, actions)
            result["reset_ms"] = _reset_ms(reset, len(seeds))
            rounds[name].append(result)
    best = {name: _best(results) for name, results in rounds.items()}
    out = {
        "vehicles": vehicles + 1,
        "lanes": lanes,
        "highway_env_lanes_in_network": len(drive.road.network.lanes_list()),
        "steps": steps,
        "drive": best["drive"],
    }
    if curved is None:
        out["peer"] = best["peer"]
        out["ratio"] = round(best["drive"]["steps_per_s"] / best["peer"]["steps_per_s"], 3)
        out["step_only_ratio"] = round(
            best["drive"]["step_only_steps_per_s"] / best["peer"]["step_only_steps_per_s"], 3
        )
        out["reset_ratio"] = round(best["drive"]["reset_ms"] / best["peer"]["reset_ms"], 3)
    out["scenes_drivable"] = f"{drivable}/{len(scenes)}"
    if args.profile:
        profile_steps = max(10, steps // 3)
        out["profile"] = {
            name: _profile(env, reset, actions[:profile_steps], args.profile_top)
            for name, (env, reset) in runs.items()
        }
    return out


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=600, help="env steps with highway-fast-v0's settings"
    )
    parser.add_argument(
        "--full-steps", type=int, default=80, help="env steps with highway-v0's settings"
    )
    parser.add_argument("--repeats", type=int, default=1, help="rounds; the best is reported")
    parser.add_argument("--scenes", type=int, default=8, help="captured scenes (and seeds)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--long", action="store_true", help="3 times the steps, 3 rounds")
    parser.add_argument("--profile", action="store_true", help="add cProfile's top functions")
    parser.add_argument("--profile-top", type=int, default=8)
    args = parser.parse_args()
    if args.long:
        args.steps, args.full_steps, args.repeats = 3 * args.steps, 3 * args.full_steps, 3
    pinned = None
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        pinned = core

    import highway_env

    import scenegym

    start = time.perf_counter()
    steps = {"highway-v0": args.full_steps, "highway-fast-v0": args.steps}
    pairs = {}
    dense = {}
    for peer_id, (_, vehicles, drive_config) in PEERS.items():
        pairs[peer_id] = _case(peer_id, vehicles, drive_config, steps[peer_id], args)
    # Dense traffic costs more per step than the vehicle count says (neighbour search and
    # collisions go over pairs): fewer steps keep each case's time alike.
    dense_steps = {"highway-v0": args.full_steps // 2, "highway-fast-v0": args.steps // 5}
    for peer_id, (_, _, drive_config) in PEERS.items():
        dense[f"{peer_id}, {DENSE_VEHICLES} vehicles"] = _case(
            peer_id, DENSE_VEHICLES, drive_config, max(10, dense_steps[peer_id]), args
        )
    curved = {}
    fast = pairs["highway-fast-v0"]
    for length in CURVED_LENGTHS:
        case = _case("highway-fast-v0", 20, FAST, args.steps // 3, args, curved=length)
        case["ratio_to_straight"] = round(
            case["drive"]["steps_per_s"] / fast["drive"]["steps_per_s"], 3
        )
        case["ratio_to_peer"] = round(case["drive"]["steps_per_s"] / fast["peer"]["steps_per_s"], 3)
        curved[f"{length / 1000:g} km, {int(length // CURVE_PIECE)} pieces"] = case
    return {
        "pairs": pairs,
        "meets_target": {
            peer_id: bool(pair["ratio"] >= 1.0 - TOLERANCE) for peer_id, pair in pairs.items()
        },
        "target": "Drive-v1 not slower than its peer with the same settings (ratio >= 1)",
        "tolerance": TOLERANCE,
        "dense": dense,
        "curved": curved,
        "differences": [
            "Drive-v1's ego has 8 target speeds (0, 5, ..., 35 m/s) instead of 20, 25, 30",
            "Drive-v1's rewards are its task's (progress, crash) and it ends an episode when "
            "the ego reaches the road's end (10 km: never within an episode here)",
            "Drive-v1 checks each start against scenegym's rules at reset (start_report)",
            "traffic draws its randomised IDM behaviour from the same seed in another order, "
            "so the episodes' courses (and where they crash) differ",
            "lane markings (rendering only)",
        ],
        "settings": {
            "steps": args.steps,
            "full_steps": args.full_steps,
            "dense_steps": {name: case["steps"] for name, case in dense.items()},
            "curved_steps": args.steps // 3,
            "repeats": args.repeats,
            "scenes": args.scenes,
            "seed": args.seed,
            "actions": "seeded random meta-actions, the same sequence for both",
            "pinned_core": pinned,
            "seconds": round(time.perf_counter() - start, 1),
        },
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "gymnasium": gym.__version__,
            "highway_env": getattr(highway_env, "__version__", "unknown"),
            "scenegym": scenegym.__version__,
        },
    }


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=2)
    sys.stdout.write("\n")
