"""Population reward terms: novelty and coverage of finished scenes, over one shared archive.

These terms need every environment's finished scenes, so they are not scored inside an
environment but by a VecEnv wrapper (``scenegym.agents.PopulationReward``: one archive for all
environments, subprocess ones included). At the end of each episode the final scene's
descriptors, divided by ``DESCRIPTOR_SCALES``, are compared with the archive (``criticality``
among them, when the environments compute it at episode ends: ``episode_descriptors``):

- ``novelty``: mean distance to the ``k`` nearest archived scenes, capped at 1 (1 while the
  archive holds fewer than ``k``);
- ``coverage``: 1 when the scene falls in a cell of the descriptor grid (``bins`` per scaled
  unit) that no archived scene occupies, else 0.

Then the scene joins the archive.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from scenegym._io import atomic_write_text
from scenegym.rewards.terms import register_term

__all__ = ["DESCRIPTOR_SCALES", "Archive", "CoverageTerm", "NoveltyTerm"]

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
    "criticality": 1.0,
}
"""Typical span of each descriptor, in its unit; novelty distances are in these units."""

_FORMAT = "scenegym.archive/1"


class Archive:
    """Scaled descriptor vectors of finished scenes and the grid cells they occupy.

    Args:
        features: the descriptors a scene is compared by.
        k: how many nearest archived scenes ``novelty`` averages over.
        bins: grid cells per scaled descriptor unit (``coverage``).
        capacity: scenes kept at most (the oldest leaves first).
        points: ``(scenes, len(features))`` scaled vectors of scenes archived already.
        cells: the grid cells those scenes occupy (scenes that left the archive included).
    """

    def __init__(
        self,
        features: Sequence[str] = ("density", "mean_speed", "min_time_headway", "lane_count"),
        *,
        k: int = 5,
        bins: int = 8,
        capacity: int = 20000,
        points: NDArray[np.float64] | None = None,
        cells: Sequence[Sequence[int]] = (),
    ) -> None:
        unknown = [name for name in features if name not in DESCRIPTOR_SCALES]
        if unknown:
            raise ValueError(
                f"archive features: unknown descriptor {unknown[0]!r}; known: "
                f"{', '.join(DESCRIPTOR_SCALES)}"
            )
        self.features = tuple(features)
        self.k, self.bins, self.capacity = int(k), int(bins), int(capacity)
        self._points = np.zeros((0, len(self.features))) if points is None else points
        self._cells: set[tuple[int, ...]] = {tuple(cell) for cell in cells}

    def __len__(self) -> int:
        return len(self._points)

    @property
    def points(self) -> NDArray[np.float64]:
        """``(scenes, len(features))`` scaled descriptor vectors of the archived scenes."""
        return self._points

    def vector(self, descriptors: Mapping[str, float]) -> NDArray[np.float64]:
        """The scaled vector of a scene's descriptors."""
        return np.array([descriptors[name] / DESCRIPTOR_SCALES[name] for name in self.features])

    def occupied(self, point: NDArray[np.float64]) -> bool:
        """Does an archived scene (or one that left) occupy the grid cell of ``point``?"""
        return self._cell(point) in self._cells

    def score(self, descriptors: Mapping[str, float]) -> tuple[float, float]:
        """``(novelty, coverage)`` of a scene against the archive (see the module notes)."""
        point = self.vector(descriptors)
        return NoveltyTerm().score(point, self), CoverageTerm().score(point, self)

    def add(self, descriptors: Mapping[str, float]) -> None:
        """Add a scene (the oldest one leaves when the archive is full)."""
        x = self.vector(descriptors)
        self._points = np.vstack([self._points[-(self.capacity - 1) :], x[None]])
        self._cells.add(self._cell(x))

    def _cell(self, x: NDArray[np.float64]) -> tuple[int, ...]:
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
        points = np.array(data["points"], dtype=np.float64).reshape(-1, len(data["features"]))
        return cls(
            data["features"],
            k=data["k"],
            bins=data["bins"],
            capacity=data["capacity"],
            points=points,
            cells=data["cells"],
        )


class NoveltyTerm:
    """The ``novelty`` population term: mean distance of a scene to the ``archive.k`` nearest
    archived scenes, capped at 1 (1 while the archive holds fewer)."""

    name = "novelty"

    def score(self, point: NDArray[np.float64], archive: Archive) -> float:
        if len(archive) < archive.k:
            return 1.0
        distances = np.sqrt(((archive.points - point) ** 2).sum(axis=1))
        return float(min(1.0, np.partition(distances, archive.k - 1)[: archive.k].mean()))


class CoverageTerm:
    """The ``coverage`` population term: 1 when a scene falls in a grid cell no archived
    scene occupies, else 0."""

    name = "coverage"

    def score(self, point: NDArray[np.float64], archive: Archive) -> float:
        return 0.0 if archive.occupied(point) else 1.0


register_term(NoveltyTerm())
register_term(CoverageTerm())
