"""scenegym.rewards: reward terms and the models they score with.

May import ``scenegym.scene`` and the utilities.

- ``RewardSpec``: weights of the reward terms (``TERMS``) with their settings; ``GoalSpec``:
  descriptor targets of goal-conditioned generation; ``goal_score(s)``,
  ``validity_score(s)``.
- Realism models: ``VehicleRealism`` and ``SceneRealism``, bounded per-scene realism scores
  fitted on a reference (``REALISM_FEATURES``, ``SCENE_REALISM_FEATURES``).
"""

from scenegym.rewards.realism import (
    REALISM_FEATURES,
    SCENE_REALISM_FEATURES,
    SceneRealism,
    VehicleRealism,
)
from scenegym.rewards.spec import (
    TERMS,
    GoalSpec,
    RewardSpec,
    goal_score,
    goal_scores,
    validity_score,
    validity_scores,
)

__all__ = [
    "REALISM_FEATURES",
    "SCENE_REALISM_FEATURES",
    "TERMS",
    "GoalSpec",
    "RewardSpec",
    "SceneRealism",
    "VehicleRealism",
    "goal_score",
    "goal_scores",
    "validity_score",
    "validity_scores",
]
