"""scenegym.envs: the scene model and scene spaces.

Scene model: ``Road``, ``Vehicles`` (``KINDS``), ``Scene``; JSON Lines files of scenes with
``write_scenes``, ``read_scenes`` and ``iter_scenes``.
Geometry: ``vehicle_poses``, ``vehicle_corners``.
Validity: ``validate``, ``is_valid``, ``violation_counts``, ``Violation``, ``ValidityRules``,
``RULES``.
Descriptors: ``describe``, ``DESCRIPTORS`` (names and units).
Scene spaces: ``HighwaySceneSpace`` with its ``HighwaySpaceConfig``.
Encoding: ``LaneGrid`` (scenes as channels x lanes x cells float32 tensors: ``encode``,
``encode_many``, ``decode``, ``collisions``) with its ``CHANNELS``.
Generation: the ``scenegym/DrivingLayout-edit-v0`` environment
(``scenegym.envs.generation.DrivingLayoutEnv``).
Reference data: ``naturalistic_reference`` (highway-env IDM/MOBIL traffic, cached) with its
``ReferenceConfig``.
CommonRoad XML: ``write_commonroad``, ``export_commonroad``, ``read_commonroad``,
``import_commonroad``.
highway-env bridge: ``to_highway``, ``from_highway``, ``highway_network``; the Gymnasium
environment ``scenegym/Drive-v0`` (``scenegym.envs.drive.DriveEnv``).
"""

from .commonroad import export_commonroad, import_commonroad, read_commonroad, write_commonroad
from .descriptors import DESCRIPTORS, GAP_CAP, HEADWAY_CAP, describe
from .encoding import CHANNELS, LaneGrid
from .geometry import vehicle_corners, vehicle_poses
from .highway import from_highway, highway_network, to_highway
from .reference import ReferenceConfig, naturalistic_reference
from .road import Road
from .scene import SCENE_FORMAT, Scene, iter_scenes, read_scenes, write_scenes
from .space import HighwaySceneSpace, HighwaySpaceConfig
from .validity import RULES, ValidityRules, Violation, is_valid, validate, violation_counts
from .vehicles import KINDS, Vehicles, kind_code

__all__ = [
    "CHANNELS",
    "DESCRIPTORS",
    "GAP_CAP",
    "HEADWAY_CAP",
    "KINDS",
    "RULES",
    "SCENE_FORMAT",
    "HighwaySceneSpace",
    "HighwaySpaceConfig",
    "LaneGrid",
    "ReferenceConfig",
    "Road",
    "Scene",
    "ValidityRules",
    "Vehicles",
    "Violation",
    "describe",
    "export_commonroad",
    "from_highway",
    "highway_network",
    "import_commonroad",
    "is_valid",
    "iter_scenes",
    "kind_code",
    "naturalistic_reference",
    "read_commonroad",
    "read_scenes",
    "to_highway",
    "validate",
    "vehicle_corners",
    "vehicle_poses",
    "violation_counts",
    "write_commonroad",
    "write_scenes",
]
