"""scenegym.envs: the scene model and scene spaces.

Scene model: ``Road``, ``Vehicles`` (``KINDS``), ``Scene``; JSON Lines files of scenes with
``write_scenes``, ``read_scenes`` and ``iter_scenes``.
Geometry: ``vehicle_poses``, ``vehicle_corners``.
Validity: ``validate``, ``is_valid``, ``violation_counts``, ``Violation``, ``ValidityRules``,
``RULES``.
Descriptors: ``describe``, ``DESCRIPTORS`` (names and units).
Scene spaces: ``HighwaySceneSpace`` with its ``HighwaySpaceConfig``.
"""

from .descriptors import DESCRIPTORS, GAP_CAP, HEADWAY_CAP, describe
from .geometry import vehicle_corners, vehicle_poses
from .road import Road
from .scene import SCENE_FORMAT, Scene, iter_scenes, read_scenes, write_scenes
from .space import HighwaySceneSpace, HighwaySpaceConfig
from .validity import RULES, ValidityRules, Violation, is_valid, validate, violation_counts
from .vehicles import KINDS, Vehicles, kind_code

__all__ = [
    "DESCRIPTORS",
    "GAP_CAP",
    "HEADWAY_CAP",
    "KINDS",
    "RULES",
    "SCENE_FORMAT",
    "HighwaySceneSpace",
    "HighwaySpaceConfig",
    "Road",
    "Scene",
    "ValidityRules",
    "Vehicles",
    "Violation",
    "describe",
    "is_valid",
    "iter_scenes",
    "kind_code",
    "read_scenes",
    "validate",
    "vehicle_corners",
    "vehicle_poses",
    "violation_counts",
    "write_scenes",
]
