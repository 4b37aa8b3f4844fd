"""The goal-directed teacher: a learning-progress bandit over descriptor targets.

Each arm is a set of descriptor targets (say ``{"density": 40}``); a proposal picks an arm and
asks a goal-conditioned generator (a trained generation run, or the random scene space, which
follows targets too) for a scene with those targets, so every step of the curriculum reads as
descriptors. The bandit follows the teacher-student curriculum of Matiisen et al. (2019): an
arm's *learning progress* is the absolute change of the student's mean return on it between
the older and the newer half of its last ``window`` episodes; an arm is picked with
probability proportional to its learning progress (uniformly with probability ``explore``, or
when no arm shows progress), and every arm is first tried ``min_tries`` times.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from scenegym.agents.teachers import Episode, Teacher, with_curriculum, without_curriculum
from scenegym.scene.scene import Scene

__all__ = ["GoalTeacher", "arms_from_grid", "learning_progress"]


def arms_from_grid(grid: Mapping[str, Sequence[float]]) -> list[dict[str, float]]:
    """Every combination of the values of ``grid`` (descriptor: values) as one arm."""
    if not grid:
        raise ValueError("the goal teacher needs targets: descriptor names with their values")
    names = list(grid)
    for name in names:
        values = grid[name]
        if (
            isinstance(values, (str, bytes))
            or not isinstance(values, Sequence)
            or not values
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        ):
            raise ValueError(f"targets.{name} must be a non-empty list of numbers, got {values!r}")
    return [
        dict(zip(names, map(float, values)))
        for values in itertools.product(*(grid[name] for name in names))
    ]


def learning_progress(returns: Sequence[float], window: int) -> float:
    """|mean of the newer half - mean of the older half| of the last ``window`` returns
    (0 with fewer than 2)."""
    recent = np.asarray(returns[-window:], dtype=np.float64)
    if recent.size < 2:
        return 0.0
    half = recent.size // 2
    return float(abs(recent[half:].mean() - recent[:half].mean()))


class GoalTeacher(Teacher):
    """Pick descriptor targets by learning progress (see the module notes).

    Args:
        streams: one teacher per arm whose scenes follow that arm's targets
            (``GeneratorTeacher`` or ``RandomTeacher`` built with ``targets=``).
        arms: the targets of each stream, in the same order.
        window: episodes per arm the learning progress looks back on.
        explore: probability of a uniform pick.
        min_tries: episodes every arm gets before progress decides.
    """

    name = "goal"

    def __init__(
        self,
        streams: Sequence[Teacher],
        arms: Sequence[Mapping[str, float]],
        *,
        seed: int = 0,
        window: int = 20,
        explore: float = 0.2,
        min_tries: int = 3,
    ) -> None:
        super().__init__(seed=seed)
        if len(streams) != len(arms) or not arms:
            raise ValueError("the goal teacher needs one scene stream per arm")
        self.streams, self.arms = list(streams), [dict(arm) for arm in arms]
        self.window, self.explore, self.min_tries = window, explore, min_tries
        self.returns: list[list[float]] = [[] for _ in arms]
        self.picks = [0] * len(arms)
        self._pending: dict[str, int] = {}

    def progress(self) -> np.ndarray:
        """The learning progress of every arm."""
        return np.array([learning_progress(r, self.window) for r in self.returns])

    def choose(self) -> int:
        """The arm of the next proposal."""
        untried = [k for k in range(len(self.arms)) if self.picks[k] < self.min_tries]
        if untried:
            return int(untried[int(self.rng.integers(len(untried)))])
        progress = self.progress()
        if self.rng.random() < self.explore or progress.sum() <= 0.0:
            return int(self.rng.integers(len(self.arms)))
        return int(self.rng.choice(len(self.arms), p=progress / progress.sum()))

    def _next(self) -> Scene:
        arm = self.choose()
        self.picks[arm] += 1
        scene = without_curriculum(self.streams[arm].propose())
        proposed = with_curriculum(
            scene, teacher=self.name, proposal=self.proposed, stage=arm, targets=self.arms[arm]
        )
        self._pending[proposed.id] = arm
        return proposed

    def update(self, episodes: Sequence[Episode]) -> None:
        for episode in episodes:
            arm = self._pending.pop(episode.scene, None)
            if arm is not None:
                self.returns[arm] = [*self.returns[arm], float(episode.ret)][-self.window :]

    def discard_pending(self) -> None:
        self._pending = {}

    def stats(self) -> dict[str, float]:
        stats = super().stats()
        for k, value in enumerate(self.progress()):
            stats[f"arm{k}_progress"] = float(value)
            stats[f"arm{k}_picks"] = float(self.picks[k])
        return stats

    def state(self) -> dict[str, Any]:
        return super().state() | {
            "arms": self.arms,
            "returns": self.returns,
            "picks": self.picks,
            "pending": self._pending,
            "streams": [stream.state() for stream in self.streams],
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        super().load_state(state)
        if [dict(arm) for arm in state["arms"]] != self.arms:
            raise ValueError("the saved goal teacher has other arms; resume with the run's config")
        self.returns = [[float(x) for x in r] for r in state["returns"]]
        self.picks = [int(x) for x in state["picks"]]
        self._pending = {key: int(arm) for key, arm in state["pending"].items()}
        for stream, saved in zip(self.streams, state["streams"]):
            stream.load_state(saved)
