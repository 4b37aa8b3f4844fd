"""Population reward terms: novelty and coverage of finished scenes, over one shared archive.

These terms need every environment's finished scenes, so they live in a VecEnv wrapper (one
archive for all environments, subprocess ones included) instead of inside the environment.
At the end of each episode the final scene's descriptors (``info["descriptors"]``), divided
by ``DESCRIPTOR_SCALES``, are compared with the archive:

- ``novelty``: mean distance to the ``k`` nearest archived scenes, capped at 1 (1 while the
  archive holds fewer than ``k``);
- ``coverage``: 1 when the scene falls in a cell of the descriptor grid (``bins`` per scaled
  unit) that no archived scene occupies, else 0.

Both are added, weighted, to that episode's last reward and reported in
``info["reward_terms"]``; then the scene joins the archive.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from stable_baselines3.common.vec_env import VecEnvWrapper

from scenegym._io import atomic_write_text
from scenegym.scene.descriptors import DESCRIPTORS

__all__ = ["DESCRIPTOR_SCALES", "Archive", "PopulationReward"]

DESCRIPTOR_SCALES: dict[str, float] = {
    "vehicle_count": 40.0,
    "density": 60.0,
    "mean_speed": 35.0,
    "std_speed": 10.0,
    "min_time_headway": 10.0,
    "median_time_headway": 10.0,
    "min_gap": 200.0,
    "lane_occupancy_spread": 1.0,
    "truck_share": 1.0,
    "max_curvature": 0.01,
    "lane_count": 6.0,
}
"""Typical span of each descriptor, in its unit; novelty distances are in these units."""

_FORMAT = "scenegym.archive/1"


class Archive:
    """Scaled descriptor vectors of finished scenes and the grid cells they occupy."""

    def __init__(
        self,
        features: Sequence[str] = ("density", "mean_speed", "min_time_headway", "lane_count"),
        *,
        k: int = 5,
        bins: int = 8,
        capacity: int = 20000,
    ) -> None:
        unknown = [name for name in features if name not in DESCRIPTORS]
        if unknown:
            raise ValueError(f"archive features: unknown descriptor {unknown[0]!r}")
        self.features = tuple(features)
        self.k, self.bins, self.capacity = int(k), int(bins), int(capacity)
        self._points = np.zeros((0, len(self.features)))
        self._cells: set[tuple[int, ...]] = set()

    def __len__(self) -> int:
        return len(self._points)

    def vector(self, descriptors: dict[str, float]) -> np.ndarray:
        """The scaled vector of a scene's descriptors."""
        return np.array([descriptors[name] / DESCRIPTOR_SCALES[name] for name in self.features])

    def score(self, descriptors: dict[str, float]) -> tuple[float, float]:
        """``(novelty, coverage)`` of a scene against the archive (see the module notes)."""
        x = self.vector(descriptors)
        if len(self._points) < self.k:
            novelty = 1.0
        else:
            distances = np.sqrt(((self._points - x) ** 2).sum(axis=1))
            novelty = float(min(1.0, np.partition(distances, self.k - 1)[: self.k].mean()))
        coverage = 0.0 if self._cell(x) in self._cells else 1.0
        return novelty, coverage

    def add(self, descriptors: dict[str, float]) -> None:
        """Add a scene (the oldest one leaves when the archive is full)."""
        x = self.vector(descriptors)
        self._points = np.vstack([self._points[-(self.capacity - 1) :], x[None]])
        self._cells.add(self._cell(x))

    def _cell(self, x: np.ndarray) -> tuple[int, ...]:
        return tuple(np.floor(x * self.bins).astype(int).tolist())

    def save(self, path: str | os.PathLike) -> None:
        """Write the archive as JSON (atomically)."""
        data = {
            "format": _FORMAT,
            "features": list(self.features),
            "k": self.k,
            "bins": self.bins,
            "capacity": self.capacity,
            "points": self._points.tolist(),
            "cells": sorted(list(cell) for cell in self._cells),
        }
        atomic_write_text(path, json.dumps(data) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Archive:
        """Read an archive written by ``save``."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read the archive {path}: {error}") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"{path} is not a scenegym archive (format {_FORMAT!r})")
        archive = cls(data["features"], k=data["k"], bins=data["bins"], capacity=data["capacity"])
        points = np.array(data["points"], dtype=np.float64).reshape(-1, len(archive.features))
        archive._points = points
        archive._cells = {tuple(cell) for cell in data["cells"]}
        return archive


class PopulationReward(VecEnvWrapper):
    """Add weighted novelty and coverage to the last reward of every episode (module notes).

    Args:
        venv: the vectorised generation environments (their episode-end ``info`` must hold
            ``"descriptors"``, as ``DrivingLayoutEnv`` does).
        novelty, coverage: weights of the two terms.
        archive: the shared archive (a new one by default).
    """

    def __init__(
        self, venv, *, novelty: float = 0.0, coverage: float = 0.0, archive: Archive | None = None
    ) -> None:
        super().__init__(venv)
        self.novelty, self.coverage = float(novelty), float(coverage)
        self.archive = archive if archive is not None else Archive()

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        observations, rewards, dones, infos = self.venv.step_wait()
        rewards = np.array(rewards, dtype=np.float32)
        for i, done in enumerate(dones):
            descriptors = infos[i].get("descriptors")
            if not done or descriptors is None:
                continue
            novelty, coverage = self.archive.score(descriptors)
            rewards[i] += self.novelty * novelty + self.coverage * coverage
            terms = infos[i].setdefault("reward_terms", {})
            terms["novelty"], terms["coverage"] = novelty, coverage
            self.archive.add(descriptors)
        return observations, rewards, dones, infos
