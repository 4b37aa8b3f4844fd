"""Hard rules a scene must keep, checked for all vehicles at once.

A broken rule is a ``Violation`` naming the rule, the vehicle(s) and a readable reason:

- ``lane``: the lane index does not exist on the road, the lane does not exist at the
  vehicle's station (a ramp that has ended), or the centre lies outside its lane;
- ``off_road``: the centre is before the road start or past its end, or the footprint crosses
  the outer edge of the lanes that exist there by more than ``offroad_tolerance``;
- ``heading``: the heading differs from the lane direction by more than ``max_heading``;
- ``speed``: the speed is negative or above ``max_speed``;
- ``size``: length or width outside the plausible range of the vehicle's kind;
- ``overlap``: two footprints (oriented boxes) intersect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from scenegym.scene.batch import SceneBatch, overlapping_frames
from scenegym.scene.road import Road
from scenegym.scene.scene import Scene
from scenegym.scene.vehicles import KINDS

__all__ = [
    "RULES",
    "ValidityRules",
    "Violation",
    "is_valid",
    "repair",
    "rule_report",
    "validate",
    "violation_counts",
    "violation_counts_many",
]

RULES: tuple[str, ...] = ("lane", "off_road", "heading", "speed", "size", "overlap")
"""Names of the validity rules, in the order they are checked."""


@dataclass(frozen=True, kw_only=True)
class ValidityRules:
    """Thresholds of the validity rules.

    Args:
        max_heading: largest heading relative to the lane (rad); 0.6 rad (34 deg) admits
            sharp lane changes in slow traffic.
        max_speed: largest plausible speed (m/s); 60 m/s is 216 km/h.
        offroad_tolerance: how far a footprint may cross the outer lane edge (m), for
            vehicles on the shoulder line and recording noise.
        lane_tolerance: how far a centre may lie outside its own lane (m).
        sizes: per kind ``(min length, max length, min width, max width)`` in m. The bounds
            hold real vehicles as published and as recorded: microcars from 2.3 m long,
            full-size pickups and vans up to 7 m long and as wide as the widest road vehicle
            allowed (2.6 m: 102 in. in the US, 2.55-2.60 m in the EU; recordings measure
            wide pickups at 2.56 m), EU long trucks (25.25 m), midibuses from 6 m long and
            2.05 m wide; widths of trucks and buses up to 2.8 m hold recording noise.
    """

    max_heading: float = 0.6
    max_speed: float = 60.0
    offroad_tolerance: float = 0.5
    lane_tolerance: float = 0.05
    sizes: dict[str, tuple[float, float, float, float]] = field(
        default_factory=lambda: {
            "car": (2.3, 7.0, 1.3, 2.6),
            "truck": (4.5, 26.0, 1.9, 2.8),
            "motorcycle": (1.5, 3.0, 0.5, 1.2),
            "bus": (6.0, 25.0, 2.0, 2.8),
        }
    )

    def size_table(self) -> NDArray[np.float64]:
        """``(len(KINDS), 4)`` size bounds indexed by kind code."""
        return np.array([self.sizes[kind] for kind in KINDS])


DEFAULT_RULES = ValidityRules()


@dataclass(frozen=True, kw_only=True)
class Violation:
    """A broken rule: its name, the vehicle indices it concerns, and why."""

    rule: str
    vehicles: tuple[int, ...]
    reason: str

    def __str__(self) -> str:
        who = " and ".join(f"vehicle {i}" for i in self.vehicles)
        return f"{self.rule}: {who}: {self.reason}"


def overlapping_pairs(corners: NDArray[np.float64]) -> NDArray[np.int64]:
    """``(m, 2)`` index pairs ``i < j`` whose oriented boxes intersect (separating axis test).

    ``corners`` is ``(n, 4, 2)`` as from ``vehicle_corners``; boxes that only touch do not
    count.
    """
    n = corners.shape[0]
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    centre = corners.mean(axis=1)
    frames = np.stack(
        [
            centre,
            (corners[:, 0] + corners[:, 3]) / 2 - centre,
            (corners[:, 0] + corners[:, 1]) / 2 - centre,
        ],
        axis=1,
    )
    return overlapping_frames(frames, np.zeros(n, dtype=np.int64))


_REASONS = {
    # The ``lane`` rule has three causes, each with its own message (see ``_lane_reason``).
    "lane_index": "lane {lane} is not on the road, which has lanes 0 to {last_lane}",
    "lane_station": "lane {lane} does not exist at s={s:.1f} m (it runs from {start:.1f} to "
    "{end:.1f} m)",
    "lane_centre": "centre d={d:.2f} m from the lane centre is outside lane {lane} "
    "(half width {half_width:.2f} m, tolerance {lane_tolerance:.2f} m)",
    "off_road": "footprint leaves the road at s={s:.1f} m (lane {lane}, d={d:.2f} m)",
    "heading": "heading {heading:.2f} rad from the lane direction exceeds {max_heading:.2f} rad",
    "speed": "speed {speed:.1f} m/s is outside [0, {max_speed:.0f}] m/s",
    "size": "{length:.2f} x {width:.2f} m is implausible for a {kind}",
}


def validate(scene: Scene, rules: ValidityRules = DEFAULT_RULES) -> list[Violation]:
    """Every broken rule of ``scene``, single-vehicle rules first, then overlaps.

    >>> from scenegym.scene import Road, Scene, Vehicles
    >>> road = Road.straight(length=100.0, lanes=2)
    >>> scene = Scene(road, Vehicles.from_columns(lane=[0, 0], s=[50.0, 52.0], speed=[5, 5]))
    >>> [str(v) for v in validate(scene)]
    ['overlap: vehicle 0 and vehicle 1: footprints intersect']
    """
    v = scene.vehicles
    if len(v) == 0:
        return []
    violations: list[Violation] = []
    batch = SceneBatch.of([scene])
    checks = batch.single_vehicle_checks(rules)
    for rule in RULES[:-1]:
        for index in np.flatnonzero(checks[rule]):
            facts = {
                "lane": int(v.lane[index]),
                "s": v.s[index],
                "d": v.d[index],
                "heading": v.heading[index],
                "speed": v.speed[index],
                "length": v.length[index],
                "width": v.width[index],
                "kind": KINDS[v.kind[index]],
                "max_heading": rules.max_heading,
                "max_speed": rules.max_speed,
                "lane_tolerance": rules.lane_tolerance,
            }
            if rule == "lane":
                reason = _lane_reason(scene.road, facts)
            else:
                reason = _REASONS[rule].format(**facts)
            violations.append(Violation(rule=rule, vehicles=(int(index),), reason=reason))
    for i, j in batch.overlapping_pairs():
        violations.append(
            Violation(rule="overlap", vehicles=(int(i), int(j)), reason="footprints intersect")
        )
    return violations


def _lane_reason(road: Road, facts: dict) -> str:
    """Why the vehicle described by ``facts`` breaks the ``lane`` rule (first cause found)."""
    lane = facts["lane"]
    if not 0 <= lane < road.lane_count:
        return _REASONS["lane_index"].format(last_lane=road.lane_count - 1, **facts)
    start, end = road.lane_starts[lane], road.lane_ends[lane]
    if not road.lanes_at([facts["s"]])[lane, 0]:
        return _REASONS["lane_station"].format(start=start, end=end, **facts)
    return _REASONS["lane_centre"].format(half_width=road.lane_widths[lane] / 2.0, **facts)


def violation_counts(scene: Scene, rules: ValidityRules = DEFAULT_RULES) -> dict[str, int]:
    """Number of violations per rule (``RULES`` order), without building messages."""
    counts = SceneBatch.of([scene]).violation_counts(rules)[0]
    return dict(zip(RULES, counts.tolist()))


def violation_counts_many(
    scenes: Sequence[Scene], rules: ValidityRules = DEFAULT_RULES
) -> NDArray[np.int64]:
    """``(len(scenes), len(RULES))`` violations per rule of every scene, in one vectorised
    pass; row ``i`` equals ``violation_counts(scenes[i])`` in ``RULES`` order."""
    scenes = list(scenes)
    if not scenes:
        return np.zeros((0, len(RULES)), dtype=np.int64)
    return SceneBatch.of(scenes).violation_counts(rules)


def is_valid(scene: Scene, rules: ValidityRules = DEFAULT_RULES) -> bool:
    """True when ``scene`` breaks no rule."""
    return not any(violation_counts(scene, rules).values())


def repair(scene: Scene, rules: ValidityRules = DEFAULT_RULES) -> tuple[Scene, int]:
    """Make ``scene`` valid by removing vehicles: repeatedly the one named in the most
    violations (the last such vehicle on a tie). Returns the valid scene and how many
    vehicles were removed."""
    removed = 0
    while True:
        violations = validate(scene, rules)
        if not violations:
            return scene, removed
        counts = np.bincount(
            [i for violation in violations for i in violation.vehicles],
            minlength=len(scene.vehicles),
        )
        worst = len(counts) - 1 - int(np.argmax(counts[::-1]))
        keep = np.arange(len(scene.vehicles)) != worst
        scene = scene.replace(vehicles=scene.vehicles.take(keep))
        removed += 1


def rule_report(
    scenes: Sequence[Scene],
    rules: ValidityRules = DEFAULT_RULES,
    *,
    examples: int = 5,
    batch: SceneBatch | None = None,
) -> dict:
    """How often ``scenes`` break each rule, counted by vehicle and by scene: the check of
    a reference (recorded traffic should pass the rules; what it breaks is named here).

    Returns a JSON-ready dict: ``scenes``, ``vehicles``, ``valid_scene_share``,
    ``valid_vehicle_share`` (vehicles named in no violation), ``rules`` (per rule:
    ``vehicles`` and ``scenes`` breaking it and their shares) and ``examples``, the
    violations of the first ``examples`` scenes that break a rule, as readable lines.
    ``batch``: ``SceneBatch.of(scenes)`` where the caller has built it already.

    >>> from scenegym.scene import Road, Scene, Vehicles
    >>> road = Road.straight(length=100.0, lanes=1)
    >>> truck = Vehicles.from_columns(lane=[0], s=[50.0], length=[19.0], width=[2.5])
    >>> report = rule_report([Scene(road, truck)])
    >>> report["rules"]["size"]["vehicles"], report["examples"]
    (1, ['scene 0: size: vehicle 0: 19.00 x 2.50 m is implausible for a car'])
    """
    scenes = list(scenes)
    if not scenes:
        raise ValueError("rule_report needs at least one scene")
    batch = SceneBatch.of(scenes) if batch is None else batch
    masks = dict(batch.single_vehicle_checks(rules))
    overlap = np.zeros(batch.lane.size, dtype=bool)
    overlap[batch.overlapping_pairs().ravel()] = True
    masks["overlap"] = overlap
    vehicles = int(batch.lane.size)
    broken = np.zeros(vehicles, dtype=bool)
    scene_broken = np.zeros(len(scenes), dtype=bool)
    per_rule = {}
    for rule in RULES:
        mask = masks[rule]
        broken |= mask
        scenes_with = np.bincount(batch.scene_of[mask], minlength=len(scenes)) > 0
        scene_broken |= scenes_with
        per_rule[rule] = {
            "vehicles": int(mask.sum()),
            "vehicle_share": float(mask.mean()) if vehicles else 0.0,
            "scenes": int(scenes_with.sum()),
            "scene_share": float(scenes_with.mean()),
        }
    lines = []
    for index in np.flatnonzero(scene_broken)[: max(0, int(examples))]:
        lines.extend(f"scene {index}: {violation}" for violation in validate(scenes[index], rules))
    return {
        "scenes": len(scenes),
        "vehicles": vehicles,
        "valid_scene_share": float(1.0 - scene_broken.mean()),
        "valid_vehicle_share": float(1.0 - broken.mean()) if vehicles else 1.0,
        "rules": per_rule,
        "examples": lines,
    }
