"""Scene spaces fitted to a reference: the starting scenes of a generator of its traffic.

``space_like`` fits a whole ``HighwaySpaceConfig`` (roads and traffic) to reference scenes;
``vehicles_like`` keeps a space's roads and takes the reference's vehicles: offsets,
headings, kinds and sizes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from scenegym.scene.descriptors import describe_many
from scenegym.scene.encoding import LaneGrid
from scenegym.scene.scene import Scene
from scenegym.scene.space import HighwaySpaceConfig
from scenegym.scene.vehicles import KINDS

__all__ = ["space_like", "vehicles_like"]

_VEHICLE_FIELDS = ("lateral_mean", "lateral_std", "heading_std", "kind_shares", "sizes")
"""The fields of a ``HighwaySpaceConfig`` that describe vehicles rather than roads."""


def _spread(values: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """``(min, max)`` of ``values`` clipped into ``[low, high]``."""
    return float(np.clip(values.min(), low, high)), float(np.clip(values.max(), low, high))


def space_like(reference: Sequence[Scene], grid: LaneGrid | None = None) -> HighwaySpaceConfig:
    """The starting space of scenes like ``reference``: its roads' lanes, lengths (within
    ``grid``, default ``LaneGrid()``), lane widths, curvature and speed limits; its vehicle
    counts, flow speeds (mean speed as a share of the limit) and speed spread; its vehicles'
    offsets from the lane centre (mean and spread), heading spread, kind shares and the size
    of each kind (mean and spread; published defaults for a kind it lacks). Vehicles are
    placed ``"following"``: faster ones keep longer gaps."""
    reference = list(reference)
    if not reference:
        raise ValueError("space_like needs at least one reference scene")
    grid = LaneGrid() if grid is None else grid
    roads = [scene.road for scene in reference]
    described = describe_many(reference)
    limits = np.array([road.speed_limit for road in roads])
    moving = described["vehicle_count"] > 0
    flow = described["mean_speed"][moving] / limits[moving]
    widths = np.concatenate([road.lane_widths for road in roads])
    vehicles = described["vehicle_count"].astype(np.int64)
    lanes = np.array([road.lane_count for road in roads])
    lengths = np.array([road.length for road in roads])
    return HighwaySpaceConfig(
        lanes=(int(min(lanes.min(), grid.lanes)), int(min(lanes.max(), grid.lanes))),
        length=_spread(lengths, 20.0, grid.length),
        max_curvature=float(np.clip(described["max_curvature"].max(), 0.0, 0.2)),
        lane_width=_spread(widths, 1.0, 8.0),
        ramp_probability=0.0,
        speed_limit=_spread(limits, 1.0, 60.0),
        vehicles=(int(vehicles.min()), int(vehicles.max())),
        placement="following",
        flow_speed=_spread(flow, 0.0, 2.0) if flow.size else HighwaySpaceConfig().flow_speed,
        speed_std=float(np.clip(np.median(described["std_speed"]), 0.0, 30.0)),
        **_vehicle_fields(reference),
    )


def _vehicle_fields(reference: list[Scene]) -> dict[str, Any]:
    """The ``_VEHICLE_FIELDS`` of a space like ``reference`` (a reference without vehicles
    keeps the defaults)."""
    default = HighwaySpaceConfig()
    columns = {
        name: np.concatenate([getattr(scene.vehicles, name) for scene in reference])
        for name in ("d", "heading", "length", "width", "kind")
    }
    if not columns["kind"].size:
        return {name: getattr(default, name) for name in _VEHICLE_FIELDS}
    counts = np.bincount(columns["kind"].astype(np.int64), minlength=len(KINDS))
    sizes = {}
    for code, kind in enumerate(KINDS):
        mine = columns["kind"] == code
        if mine.sum() < 2:
            sizes[kind] = default.sizes[kind]
            continue
        length, width = columns["length"][mine], columns["width"][mine]
        sizes[kind] = (
            float(length.mean()),
            max(float(length.std()), 0.01),
            float(width.mean()),
            max(float(width.std()), 0.01),
        )
    return {
        "lateral_mean": float(np.clip(columns["d"].mean(), -2.0, 2.0)),
        "lateral_std": float(np.clip(columns["d"].std(), 0.0, 2.0)),
        "heading_std": float(np.clip(columns["heading"].std(), 0.0, 1.0)),
        "kind_shares": {kind: float(n) for kind, n in zip(KINDS, counts)},
        "sizes": sizes,
    }


def vehicles_like(config: HighwaySpaceConfig, reference: Sequence[Scene]) -> HighwaySpaceConfig:
    """``config`` with the vehicles of ``reference``: its offsets from the lane centre (mean
    and spread), heading spread, kind shares and each kind's sizes (``space_like``); the
    roads, counts and speeds stay ``config``'s."""
    reference = list(reference)
    if not reference:
        raise ValueError("vehicles_like needs at least one reference scene")
    return dataclasses.replace(config, **_vehicle_fields(reference))
