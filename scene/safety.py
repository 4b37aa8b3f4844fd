"""How dangerous a scene is: surrogate safety measures of its vehicle pairs, from the scene
as it stands (a snapshot) and from rolling it forward a few seconds (``scene.rollout``).

Pairs are a follower and its leader: consecutive vehicles in one lane ordered by station
(the lane of a vehicle's centre), with the *gap* bumper to bumper along the lane centre and
the *closing speed* ``v_follower - v_leader``:

============================  =====  =========================================================
measure                       unit   per scene
============================  =====  =========================================================
``min_ttc``                   s      smallest time to collision, ``gap / closing`` over pairs
                                     that close (0 when footprints touch); ``TTC_CAP`` when
                                     no pair closes
``min_headway``               s      smallest time headway, ``gap / v_follower``; capped at
                                     ``HEADWAY_CAP``
``max_drac``                  m/s²   largest deceleration rate to avoid a crash,
                                     ``closing² / (2 gap)`` (highway-env's traffic brakes
                                     at most 6 m/s²); ``DRAC_CAP`` when footprints touch
``min_pet``                   s      smallest post-encroachment time of a lane change in the
                                     rollout: from the moment a vehicle's centre enters a lane
                                     until the front of the new follower there reaches the
                                     spot where its rear was; ``TTC_CAP`` when no vehicle
                                     changes lane, or the follower does not get there within
                                     the horizon (rollout only)
``collision``                 1      1 when two vehicles collide within the horizon (rollout)
``collision_time``            s      when the first collision happens (``TTC_CAP`` if none)
``criticality``               1      ``max(collision, 1 - min_ttc / CRITICAL_TTC,
                                     max_drac / CRITICAL_DRAC)`` clipped to [0, 1]
============================  =====  =========================================================

``criticality`` reads: 1 is a crash within the horizon (or a time to collision of 0, or a
needed deceleration of 6 m/s², the hardest highway-env's drivers brake); 0.8 is a time to
collision of 1 s or a needed 4.8 m/s²; 0 is no pair closing in within 5 s. The rollout
measures take every step of the rollout, so a conflict that develops (a lane change into a
short gap, a queue that brakes) counts, and one the drivers resolve early counts for less.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from scenegym.scene.batch import HEADWAY_CAP, SceneBatch
from scenegym.scene.rollout import DriverModel, Rollout, roll_out
from scenegym.scene.scene import Scene

__all__ = [
    "CRITICAL_DRAC",
    "CRITICAL_TTC",
    "DRAC_CAP",
    "FREQUENCY",
    "HORIZON",
    "MEASURES",
    "TTC_CAP",
    "criticality",
    "drac",
    "rollout_measures",
    "snapshot_measures",
]

TTC_CAP = 10.0
"""Times to collision, post-encroachment times and collision times (s) are capped here."""
DRAC_CAP = 20.0
"""Needed decelerations (m/s²) are capped here (footprints that touch need this)."""
CRITICAL_TTC = 5.0
"""A time to collision (s) from which ``criticality`` counts it (linearly to 1 at 0 s)."""
CRITICAL_DRAC = 6.0
"""A needed deceleration (m/s²) that makes ``criticality`` 1: highway-env's ``ACC_MAX``."""
HORIZON = 5.0
"""How far (s) ``criticality`` rolls scenes forward by default."""
FREQUENCY = 5.0
"""Steps per second of ``criticality``'s rollout by default: highway-env's highway-fast
setting (its default of 15 Hz gives the same measures within a few percent, at three times
the cost)."""

MEASURES: dict[str, str] = {
    "min_ttc": "s",
    "min_headway": "s",
    "max_drac": "m/s²",
    "min_pet": "s",
    "collision": "1",
    "collision_time": "s",
    "criticality": "1",
}
"""Measure names and units, in report order (see the module table)."""


def drac(scene: Scene) -> NDArray[np.float64]:
    """Per vehicle, the deceleration (m/s²) it needs to avoid hitting the vehicle ahead
    (0 when it does not close in or has no leader; infinite when the footprints touch).

    >>> from scenegym.scene import Road, Scene, Vehicles
    >>> road = Road.straight(length=300.0, lanes=1)
    >>> cars = Vehicles.from_columns(lane=[0, 0], s=[100.0, 124.5], speed=[30.0, 20.0])
    >>> drac(Scene(road, cars)).tolist()  # 10 m/s closing over a 20 m gap
    [2.5, 0.0]
    """
    follower, leader, gap = SceneBatch.of([scene]).leader_follower()
    needed = np.zeros(len(scene.vehicles))
    closing = np.maximum(scene.vehicles.speed[follower] - scene.vehicles.speed[leader], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(gap > 0.0, closing**2 / (2.0 * gap), np.inf)
    needed[follower] = rate
    return needed


def _pair_measures(
    gap: NDArray, closing: NDArray, speed: NDArray, group: NDArray, count: int
) -> dict[str, NDArray[np.float64]]:
    """Per group (scene): min TTC, min headway and max DRAC over its pairs."""
    touching = gap <= 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ttc = np.where(touching, 0.0, np.where(closing > 0.0, gap / closing, np.inf))
        headway = np.where(touching, 0.0, gap / np.maximum(speed, 0.0))
        rate = np.where(touching, DRAC_CAP, np.maximum(closing, 0.0) ** 2 / (2.0 * gap))
    out = {
        "min_ttc": np.full(count, TTC_CAP),
        "min_headway": np.full(count, HEADWAY_CAP),
        "max_drac": np.zeros(count),
    }
    np.minimum.at(out["min_ttc"], group, np.minimum(ttc, TTC_CAP))
    np.minimum.at(out["min_headway"], group, np.minimum(headway, HEADWAY_CAP))
    np.maximum.at(out["max_drac"], group, np.minimum(rate, DRAC_CAP))
    return out


def snapshot_measures(scenes: Sequence[Scene]) -> dict[str, NDArray[np.float64]]:
    """``min_ttc``, ``min_headway`` and ``max_drac`` of every scene as it stands,
    ``(len(scenes),)`` each (see the module table).

    >>> from scenegym.scene import Road, Scene, Vehicles
    >>> road = Road.straight(length=300.0, lanes=1)
    >>> cars = Vehicles.from_columns(lane=[0, 0], s=[100.0, 124.5], speed=[30.0, 20.0])
    >>> snapshot_measures([Scene(road, cars)])["min_ttc"].tolist()  # 20 m closing at 10 m/s
    [2.0]
    """
    batch = SceneBatch.of(list(scenes))
    follower, leader, gap = batch.leader_follower()
    closing = batch.speed[follower] - batch.speed[leader]
    return _pair_measures(
        gap, closing, batch.speed[follower], batch.scene_of[follower], batch.count
    )


def rollout_measures(
    rollout: Rollout, focus: NDArray[np.bool_] | None = None
) -> dict[str, NDArray[np.float64]]:
    """Every measure of the module table for each scene of ``rollout``; with ``focus`` (a
    flag per flat vehicle), only the pairs, lane changes and collisions that involve a
    flagged vehicle count."""
    batch, steps = rollout.batch, rollout.steps + 1
    n = rollout.scene_of.size
    # Every step's pairs at once: group by (step, scene, lane), order by distance along it.
    step = np.repeat(np.arange(steps), n)
    vehicle = np.tile(np.arange(n), steps)
    lane = rollout.lane.reshape(-1)
    road = batch.road[vehicle]
    arc = batch.roads.lane_arc(road, lane, rollout.s.reshape(-1))
    lanes = batch.roads.lane_start.shape[1]
    group = (step * batch.count + rollout.scene_of[vehicle]) * lanes + lane
    order = np.lexsort((arc, group))
    same = group[order[1:]] == group[order[:-1]]
    follower, leader = order[:-1][same], order[1:][same]
    if focus is not None:
        involved = focus[vehicle[follower]] | focus[vehicle[leader]]
        follower, leader = follower[involved], leader[involved]
    length = batch.length[vehicle]
    gap = arc[leader] - arc[follower] - (length[leader] + length[follower]) / 2.0
    speed = rollout.speed.reshape(-1)
    closing = speed[follower] - speed[leader]
    scene = rollout.scene_of[vehicle[follower]]
    out = _pair_measures(gap, closing, speed[follower], scene, batch.count)
    out["min_pet"] = _post_encroachment(rollout, arc.reshape(steps, n), follower, leader)
    first = np.full(batch.count, np.inf)
    crashed = rollout.crash_step >= 0
    if focus is not None:
        crashed &= _collided_with(rollout, focus)
    np.minimum.at(first, rollout.scene_of[crashed], rollout.crash_step[crashed] * rollout.dt)
    out["collision"] = np.isfinite(first).astype(np.float64)
    out["collision_time"] = np.minimum(first, TTC_CAP)
    out["criticality"] = criticality_of(out)
    return out


def _collided_with(rollout: Rollout, focus: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Per flat vehicle: did it collide with a flagged one, or is it flagged and collided?"""
    hit = np.zeros(focus.size, dtype=bool)
    pairs = rollout.collisions[:, :2]
    involved = focus[pairs[:, 0]] | focus[pairs[:, 1]]
    hit[pairs[involved].reshape(-1)] = True
    return hit


def _post_encroachment(
    rollout: Rollout, arc: NDArray, follower: NDArray, leader: NDArray
) -> NDArray[np.float64]:
    """Per scene, the smallest post-encroachment time of a lane change (see the module
    table); ``arc``: ``(steps, n)`` distance of each vehicle along its own lane."""
    batch, n = rollout.batch, rollout.scene_of.size
    pet = np.full(batch.count, TTC_CAP)
    lane = rollout.lane
    moved = (lane[1:] != lane[:-1]) & (rollout.crash_step[None, :] < 0)
    step, changer = np.nonzero(moved)
    if step.size == 0:
        return pet
    step = step + 1  # the first step on the new lane
    # The new follower: the vehicle just behind the changer on its new lane at that step.
    behind = np.full(lane.size, -1)
    behind[leader] = follower
    new_follower = behind[step * n + changer]
    has = new_follower >= 0
    step, changer, other = step[has], changer[has], new_follower[has] % n
    if step.size == 0:
        return pet
    # Where the changer's rear was, along the new lane; when the follower's front gets there.
    spot = arc[step, changer] - batch.length[changer] / 2.0
    road = batch.road[other]
    new_lane = lane[step, changer]
    front = (
        batch.roads.lane_arc(
            np.repeat(road, rollout.steps + 1),
            np.repeat(new_lane, rollout.steps + 1),
            rollout.s[:, other].T.reshape(-1),
        ).reshape(other.size, -1)
        + batch.length[other][:, None] / 2.0
    )
    columns = np.arange(rollout.steps + 1)[None, :]
    reached = (front >= spot[:, None]) & (columns >= step[:, None])
    arrives = reached.any(axis=1)
    at = np.argmax(reached, axis=1)
    before = np.maximum(at - 1, 0)
    rows = np.arange(other.size)
    span = front[rows, at] - front[rows, before]
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(span > 0, (spot - front[rows, before]) / span, 1.0)
    when = np.where(at > step, before + np.clip(part, 0.0, 1.0), at)
    time = np.where(arrives, (when - step) * rollout.dt, TTC_CAP)
    np.minimum.at(pet, rollout.scene_of[changer], np.clip(time, 0.0, TTC_CAP))
    return pet


def criticality_of(measures: dict[str, NDArray]) -> NDArray[np.float64]:
    """The ``criticality`` (module table) from ``min_ttc``, ``max_drac`` and ``collision``
    (0 where there is no collision measure: a snapshot)."""
    ttc = 1.0 - np.asarray(measures["min_ttc"]) / CRITICAL_TTC
    braking = np.asarray(measures["max_drac"]) / CRITICAL_DRAC
    collision = np.asarray(measures.get("collision", np.zeros_like(ttc)))
    return np.clip(np.maximum.reduce([ttc, braking, collision]), 0.0, 1.0)


def criticality(
    scenes: Sequence[Scene] | SceneBatch,
    *,
    horizon: float = HORIZON,
    frequency: float = FREQUENCY,
    model: DriverModel | None = None,
    focus: str = "all",
) -> dict[str, NDArray[np.float64]]:
    """Every measure of the module table for each of ``scenes`` (or of a ``SceneBatch``),
    rolled forward ``horizon`` s at ``frequency`` steps per second with ``model``
    (highway-env's IDM and MOBIL by default); ``(len(scenes),)`` per name. ``focus``
    ``"rearmost"`` counts only what involves each scene's rearmost vehicle (the ego
    ``scenegym/Drive-v1`` picks): how critical the scene is *for the ego*.

    >>> from scenegym.scene import Road, Scene, Vehicles
    >>> road = Road.straight(length=400.0, lanes=1)
    >>> calm = Vehicles.from_columns(lane=[0, 0], s=[100.0, 160.0], speed=[25.0, 25.0])
    >>> closing = Vehicles.from_columns(lane=[0, 0], s=[100.0, 125.0], speed=[30.0, 20.0])
    >>> m = criticality([Scene(road, calm), Scene(road, closing)])
    >>> [round(float(c), 2) for c in m["criticality"]]
    [0.0, 0.59]
    """
    if focus not in ("all", "rearmost"):
        raise ValueError(f"focus must be all or rearmost, got {focus!r}")
    if not isinstance(scenes, SceneBatch):
        scenes = list(scenes)
    if (scenes.count if isinstance(scenes, SceneBatch) else len(scenes)) == 0:
        return {name: np.zeros(0) for name in MEASURES}
    rollout = roll_out(scenes, horizon=horizon, frequency=frequency, model=model)
    return rollout_measures(rollout, _rearmost(rollout) if focus == "rearmost" else None)


def _rearmost(rollout: Rollout) -> NDArray[np.bool_]:
    """Per flat vehicle: is it its scene's rearmost at the start?"""
    flags = np.zeros(rollout.scene_of.size, dtype=bool)
    if flags.size:
        order = np.lexsort((rollout.s[0], rollout.scene_of))
        scene = rollout.scene_of[order]
        flags[order[np.flatnonzero(np.r_[True, scene[1:] != scene[:-1]])]] = True
    return flags
