"""Environment steps per second with random actions, against CartPole-v1 in the same run.

Each registered ``scenegym/DrivingLayout-*`` environment and Gymnasium's ``CartPole-v1`` take
``--steps`` random actions (resetting when an episode ends) on one core; the best of
``--repeats`` passes is reported. Then the same with ``--num-envs`` environments in lockstep:
scenegym's ``DrivingLayoutVecEnv`` (one batched scoring pass per step, what training and
sampling use) against Gymnasium's own vectorised ``CartPole-v1`` (numpy over all copies) and
SB3's ``DummyVecEnv`` of ``CartPole-v1``; a vector step of ``n`` environments counts as ``n``
steps. One JSON object is printed.

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
from pathlib import Path

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


def _vector_rate(venv, steps: int, seed: int, sample) -> float:
    venv.reset()
    actions = [sample() for _ in range(steps)]
    start = time.perf_counter()
    for action in actions:
        venv.step(action)
    return steps * venv.num_envs / (time.perf_counter() - start)


def _decoder():
    """A scene prior of the default size, fitted for one epoch on 64 random scenes: its
    decoding costs what a trained one's does."""
    import tempfile

    from scenegym.generators.prior import fit_prior
    from scenegym.scene import HighwaySceneSpace

    with tempfile.TemporaryDirectory() as folder:
        scenes = list(HighwaySceneSpace().sample_many(64, 0))
        return fit_prior(scenes, Path(folder) / "prior", {"epochs": 1})


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-envs", type=int, default=256)
    args = parser.parse_args()
    pinned = None
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        pinned = core

    import scenegym

    ids = sorted(env_id for env_id in gym.registry if env_id.startswith("scenegym/DrivingLayout"))
    decoder = _decoder()  # the latent representation decodes with a default-size VAE
    extra = {env_id: {"decoder": decoder} if "-latent-" in env_id else {} for env_id in ids}
    steps_per_s = {}
    for env_id in ids:
        env = gym.make(env_id, goal={"ranges": {"density": [5.0, 60.0]}}, **extra[env_id])
        env = env.unwrapped
        steps_per_s[env_id] = round(
            max(_rate(env, args.steps, args.seed) for _ in range(args.repeats)), 1
        )
    cartpole = gym.make("CartPole-v1").unwrapped
    cartpole_rate = max(_rate(cartpole, args.steps * 10, args.seed) for _ in range(args.repeats))
    # Both edit versions must reach the target: the smaller rate counts.
    edit = min(rate for env_id, rate in steps_per_s.items() if "-edit-" in env_id)

    from stable_baselines3.common.vec_env import DummyVecEnv

    from scenegym.envs.vector import DrivingLayoutVecEnv

    n = args.num_envs
    rng = np.random.default_rng(args.seed)
    vector_steps = max(1, args.steps * 10 // n)
    vector_per_s = {}
    for env_id in ids:
        venv = DrivingLayoutVecEnv(
            n,
            **gym.spec(env_id).kwargs,
            goal={"ranges": {"density": [5.0, 60.0]}},
            **extra[env_id],
        )
        venv.seed(args.seed)
        venv.action_space.seed(args.seed)
        space = venv.action_space
        sample = (
            (lambda s=space: np.stack([s.sample() for _ in range(n)]))
            if "construct" not in env_id
            # Masked placements change nothing; sample among the allowed ones, as a policy does.
            else (
                lambda v=venv: np.array([rng.choice(np.flatnonzero(m)) for m in v.action_masks()])
            )
        )
        rate = max(_vector_rate(venv, vector_steps, args.seed, sample) for _ in range(args.repeats))
        vector_per_s[env_id] = round(rate, 1)
    gym_cartpole = gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="vector_entry_point")
    gym_cartpole.action_space.seed(args.seed)
    gym_cartpole.reset(seed=args.seed)
    start = time.perf_counter()
    for _ in range(vector_steps * 10):
        gym_cartpole.step(gym_cartpole.action_space.sample())
    gym_vector_rate = vector_steps * 10 * n / (time.perf_counter() - start)
    dummy = DummyVecEnv([lambda: gym.make("CartPole-v1") for _ in range(n)])
    dummy.seed(args.seed)
    dummy_rate = max(
        _vector_rate(dummy, vector_steps, args.seed, lambda: rng.integers(0, 2, n))
        for _ in range(args.repeats)
    )
    edit_vector = min(rate for env_id, rate in vector_per_s.items() if "-edit-" in env_id)
    return {
        "steps_per_s": steps_per_s,
        "cartpole_steps_per_s": round(cartpole_rate, 1),
        "edit_vs_cartpole": round(edit / cartpole_rate, 3),
        "vector_steps_per_s": vector_per_s,
        "cartpole_gymnasium_vector_steps_per_s": round(gym_vector_rate, 1),
        "cartpole_sb3_dummy_vec_env_steps_per_s": round(dummy_rate, 1),
        "target_edit_steps_per_s": TARGET_EDIT_STEPS_PER_S,
        "meets_target_single_env": bool(edit >= TARGET_EDIT_STEPS_PER_S),
        "meets_target_vector_env": bool(edit_vector >= TARGET_EDIT_STEPS_PER_S),
        "settings": {
            "steps": args.steps,
            "num_envs": n,
            "vector_steps": vector_steps,
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
