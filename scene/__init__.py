"""scenegym.scene: the scene model, plain numpy data testable without any environment.

May import only scenegym's utilities (``scenegym._checks``, ``scenegym._io``,
``scenegym.config``).

- Scene model: ``Road`` (lanes along a reference line, Frenet frame), ``Vehicles`` (columns,
  ``KINDS``, ``kind_code``), ``Scene``; JSON Lines files with ``write_scenes``,
  ``read_scenes``, ``iter_scenes`` (format ``SCENE_FORMAT``); ``distinct_roads``.
- Many scenes at once: ``SceneBatch``, ``RoadBatch``.
- Geometry: ``vehicle_poses``, ``vehicle_corners``.
- Criticality: ``roll_out`` (every vehicle driven forward by highway-env's IDM and MOBIL,
  vectorised; ``Rollout``, ``DriverModel``), ``criticality`` (time to collision, headway,
  DRAC, post-encroachment time, collisions and the ``criticality`` score per scene,
  ``MEASURES``), ``snapshot_measures`` (the same from the scene as it stands), ``drac``
  (deceleration rate to avoid a crash, per vehicle).
- Validity: ``validate``, ``is_valid``, ``violation_counts``, ``violation_counts_many``,
  ``repair``, ``Violation``, ``ValidityRules``, ``RULES``, ``DEFAULT_RULES``.
- Recordings as groups: ``recording_of``, ``group_codes``, ``group_names``,
  ``grouped_split`` (splits that keep each recording whole).
- Validity report of a set (a reference's check): ``rule_report``.
- Descriptors: ``describe``, ``describe_many``, ``DESCRIPTORS`` (names and units),
  ``ROLLOUT_DESCRIPTORS`` (``criticality``: computed where asked for by name),
  ``ALL_DESCRIPTORS``, ``GAP_CAP``, ``HEADWAY_CAP``.
- Features shared by realism rewards and metrics: ``vehicle_features``, ``scene_features``,
  ``scene_vehicle_features``, ``VEHICLE_FEATURES``, ``SCENE_FEATURES``.
- Encoding: ``LaneGrid`` (scenes as channels x lanes x cells tensors) and its ``CHANNELS``.
- Scene spaces: ``HighwaySceneSpace`` with its ``HighwaySpaceConfig``; spaces fitted to a
  reference: ``space_like`` (roads and traffic), ``vehicles_like`` (a space's roads, the
  reference's vehicles).
- Picture classes: ``SEMANTIC_CLASSES`` and their colours ``PALETTE``.
"""

from scenegym.scene.batch import RoadBatch, SceneBatch
from scenegym.scene.descriptors import (
    ALL_DESCRIPTORS,
    DESCRIPTORS,
    GAP_CAP,
    HEADWAY_CAP,
    ROLLOUT_DESCRIPTORS,
    describe,
    describe_many,
)
from scenegym.scene.encoding import CHANNELS, LaneGrid
from scenegym.scene.features import (
    SCENE_FEATURES,
    VEHICLE_FEATURES,
    scene_features,
    scene_vehicle_features,
    vehicle_features,
)
from scenegym.scene.fitted import space_like, vehicles_like
from scenegym.scene.geometry import vehicle_corners, vehicle_poses
from scenegym.scene.groups import group_codes, group_names, grouped_split, recording_of
from scenegym.scene.road import Road
from scenegym.scene.rollout import DriverModel, Rollout, roll_out
from scenegym.scene.safety import MEASURES, criticality, drac, snapshot_measures
from scenegym.scene.scene import (
    SCENE_FORMAT,
    Scene,
    distinct_roads,
    iter_scenes,
    read_scenes,
    write_scenes,
)
from scenegym.scene.semantic import PALETTE, SEMANTIC_CLASSES
from scenegym.scene.space import HighwaySceneSpace, HighwaySpaceConfig
from scenegym.scene.validity import (
    DEFAULT_RULES,
    RULES,
    ValidityRules,
    Violation,
    is_valid,
    repair,
    rule_report,
    validate,
    violation_counts,
    violation_counts_many,
)
from scenegym.scene.vehicles import KINDS, Vehicles, kind_code

__all__ = [
    "ALL_DESCRIPTORS",
    "CHANNELS",
    "DEFAULT_RULES",
    "DESCRIPTORS",
    "GAP_CAP",
    "HEADWAY_CAP",
    "KINDS",
    "MEASURES",
    "PALETTE",
    "ROLLOUT_DESCRIPTORS",
    "RULES",
    "SCENE_FEATURES",
    "SCENE_FORMAT",
    "SEMANTIC_CLASSES",
    "VEHICLE_FEATURES",
    "DriverModel",
    "HighwaySceneSpace",
    "HighwaySpaceConfig",
    "LaneGrid",
    "Road",
    "RoadBatch",
    "Rollout",
    "Scene",
    "SceneBatch",
    "ValidityRules",
    "Vehicles",
    "Violation",
    "criticality",
    "describe",
    "describe_many",
    "distinct_roads",
    "drac",
    "group_codes",
    "group_names",
    "grouped_split",
    "is_valid",
    "iter_scenes",
    "kind_code",
    "read_scenes",
    "recording_of",
    "repair",
    "roll_out",
    "rule_report",
    "scene_features",
    "scene_vehicle_features",
    "snapshot_measures",
    "space_like",
    "validate",
    "vehicle_corners",
    "vehicle_features",
    "vehicle_poses",
    "vehicles_like",
    "violation_counts",
    "violation_counts_many",
    "write_scenes",
]
