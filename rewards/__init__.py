"""scenegym.rewards: reward terms behind one protocol and a registry, and the models they score
with.

May import ``scenegym.scene`` and the utilities.

- Terms: ``RewardTerm`` (per-scene: ``scores(batch, context)`` of a ``SceneBatch``, with a
  ``TermContext``) and ``PopulationTerm`` (``score(point, archive)`` of a finished scene
  against an ``Archive``); the registry ``register_term``, ``unregister_term``,
  ``reward_term``, ``registered_terms``.
- Built-in terms: ``ValidityTerm`` (``validity_score(s)``), ``RealismTerm``,
  ``SceneRealismTerm``, ``PriorRealismTerm``, ``GoalTerm`` (``goal_score(s)``),
  ``CriticalityTerm`` (how close the scene comes to a crash; weighted only),
  ``AdversarialTerm`` (a driving agent crashes in the scene; needs a ``"driver"`` model and
  scores scenes at their episode's end only), and the
  population terms ``NoveltyTerm`` and ``CoverageTerm`` over an ``Archive``
  (``DESCRIPTOR_SCALES``).
- ``RewardSpec``: weights of the registered per-scene terms (``TERMS`` are always reported);
  ``GoalSpec``: descriptor targets of goal-conditioned generation.
- Realism models: ``VehicleRealism`` and ``SceneRealism``, bounded per-scene realism scores
  fitted on a reference (``REALISM_FEATURES``, ``SCENE_REALISM_FEATURES``).
"""

from scenegym.rewards.adversarial import AdversarialTerm
from scenegym.rewards.criticality import CriticalityTerm
from scenegym.rewards.goal import GoalSpec, GoalTerm, goal_score, goal_scores
from scenegym.rewards.population import DESCRIPTOR_SCALES, Archive, CoverageTerm, NoveltyTerm
from scenegym.rewards.realism import (
    REALISM_FEATURES,
    SCENE_REALISM_FEATURES,
    PriorRealismTerm,
    RealismTerm,
    SceneRealism,
    SceneRealismTerm,
    VehicleRealism,
)
from scenegym.rewards.spec import TERMS, RewardSpec
from scenegym.rewards.terms import (
    PopulationTerm,
    RewardTerm,
    TermContext,
    register_term,
    registered_terms,
    reward_term,
    unregister_term,
)
from scenegym.rewards.validity import ValidityTerm, validity_score, validity_scores

__all__ = [
    "DESCRIPTOR_SCALES",
    "REALISM_FEATURES",
    "SCENE_REALISM_FEATURES",
    "TERMS",
    "AdversarialTerm",
    "Archive",
    "CoverageTerm",
    "CriticalityTerm",
    "GoalSpec",
    "GoalTerm",
    "NoveltyTerm",
    "PopulationTerm",
    "PriorRealismTerm",
    "RealismTerm",
    "RewardSpec",
    "RewardTerm",
    "SceneRealism",
    "SceneRealismTerm",
    "TermContext",
    "ValidityTerm",
    "VehicleRealism",
    "goal_score",
    "goal_scores",
    "register_term",
    "registered_terms",
    "reward_term",
    "unregister_term",
    "validity_score",
    "validity_scores",
]
