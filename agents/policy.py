"""A trained generation policy: load a run folder and sample scenes from it."""

from __future__ import annotations

import functools
import io
import json
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from scenegym._checks import check_whole
from scenegym._ray import check_backend, imap
from scenegym._threads import (
    ignore_interrupts,
    interrupts_ignored_by_new_processes,
    one_torch_thread,
)
from scenegym.agents.loading import load_model
from scenegym.agents.runs import TrainConfig, env_kwargs, latest_checkpoint
from scenegym.config import config_from_mapping
from scenegym.rewards.goal import GoalSpec
from scenegym.scene.batch import COLUMNS, SceneBatch
from scenegym.scene.descriptors import describe_many
from scenegym.scene.road import Road
from scenegym.scene.scene import Scene
from scenegym.scene.validity import repair, violation_counts_many
from scenegym.scene.vehicles import Vehicles

__all__ = ["GenerationPolicy", "Sample"]

INVALID_CHOICES = ("report", "resample", "repair", "drop")


@dataclass(kw_only=True)
class Sample:
    """Scenes sampled from a policy and what happened to invalid ones.

    Attributes:
        scenes: the returned scenes, in sampling order.
        invalid: how many returned scenes break a validity rule (``invalid="report"``).
        resampled: how many rollouts were repeated because their scene was invalid.
        dropped: how many invalid scenes were left out (``invalid="drop"`` or after the
            resampling attempts ran out).
        repaired: how many scenes were made valid by removing vehicles, and ``removed`` how
            many vehicles that took (``invalid="repair"``).
        goal_errors: with targets, per targeted descriptor the mean absolute error of the
            returned scenes against their own targets (``"error"``, in the descriptor's unit)
            and that error as a share of the width of the policy's goal range
            (``"range_share"``; None when the policy has no range for it).
    """

    scenes: list[Scene]
    invalid: int
    resampled: int
    dropped: int
    repaired: int = 0
    removed: int = 0
    goal_errors: dict[str, dict[str, float | None]] = field(default_factory=dict)


class GenerationPolicy:
    """A trained SB3 model together with the environment config it was trained with.

    Args:
        model: the SB3 model (``PPO`` or ``MaskablePPO``).
        config: the settings it was trained with.
        run: its run folder (relative paths of the environment's inputs are inside it), or
            None.
        models: models of the environment's reward terms ready to score with, in place of
            the settings of ``config.env_kwargs.models`` (a ``DriverJudge`` for the
            ``adversarial`` term: ``scenegym.agents.adversarial.judge_models``), or None.
    """

    def __init__(
        self,
        *,
        model: Any,
        config: TrainConfig,
        run: str | os.PathLike | None = None,
        models: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.run = run
        self.models = dict(models or {})
        self._venv = None  # the last vector environment, kept for the next sample()
        self._scorer = None  # an environment of the run whose reward spec scores scenes
        self._executor = None  # the worker processes of sample(workers=...), once started
        self._executor_size = 0

    @classmethod
    def load(cls, run: str | os.PathLike) -> GenerationPolicy:
        """Load the final model (or, failing that, the newest checkpoint) of a run folder."""
        run = Path(run)
        saved = run / "config.json"
        if not run.exists():
            raise ValueError(f"run folder {run} does not exist")
        if not saved.is_file():
            raise ValueError(f"{run} is not a training run: it has no config.json")
        try:
            config = config_from_mapping(TrainConfig, json.loads(saved.read_text()), name="config")
        except json.JSONDecodeError as error:
            raise ValueError(f"{saved} is not valid JSON: {error}") from None
        path = run / "model.zip"
        if not path.is_file():
            path = latest_checkpoint(run)
            if path is None:
                raise ValueError(f"{run} has no model.zip and no checkpoint to load")
        env = _run_env(config, run)
        model = load_model(
            config, path, observation_space=env.observation_space, action_space=env.action_space
        )
        policy = cls(model=model, config=config, run=run)
        policy._scorer = env  # built to read its spaces; it scores too
        return policy

    @property
    def goal_names(self) -> tuple[str, ...]:
        """The descriptors the policy was trained to match (empty without a goal)."""
        return GoalSpec(ranges=self.goal_ranges).names

    @property
    def goal_ranges(self) -> dict[str, tuple[float, float]]:
        """The ``[low, high]`` range of each descriptor the policy was trained to match, as
        its targets were drawn in training (empty without a goal)."""
        goal = self._goal()
        return dict(goal.ranges) if goal is not None else {}

    def _goal(self) -> GoalSpec | None:
        """The run's ``GoalSpec`` (its reference inside the run folder), or None."""
        goal = env_kwargs(self.config, self.run).get("goal")
        if not goal:
            return None
        return goal if isinstance(goal, GoalSpec) else config_from_mapping(GoalSpec, goal)

    def make_env(self) -> Any:
        """A new environment of the run, as it was trained in (unwrapped)."""
        return _run_env(self.config, self.run)

    def score(self, scenes: Sequence[Scene]) -> tuple[NDArray[np.float64], dict[str, NDArray]]:
        """The ``(scenes,)`` weighted scores and every reward term's ``(scenes,)`` values of
        ``scenes`` (without goal targets), as the run's environment scores them: its
        ``RewardSpec`` and realism models. The environment is built at the first call."""
        if self._scorer is None:
            self._scorer = self.make_env()
        env = self._scorer
        return env.reward_spec.score_batch(
            SceneBatch.of(scenes),
            realism=env.realism,
            scene_realism=env.scene_realism,
            prior=env.prior,
            models={**env.models, **self.models},
        )

    def sample(
        self,
        n: int,
        *,
        targets: Mapping[str, float] | Sequence[Mapping[str, float]] | None = None,
        seed: int = 0,
        deterministic: bool = False,
        invalid: str = "report",
        batch: int = 256,
        attempts: int = 5,
        workers: int = 1,
        part: tuple[int, int] | None = None,
        roads: Sequence[Road] | None = None,
        backend: str = "process",
    ) -> Sample:
        """Roll out ``n`` episodes (``batch`` environments in lockstep) and return their final
        scenes. Rollout ``i`` starts from the environment seeded with ``seed + i``; the
        policy's action noise is seeded per batch from its first rollout's seed, so the same
        ``seed``, ``n`` and ``batch`` give the same scenes whatever ``workers`` is.

        Args:
            targets: descriptor targets for goal-conditioned policies: one mapping for all
                rollouts, or a sequence of ``n`` mappings with the same names, one per rollout
                (for example the descriptors of scenes to generate more like). Without
                targets, a policy whose goal takes them from reference scenes asks for each
                of those scenes' descriptors in turn, in a random order from ``seed``, before
                asking for any twice; other goals draw targets at each reset.
            invalid: ``"report"`` returns invalid scenes and counts them; ``"resample"``
                repeats their rollouts with new seeds up to ``attempts`` times, then drops and
                counts those still invalid; ``"repair"`` removes the vehicles in violations
                (most involved first) until each scene is valid, and counts them; ``"drop"``
                leaves them out and counts them.
            workers: processes that roll out batches in parallel (spawned at the first call
                that uses them and kept for the next ones; ``close()`` ends them). Worth it
                from a few thousand scenes: each process starts in a few seconds.
            backend: ``"process"``, or ``"ray"``: the batches are rolled out on ``workers``
                Ray actors (``scenegym._ray``), the same scenes.
            part: ``(start, stop)``: only scenes ``start`` to ``stop - 1`` of the ``n`` this
                call would return, the same scenes, rolling out only the batches that hold
                them (a rollout's action noise depends on its batch). Not with
                ``invalid="resample"``, whose new seeds depend on every scene.
            roads: traffic on given roads: rollout ``i`` populates ``roads[i % len(roads)]``
                (each within the run's lane grid), which its scene keeps unchanged; the
                goal's lane count and curvature targets are the road's own. A policy
                trained on other roads transfers as far as its goal ranges and starting
                space cover the given roads: evaluate the scenes against traffic recorded
                on them (``scenegym fit`` does).
        """
        n, batch = check_whole("n", n, 1), check_whole("batch", batch, 1)
        workers, backend = check_whole("workers", workers, 1), check_backend(backend)
        if invalid not in INVALID_CHOICES:
            raise ValueError(
                f"invalid must be one of {', '.join(INVALID_CHOICES)}, got {invalid!r}"
            )
        start, stop = (0, n) if part is None else _check_part(part, n, invalid)
        wanted = _per_rollout(targets, n)
        asked = any(want is not None for want in wanted)
        if not asked:
            wanted = self._reference_targets(n, seed, on_roads=roads is not None) or wanted
        on = _per_rollout_roads(roads, n)
        if roads is not None:
            self._check_roads(roads)
        rollouts = functools.partial(
            self._rollouts,
            deterministic=deterministic,
            batch=batch,
            workers=workers,
            backend=backend,
        )
        scenes, valid = rollouts(list(range(seed, seed + n)), wanted, part=(start, stop), roads=on)
        wanted, on, n = wanted[start:stop], on[start:stop], stop - start
        resampled = 0
        if invalid == "resample":
            resampled = _resample(rollouts, scenes, valid, (wanted, on), seed + n, attempts)
        sample, kept_targets = _settle(invalid, scenes, valid, wanted)
        sample.resampled = resampled
        if asked:
            sample.goal_errors = self._goal_errors(sample.scenes, kept_targets)
        return sample

    def _reference_targets(self, n: int, seed: int, *, on_roads: bool) -> list[dict] | None:
        """Targets of ``n`` rollouts of a goal that takes them from reference scenes, drawn
        here rather than at each reset: every reference scene is asked for once before any
        is asked for again (repeated targets give near-copies). On given roads the vehicle
        count is left to the density. None for other goals."""
        goal = self._goal()
        if goal is None or not goal.reference:
            return None
        wanted = goal.sample_many(n, np.random.default_rng(seed))
        if on_roads:
            wanted = [{k: v for k, v in want.items() if k != "vehicle_count"} for want in wanted]
        return wanted

    def _check_roads(self, roads: Sequence[Road]) -> None:
        """A clear error, before any rollout, for a road the run's environment cannot hold."""
        if self._scorer is None:
            self._scorer = self.make_env()
        for i, road in enumerate(roads):
            try:
                self._scorer.check_road(road)
            except ValueError as error:
                raise ValueError(f"roads[{i}]: {error}") from None

    def _goal_errors(
        self, scenes: list[Scene], targets: list[dict[str, float] | None]
    ) -> dict[str, dict[str, float | None]]:
        """Mean absolute error per target over ``scenes`` (each against its own targets),
        also as a share of the goal range."""
        if not scenes or not targets[0]:
            return {}
        ranges = self.goal_ranges
        described = describe_many(scenes, names=list(targets[0]))
        errors = {}
        for name in targets[0]:
            wanted = np.array([want[name] for want in targets])
            error = float(np.mean(np.abs(described[name] - wanted)))
            low_high = ranges.get(name)
            share = error / (low_high[1] - low_high[0]) if low_high else None
            errors[name] = {"error": error, "range_share": share}
        return errors

    def _vector_env(self, count: int):
        from scenegym.envs.vector import DrivingLayoutVecEnv  # imports SB3

        # Every rollout resets its environments with its own seed, so one built earlier (and
        # at least as large) serves as well as a new one and saves building them again.
        if self._venv is None or self._venv.num_envs < count:
            kwargs = {**gym.spec(self.config.env).kwargs, **env_kwargs(self.config, self.run)}
            self._venv = DrivingLayoutVecEnv(count, **kwargs)
        return self._venv

    def _rollouts(
        self,
        seeds: list[int],
        targets: list[dict[str, float] | None],
        deterministic: bool,
        batch: int,
        workers: int,
        part: tuple[int, int] | None = None,
        roads: list[Road | None] | None = None,
        *,
        backend: str = "process",
    ) -> tuple[list[Scene], NDArray[np.bool_]]:
        """The final scenes of rollouts of ``seeds`` (on ``roads``: None, or one road or None
        per seed) and which of them are valid (checked batch by batch, in the worker
        processes when there are some); with ``part``, only those of
        ``seeds[part[0]:part[1]]``, rolled out in the batches of all ``seeds``, on ``workers``
        processes or (``backend="ray"``) Ray actors."""
        size = min(batch, len(seeds))  # rollouts in lockstep, whatever the env count
        first, last = (0, len(seeds)) if part is None else part
        starts = range(first - first % size, last, size)  # the batches that hold the part
        roads = [None] * len(seeds) if roads is None else roads
        jobs = [
            (
                seeds[start : start + size],
                targets[start : start + size],
                deterministic,
                size,
                roads[start : start + size],
            )
            for start in starts
        ]
        if backend == "ray":
            saved = io.BytesIO()
            self.model.save(saved)
            start = (saved.getvalue(), self.config, self.run)
            done = imap(_worker_start, start, _worker_rollouts, jobs, workers)
            parts = [(_unpack(p), ok) for p, ok in done]
        elif workers > 1 and len(jobs) > 1:
            pool = self._pool(workers)
            parts = [(_unpack(p), ok) for p, ok in pool.map(_worker_rollouts, jobs)]
        else:
            with one_torch_thread():
                parts = [
                    (scenes, _valid(scenes)) for scenes in map(self.rollout_batch, *zip(*jobs))
                ]
        scenes = [scene for done, _ in parts for scene in done]
        valid = np.concatenate([ok for _, ok in parts])
        cut = first - starts[0]
        return scenes[cut : cut + last - first], valid[cut : cut + last - first]

    def rollout_batch(
        self,
        seeds: Sequence[int],
        targets: Sequence[Mapping[str, float] | None],
        deterministic: bool = False,
        size: int | None = None,
        roads: Sequence[Road | None] | None = None,
    ) -> list[Scene]:
        """The final scenes of one batch of rollouts in lockstep, rollout ``i`` from the
        environment seeded ``seeds[i]`` asked for ``targets[i]`` (None: drawn at reset) on
        ``roads[i]`` (None or missing: a road of the run's space), in a vector environment
        of at least ``size`` environments (default ``len(seeds)``, the same scenes whatever
        the size). The policy's action noise is seeded from ``seeds[0]``."""
        import torch

        venv = self._vector_env(len(seeds) if size is None else size)
        roads = [None] * len(seeds) if roads is None else roads
        options = [
            {
                **({"targets": want} if want else {}),
                **({"road": road} if road is not None else {}),
            }
            or None
            for want, road in zip(targets, roads)
        ]
        maskable = "Maskable" in type(self.model).__name__
        policy = self.model.policy
        policy.set_training_mode(False)
        box = policy.action_space if isinstance(policy.action_space, spaces.Box) else None

        def act(observation, masks):
            if maskable:
                kwargs = {"action_masks": masks} if masks is not None else {}
                return self.model.predict(observation, deterministic=deterministic, **kwargs)[0]
            # What predict() does, without its copies of the observation: the stacked arrays
            # go to the network as they are.
            with torch.no_grad():
                tensors = (
                    {name: torch.from_numpy(v) for name, v in observation.items()}
                    if isinstance(observation, dict)
                    else torch.from_numpy(observation)
                )
                actions = policy.get_distribution(tensors).get_actions(deterministic)
            actions = actions.numpy()
            return actions if box is None else np.clip(actions, box.low, box.high)

        # The policy draws stochastic actions from torch's global generator: seed a copy of it
        # from the batch's first seed, so that the same seeds give the same scenes whatever
        # ran before in the process (or in which process), and leave the caller's generator
        # as it was.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seeds[0])
            return venv.rollout(act, seeds, options)

    def _pool(self, workers: int):
        """The ``workers`` processes of ``sample(workers=...)``, started at first use."""
        if self._executor is None or self._executor_size != workers:
            self.close()
            saved = io.BytesIO()
            self.model.save(saved)
            self._executor = ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_start,
                initargs=(saved.getvalue(), self.config, self.run),
            )
            # The executor spawns its processes at the first tasks: start them all here, with
            # Ctrl-C ignored, so that one still importing when it comes prints no traceback.
            with interrupts_ignored_by_new_processes():
                for started in [self._executor.submit(int) for _ in range(workers)]:
                    started.result()
            self._executor_size = workers
        return self._executor

    def close(self) -> None:
        """End the worker processes of ``sample(workers=...)``, if any."""
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None

    def __enter__(self) -> GenerationPolicy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run_env(config: TrainConfig, run: str | os.PathLike | None) -> Any:
    """A new environment of a run of ``config``, as it was trained in (unwrapped)."""
    return gym.make(config.env, **env_kwargs(config, run)).unwrapped


_WORKER_POLICY: GenerationPolicy | None = None


def _worker_start(model: bytes, config: TrainConfig, run: str | os.PathLike | None) -> None:
    """Load the policy once in a worker process of ``GenerationPolicy.sample``."""
    import torch

    global _WORKER_POLICY
    ignore_interrupts()
    torch.set_num_threads(1)
    env = _run_env(config, run)
    loaded = load_model(
        config, model, observation_space=env.observation_space, action_space=env.action_space
    )
    _WORKER_POLICY = GenerationPolicy(model=loaded, config=config, run=run)


def _worker_rollouts(job: tuple) -> tuple[tuple | list[Scene], NDArray[np.bool_]]:
    scenes = _WORKER_POLICY.rollout_batch(*job)
    return _pack(scenes), _valid(scenes)


_ROAD_ARRAYS = ("segment_lengths", "segment_curvatures", "lane_widths", "lane_starts", "lane_ends")


def _pack(scenes: list[Scene]) -> tuple | list[Scene]:
    """Scenes as a few flat arrays, to send between processes: pickling each scene's
    sixteen small arrays costs more than rolling it out. Scenes with context go as they are."""
    if any(scene.context for scene in scenes):
        return scenes
    roads = [scene.road for scene in scenes]
    segments = np.array([road.segment_lengths.size for road in roads])
    lanes = np.array([road.lane_count for road in roads])
    sizes = np.array([len(scene.vehicles) for scene in scenes])
    road_arrays = {
        name: np.concatenate([getattr(road, name) for road in roads]) for name in _ROAD_ARRAYS
    }
    limits = np.array([[road.speed_limit, *road.origin] for road in roads])
    columns = {
        name: np.concatenate([getattr(scene.vehicles, name) for scene in scenes])
        for name in COLUMNS
    }
    return segments, lanes, sizes, road_arrays, limits, columns


def _unpack(packed: tuple | list[Scene]) -> list[Scene]:
    """The scenes of ``_pack``."""
    if isinstance(packed, list):
        return packed
    segments, lanes, sizes, road_arrays, limits, columns = packed
    scenes = []
    # Each array split at the ends of the scenes' parts: segments, lanes or vehicles.
    cuts = {
        kind: np.cumsum(counts)[:-1] for kind, counts in (("segment", segments), ("lane", lanes))
    }
    roads = {
        name: np.split(values, cuts["segment" if name.startswith("segment") else "lane"])
        for name, values in road_arrays.items()
    }
    vehicles = {name: np.split(values, np.cumsum(sizes)[:-1]) for name, values in columns.items()}
    for i in range(len(sizes)):
        road = Road.unchecked(
            **{name: parts[i].copy() for name, parts in roads.items()},
            speed_limit=float(limits[i, 0]),
            origin=tuple(limits[i, 1:].tolist()),
        )
        scenes.append(
            Scene(road, Vehicles.unchecked({name: parts[i] for name, parts in vehicles.items()}))
        )
    return scenes


def _resample(
    rollouts: Callable[..., tuple[list[Scene], NDArray[np.bool_]]],
    scenes: list[Scene],
    valid: NDArray[np.bool_],
    asked: tuple[list[dict[str, float] | None], list[Road | None]],
    next_seed: int,
    attempts: int,
) -> int:
    """Roll out the invalid scenes of ``scenes`` again with new seeds from ``next_seed`` (and
    their own targets and roads, ``asked``), up to ``attempts`` times, in place; returns how
    many rollouts that took."""
    wanted, roads = asked
    resampled = 0
    for _ in range(attempts):
        bad = np.flatnonzero(~valid).tolist()
        if not bad:
            break
        fresh, fresh_valid = rollouts(
            list(range(next_seed, next_seed + len(bad))),
            [wanted[i] for i in bad],
            roads=[roads[i] for i in bad],
        )
        next_seed += len(bad)
        resampled += len(bad)
        for i, scene in zip(bad, fresh):
            scenes[i] = scene
        valid[bad] = fresh_valid
    return resampled


def _settle(
    invalid: str,
    scenes: list[Scene],
    valid: NDArray[np.bool_],
    wanted: list[dict[str, float] | None],
) -> tuple[Sample, list[dict[str, float] | None]]:
    """The ``Sample`` of ``scenes`` with their invalid ones reported, repaired or dropped as
    ``invalid`` says, and the targets of the scenes it keeps."""
    n = len(scenes)
    kept_targets = wanted
    dropped = repaired = removed = 0
    if invalid == "repair":
        for i in np.flatnonzero(~valid).tolist():
            scenes[i], count = repair(scenes[i])
            repaired, removed = repaired + (count > 0), removed + count
        valid[:] = True
    if invalid in ("resample", "drop"):
        kept_targets = [want for want, good in zip(wanted, valid) if good]
        scenes = [scene for scene, good in zip(scenes, valid) if good]
        dropped = n - len(scenes)
        valid = valid[valid]
    sample = Sample(
        scenes=scenes,
        invalid=int((~valid).sum()),
        resampled=0,
        dropped=dropped,
        repaired=repaired,
        removed=removed,
    )
    return sample, kept_targets


def _per_rollout(targets: Any, n: int) -> list[dict[str, float] | None]:
    """``targets`` (None, one mapping, or ``n`` mappings) as ``n`` per-rollout dicts."""
    if targets is None or isinstance(targets, Mapping):
        return [dict(targets) if targets else None] * n
    if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence):
        raise TypeError(
            f"targets must be a mapping of descriptor to value or a sequence of them, got "
            f"{type(targets).__name__}"
        )
    if len(targets) != n:
        raise ValueError(f"targets holds {len(targets)} mappings; give one per rollout (n={n})")
    wanted = []
    for i, want in enumerate(targets):
        if not isinstance(want, Mapping) or not want:
            raise TypeError(f"targets[{i}] must be a non-empty mapping of descriptor to value")
        if set(want) != set(targets[0]):
            raise ValueError(
                f"targets[{i}] names {sorted(want)} but targets[0] names "
                f"{sorted(targets[0])}; every rollout must ask for the same descriptors"
            )
        wanted.append(dict(want))
    return wanted


def _per_rollout_roads(roads: Any, n: int) -> list[Road | None]:
    """``roads`` (None, or a non-empty sequence of ``Road``) as one road or None per rollout."""
    if roads is None:
        return [None] * n
    if isinstance(roads, (Road, str, bytes)) or not isinstance(roads, Sequence) or not roads:
        raise TypeError(
            "roads must be a non-empty sequence of Road objects (one road: [road]), got "
            f"{type(roads).__name__}"
        )
    for i, road in enumerate(roads):
        if not isinstance(road, Road):
            raise TypeError(f"roads[{i}] must be a Road, got {type(road).__name__}")
    return [roads[i % len(roads)] for i in range(n)]


def _check_part(part: Any, n: int, invalid: str) -> tuple[int, int]:
    if (
        not isinstance(part, (tuple, list))
        or len(part) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in part)
        or not 0 <= part[0] < part[1] <= n
    ):
        raise ValueError(
            f"part must be (start, stop) with 0 <= start < stop <= n={n}, got {part!r}"
        )
    if invalid == "resample":
        raise ValueError(
            "part cannot be used with invalid='resample': its new seeds depend on "
            "every scene of the n; use 'report', 'repair' or 'drop'"
        )
    return int(part[0]), int(part[1])


def _valid(scenes: list[Scene]) -> np.ndarray:
    """``(len(scenes),)`` which scenes break no rule."""
    return violation_counts_many(scenes).sum(axis=1) == 0
