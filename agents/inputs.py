"""The inputs of a new run brought into its folder, so the run stays whole when moved."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from scenegym.agents.training import TrainConfig

__all__ = ["bring_inputs"]

_MODEL_KEYS = ("realism", "scene_realism", "prior", "decoder")
"""Keys of ``env_kwargs`` that name model files or folders."""


def bring_inputs(config: TrainConfig) -> tuple[TrainConfig, dict[str, str]]:
    """A new run reads its inputs' relative paths inside the run folder, which starts empty.

    The scenes files ``config`` names relative to the working directory (``reference``, a
    goal's ``reference`` and the ``roads`` of ``env_kwargs``) are read, to be copied into the
    run as ``reference.jsonl``, ``goal-reference.jsonl`` and ``roads.jsonl``; the model files
    and folders of ``env_kwargs`` (``realism``, ``scene_realism``, ``prior``, ``decoder``, and
    the driver run of ``models``) are named by their absolute paths instead.

    Returns:
        The config naming the inputs where the run finds them, and the files to write into
        the new run (name: text), as ``train(..., files=...)`` takes them.
    """
    files: dict[str, str] = {}
    kwargs = dict(config.env_kwargs)

    def bring(path: Any, name: str) -> Any:
        if isinstance(path, str) and path and not os.path.isabs(path) and Path(path).is_file():
            files[name] = Path(path).read_text(encoding="utf-8")
            return name
        return path

    reference = bring(config.reference, "reference.jsonl")
    if "roads" in kwargs:
        kwargs["roads"] = bring(kwargs["roads"], "roads.jsonl")
    goal = kwargs.get("goal")
    if isinstance(goal, dict) and "reference" in goal:
        kwargs["goal"] = {**goal, "reference": bring(goal["reference"], "goal-reference.jsonl")}
    for key in _MODEL_KEYS:
        if key in kwargs:
            kwargs[key] = _absolute(kwargs[key])
    models = kwargs.get("models")
    if isinstance(models, dict) and "driver" in models:  # a curriculum run folder
        driver = models["driver"]
        if isinstance(driver, dict):
            driver = {**driver, "source": _absolute(driver.get("source"))}
        kwargs["models"] = {**models, "driver": _absolute(driver)}
    return dataclasses.replace(config, reference=reference, env_kwargs=kwargs), files


def _absolute(value: Any) -> Any:
    """``value``'s absolute path where it is a relative path that exists, else ``value``."""
    if isinstance(value, str) and value and not os.path.isabs(value) and Path(value).exists():
        return str(Path(value).resolve())
    return value
