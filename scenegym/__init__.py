"""scenegym: learn to generate synthetic driving scenes.

The public API, re-exported from the subpackages (``import scenegym`` stays light: no torch,
no highway-env):

- scene model: ``Road``, ``Vehicles``, ``Scene``, ``KINDS``, ``read_scenes``,
  ``write_scenes``, ``iter_scenes``;
- rules and summaries: ``validate``, ``is_valid``, ``Violation``, ``ValidityRules``,
  ``describe``, ``DESCRIPTORS``;
- scene spaces: ``HighwaySceneSpace``, ``HighwaySpaceConfig``;
- rendering: ``render``, ``RenderConfig``, ``Rendering`` (in ``scenegym.generators``).
"""

from scenegym._versions import SCENEGYM_VERSION
from scenegym.datasets import RenderConfig, Rendering, render
from scenegym.scene import (
    DESCRIPTORS,
    KINDS,
    HighwaySceneSpace,
    HighwaySpaceConfig,
    Road,
    Scene,
    ValidityRules,
    Vehicles,
    Violation,
    describe,
    is_valid,
    iter_scenes,
    read_scenes,
    validate,
    write_scenes,
)

__version__ = SCENEGYM_VERSION


def _register_envs() -> None:
    """Register scenegym's Gymnasium environments (entry points load lazily)."""
    import gymnasium

    if "scenegym/Drive-v0" not in gymnasium.registry:
        gymnasium.register(
            id="scenegym/Drive-v0",
            entry_point="scenegym.envs.drive:DriveEnv",
            kwargs={"version": 0},
        )
    if "scenegym/Drive-v1" not in gymnasium.registry:
        gymnasium.register(id="scenegym/Drive-v1", entry_point="scenegym.envs.drive:DriveEnv")
    for representation in ("edit", "construct", "oneshot", "latent"):
        env_id = f"scenegym/DrivingLayout-{representation}-v0"
        if env_id not in gymnasium.registry:
            gymnasium.register(
                id=env_id,
                entry_point="scenegym.envs.generation:DrivingLayoutEnv",
                kwargs={"representation": representation},
            )
    versions = (
        ("v1", {}),
        ("v2", {"realign": True}),
        ("v3", {"realign": True, "window": 4}),
        ("v4", {"realign": True, "window": 4, "flat": True}),
        ("v5", {"realign": True, "window": 4, "flat": True, "compact": True}),
        ("v6", {"realign": True, "window": 4, "flat": True, "compact": True, "redraw": True}),
    )
    for version, extra in versions:
        env_id = f"scenegym/DrivingLayout-edit-{version}"
        if env_id not in gymnasium.registry:
            gymnasium.register(
                id=env_id,
                entry_point="scenegym.envs.generation:DrivingLayoutEnv",
                kwargs={"representation": "edit", "select": "cursor", **extra},
            )


_register_envs()

__all__ = [
    "DESCRIPTORS",
    "KINDS",
    "HighwaySceneSpace",
    "HighwaySpaceConfig",
    "RenderConfig",
    "Rendering",
    "Road",
    "Scene",
    "ValidityRules",
    "Vehicles",
    "Violation",
    "__version__",
    "describe",
    "is_valid",
    "iter_scenes",
    "read_scenes",
    "render",
    "validate",
    "write_scenes",
]
