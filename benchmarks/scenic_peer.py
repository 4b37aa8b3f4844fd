"""scenegym against Scenic sampling comparable highway scenes on the same road, in the same
run: scenes per second, validity, criticality, and how many hit a criticality target.

What it measures
----------------
One road (``--road``: a straight 360 m road of 3 lanes, or ``curved``: 360 m of 3 lanes
turning at a 600 m radius after 150 m) is written as OpenDRIVE by scenegym's exporter and
given to Scenic as its map (``param map``, ``use2DMap``). Both sides place ``--vehicles``
vehicles on it:

- **Scenic** (3.x, the scenario language; no simulator): ``traffic`` places every car
  anywhere on the road at 20-33 m/s (Scenic's defaults keep cars on the road, facing its
  direction, not overlapping); ``cut-in`` also puts a lead car 8-25 m ahead of the ego in its
  lane at 10-20 m/s while the ego drives 25-33 m/s: the classic critical scenario written by
  hand. Timed: ``generateBatch`` of ``--n`` scenes after compiling the program (compile time
  apart). Scenic has its own dependencies (it pulls ``opencv-python``), so it runs in its
  own Python (``--scenic-python``), which prints the sampled objects as JSON.
- **scenegym**: ``random``, the random scene space's vehicles on the same road (uniform
  placement, its speeds); ``critical``, the same draws kept when their ``criticality`` (5 s
  rollout) reaches ``--target``, drawn in batches until ``--n`` are kept; ``policy``, a
  trained generation run on the same road (``--run``, when given). Timed end to end.

Every scene is then judged by scenegym alike: Scenic's cars are mapped onto the road
(position to station and offset, heading relative to the lane), the validity rules are
checked, and ``criticality`` is measured. ``hit_rate`` is the share of scenes whose
criticality reaches ``--target`` without a collision (critical, not a crash), ``valid_hit_rate``
the share that also break no rule, and ``valid_hits_per_s`` what a tester gets per second.

Run::

    python3 -m venv /tmp/scenic && /tmp/scenic/bin/pip install scenic==3.1.1
    .venv/bin/python benchmarks/scenic_peer.py --scenic-python /tmp/scenic/bin/python \\
        --n 200 --run quickstart/run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from scenegym.bridges.openscenario import write_openscenario
from scenegym.scene import (
    HighwaySceneSpace,
    HighwaySpaceConfig,
    Road,
    Scene,
    Vehicles,
    criticality,
    is_valid,
)

PROGRAMS = {
    "traffic": """
param map = localPath('road.xodr')
param use2DMap = True
model scenic.domains.driving.model
ego = new Car with speed Range(20, 33)
for i in range({others}):
    new Car with speed Range(20, 33)
""",
    "cut-in": """
param map = localPath('road.xodr')
param use2DMap = True
model scenic.domains.driving.model
ego = new Car with speed Range(25, 33)
lead = new Car following roadDirection from ego for Range(8, 25), with speed Range(10, 20)
for i in range({others_less}):
    new Car with speed Range(20, 33)
""",
}

SAMPLER = """
import json, sys, time, scenic
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
import random, numpy
random.seed(seed); numpy.random.seed(seed)
began = time.perf_counter()
scenario = scenic.scenarioFromFile(path)
compiled = time.perf_counter() - began
began = time.perf_counter()
scenes, iterations = scenario.generateBatch(n)
seconds = time.perf_counter() - began
out = [[[o.position.x, o.position.y, o.heading, o.speed, o.length, o.width] for o in s.objects]
       for s in scenes]
print(json.dumps({"compile_s": compiled, "seconds": seconds, "iterations": iterations,
                  "scenes": out}))
"""


def the_road(kind: str) -> Road:
    if kind == "curved":
        return Road(
            segment_lengths=[150.0, 210.0],
            segment_curvatures=[0.0, 1.0 / 600.0],
            lane_widths=[3.5, 3.5, 3.5],
            speed_limit=33.3,
        )
    return Road.straight(length=360.0, lanes=3)


def from_scenic(road: Road, objects: list[list[float]]) -> Scene:
    """Scenic objects (x, y, heading with 0 pointing to +y, speed, length, width) as a scene."""
    x, y, heading, speed, length, width = np.array(objects, dtype=np.float64).T
    s, offset = road.cartesian_to_frenet(x, y)
    lane = road.nearest_lane(s, offset)
    _, _, reference = road.reference_pose(s)
    yaw = heading + np.pi / 2.0  # Scenic's heading is measured from +y
    relative = (yaw - reference + np.pi) % (2 * np.pi) - np.pi
    vehicles = Vehicles.from_columns(
        lane=lane,
        s=s,
        d=offset - road.lane_centers[lane],
        heading=relative,
        speed=speed,
        length=length,
        width=width,
    )
    return Scene(road, vehicles, context={"source": "scenic"})


def judge(scenes: list[Scene], seconds: float, target: float) -> dict:
    measures = criticality(scenes)
    value, crashed = measures["criticality"], measures["collision"] > 0
    valid = np.array([is_valid(scene) for scene in scenes])
    hit = (value >= target) & ~crashed
    return {
        "scenes": len(scenes),
        "seconds": round(seconds, 4),
        "scenes_per_s": round(len(scenes) / seconds, 1),
        "validity_rate": round(float(valid.mean()), 4),
        "criticality_mean": round(float(value.mean()), 4),
        "collision_rate": round(float(crashed.mean()), 4),
        "hit_rate": round(float(hit.mean()), 4),
        "valid_hit_rate": round(float((hit & valid).mean()), 4),
        "valid_hits_per_s": round(float((hit & valid).sum()) / seconds, 2),
    }


def scenic_side(args, road: Road, folder: Path) -> dict:
    write_openscenario(Scene(road, Vehicles.empty()), folder / "road.xosc")
    results = {}
    for name, text in PROGRAMS.items():
        program = folder / f"{name}.scenic"
        others = args.vehicles - 1
        program.write_text(text.format(others=others, others_less=others - 1))
        done = subprocess.run(
            [args.scenic_python, "-c", SAMPLER, str(program), str(args.n), str(args.seed)],
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
            cwd=folder,
        )
        if done.returncode != 0:
            raise SystemExit(f"Scenic failed on {name}: {done.stderr.strip().splitlines()[-1]}")
        sampled = json.loads(done.stdout.strip().splitlines()[-1])
        scenes = [from_scenic(road, objects) for objects in sampled["scenes"]]
        results[f"scenic {name}"] = judge(scenes, sampled["seconds"], args.target) | {
            "compile_s": round(sampled["compile_s"], 3),
            "rejection_iterations": sampled["iterations"],
        }
    return results


def scenegym_side(args, road: Road) -> dict:
    space = HighwaySceneSpace(HighwaySpaceConfig(vehicles=(args.vehicles, args.vehicles)))
    results = {}
    began = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    drawn = [Scene(road, space.sample_vehicles(road, rng)) for _ in range(args.n)]
    results["scenegym random"] = judge(drawn, time.perf_counter() - began, args.target)
    began = time.perf_counter()
    kept: list[Scene] = []
    tried = 0
    while len(kept) < args.n and tried < 200 * args.n:
        batch = [Scene(road, space.sample_vehicles(road, rng)) for _ in range(256)]
        tried += len(batch)
        measures = criticality(batch)
        good = (measures["criticality"] >= args.target) & (measures["collision"] == 0)
        kept += [scene for scene, ok in zip(batch, good) if ok and is_valid(scene)]
    seconds = time.perf_counter() - began
    results["scenegym critical"] = judge(kept[: args.n], seconds, args.target) | {"drawn": tried}
    if args.run:
        from scenegym.agents import GenerationPolicy

        policy = GenerationPolicy.load(args.run)
        began = time.perf_counter()
        sample = policy.sample(args.n, seed=args.seed, roads=[road])
        results["scenegym policy"] = judge(sample.scenes, time.perf_counter() - began, args.target)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenic-python", default="", help="a Python with scenic installed (empty: no Scenic)"
    )
    parser.add_argument("--n", type=int, default=200, help="scenes per generator")
    parser.add_argument("--vehicles", type=int, default=10)
    parser.add_argument("--target", type=float, default=0.8, help="criticality to reach")
    parser.add_argument("--road", choices=("straight", "curved"), default="straight")
    parser.add_argument("--run", default="", help="a trained generation run (optional)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    road = the_road(args.road)
    with tempfile.TemporaryDirectory() as folder:
        result = {
            "road": args.road,
            "vehicles": args.vehicles,
            "target": args.target,
            "generators": (scenic_side(args, road, Path(folder)) if args.scenic_python else {})
            | scenegym_side(args, road),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
