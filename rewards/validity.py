"""The validity reward term: how few rules a scene breaks.

``validity``: 1 for a scene that breaks no rule, else ``max(0, 1 - violations / vehicles)``
(an empty scene is valid).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scenegym.rewards.terms import TermContext, register_term
from scenegym.scene.batch import SceneBatch
from scenegym.scene.scene import Scene
from scenegym.scene.validity import DEFAULT_RULES, violation_counts_many

__all__ = ["ValidityTerm", "validity_score", "validity_scores"]


def validity_score(scene: Scene) -> float:
    """1 when ``scene`` breaks no rule, else ``max(0, 1 - violations / vehicles)``."""
    return float(validity_scores(violation_counts_many([scene]), [len(scene.vehicles)])[0])


def validity_scores(counts: ArrayLike, vehicles: ArrayLike) -> NDArray[np.float64]:
    """``validity_score`` of many scenes from their ``(scenes, len(RULES))`` violation counts
    and vehicle counts."""
    broken = np.asarray(counts).sum(axis=1)
    n = np.maximum(np.asarray(vehicles), 1)
    return np.where(broken == 0, 1.0, np.maximum(0.0, 1.0 - broken / n))


class ValidityTerm:
    """The ``validity`` term: ``validity_score`` of every scene under the default rules."""

    name = "validity"

    def scores(self, batch: SceneBatch, context: TermContext) -> NDArray[np.float64]:
        return validity_scores(batch.violation_counts(DEFAULT_RULES), batch.sizes)


register_term(ValidityTerm())
