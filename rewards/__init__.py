"""scenegym.rewards: reward terms and the evaluation metrics they share.

Metrics (``scenegym.rewards.metrics``): features ``vehicle_features``, ``scene_features``,
``scene_vehicle_features`` (``VEHICLE_FEATURES``, ``SCENE_FEATURES``) and ``Standardiser``;
fidelity ``mmd2``, ``mmd2_floor``, ``c2st_auc``, ``ks_statistics``, ``wasserstein``, ``prdc``;
diversity ``vendi``, ``grid_coverage``, ``mean_pairwise_distance``, ``duplicate_rate``; and
``evaluate``, all of them at once.
Reward terms: ``VehicleRealism``, a bounded per-scene realism score fitted on a reference.
"""

from .metrics import (
    SCENE_FEATURES,
    VEHICLE_FEATURES,
    Standardiser,
    c2st_auc,
    duplicate_rate,
    evaluate,
    grid_coverage,
    ks_statistics,
    mean_pairwise_distance,
    mmd2,
    mmd2_floor,
    prdc,
    scene_features,
    scene_vehicle_features,
    vehicle_features,
    vendi,
    wasserstein,
)
from .realism import REALISM_FEATURES, SCENE_REALISM_FEATURES, SceneRealism, VehicleRealism

__all__ = [
    "REALISM_FEATURES",
    "SCENE_FEATURES",
    "SCENE_REALISM_FEATURES",
    "VEHICLE_FEATURES",
    "SceneRealism",
    "Standardiser",
    "VehicleRealism",
    "c2st_auc",
    "duplicate_rate",
    "evaluate",
    "grid_coverage",
    "ks_statistics",
    "mean_pairwise_distance",
    "mmd2",
    "mmd2_floor",
    "prdc",
    "scene_features",
    "scene_vehicle_features",
    "vehicle_features",
    "vendi",
    "wasserstein",
]
