"""Training throughput: SB3 PPO on the edit environment against SB3 PPO on CartPole-v1.

Both train for ``--steps`` environment steps (default 32,768) with the same PPO settings
(``--n-envs`` environments, default 64: scenegym's batched ``DrivingLayoutVecEnv`` of edit-v5
(the default of ``scenegym train`` and the quickstart until edit-v6, which has its spaces), and
SB3's ``DummyVecEnv`` of CartPole; 256 steps per rollout, batch 256, 10 epochs, a 64x64
network) on the CPU, in the same run; the JSON gives steps/s of each and their ratio (target:
scenegym at least 70 % of CartPole). ``--env scenegym/DrivingLayout-edit-v4`` measures edit-v4
(every lane of the cursor view and 88 edits) instead, ``--env scenegym/DrivingLayout-edit-v3``
edit-v3 (the same as a ``Dict`` observation and a ``MultiDiscrete`` action). ``--window N``
gives the edit environment a cursor view of N cells instead of its own.

``--ceiling`` also trains on an environment that costs nothing but has the edit
environment's observation and action spaces (it returns zeros and ends each episode after
the edit budget): the JSON's ``ceiling_ratio`` is the most any environment with these spaces
could reach against CartPole with these PPO settings, so the gap between it and ``ratio`` is
the environment's share and the rest is PPO's own cost for these spaces.

``--repeat N`` (default 3) runs all of them N times, alternating, and reports the medians
(steps/s and the rounds' ratios) with every round under ``rounds``: on a shared machine one
round's ratio can be off by a third.

``--phases`` splits each run's time into collecting rollouts (``collect_s``, of which the
vector environment's ``step`` calls are ``env_s``) and PPO's updates (``update_s``), per
round: the update's cost depends only on the spaces, so it says how much of the gap to
CartPole no environment could close.

Run::

    .venv/bin/python benchmarks/train_speed.py [--n-envs 16] [--steps 16384] [--env ID] [--window N]
        [--ceiling] [--repeat N] [--phases]
"""

from __future__ import annotations

import json
import platform
import sys
import time

TARGET_RATIO = 0.70
ENV_ID = "scenegym/DrivingLayout-edit-v5"


def _free_env(env_id: str, n_envs: int, kwargs: dict):
    """A ``VecEnv`` with the spaces of ``env_id`` (given ``kwargs``) that costs nothing."""
    import gymnasium as gym
    import numpy as np
    from stable_baselines3.common.vec_env.base_vec_env import VecEnv

    from scenegym.envs.generation import DrivingLayoutEnv

    spec = DrivingLayoutEnv(**{**gym.spec(env_id).kwargs, **kwargs})
    flat = not isinstance(spec.observation_space, gym.spaces.Dict)
    budget = spec.edit_budget

    class FreeVecEnv(VecEnv):
        def __init__(self) -> None:
            self.render_mode = None
            super().__init__(n_envs, spec.observation_space, spec.action_space)
            self.observation = {
                name: np.zeros((n_envs, *space.shape), dtype=space.dtype)
                for name, space in spec.spaces.parts.spaces.items()
            }
            self.steps = 0

        def reset(self):
            return spec.spaces.observations(
                {name: values.copy() for name, values in self.observation.items()}
            )

        def step_async(self, actions) -> None:
            pass

        def step_wait(self):
            self.steps += 1
            done = np.full(n_envs, self.steps % budget == 0)
            infos = [{} for _ in range(n_envs)]
            if done[0]:
                for info in infos:
                    info["terminal_observation"] = (
                        self.reset()[0] if flat else {k: v[0] for k, v in self.observation.items()}
                    )
            return self.reset(), np.zeros(n_envs, dtype=np.float32), done, infos

        def close(self) -> None:
            pass

        def get_attr(self, attr_name, indices=None):
            return [getattr(self, attr_name, None)] * n_envs

        def set_attr(self, attr_name, value, indices=None) -> None:
            pass

        def env_method(self, method_name, *args, indices=None, **kwargs):
            return [None] * n_envs

        def env_is_wrapped(self, wrapper_class, indices=None):
            return [False] * n_envs

    return FreeVecEnv()


def _timed(phases: dict, key: str, function):
    """``function`` adding its wall time to ``phases[key]``."""

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            phases[key] += time.perf_counter() - start

    return timed


def _rate(
    env_id: str,
    steps: int,
    kwargs: dict,
    n_envs: int,
    free: bool = False,
    phases: dict | None = None,
) -> float:
    """Steps/s of PPO on ``env_id``; ``phases``, when given, gets the seconds spent
    collecting rollouts, in the environment's steps, and in PPO's updates."""
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import Logger
    from stable_baselines3.common.vec_env import DummyVecEnv

    import scenegym  # noqa: F401  (registers the environments)

    if free:
        vec_env = _free_env(env_id, n_envs, kwargs)
    elif env_id.startswith("scenegym/"):
        from scenegym.envs.vector import DrivingLayoutVecEnv

        vec_env = DrivingLayoutVecEnv(n_envs, **{**gym.spec(env_id).kwargs, **kwargs})
    else:
        vec_env = DummyVecEnv([lambda: gym.make(env_id, **kwargs) for _ in range(n_envs)])
    dict_observation = isinstance(vec_env.observation_space, gym.spaces.Dict)
    model = PPO(
        "MultiInputPolicy" if dict_observation else "MlpPolicy",
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
    if phases is not None:
        phases.update(collect_s=0.0, env_s=0.0, update_s=0.0)
        vec_env.step_async = _timed(phases, "env_s", vec_env.step_async)
        vec_env.step_wait = _timed(phases, "env_s", vec_env.step_wait)
        model.collect_rollouts = _timed(phases, "collect_s", model.collect_rollouts)
        model.train = _timed(phases, "update_s", model.train)
    start = time.perf_counter()
    model.learn(steps)
    return steps / (time.perf_counter() - start)


def _get(phases: dict | None, side: str) -> dict | None:
    return None if phases is None else phases[side]


def main() -> dict:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=32768)
    parser.add_argument("--n-envs", type=int, default=64)
    parser.add_argument("--env", default=ENV_ID, help="scenegym edit environment id")
    parser.add_argument("--window", type=int, default=None, help="cursor view cells (edit-v5: 4)")
    parser.add_argument(
        "--ceiling", action="store_true", help="also train on a free env with the same spaces"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds of all runs, alternating; medians reported"
    )
    parser.add_argument(
        "--phases", action="store_true", help="time collecting, env steps and updates apart"
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    kwargs = {"edit_budget": 16, **({} if args.window is None else {"window": args.window})}
    rounds = []
    for _ in range(args.repeat):  # alternating, so a busy spell of the machine hits both sides
        phases = {"scenegym_edit": {}, "cartpole": {}, "free_env": {}} if args.phases else None
        edit = _rate(
            args.env, args.steps, kwargs, args.n_envs, phases=_get(phases, "scenegym_edit")
        )
        cartpole = _rate(
            "CartPole-v1", args.steps, {}, args.n_envs, phases=_get(phases, "cartpole")
        )
        one = {"scenegym_edit": round(edit, 1), "cartpole": round(cartpole, 1)}
        one["ratio"] = round(edit / cartpole, 3)
        if args.ceiling:
            free = _rate(args.env, args.steps, kwargs, args.n_envs, True, _get(phases, "free_env"))
            one.update(free_env=round(free, 1), ceiling_ratio=round(free / cartpole, 3))
        if phases is not None:
            one["phases"] = {
                side: {key: round(value, 3) for key, value in times.items()}
                for side, times in phases.items()
                if times
            }
        rounds.append(one)
    import statistics

    import stable_baselines3

    def median(key: str) -> float:
        return round(statistics.median(one[key] for one in rounds), 3)

    ratio = median("ratio")
    ceiling = {}
    if args.ceiling:
        ceiling = {
            "free_env_steps_per_s": median("free_env"),
            "ceiling_ratio": median("ceiling_ratio"),
        }
    return {
        "scenegym_edit_steps_per_s": median("scenegym_edit"),
        "cartpole_steps_per_s": median("cartpole"),
        "ratio": ratio,  # the median of the rounds' ratios
        **ceiling,
        "rounds": rounds,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
        "settings": {
            "env": args.env,
            "steps": args.steps,
            "repeat": args.repeat,
            "phases": args.phases,
            "n_envs": args.n_envs,
            "n_steps": 256,
            "batch_size": 256,
            "net_arch": [64, 64],
            "edit_budget": 16,
            "window": args.window,  # None: the environment's own (edit-v5: 4 cells)
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
