"""Training throughput: SB3 PPO on the edit environment against SB3 PPO on CartPole-v1.

Both train for ``--steps`` environment steps with the same PPO settings (``--n-envs``
environments, default 4: scenegym's batched ``DrivingLayoutVecEnv`` of edit-v3, the default
environment of ``scenegym train`` and the quickstart, and SB3's
``DummyVecEnv`` of CartPole; 256 steps per rollout, batch 256, 10 epochs, a 64x64 network) on
the CPU, in the same run; the JSON gives steps/s of each and their ratio (target: scenegym at
least 70 % of CartPole). ``--window N`` gives the edit environment a cursor view of N cells
instead of its own.

Run::

    .venv/bin/python benchmarks/train_speed.py [--n-envs 16] [--steps 16384] [--window N]
"""

from __future__ import annotations

import json
import platform
import sys
import time

TARGET_RATIO = 0.70
ENV_ID = "scenegym/DrivingLayout-edit-v3"


def _rate(env_id: str, policy: str, steps: int, kwargs: dict, n_envs: int) -> float:
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import Logger
    from stable_baselines3.common.vec_env import DummyVecEnv

    import scenegym  # noqa: F401  (registers the environments)

    if env_id.startswith("scenegym/"):
        from scenegym.envs.vector import DrivingLayoutVecEnv

        vec_env = DrivingLayoutVecEnv(n_envs, **{**gym.spec(env_id).kwargs, **kwargs})
    else:
        vec_env = DummyVecEnv([lambda: gym.make(env_id, **kwargs) for _ in range(n_envs)])
    model = PPO(
        policy,
        vec_env,
        n_steps=256,
        batch_size=256,
        policy_kwargs={"net_arch": [64, 64]},
        seed=0,
        device="cpu",
        verbose=0,
    )
    # A logger that writes nothing: without one, learn() makes a folder under the temp dir.
    model.set_logger(Logger(folder=None, output_formats=[]))
    start = time.perf_counter()
    model.learn(steps)
    return steps / (time.perf_counter() - start)


def main() -> dict:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8192)
    parser.add_argument("--n-envs", type=int, default=4)
    parser.add_argument("--window", type=int, default=None, help="cursor view cells (edit-v3: 4)")
    args = parser.parse_args()
    edit = _rate(
        ENV_ID,
        "MultiInputPolicy",
        args.steps,
        {"edit_budget": 16, **({} if args.window is None else {"window": args.window})},
        args.n_envs,
    )
    cartpole = _rate("CartPole-v1", "MlpPolicy", args.steps, {}, args.n_envs)
    import stable_baselines3

    return {
        "scenegym_edit_steps_per_s": round(edit, 1),
        "cartpole_steps_per_s": round(cartpole, 1),
        "ratio": round(edit / cartpole, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": edit / cartpole >= TARGET_RATIO,
        "settings": {
            "env": ENV_ID,
            "steps": args.steps,
            "n_envs": args.n_envs,
            "n_steps": 256,
            "batch_size": 256,
            "net_arch": [64, 64],
            "edit_budget": 16,
            "window": args.window,  # None: the environment's own (edit-v3: 4 cells)
            "device": "cpu",
        },
        "versions": {
            "python": platform.python_version(),
            "stable_baselines3": stable_baselines3.__version__,
        },
    }


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=2)
    sys.stdout.write("\n")
