"""scenegym.envs: the Gymnasium environments, and nothing else.

May import ``scenegym.scene``, ``scenegym.bridges``, ``scenegym.rewards``,
``scenegym.generators``, ``scenegym.datasets`` (the renderer, for ``render()``) and
``scenegym.evaluation``. Environment ids are registered by ``import scenegym``.

- ``DrivingLayoutEnv``: the generation environment, ``scenegym/DrivingLayout-*``; it holds
  a representation (``REPRESENTATIONS``), one module each: ``EditRepresentation``
  (``EDIT_OPERATIONS``, ``COMPACT_ACTIONS``, ``COMPACT_CHANNELS``),
  ``ConstructRepresentation`` (``CONSTRUCT_GAPS``, ``CONSTRUCT_SPEEDS``),
  ``OneshotRepresentation``, ``LatentRepresentation``; all follow ``Representation`` and
  are shown to a policy through ``PolicySpaces``; ``start_episodes`` and ``goal_targets``
  reset and read many environments at once.
- ``DrivingLayoutVecEnv``: many generation environments stepped and scored together (an SB3
  ``VecEnv``), sharing one representation of all their scenes.
- ``DriveEnv``: highway-env driving in a given scene, ``scenegym/Drive-v0``.
"""

from scenegym._lazy import lazy_exports

_EXPORTS = {
    "REPRESENTATIONS": "representation",
    "PolicySpaces": "representation",
    "Representation": "representation",
    "ColumnRepresentation": "representation",
    "COMPACT_ACTIONS": "edit",
    "COMPACT_CHANNELS": "edit",
    "EDIT_OPERATIONS": "edit",
    "SELECTIONS": "edit",
    "EditRepresentation": "edit",
    "check_edit_settings": "edit",
    "CONSTRUCT_GAPS": "construct",
    "CONSTRUCT_SPEEDS": "construct",
    "ConstructRepresentation": "construct",
    "OneshotRepresentation": "oneshot",
    "LATENT_RANGE": "latent",
    "LatentRepresentation": "latent",
    "load_decoder": "latent",
    "STARTS": "generation",
    "DrivingLayoutEnv": "generation",
    "goal_targets": "starts",
    "start_episodes": "starts",
    "DrivingLayoutVecEnv": "vector",
    "DriveEnv": "drive",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
