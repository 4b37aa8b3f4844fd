"""Many generation environments stepped in lockstep and scored in one vectorised pass."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

from scenegym.envs.editing import CursorEdits
from scenegym.envs.generation import (
    DrivingLayoutEnv,
    apply_actions,
    begin_many,
    goal_targets,
    score_batch,
    score_envs,
)
from scenegym.scene.batch import RoadBatch
from scenegym.scene.scene import Scene

__all__ = ["DrivingLayoutVecEnv"]


class DrivingLayoutVecEnv(VecEnv):
    """``num_envs`` copies of ``DrivingLayoutEnv`` as one stable-baselines3 ``VecEnv``.

    Each environment applies its own action exactly as ``DrivingLayoutEnv.step`` does; then
    the scenes of all of them are checked, described, scored and encoded in one batch
    (``scenegym.scene.batch``), which is where a single environment spends most of its step.
    Rewards, observations, ``info`` and episode ends equal those of the same environments
    stepped one by one with the same seeds and actions. Like SB3's ``DummyVecEnv`` it resets
    an environment when its episode ends, leaving the last observation in
    ``info["terminal_observation"]`` and ``info["TimeLimit.truncated"]`` set on truncation.

    Cursor-edit environments (``select="cursor"``) are edited together as array operations
    (``CursorEdits``) between resets, so that no Python runs per environment and step but to
    build ``info``, and their validity check is kept up to date (only the vehicle each step
    changes is checked again); their own scene columns are brought up to date before
    anything reads them through ``get_attr``, ``env_method`` or ``render``.

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
        from scenegym._checks import check_whole

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
        # The scenes being edited, between reset() and the next rollout() (cursor edits); set
        # before VecEnv.__init__, whose get_attr("render_mode") reads it.
        self._edits: CursorEdits | None = None
        super().__init__(num_envs, first.observation_space, first.action_space)
        self._road_of = np.arange(num_envs, dtype=np.int64)
        self._roads: RoadBatch | None = None
        self._actions: NDArray | None = None
        self._cursor_edits = first.representation == "edit" and first.select == "cursor"

    # ------------------------------------------------------------------ VecEnv API
    def reset(self) -> dict[str, NDArray]:
        begin_many(self.envs, self._seeds, [option or None for option in self._options])
        self._reset_seeds()
        self._reset_options()
        self._roads = RoadBatch([env.road for env in self.envs])
        if self._cursor_edits:
            self._edits = CursorEdits(self.envs, self._roads)  # checks the scenes whole
            scores, terms, _, observation = self._score_edits(None, False)
        else:
            scores, terms, _, observation = score_envs(self.envs, self._roads, self._road_of, False)
        for i, env in enumerate(self.envs):
            self.reset_infos[i] = env._start_info(float(scores[i]), terms, i)
        exposed = self.envs[0]._expose(observation)
        if isinstance(exposed, dict):
            return {name: values.copy() for name, values in exposed.items()}
        return exposed

    def step_async(self, actions: NDArray) -> None:
        self._actions = self.envs[0]._decode(np.asarray(actions))

    def step_wait(self):
        if self._roads is None:
            raise RuntimeError("call reset() before step()")
        envs, actions, edits = self.envs, self._actions, self._edits
        n = self.num_envs
        if edits is not None:
            truncated = edits.apply(actions)
            terminated = terminal_reward = np.zeros(n, dtype=bool)
            vehicles = edits.count.tolist()
            scores, terms, now, observation = self._score_edits(None, bool(truncated.any()))
        else:
            terminated, truncated, terminal_reward = apply_actions(envs, actions)
            vehicles = [None] * n
            scores, terms, now, observation = score_envs(
                envs, self._roads, self._road_of, bool((terminated | truncated).any())
            )
        dones = terminated | truncated
        rewards = np.zeros(n, dtype=np.float32)
        infos: list[dict[str, Any]] = []
        # Python numbers for every environment at once: building the infos one environment
        # at a time is most of a step's Python.
        names = list(terms)
        rows = zip(*(terms[name].tolist() for name in names))
        ends = dones.tolist()
        flags = zip(terminated.tolist(), truncated.tolist(), terminal_reward.tolist())
        for i, (env, values, score, (stop, cut, whole)) in enumerate(
            zip(envs, rows, scores.tolist(), flags, strict=True)
        ):
            reward, info = env._settle(
                score,
                dict(zip(names, values)),
                {name: float(v[i]) for name, v in now.items()} if ends[i] else None,
                stop,
                cut,
                whole,
                vehicles[i],
            )
            rewards[i] = reward
            info["TimeLimit.truncated"] = cut and not stop
            infos.append(info)
        ended = np.flatnonzero(dones)
        if ended.size:
            last = envs[0]._expose({name: values[ended] for name, values in observation.items()})
            for j, i in enumerate(ended):
                infos[i]["terminal_observation"] = (
                    {name: values[j] for name, values in last.items()}
                    if isinstance(last, dict)
                    else last[j]
                )
            begin_many([envs[i] for i in ended], [None] * ended.size, [None] * ended.size)
            self._new_roads(ended)
            restarted = [envs[i] for i in ended]
            if edits is not None:
                edits.roads = self._roads  # rebuilt when a new road did not fit
                edits.load(ended)  # checks the new scenes: scoring them reads that check
                scores, terms, _, fresh = self._score_edits(ended, False)
            else:
                scores, terms, _, fresh = score_envs(restarted, self._roads, ended, False)
            for j, i in enumerate(ended):
                self.reset_infos[i] = envs[i]._start_info(float(scores[j]), terms, j)
            for name, values in fresh.items():
                observation[name][ended] = values
        return envs[0]._expose(observation), rewards, dones, infos

    def _score_edits(self, rows: NDArray[np.int64] | None, descriptors: bool):
        """``score_envs`` of the scenes being edited (of the environments ``rows``, default
        all), their validity read from the check ``CursorEdits`` keeps."""
        edits = self._edits
        at = slice(None) if rows is None else rows
        envs = self.envs if rows is None else [self.envs[i] for i in rows]
        return score_batch(
            envs[0],
            edits.batch(rows),
            goal_targets(envs),
            descriptors,
            current=edits.current[at],
            steps=edits.steps[at],
        )

    def rollout(
        self,
        act: Callable[[dict[str, NDArray], NDArray | None], NDArray],
        seeds: Sequence[int],
        options: dict | Sequence[dict | None] | None = None,
    ) -> list[Scene]:
        """One episode in each of the first ``len(seeds)`` environments, environment ``i``
        reset with ``seeds[i]`` and ``options`` (one dict for all, or one per seed); returns
        their final scenes.

        ``act(observation, masks)`` gets the stacked observations of the environments still
        running (and their ``action_masks()`` for ``construct``, else None) and returns their
        actions. Environments whose episode has ended wait for the others; nothing is reset
        automatically. The training state of ``step`` is left alone only in that
        ``reset()`` must be called before stepping again.
        """
        count = len(seeds)
        self._store_edits()
        self._edits = None  # the environments move on: step() needs a reset() first
        if not 1 <= count <= self.num_envs:
            raise ValueError(f"seeds must hold 1 to {self.num_envs} seeds, got {count}")
        envs = self.envs[:count]
        if options is None or isinstance(options, dict):
            options = [options] * count
        elif len(options) != count:
            raise ValueError(f"options must hold one entry per seed ({count}), got {len(options)}")
        begin_many(envs, [int(seed) for seed in seeds], options)
        roads = RoadBatch([env.road for env in envs])
        given = act

        def act(observation, masks):  # the policy sees the spaces; the edits take their parts
            return envs[0]._decode(given(envs[0]._expose(observation), masks))

        if self._cursor_edits:
            scenes = self._rollout_edits(act, envs, roads)
            self._roads = None  # the environments moved on: step() needs a reset() first
            return scenes
        observation = score_envs(envs, roads, np.arange(count), False, score=False)[3]
        masked = envs[0].representation == "construct"
        running = np.arange(count)
        while running.size:
            masks = np.stack([envs[i].action_masks() for i in running]) if masked else None
            actions = act({name: values[running] for name, values in observation.items()}, masks)
            terminated, truncated, _ = apply_actions([envs[i] for i in running], actions)
            ended = terminated | truncated
            running = running[~ended]
            if running.size:
                fresh = score_envs([envs[i] for i in running], roads, running, False, score=False)[
                    3
                ]
                for name, values in fresh.items():
                    observation[name][running] = values
        self._roads = None  # the environments moved on: step() needs a reset() first
        return [env.scene for env in envs]

    @staticmethod
    def _rollout_edits(act, envs: list[DrivingLayoutEnv], roads: RoadBatch) -> list[Scene]:
        """``rollout`` of cursor-edit environments: every episode lasts the edit budget, so
        all edit in lockstep, as array operations over all scenes (``CursorEdits``)."""
        edits = CursorEdits(envs, roads, kept=False)  # nothing is scored
        first = envs[0]
        targets = goal_targets(envs)
        done = False
        while not done:
            observation = score_batch(
                first,
                edits.batch(),
                targets,
                False,
                score=False,
                current=edits.current,
                steps=edits.steps,
            )[3]
            done = bool(edits.apply(act(observation, None)).all())
        edits.store()
        return [env.scene for env in envs]

    def _new_roads(self, ended: NDArray[np.int64]) -> None:
        roads = [self.envs[i].road for i in ended]
        if all(self._roads.fits(road) for road in roads):
            self._roads.replace(ended, roads)
        else:
            self._roads = RoadBatch([env.road for env in self.envs])

    def _store_edits(self) -> None:
        """Bring the environments' own scenes, cursors and step counts up to date."""
        if self._edits is not None:
            self._edits.store()

    def _reload_edits(self) -> None:
        """Take the environments' state again after a call that may have changed it."""
        if self._edits is not None:
            self._edits = CursorEdits(self.envs, self._roads)

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def get_images(self) -> Sequence[NDArray | None]:
        self._store_edits()
        return [env.render() for env in self.envs]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        self._store_edits()
        return [getattr(self.envs[i], attr_name) for i in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._store_edits()
        for i in self._indices(indices):
            setattr(self.envs[i], attr_name, value)
        self._reload_edits()

    def env_method(
        self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs
    ) -> list[Any]:
        self._store_edits()
        results = [
            getattr(self.envs[i], method_name)(*method_args, **method_kwargs)
            for i in self._indices(indices)
        ]
        self._reload_edits()
        return results

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
