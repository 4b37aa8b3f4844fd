"""World-frame poses and footprints of vehicles, computed for whole columns at once."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from scenegym.scene.road import Road, RoadTable
from scenegym.scene.vehicles import Vehicles

__all__ = [
    "corners_from_frames",
    "vehicle_corners",
    "vehicle_frames",
    "vehicle_frames_many",
    "vehicle_poses",
]

# Corner order: front-left, rear-left, rear-right, front-right (counter-clockwise); each corner
# is centre + a * (half-length to the front) + b * (half-width to the left).
_CORNER_WEIGHTS = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, 1.0], [1.0, -1.0, -1.0], [1.0, 1.0, -1.0]])


def vehicle_poses(road: Road, vehicles: Vehicles) -> tuple[NDArray, NDArray, NDArray]:
    """World position ``x, y`` (m) and heading (rad) of every vehicle centre, each ``(n,)``."""
    lane = np.clip(vehicles.lane, 0, road.lane_count - 1)
    offset = road.lane_centers[lane] + vehicles.d
    x, y, reference_heading = road.frenet_to_cartesian(vehicles.s, offset)
    return x, y, reference_heading + vehicles.heading


def vehicle_corners(road: Road, vehicles: Vehicles) -> NDArray[np.float64]:
    """``(n, 4, 2)`` world corners (m) of every vehicle footprint, counter-clockwise from the
    front-left corner."""
    return corners_from_frames(vehicle_frames(road, vehicles))


def vehicle_frames_many(
    roads: list[Road], road_index: NDArray[np.int64], vehicles: list[Vehicles]
) -> NDArray[np.float64]:
    """``vehicle_frames`` of the vehicles of many scenes at once: ``vehicles[i]`` drive on
    ``roads[road_index[i]]``. Returns the frames of all vehicles, scene by scene."""
    counts = np.array([len(v) for v in vehicles])
    if counts.sum() == 0:
        return np.zeros((0, 3, 2))
    table = RoadTable(roads)
    owner = np.repeat(np.asarray(road_index), counts)
    lane_count = np.array([road.lane_count for road in roads])
    lane_first = np.cumsum(lane_count) - lane_count
    centers = np.concatenate([road.lane_centers for road in roads])
    lane = np.concatenate([v.lane for v in vehicles]).astype(np.int64)
    lane = np.minimum(np.maximum(lane, 0), lane_count[owner] - 1)
    s = np.concatenate([v.s for v in vehicles])
    offset = centers[lane_first[owner] + lane] + np.concatenate([v.d for v in vehicles])
    xr, yr, h = table.reference(owner, s)
    return box_frames(
        xr - offset * np.sin(h),
        yr + offset * np.cos(h),
        h + np.concatenate([v.heading for v in vehicles]),
        np.concatenate([v.length for v in vehicles]),
        np.concatenate([v.width for v in vehicles]),
    )


def corners_from_frames(frames: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(n, 4, 2)`` footprint corners from ``(n, 3, 2)`` frames (see ``vehicle_frames``)."""
    return _CORNER_WEIGHTS @ frames


def vehicle_frames(road: Road, vehicles: Vehicles) -> NDArray[np.float64]:
    """``(n, 3, 2)`` per vehicle: world centre (m), the vector from the centre to the middle of
    the front bumper, and the vector from the centre to the middle of the left side."""
    x, y, heading = vehicle_poses(road, vehicles)
    return box_frames(x, y, heading, vehicles.length, vehicles.width)


def box_frames(x, y, heading, length, width) -> NDArray[np.float64]:
    """Per vehicle: centre, half-length vector to the front, half-width vector to the left."""
    cos, sin = np.cos(heading), np.sin(heading)
    frame = np.empty((len(x), 3, 2))
    frame[:, 0, 0], frame[:, 0, 1] = x, y
    frame[:, 1, 0], frame[:, 1, 1] = cos * length / 2.0, sin * length / 2.0
    frame[:, 2, 0], frame[:, 2, 1] = -sin * width / 2.0, cos * width / 2.0
    return frame
