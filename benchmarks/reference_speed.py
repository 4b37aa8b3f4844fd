"""Speed of the naturalistic reference: build time, cached reload, and the traffic step rate.

What it measures
----------------
- ``build_seconds``: ``naturalistic_reference(N, seed, cache=False)`` with one worker per CPU.
- ``reload_seconds``: the same call again after the cache is written (a fresh cache folder).
- The simulation step rate on one core, against the named peer **stock highway-env**: the same
  road network and the same initial vehicles (positions, speeds, sizes, IDM/MOBIL parameters)
  stepped by highway-env's own ``Road`` and ``IDMVehicle`` (neighbour search by scanning every
  vehicle, lane search over every lane after each vehicle's step) and by scenegym's traffic
  (Frenet-indexed neighbour search, lanes updated for all vehicles at once).

Run::

    .venv/bin/python benchmarks/reference_speed.py              # 2,000 scenes
    .venv/bin/python benchmarks/reference_speed.py --n 500
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np


def _step_rates(steps: int, seed: int) -> dict:
    from highway_env.road.road import Road as StockRoad
    from highway_env.vehicle.behavior import IDMVehicle

    from scenegym.bridges.highway import resize
    from scenegym.bridges.reference import ReferenceConfig, _Traffic

    config = ReferenceConfig(bottleneck_probability=0.0, demand=(0.4, 0.4), lanes=(4, 4))
    traffic = _Traffic(np.random.default_rng([seed, 0]), config)
    vehicles = list(traffic.highway.vehicles)

    stock = StockRoad(network=traffic.built.network, np_random=np.random.RandomState(seed))
    for vehicle in vehicles:
        copy = IDMVehicle(
            stock,
            vehicle.position.copy(),
            vehicle.heading,
            vehicle.speed,
            target_speed=vehicle.target_speed,
        )
        resize(copy, vehicle.LENGTH, vehicle.WIDTH)
        copy.DELTA = vehicle.DELTA
        stock.vehicles.append(copy)

    def rate(road) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            road.act()
            road.step(config.step)
        return steps / (time.perf_counter() - start)

    scenegym_rate = rate(traffic.highway)
    stock_rate = rate(stock)
    return {
        "vehicles": len(vehicles),
        "steps": steps,
        "scenegym_steps_per_s": round(scenegym_rate, 1),
        "stock_highway_env_steps_per_s": round(stock_rate, 1),
        "ratio": round(scenegym_rate / stock_rate, 2),
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="reference scenes to build")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=50, help="steps for the step-rate peer")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        os.environ["SCENEGYM_CACHE"] = cache
        from scenegym.bridges import naturalistic_reference

        start = time.perf_counter()
        scenes = naturalistic_reference(args.n, args.seed)
        build = time.perf_counter() - start
        start = time.perf_counter()
        again = naturalistic_reference(args.n, args.seed)
        reload = time.perf_counter() - start
        assert again == scenes

    import highway_env

    import scenegym

    return {
        "scenes": len(scenes),
        "vehicles": sum(len(scene.vehicles) for scene in scenes),
        "build_seconds": round(build, 1),
        "reload_seconds": round(reload, 3),
        "target_build_seconds": 120.0,
        "meets_build_target": build < 120.0,
        "step_rate_one_core": _step_rates(args.steps, args.seed),
        "settings": {"n": args.n, "seed": args.seed, "workers": os.cpu_count()},
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "highway_env": getattr(highway_env, "__version__", "unknown"),
            "scenegym": scenegym.__version__,
        },
    }


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=2)
    sys.stdout.write("\n")
