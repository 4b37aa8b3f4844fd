"""Versions of scenegym, Python and the libraries a saved artefact was made with."""

from __future__ import annotations

import importlib
import importlib.metadata
import platform
import sys

SCENEGYM_VERSION = "0.1.0"
"""scenegym's own version (``scenegym.__version__``; keep equal to pyproject.toml's)."""

CORE = ("numpy", "torch", "gymnasium", "stable_baselines3")


def _version(name: str) -> str:
    # A module already imported tells its own version; otherwise the installed distribution's
    # metadata does, without importing it (importing torch and SB3 takes seconds, which a
    # dataset manifest written by a process that never needed them should not pay).
    # A module without __version__ (pycocotools) is known by its distribution's metadata
    # whether or not it was imported, so a manifest does not depend on which process wrote it.
    module = sys.modules.get(name)
    if module is None or not hasattr(module, "__version__"):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            module = module or importlib.import_module(name)
    return getattr(module, "__version__", "unknown")


def versions(*extra: str) -> dict[str, str]:
    """``{"scenegym": ..., "python": ..., <module>: version}`` for the core libraries and the
    ``extra`` module names."""
    found = {"scenegym": SCENEGYM_VERSION, "python": platform.python_version()}
    for name in (*CORE, *extra):
        found[name] = _version(name)
    return found
