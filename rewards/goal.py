"""The goal reward term: how near a scene's descriptors come to the targets asked for.

``goal``: ``1 - mean_i min(1, |descriptor_i - target_i| / range_i)`` over the targeted
descriptors, where ``range_i`` is the width of the range the targets are drawn from (1 for a
scene without targets). ``GoalSpec`` holds those ranges.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scenegym._checks import check_whole
from scenegym.config import check_config, option
from scenegym.rewards.terms import TermContext, register_term
from scenegym.scene.batch import SceneBatch
from scenegym.scene.descriptors import ALL_DESCRIPTORS, check_bounds, describe_batch
from scenegym.scene.scene import read_scenes

__all__ = ["GoalSpec", "GoalTerm", "goal_score", "goal_scores"]


@functools.lru_cache(maxsize=8)
def _reference_targets(path: str, names: tuple[str, ...]) -> NDArray[np.float64]:
    """``(scenes, len(names))`` descriptors of the scenes in ``path`` (read once)."""
    scenes = read_scenes(path)
    if not scenes:
        raise ValueError(f"goal.reference {path} holds no scenes")
    described = describe_batch(SceneBatch.of(scenes), names)
    return np.column_stack([described[name] for name in names])


@dataclass(frozen=True)
class GoalSpec:
    """Descriptor targets for controllable generation.

    Args:
        ranges: per descriptor name, the ``[low, high]`` range targets are drawn from at reset
            (uniformly); its width also scales the goal error.
        reference: optional scenes file (JSONL); then each reset takes the targets from the
            descriptors of one of its scenes, drawn at random, instead of uniformly from the
            ranges, so that a policy asked for what the reference holds learns to generate
            the reference's joint distribution of the targeted descriptors. Sampling a
            trained policy without targets draws them with ``sample_many`` instead: every
            reference scene once before any repeats.
    """

    ranges: dict[str, tuple[float, float]] = field(
        default_factory=dict, metadata=option("descriptor: [low, high] target range")
    )
    reference: str = field(
        default="",
        metadata=option("scenes (JSONL) whose descriptors are drawn as targets at reset"),
    )

    def __post_init__(self) -> None:
        check_config(self)
        for name, (low, high) in self.ranges.items():
            if name not in ALL_DESCRIPTORS:
                known = ", ".join(ALL_DESCRIPTORS)
                raise ValueError(f"goal.ranges: unknown descriptor {name!r}; known: {known}")
            if not high > low:
                raise ValueError(f"goal.ranges.{name} needs low < high, got [{low}, {high}]")
            for end in (low, high):
                check_bounds(name, end, what="goal.ranges")
        if self.reference and not self.ranges:
            raise ValueError(
                "goal.reference needs goal.ranges: name the descriptors to take from the "
                "reference scenes and their [low, high] ranges"
            )

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        """The targeted descriptors, in a fixed order."""
        return tuple(name for name in ALL_DESCRIPTORS if name in self.ranges)

    def sample(self, rng: np.random.Generator) -> dict[str, float]:
        """Targets drawn uniformly from the ranges, or those of a random reference scene."""
        if self.reference:
            table = _reference_targets(self.reference, self.names)
            row = table[int(rng.integers(len(table)))]
            return {name: float(value) for name, value in zip(self.names, row)}
        return {name: float(rng.uniform(*self.ranges[name])) for name in self.names}

    def sample_given(
        self, given: Mapping[str, float], rng: np.random.Generator, *, neighbours: int = 5
    ) -> dict[str, float]:
        """Targets that keep ``given`` and fill in the others as the reference does *given*
        them: those of one of the ``neighbours`` reference scenes nearest to ``given``
        (distances in range widths over the given descriptors; drawn at random among them
        and among every scene as near as the farthest of them), so a density asked for alone
        comes with the speeds and headways reference scenes of that density have. Without a
        reference, the others are drawn from the ranges."""
        unknown = set(given) - set(self.names)
        if unknown:
            raise ValueError(
                f"targets name {sorted(unknown)}; this goal's descriptors are: "
                f"{', '.join(self.names) or 'none'}"
            )
        if not self.reference or not given:
            return {**self.sample(rng), **{k: float(v) for k, v in given.items()}}
        table = _reference_targets(self.reference, self.names)
        columns = [self.names.index(name) for name in given]
        width = np.array([self.ranges[name][1] - self.ranges[name][0] for name in given])
        wanted = np.array([float(given[name]) for name in given])
        distance = np.abs((table[:, columns] - wanted) / width).sum(axis=1)
        count = min(len(table), neighbours)
        farthest = np.partition(distance, count - 1)[count - 1]
        nearest = np.flatnonzero(distance <= farthest)
        row = table[nearest[int(rng.integers(nearest.size))]]
        targets = {name: float(value) for name, value in zip(self.names, row)}
        return {**targets, **{name: float(value) for name, value in given.items()}}

    def sample_many(self, n: int, rng: np.random.Generator) -> list[dict[str, float]]:
        """``n`` target sets. With a reference, its scenes' descriptors in a random order,
        each once before any repeats (a set of generated scenes whose targets repeat holds
        near-copies, which a classifier two-sample test picks out); without, ``sample`` n
        times."""
        n = check_whole("n", n, 0)
        if not self.reference:
            return [self.sample(rng) for _ in range(n)]
        table = _reference_targets(self.reference, self.names)
        rounds = max(1, -(-n // len(table)))
        order = np.concatenate([rng.permutation(len(table)) for _ in range(rounds)])[:n]
        return [{name: float(value) for name, value in zip(self.names, table[i])} for i in order]


def goal_score(
    descriptors: Mapping[str, float], targets: Mapping[str, float], goal: GoalSpec
) -> float:
    """``1 - mean min(1, |error| / range width)`` over the targets; 1 without targets."""
    if not targets:
        return 1.0
    names = list(targets)
    now = np.array([[descriptors[name] for name in names]])
    wanted = np.array([[targets[name] for name in names]])
    return float(goal_scores(now, wanted, goal, names)[0])


def goal_scores(
    now: ArrayLike, targets: ArrayLike, goal: GoalSpec, names: Sequence[str] | None = None
) -> NDArray[np.float64]:
    """``goal_score`` of many scenes: ``now`` and ``targets`` are ``(scenes, k)`` values of
    the descriptors ``names`` (default ``goal.names``)."""
    names = goal.names if names is None else names
    width = np.array([goal.ranges[name][1] - goal.ranges[name][0] for name in names])
    error = np.minimum(1.0, np.abs(np.asarray(now) - np.asarray(targets)) / width)
    return 1.0 - error.mean(axis=1)


class GoalTerm:
    """The ``goal`` term: ``goal_scores`` of the scenes' descriptors against their targets
    (1 for scenes without targets)."""

    name = "goal"

    def scores(self, batch: SceneBatch, context: TermContext) -> NDArray[np.float64]:
        if context.targets is None:
            return np.ones(batch.count)
        goal = context.goal
        names = goal.names if context.names is None else context.names
        now = context.describe(batch, names)
        return goal_scores(
            np.column_stack([now[name] for name in names]), context.targets, goal, names
        )


register_term(GoalTerm())
