"""The semantic classes of a picture of a scene, and the flat colour the renderer gives each."""

from __future__ import annotations

import numpy as np

from scenegym.scene.vehicles import KINDS

__all__ = ["PALETTE", "SEMANTIC_CLASSES"]

SEMANTIC_CLASSES: tuple[str, ...] = ("background", "road", "lane_marking", *KINDS)
"""Semantic map values: index = class id (vehicle kinds follow ``KINDS``)."""

PALETTE = np.array(
    [
        [74, 96, 62],  # background: verge
        [92, 92, 96],  # road: asphalt
        [235, 235, 235],  # lane marking
        [40, 110, 220],  # car
        [230, 140, 30],  # truck
        [200, 40, 60],  # motorcycle
        [245, 205, 40],  # bus
    ],
    dtype=np.uint8,
)
"""RGB colour of each semantic class."""
