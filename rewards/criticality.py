"""The criticality reward term: how close a scene comes to a crash when its traffic drives on.

``criticality``: the scene's ``criticality`` descriptor (``scenegym.scene.safety``): 1 when
two vehicles collide within 5 s of highway-env's IDM and MOBIL traffic, else the larger of
``1 - min TTC / 5 s`` and ``max DRAC / 6 m/s²``. Weighted beside ``validity`` and
``realism``, it asks a generator for scenes that are critical and still plausible; as a goal
(``goal.ranges: {criticality: [0, 1]}``) it makes criticality a target like density.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from scenegym.rewards.terms import TermContext, register_term
from scenegym.scene.batch import SceneBatch

__all__ = ["CriticalityTerm"]


class CriticalityTerm:
    """The ``criticality`` term (see the module notes)."""

    name = "criticality"

    def scores(self, batch: SceneBatch, context: TermContext) -> NDArray[np.float64]:
        return np.asarray(context.describe(batch, ("criticality",))["criticality"])


register_term(CriticalityTerm())
