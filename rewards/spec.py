"""Reward specifications: named per-scene terms with weights.

Every term scores a scene in [0, 1] (1 is best). A ``RewardSpec`` weights them into one score;
an environment reports every term each step in ``info["reward_terms"]`` and, for step-wise
representations, rewards the change of the weighted score (PCGRL style).

Per-scene terms:

- ``validity``: 1 for a scene that breaks no rule, else ``max(0, 1 - violations / vehicles)``
  (an empty scene is valid);
- ``realism``: ``VehicleRealism.score`` under a model fitted on the reference (0 for a scene
  without vehicles);
- ``goal``: ``1 - mean_i min(1, |descriptor_i - target_i| / range_i)`` over the targeted
  descriptors, where ``range_i`` is the width of the range the targets are drawn from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scenegym.config import check_config, option
from scenegym.envs.descriptors import DESCRIPTORS, describe
from scenegym.envs.scene import Scene
from scenegym.envs.validity import violation_counts

__all__ = ["TERMS", "GoalSpec", "RewardSpec", "goal_score", "validity_score"]

TERMS: tuple[str, ...] = ("validity", "realism", "goal")
"""Names of the per-scene reward terms."""


def validity_score(scene: Scene) -> float:
    """1 when ``scene`` breaks no rule, else ``max(0, 1 - violations / vehicles)``."""
    n = len(scene.vehicles)
    broken = sum(violation_counts(scene).values())
    return 1.0 if broken == 0 else max(0.0, 1.0 - broken / max(n, 1))


@dataclass(frozen=True)
class GoalSpec:
    """Descriptor targets for controllable generation.

    Args:
        ranges: per descriptor name, the ``[low, high]`` range targets are drawn from at reset
            (uniformly); its width also scales the goal error.
    """

    ranges: dict[str, tuple[float, float]] = field(
        default_factory=dict, metadata=option("descriptor: [low, high] target range")
    )

    def __post_init__(self) -> None:
        check_config(self)
        for name, (low, high) in self.ranges.items():
            if name not in DESCRIPTORS:
                raise ValueError(
                    f"goal.ranges: unknown descriptor {name!r}; known: {', '.join(DESCRIPTORS)}"
                )
            if not high > low:
                raise ValueError(f"goal.ranges.{name} needs low < high, got [{low}, {high}]")

    @property
    def names(self) -> tuple[str, ...]:
        """The targeted descriptors, in a fixed order."""
        return tuple(name for name in DESCRIPTORS if name in self.ranges)

    def sample(self, rng: np.random.Generator) -> dict[str, float]:
        """Targets drawn uniformly from the ranges."""
        return {name: float(rng.uniform(*self.ranges[name])) for name in self.names}


def goal_score(
    descriptors: Mapping[str, float], targets: Mapping[str, float], goal: GoalSpec
) -> float:
    """``1 - mean min(1, |error| / range width)`` over the targets; 1 without targets."""
    if not targets:
        return 1.0
    errors = [
        min(1.0, abs(descriptors[name] - value) / (goal.ranges[name][1] - goal.ranges[name][0]))
        for name, value in targets.items()
    ]
    return 1.0 - float(np.mean(errors))


@dataclass(frozen=True)
class RewardSpec:
    """Weights of the reward terms (``TERMS``); terms with weight 0 are still reported.

    >>> spec = RewardSpec(weights={"validity": 1.0})
    >>> spec.weight("realism")
    0.0
    """

    weights: dict[str, float] = field(
        default_factory=lambda: {"validity": 1.0, "realism": 0.5, "goal": 1.0},
        metadata=option("term: weight", 0.0, 100.0),
    )

    def __post_init__(self) -> None:
        check_config(self)
        unknown = sorted(set(self.weights) - set(TERMS))
        if unknown:
            raise ValueError(
                f"reward.weights: unknown term {unknown[0]!r}; known terms: {', '.join(TERMS)}"
            )

    def weight(self, term: str) -> float:
        """The weight of ``term`` (0 when not given)."""
        return float(self.weights.get(term, 0.0))

    def score(
        self,
        scene: Scene,
        *,
        realism: Any = None,
        targets: Mapping[str, float] | None = None,
        goal: GoalSpec | None = None,
        descriptors: Mapping[str, float] | None = None,
    ) -> tuple[float, dict[str, float]]:
        """The weighted score of ``scene`` and every term's value.

        Args:
            scene: the scene.
            realism: a fitted ``VehicleRealism`` (the realism term is 0 without one).
            targets: descriptor targets of the goal term.
            goal: the goal spec the targets come from (needed with ``targets``).
            descriptors: ``describe(scene)`` when the caller has it already.
        """
        terms = {"validity": validity_score(scene)}
        terms["realism"] = realism.score(scene) if realism is not None else 0.0
        if targets:
            now = descriptors if descriptors is not None else describe(scene)
            terms["goal"] = goal_score(now, targets, goal)
        else:
            terms["goal"] = 1.0
        total = sum(self.weight(name) * value for name, value in terms.items())
        return total, terms
