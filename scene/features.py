"""Features of scenes shared by realism rewards and evaluation metrics.

*Vehicle features* (``VEHICLE_FEATURES``) describe each vehicle in its traffic context;
*scene features* (``SCENE_FEATURES``, the descriptors) summarise each scene in one row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scenegym.scene.batch import SceneBatch
from scenegym.scene.descriptors import DESCRIPTORS
from scenegym.scene.scene import Scene

__all__ = [
    "ROAD_FEATURES",
    "SCENE_FEATURES",
    "TRAFFIC_FEATURES",
    "VEHICLE_FEATURES",
    "as_scenes",
    "scene_features",
    "scene_vehicle_features",
    "vehicle_features",
]

VEHICLE_FEATURES: tuple[str, ...] = (
    "speed",
    "gap",
    "time_headway",
    "relative_speed",
    "lateral_offset",
    "heading",
    "length",
    "width",
)
"""Columns of ``vehicle_features``: speed (m/s), gap to the leader (m), time headway (s),
leader minus follower speed (m/s), offset from the lane centre (m), heading to the lane (rad),
length (m), width (m)."""

SCENE_FEATURES: tuple[str, ...] = tuple(DESCRIPTORS)
"""Columns of ``scene_features``: the descriptors, in ``DESCRIPTORS`` order."""

ROAD_FEATURES: tuple[str, ...] = ("max_curvature", "lane_count")
"""The scene features that describe the road alone."""

TRAFFIC_FEATURES: tuple[str, ...] = tuple(f for f in SCENE_FEATURES if f not in ROAD_FEATURES)
"""The scene features that describe the traffic on the road (every other descriptor)."""


def as_scenes(name: str, scenes: Any, *, min_count: int = 0) -> list[Scene]:
    """``scenes`` as a list of ``Scene``: one clear error for one scene, another type or too few."""
    if isinstance(scenes, Scene):
        raise TypeError(f"{name} must be a sequence of Scene objects, got one Scene; use [scene]")
    if isinstance(scenes, (str, bytes, Mapping)) or not isinstance(scenes, Iterable):
        raise TypeError(f"{name} must be a sequence of Scene objects, got {type(scenes).__name__}")
    scenes = list(scenes)
    for index, scene in enumerate(scenes):
        if not isinstance(scene, Scene):
            raise TypeError(f"{name}[{index}] must be a Scene, got {type(scene).__name__}")
    if len(scenes) < min_count:
        raise ValueError(f"{name} must hold at least {min_count} scenes, got {len(scenes)}")
    return scenes


def scene_vehicle_features(scene: Scene) -> NDArray[np.float64]:
    """``vehicle_features`` of one scene: ``(len(scene.vehicles), 8)``, vehicles in stored order.

    Cheap enough for a per-scene reward inside an environment step.
    """
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a Scene, got {type(scene).__name__}")
    return SceneBatch.of([scene]).vehicle_features()


def vehicle_features(scenes: Iterable[Scene]) -> NDArray[np.float64]:
    """Per-vehicle features of every vehicle of every scene, pooled.

    Columns (``VEHICLE_FEATURES``): speed (m/s); bumper-to-bumper gap to the leader in the same
    lane (m, capped at ``GAP_CAP``, ``GAP_CAP`` without a leader, negative when footprints
    overlap); time headway gap / speed (s, capped at ``HEADWAY_CAP``; ``HEADWAY_CAP`` without a
    leader or at speed 0; 0 when the gap is <= 0); relative speed leader minus follower (m/s,
    0 without a leader); lateral offset ``d`` (m); heading to the lane (rad); length (m);
    width (m).

    Args:
        scenes: the scenes (any iterable of ``Scene``).

    Returns:
        ``(n_vehicles_total, 8)`` float array, scene by scene in input order, vehicles in
        their stored order.

    >>> from scenegym.scene import Road, Scene, Vehicles
    >>> cars = Vehicles.from_columns(lane=[0, 0], s=[100.0, 124.5], speed=[20.0, 25.0])
    >>> vehicle_features([Scene(Road.straight(length=500.0, lanes=2), cars)])[:, :4].tolist()
    [[20.0, 20.0, 1.0, 5.0], [25.0, 200.0, 10.0, 0.0]]
    """
    scenes = as_scenes("scenes", scenes)
    if not scenes:
        return np.zeros((0, len(VEHICLE_FEATURES)))
    return SceneBatch.of(scenes).vehicle_features()


def scene_features(scenes: Iterable[Scene]) -> NDArray[np.float64]:
    """The descriptors of each scene as one row (``SCENE_FEATURES`` order, units as in
    ``DESCRIPTORS``).

    Returns:
        ``(n_scenes, len(SCENE_FEATURES))`` float array.
    """
    scenes = as_scenes("scenes", scenes)
    if not scenes:
        return np.zeros((0, len(SCENE_FEATURES)))
    values = SceneBatch.of(scenes).describe()
    return np.column_stack([values[name] for name in SCENE_FEATURES])
