"""scenegym.envs: the Gymnasium environments, and nothing else.

May import ``scenegym.scene``, ``scenegym.bridges``, ``scenegym.rewards``,
``scenegym.generators``, ``scenegym.datasets`` (the renderer, for ``render()``) and
``scenegym.evaluation``. Environment ids are registered by ``import scenegym``.

- ``DrivingLayoutEnv``: the generation environment, ``scenegym/DrivingLayout-*``
  (representations ``REPRESENTATIONS``: edit, construct, oneshot, latent).
- ``DrivingLayoutVecEnv``: many generation environments stepped and scored together (an SB3
  ``VecEnv``).
- ``CursorEdits``: the cursor edits of many scenes at once.
- ``DriveEnv``: highway-env driving in a given scene, ``scenegym/Drive-v0``.
"""

from scenegym._lazy import lazy_exports

_EXPORTS = {
    "COMPACT_ACTIONS": "generation",
    "EDIT_OPERATIONS": "generation",
    "REPRESENTATIONS": "generation",
    "STARTS": "generation",
    "DrivingLayoutEnv": "generation",
    "CursorEdits": "editing",
    "DrivingLayoutVecEnv": "vector",
    "DriveEnv": "drive",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
