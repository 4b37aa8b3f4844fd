"""Reward specifications: named per-scene terms with weights.

Every term scores a scene in [0, 1] (1 is best). A ``RewardSpec`` weights them into one score;
an environment reports every term each step in ``info["reward_terms"]`` and, for step-wise
representations, rewards the change of the weighted score (PCGRL style).

Per-scene terms:

- ``validity``: 1 for a scene that breaks no rule, else ``max(0, 1 - violations / vehicles)``
  (an empty scene is valid);
- ``realism``: ``VehicleRealism.score`` under a model fitted on the reference (0 for a scene
  without vehicles);
- ``scene_realism``: ``SceneRealism.score``, the scene's descriptors judged together under a
  model fitted on the reference's scenes (0 without a model);
- ``prior_realism``: ``ScenePrior.score``, the percentile of the scene's ELBO under a VAE
  scene prior (or of a GAN prior's discriminator score) among held-out reference scenes (0
  without a prior; ``scenegym.generators.prior``);
- ``goal``: ``1 - mean_i min(1, |descriptor_i - target_i| / range_i)`` over the targeted
  descriptors, where ``range_i`` is the width of the range the targets are drawn from.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scenegym._checks import check_whole
from scenegym.config import check_config, option
from scenegym.scene.batch import SceneBatch
from scenegym.scene.descriptors import DESCRIPTORS
from scenegym.scene.scene import Scene
from scenegym.scene.validity import DEFAULT_RULES, violation_counts_many

__all__ = [
    "TERMS",
    "GoalSpec",
    "RewardSpec",
    "goal_score",
    "goal_scores",
    "validity_score",
    "validity_scores",
]

TERMS: tuple[str, ...] = ("validity", "realism", "scene_realism", "prior_realism", "goal")
"""Names of the per-scene reward terms."""


def validity_score(scene: Scene) -> float:
    """1 when ``scene`` breaks no rule, else ``max(0, 1 - violations / vehicles)``."""
    return float(validity_scores(violation_counts_many([scene]), [len(scene.vehicles)])[0])


def validity_scores(counts: ArrayLike, vehicles: ArrayLike) -> NDArray[np.float64]:
    """``validity_score`` of many scenes from their ``(scenes, len(RULES))`` violation counts
    and vehicle counts."""
    broken = np.asarray(counts).sum(axis=1)
    n = np.maximum(np.asarray(vehicles), 1)
    return np.where(broken == 0, 1.0, np.maximum(0.0, 1.0 - broken / n))


@functools.lru_cache(maxsize=8)
def _reference_targets(path: str, names: tuple[str, ...]) -> NDArray[np.float64]:
    """``(scenes, len(names))`` descriptors of the scenes in ``path`` (read once)."""
    from scenegym.scene.scene import read_scenes

    scenes = read_scenes(path)
    if not scenes:
        raise ValueError(f"goal.reference {path} holds no scenes")
    described = SceneBatch.of(scenes).describe()
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
            if name not in DESCRIPTORS:
                raise ValueError(
                    f"goal.ranges: unknown descriptor {name!r}; known: {', '.join(DESCRIPTORS)}"
                )
            if not high > low:
                raise ValueError(f"goal.ranges.{name} needs low < high, got [{low}, {high}]")
        if self.reference and not self.ranges:
            raise ValueError(
                "goal.reference needs goal.ranges: name the descriptors to take from the "
                "reference scenes and their [low, high] ranges"
            )

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        """The targeted descriptors, in a fixed order."""
        return tuple(name for name in DESCRIPTORS if name in self.ranges)

    def sample(self, rng: np.random.Generator) -> dict[str, float]:
        """Targets drawn uniformly from the ranges, or those of a random reference scene."""
        if self.reference:
            table = _reference_targets(self.reference, self.names)
            row = table[int(rng.integers(len(table)))]
            return {name: float(value) for name, value in zip(self.names, row)}
        return {name: float(rng.uniform(*self.ranges[name])) for name in self.names}

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
        scene_realism: Any = None,
        prior: Any = None,
        targets: Mapping[str, float] | None = None,
        goal: GoalSpec | None = None,
        descriptors: Mapping[str, float] | None = None,
    ) -> tuple[float, dict[str, float]]:
        """The weighted score of ``scene`` and every term's value.

        Args:
            scene: the scene.
            realism: a fitted ``VehicleRealism`` (the realism term is 0 without one).
            scene_realism: a fitted ``SceneRealism`` (the scene_realism term is 0 without one).
            prior: a ``ScenePrior`` (the prior_realism term is 0 without one).
            targets: descriptor targets of the goal term.
            goal: the goal spec the targets come from (needed with ``targets``).
            descriptors: ``describe(scene)`` when the caller has it already.
        """
        batch = SceneBatch.of([scene])
        described = None
        if descriptors is not None:
            described = {name: np.array([value]) for name, value in descriptors.items()}
        if targets:
            names = list(targets)
            wanted = np.array([[targets[name] for name in names]], dtype=np.float64)
        else:
            names, wanted = None, None
        total, terms = self.score_batch(
            batch,
            realism=realism,
            scene_realism=scene_realism,
            prior=prior,
            targets=wanted,
            goal=goal,
            names=names,
            descriptors=described,
        )
        return float(total[0]), {name: float(values[0]) for name, values in terms.items()}

    def score_batch(
        self,
        batch: SceneBatch,
        *,
        realism: Any = None,
        scene_realism: Any = None,
        prior: Any = None,
        targets: NDArray[np.float64] | None = None,
        goal: GoalSpec | None = None,
        names: Sequence[str] | None = None,
        descriptors: Mapping[str, NDArray[np.float64]] | None = None,
    ) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]:
        """``score`` of every scene of a ``SceneBatch``: the ``(scenes,)`` weighted scores and
        every term's ``(scenes,)`` values. ``targets`` is ``(scenes, k)``, one column per name
        in ``names`` (default ``goal.names``); ``descriptors`` is ``batch.describe()`` when the
        caller has it already."""
        terms = {"validity": validity_scores(batch.violation_counts(DEFAULT_RULES), batch.sizes)}
        if realism is not None:
            terms["realism"] = realism.batch_scores(batch)
        else:
            terms["realism"] = np.zeros(batch.count)
        now = descriptors
        if scene_realism is not None:
            now = now if now is not None else batch.describe()
            terms["scene_realism"] = scene_realism.batch_scores(batch, now)
        else:
            terms["scene_realism"] = np.zeros(batch.count)
        if prior is not None:
            terms["prior_realism"] = prior.batch_scores(batch)
        else:
            terms["prior_realism"] = np.zeros(batch.count)
        if targets is not None:
            names = goal.names if names is None else names
            now = now if now is not None else batch.describe()
            terms["goal"] = goal_scores(
                np.column_stack([now[name] for name in names]), targets, goal, names
            )
        else:
            terms["goal"] = np.ones(batch.count)
        total = sum(self.weight(name) * values for name, values in terms.items())
        return total, terms
