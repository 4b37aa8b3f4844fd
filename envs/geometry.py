"""World-frame poses and footprints of vehicles, computed for whole columns at once."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .road import Road
from .vehicles import Vehicles

__all__ = ["vehicle_corners", "vehicle_poses"]

# Corner order: front-left, rear-left, rear-right, front-right (counter-clockwise).
_UNIT_CORNERS = np.array([[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]])


def vehicle_poses(road: Road, vehicles: Vehicles) -> tuple[NDArray, NDArray, NDArray]:
    """World position ``x, y`` (m) and heading (rad) of every vehicle centre, each ``(n,)``."""
    lane = np.clip(vehicles.lane, 0, road.lane_count - 1)
    offset = road.lane_centers[lane] + vehicles.d
    x, y, reference_heading = road.frenet_to_cartesian(vehicles.s, offset)
    return x, y, reference_heading + vehicles.heading


def vehicle_corners(road: Road, vehicles: Vehicles) -> NDArray[np.float64]:
    """``(n, 4, 2)`` world corners (m) of every vehicle footprint, counter-clockwise from the
    front-left corner."""
    x, y, heading = vehicle_poses(road, vehicles)
    cos, sin = np.cos(heading), np.sin(heading)
    half_length, half_width = vehicles.length / 2.0, vehicles.width / 2.0
    front = np.stack([cos * half_length, sin * half_length], axis=1)  # centre to front (n, 2)
    left = np.stack([-sin * half_width, cos * half_width], axis=1)  # centre to left side
    centre = np.stack([x, y], axis=1)
    corners = np.empty((len(x), 4, 2))
    for i, (a, b) in enumerate(_UNIT_CORNERS * 2.0):
        corners[:, i] = centre + a * front + b * left
    return corners
