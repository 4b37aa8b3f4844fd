"""Reward specifications: registered per-scene terms with weights.

Every term scores a scene in [0, 1] (1 is best). A ``RewardSpec`` weights them into one score;
an environment reports every term each step in ``info["reward_terms"]`` and, for step-wise
representations, rewards the change of the weighted score (PCGRL style).

The per-scene terms every spec reports (``TERMS``, in this order):

- ``validity`` (``scenegym.rewards.validity``): 1 for a scene that breaks no rule, else
  ``max(0, 1 - violations / vehicles)`` (an empty scene is valid);
- ``realism`` (``scenegym.rewards.realism``): ``VehicleRealism.score`` under a model fitted on
  the reference (0 for a scene without vehicles, and without a model);
- ``scene_realism``: ``SceneRealism.score``, the scene's descriptors judged together under a
  model fitted on the reference's scenes (0 without a model);
- ``prior_realism``: ``ScenePrior.score``, the percentile of the scene's ELBO under a VAE
  scene prior (or of a GAN prior's discriminator score) among held-out reference scenes (0
  without a prior; ``scenegym.generators.prior``);
- ``goal`` (``scenegym.rewards.goal``): ``1 - mean_i min(1, |descriptor_i - target_i| /
  range_i)`` over the targeted descriptors, where ``range_i`` is the width of the range the
  targets are drawn from.

Any other registered per-scene term (``scenegym.rewards.terms.register_term``) is reported
after them when the weights name it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

import scenegym.rewards.realism  # noqa: F401  (registers the realism terms)
from scenegym.config import check_config, option
from scenegym.rewards.goal import GoalSpec, goal_score, goal_scores
from scenegym.rewards.terms import RewardTerm, TermContext, registered_terms, reward_term
from scenegym.rewards.validity import validity_score, validity_scores
from scenegym.scene.batch import SceneBatch
from scenegym.scene.scene import Scene

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
"""Names of the per-scene reward terms every ``RewardSpec`` reports, in their order."""


@dataclass(frozen=True)
class RewardSpec:
    """Weights of the registered per-scene reward terms; the terms of ``TERMS`` are reported
    even with weight 0 (or none), and after them every other term the weights name.

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
        known = TERMS + tuple(
            name for name in registered_terms(population=False) if name not in TERMS
        )
        for name in self.weights:
            if name in known:
                continue
            if name in registered_terms(population=True):
                raise ValueError(
                    f"reward.weights: {name!r} is a population term, scored against the "
                    "finished scenes of every environment: weight it in the training config "
                    f"({name}: WEIGHT), not in the reward"
                )
            raise ValueError(
                f"reward.weights: unknown term {name!r}; known terms: {', '.join(known)}"
            )

    @property
    def terms(self) -> tuple[str, ...]:
        """The per-scene terms this spec scores and reports, in order: ``TERMS``, then the
        other registered terms its weights name, in the weights' order."""
        return TERMS + tuple(name for name in self.weights if name not in TERMS)

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
        models: Mapping[str, Any] | None = None,
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
            models: further fitted models by name, for registered terms that read them
                (``TermContext.models``).
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
            models=models,
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
        models: Mapping[str, Any] | None = None,
        final: NDArray[np.bool_] | None = None,
    ) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]:
        """``score`` of every scene of a ``SceneBatch``: the ``(scenes,)`` weighted scores and
        every term's ``(scenes,)`` values, in the order of ``terms``. ``targets`` is
        ``(scenes, k)``, one column per name in ``names`` (default ``goal.names``);
        ``descriptors`` is ``batch.describe()`` when the caller has it already; ``final``
        flags the scenes at their episode's end (``TermContext.final``; None: all); the
        models and these make the terms' ``TermContext``."""
        context = TermContext(
            models={
                "realism": realism,
                "scene_realism": scene_realism,
                "prior": prior,
                **(models or {}),
            },
            targets=targets,
            goal=goal,
            names=names,
            descriptors=descriptors,
            final=final,
        )
        terms = {name: _scene_term(name).scores(batch, context) for name in self.terms}
        total = sum(self.weight(name) * values for name, values in terms.items())
        return total, terms


def _scene_term(name: str) -> RewardTerm:
    """The registered per-scene term ``name``."""
    term = reward_term(name)
    if not isinstance(term, RewardTerm):
        raise ValueError(f"reward term {name!r} is a population term, not a per-scene one")
    return term
