"""Descriptors: named floats that summarise a scene.

Diversity, control targets and reports are all stated in these. Leader and follower are
consecutive vehicles in the same lane ordered by station; the *gap* is bumper to bumper along
the lane centre: the distance along the lane between the two centres (``Road.lane_distance``,
longer than the station difference on the outside of a curve, shorter on the inside) less
``length_leader / 2 + length_follower / 2``.

========================  ========  ==============================================================
name                      unit      meaning
========================  ========  ==============================================================
``vehicle_count``         1         number of vehicles
``density``               veh/km    vehicles per lane-kilometre (sum of all lane lengths,
                                    measured along each lane centre)
``mean_speed``            m/s       mean vehicle speed (0 without vehicles)
``std_speed``             m/s       standard deviation of speed (0 with fewer than 2 vehicles)
``min_time_headway``      s         smallest gap / follower speed; capped at ``HEADWAY_CAP``
``median_time_headway``   s         median of the same; ``HEADWAY_CAP`` without pairs
``min_gap``               m         smallest gap (negative when footprints overlap); capped at
                                    ``GAP_CAP``, which is also the value without pairs
``lane_occupancy_spread`` 1         coefficient of variation of per-lane density (0 = even)
``truck_share``           1         share of heavy vehicles (trucks and buses)
``max_curvature``         1/m       largest absolute curvature of the road
``lane_count``            1         number of lanes, ramps and auxiliary lanes included
========================  ========  ==============================================================

One more descriptor needs the scene rolled forward (``ROLLOUT_DESCRIPTORS``), so it is
computed only where it is asked for by name (``describe_many(scenes, names=...)``, a goal or
a reward term that names it):

========================  ========  ==============================================================
``criticality``           1         how close the scene comes to a crash within 5 s of
                                    highway-env's traffic (``scenegym.scene.safety``): 1 a
                                    crash, 0 no pair closing in
========================  ========  ==============================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from scenegym.scene.batch import GAP_CAP, HEADWAY_CAP, SceneBatch
from scenegym.scene.safety import criticality
from scenegym.scene.scene import Scene

__all__ = [
    "ALL_DESCRIPTORS",
    "BOUNDS",
    "DESCRIPTORS",
    "GAP_CAP",
    "HEADWAY_CAP",
    "ROLLOUT_DESCRIPTORS",
    "check_bounds",
    "describe",
    "describe_batch",
    "describe_many",
    "leader_follower_gaps",
    "rollout_descriptors",
]

DESCRIPTORS: dict[str, str] = {
    "vehicle_count": "1",
    "density": "veh/km",
    "mean_speed": "m/s",
    "std_speed": "m/s",
    "min_time_headway": "s",
    "median_time_headway": "s",
    "min_gap": "m",
    "lane_occupancy_spread": "1",
    "truck_share": "1",
    "max_curvature": "1/m",
    "lane_count": "1",
}
"""Descriptor names and their units, in report order (those of every scene's description)."""

ROLLOUT_DESCRIPTORS: dict[str, str] = {"criticality": "1"}
"""Descriptors computed from a rollout of the scene, only where asked for by name."""

ALL_DESCRIPTORS: dict[str, str] = {**DESCRIPTORS, **ROLLOUT_DESCRIPTORS}
"""Every descriptor a goal, a report or a population term may name, in report order."""

BOUNDS: dict[str, tuple[float, float]] = {"criticality": (0.0, 1.0), "truck_share": (0.0, 1.0)}
"""Descriptors that cannot leave a range: a target or goal range outside it is refused."""


def check_bounds(name: str, value: float, *, what: str = "target") -> float:
    """``value`` of descriptor ``name``, or a ``ValueError`` naming it when it lies outside
    the descriptor's ``BOUNDS``."""
    low, high = BOUNDS.get(name, (-np.inf, np.inf))
    if not low <= value <= high:
        raise ValueError(f"{what} {name}={value:g} is outside [{low:g}, {high:g}]")
    return value


def leader_follower_gaps(scene: Scene) -> tuple[NDArray, NDArray, NDArray]:
    """Follower index, leader index and bumper-to-bumper gap (m) of every same-lane pair."""
    return SceneBatch.of([scene]).leader_follower()


def describe(scene: Scene, *, names: Sequence[str] = ()) -> dict[str, float]:
    """The descriptors of ``scene`` (see the module table for units); ``names`` adds
    descriptors of ``ROLLOUT_DESCRIPTORS``.

    >>> from scenegym.scene import Road, Scene, Vehicles
    >>> road = Road.straight(length=500.0, lanes=2)
    >>> cars = Vehicles.from_columns(lane=[0, 0], s=[100.0, 124.5], speed=[20.0, 20.0])
    >>> d = describe(Scene(road, cars))
    >>> d["density"], d["min_gap"], d["min_time_headway"]
    (2.0, 20.0, 1.0)
    """
    described = describe_batch(SceneBatch.of([scene]), names)
    return {name: float(values[0]) for name, values in described.items()}


def describe_many(
    scenes: Sequence[Scene], *, names: Sequence[str] = ()
) -> dict[str, NDArray[np.float64]]:
    """The descriptors of every scene in one vectorised pass: ``(len(scenes),)`` per name,
    equal to ``describe`` of each scene; ``names`` adds descriptors of
    ``ROLLOUT_DESCRIPTORS``."""
    return describe_batch(SceneBatch.of(list(scenes)), names)


def describe_batch(batch: SceneBatch, names: Sequence[str] = ()) -> dict[str, NDArray[np.float64]]:
    """``batch.describe()`` and, of ``names``, those in ``ROLLOUT_DESCRIPTORS`` (from one
    rollout of the batch); an unknown name is an error."""
    rolled = rollout_descriptors(batch, names)
    return batch.describe() | rolled


def rollout_descriptors(batch: SceneBatch, names: Sequence[str]) -> dict[str, NDArray[np.float64]]:
    """Of ``names``, the descriptors that need a rollout (``ROLLOUT_DESCRIPTORS``), from one
    rollout of the batch (none: no rollout); an unknown name is an error."""
    unknown = [name for name in names if name not in ALL_DESCRIPTORS]
    if unknown:
        raise ValueError(f"unknown descriptor {unknown[0]!r}; known: {', '.join(ALL_DESCRIPTORS)}")
    if not any(name in ROLLOUT_DESCRIPTORS for name in names):
        return {}
    return {"criticality": criticality(batch)["criticality"]}
