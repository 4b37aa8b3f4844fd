"""Versions of scenegym, Python and the libraries a saved artefact was made with."""

from __future__ import annotations

import importlib
import platform

CORE = ("numpy", "torch", "gymnasium", "stable_baselines3")


def versions(*extra: str) -> dict[str, str]:
    """``{"scenegym": ..., "python": ..., <module>: __version__}`` for the core libraries and
    the ``extra`` module names."""
    import scenegym

    found = {"scenegym": scenegym.__version__, "python": platform.python_version()}
    for name in (*CORE, *extra):
        found[name] = getattr(importlib.import_module(name), "__version__", "unknown")
    return found
