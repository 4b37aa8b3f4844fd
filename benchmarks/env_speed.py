"""Environment steps per second with random actions, against CartPole-v1 in the same run.

Each registered ``scenegym/DrivingLayout-*`` environment and Gymnasium's ``CartPole-v1`` take
``--steps`` random actions (resetting when an episode ends) on one core; the best of
``--repeats`` passes is reported. One JSON object is printed.

Run::

    .venv/bin/python benchmarks/env_speed.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import gymnasium as gym
import numpy as np

TARGET_EDIT_STEPS_PER_S = 20_000.0


def _rate(env: gym.Env, steps: int, seed: int) -> float:
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(steps)]
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pinned = None
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        pinned = core

    import scenegym

    ids = sorted(env_id for env_id in gym.registry if env_id.startswith("scenegym/DrivingLayout"))
    steps_per_s = {}
    for env_id in ids:
        env = gym.make(env_id, goal={"ranges": {"density": [5.0, 60.0]}}).unwrapped
        steps_per_s[env_id] = round(
            max(_rate(env, args.steps, args.seed) for _ in range(args.repeats)), 1
        )
    cartpole = gym.make("CartPole-v1").unwrapped
    cartpole_rate = max(_rate(cartpole, args.steps * 10, args.seed) for _ in range(args.repeats))
    edit = steps_per_s.get("scenegym/DrivingLayout-edit-v0", float("nan"))
    return {
        "steps_per_s": steps_per_s,
        "cartpole_steps_per_s": round(cartpole_rate, 1),
        "edit_vs_cartpole": round(edit / cartpole_rate, 3),
        "target_edit_steps_per_s": TARGET_EDIT_STEPS_PER_S,
        "meets_target": bool(edit >= TARGET_EDIT_STEPS_PER_S),
        "settings": {
            "steps": args.steps,
            "repeats": args.repeats,
            "seed": args.seed,
            "pinned_core": pinned,
            "goal": "density in [5, 60] veh/km",
            "reward": "validity 1 + goal 1 (no realism model)",
        },
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "gymnasium": gym.__version__,
            "scenegym": scenegym.__version__,
        },
    }


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=2)
    sys.stdout.write("\n")
