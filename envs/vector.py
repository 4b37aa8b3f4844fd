"""Many generation environments stepped in lockstep and scored in one vectorised pass."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

from scenegym._checks import check_whole
from scenegym.envs.generation import DrivingLayoutEnv
from scenegym.envs.starts import goal_targets, start_episodes
from scenegym.scene.scene import Scene

__all__ = ["DrivingLayoutVecEnv"]


class DrivingLayoutVecEnv(VecEnv):
    """``num_envs`` copies of ``DrivingLayoutEnv`` as one stable-baselines3 ``VecEnv``.

    The environments share one representation of ``num_envs`` rows
    (``self.representation``), each holding its own row: a step applies every
    environment's action to all scenes at once (for ``edit``, as array operations over all
    scenes, with the validity check kept up to date: only the vehicle each step changes is
    checked again), then the scenes of all of them are checked, described, scored and
    encoded in one batch (``DrivingLayoutEnv.assess``), which is where a single environment
    spends most of its step. Rewards, observations, ``info`` and episode ends equal those of
    the same environments stepped one by one with the same seeds and actions. Like SB3's
    ``DummyVecEnv`` it resets an environment when its episode ends, leaving the last
    observation in ``info["terminal_observation"]`` and ``info["TimeLimit.truncated"]`` set
    on truncation. ``get_attr``, ``env_method`` and ``render`` reach the environments, whose
    scenes are always those of their rows.

    Args:
        num_envs: how many environments.
        **kwargs: the ``DrivingLayoutEnv`` arguments, the same for all.

    >>> venv = DrivingLayoutVecEnv(4, representation="edit", edit_budget=8)
    >>> venv.seed(0)
    [0, 1, 2, 3]
    >>> observation = venv.reset()
    >>> observation["grid"].shape
    (4, 12, 6, 96)
    """

    def __init__(self, num_envs: int, **kwargs: Any) -> None:
        num_envs = check_whole("num_envs", num_envs, 1)
        first = DrivingLayoutEnv(**kwargs)
        # The others share the first one's checked configuration objects.
        shared = {
            **kwargs,
            "space": first.space.config,
            "reward": first.reward_spec,
            "goal": first.goal,
            "realism": first.realism,
            "scene_realism": first.scene_realism,
            "prior": first.prior,
            "decoder": first.decoder,
        }
        self.envs = [first] + [DrivingLayoutEnv(**shared) for _ in range(num_envs - 1)]
        self.representation = first.representation.widened(num_envs)
        for row, env in enumerate(self.envs):
            env.share(self.representation, row)
        super().__init__(num_envs, first.observation_space, first.action_space)
        self._started = False  # reset() was called since the last rollout()
        self._actions: NDArray | None = None

    # ------------------------------------------------------------------ VecEnv API
    def reset(self) -> dict[str, NDArray] | NDArray:
        self.representation.keep_check(True)  # the steps are scored
        start_episodes(self.envs, self._seeds, [option or None for option in self._options])
        self._reset_seeds()
        self._reset_options()
        first = self.envs[0]
        scores, terms, _, parts = first.assess(None, goal_targets(self.envs))
        for i, env in enumerate(self.envs):
            self.reset_infos[i] = env.start_info(float(scores[i]), terms, i)
        self._started = True
        observation = first.spaces.observations(parts)
        if isinstance(observation, dict):
            return {name: values.copy() for name, values in observation.items()}
        return observation

    def step_async(self, actions: NDArray) -> None:
        self._actions = self.envs[0].spaces.actions(np.asarray(actions))

    def step_wait(self):
        if not self._started:
            raise RuntimeError("call reset() before step()")
        envs, first, n = self.envs, self.envs[0], self.num_envs
        terminated, truncated, terminal = self.representation.apply(self._actions)
        dones = terminated | truncated
        scores, terms, now, parts = first.assess(None, goal_targets(envs), final=dones)
        rewards = np.zeros(n, dtype=np.float32)
        infos: list[dict[str, Any]] = []
        # Python numbers for every environment at once: building the infos one environment
        # at a time is most of a step's Python.
        names = list(terms)
        rows = zip(*(terms[name].tolist() for name in names))
        ends = dones.tolist()
        flags = zip(terminated.tolist(), truncated.tolist(), terminal.tolist())
        counts = self.representation.counts().tolist()
        for i, (env, values, score, (stop, cut, whole), vehicles) in enumerate(
            zip(envs, rows, scores.tolist(), flags, counts, strict=True)
        ):
            reward, info = env.settle(
                score,
                dict(zip(names, values)),
                {name: float(v[i]) for name, v in now.items()} if ends[i] else None,
                stop,
                cut,
                whole,
                vehicles,
            )
            rewards[i] = reward
            info["TimeLimit.truncated"] = cut and not stop
            infos.append(info)
        ended = np.flatnonzero(dones)
        if ended.size:
            self._restart(ended, parts, infos)
        return first.spaces.observations(parts), rewards, dones, infos

    def _restart(
        self, ended: NDArray[np.int64], parts: dict[str, NDArray], infos: list[dict[str, Any]]
    ) -> None:
        """Reset the environments ``ended`` after their last step: their last observation
        goes into their info, their starting one into ``parts``."""
        first = self.envs[0]
        last = first.spaces.observations({name: values[ended] for name, values in parts.items()})
        for j, i in enumerate(ended):
            infos[i]["terminal_observation"] = (
                {name: values[j] for name, values in last.items()}
                if isinstance(last, dict)
                else last[j]
            )
        restarted = [self.envs[i] for i in ended]
        start_episodes(restarted, [None] * ended.size, [None] * ended.size)
        scores, terms, _, fresh = first.assess(ended, goal_targets(restarted))
        for j, i in enumerate(ended):
            self.reset_infos[i] = self.envs[i].start_info(float(scores[j]), terms, j)
        for name, values in fresh.items():
            parts[name][ended] = values

    def rollout(
        self,
        act: Callable[[dict[str, NDArray] | NDArray, NDArray | None], NDArray],
        seeds: Sequence[int],
        options: dict | Sequence[dict | None] | None = None,
    ) -> list[Scene]:
        """One episode in each of the first ``len(seeds)`` environments, environment ``i``
        reset with ``seeds[i]`` and ``options`` (one dict for all, or one per seed); returns
        their final scenes.

        ``act(observation, masks)`` gets the stacked observations of the environments still
        running (and their ``action_masks()`` for ``construct``, else None) and returns their
        actions. Environments whose episode has ended wait for the others; nothing is reset
        automatically, and nothing is scored. The training state of ``step`` is left alone
        only in that ``reset()`` must be called before stepping again.
        """
        count = len(seeds)
        self._started = False  # the environments move on: step() needs a reset() first
        if not 1 <= count <= self.num_envs:
            raise ValueError(f"seeds must hold 1 to {self.num_envs} seeds, got {count}")
        envs = self.envs[:count]
        if options is None or isinstance(options, dict):
            options = [options] * count
        elif len(options) != count:
            raise ValueError(f"options must hold one entry per seed ({count}), got {len(options)}")
        representation, first = self.representation, envs[0]
        representation.keep_check(False)  # nothing is scored: the scenes are checked on demand
        start_episodes(envs, [int(seed) for seed in seeds], options)
        targets = goal_targets(envs)
        running = np.arange(count)
        parts = first.assess(running, targets, score=False)[3]
        while running.size:
            masks = None
            if representation.masked:
                masks = np.stack([representation.action_masks(i) for i in running.tolist()])
            seen = parts if running.size == count else _rows_of(parts, running)
            actions = first.spaces.actions(act(first.spaces.observations(seen), masks))
            terminated, truncated, _ = representation.apply(actions, running)
            running = running[~(terminated | truncated)]
            if running.size == count:  # in lockstep (edit episodes all last the budget)
                parts = first.assess(running, targets, score=False)[3]
            elif running.size:
                wanted = None if targets is None else targets[running]
                fresh = first.assess(running, wanted, score=False)[3]
                # New arrays: the policy may hold on to those it was given.
                parts = {name: values.copy() for name, values in parts.items()}
                for name, values in fresh.items():
                    parts[name][running] = values
        return [representation.scene(i) for i in range(count)]

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def get_images(self) -> Sequence[NDArray | None]:
        return [env.render() for env in self.envs]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self.envs[i], attr_name) for i in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for i in self._indices(indices):
            setattr(self.envs[i], attr_name, value)

    def env_method(
        self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs
    ) -> list[Any]:
        return [
            getattr(self.envs[i], method_name)(*method_args, **method_kwargs)
            for i in self._indices(indices)
        ]

    def env_is_wrapped(self, wrapper_class, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._indices(indices)]

    def _indices(self, indices: VecEnvIndices) -> Iterable[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return indices

    def action_masks(self) -> NDArray[np.bool_]:
        """``(num_envs, actions)`` allowed actions of every environment (for MaskablePPO)."""
        return np.stack([env.action_masks() for env in self.envs])


def _rows_of(parts: dict[str, NDArray], rows: NDArray[np.int64]) -> dict[str, NDArray]:
    return {name: values[rows] for name, values in parts.items()}
