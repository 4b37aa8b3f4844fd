"""The random highway scene space: the domain-randomisation baseline every generator must beat.

``HighwaySceneSpace.sample(rng)`` draws a road (lanes, length, curvature, an optional on-ramp
or auxiliary lane) and drops vehicles on it independently and uniformly, with speeds and sizes
from simple distributions. It knows nothing about car following, so many of its scenes break
validity rules (mostly overlaps); its validity rate is the number a learned generator improves.

``placement: even`` spaces the vehicles evenly in each lane instead (fewer overlaps, the same
everything else); ``placement: following`` gives each vehicle room in proportion to what a
car follower keeps at its speed, so faster vehicles keep longer gaps, as in traffic.

``sample(rng, targets=...)`` draws with the scene-wide numbers taken from descriptor targets
where they name them (``TARGETABLE``): the lane count and largest curvature of the road, the
number of vehicles, their mean speed, speed spread and truck share, and how unevenly the lanes
are filled. Where the vehicles go along a lane follows ``placement`` as before, so gaps and
headways are not aimed at; a generation environment started this way (``start="goal"``)
draws several candidates and keeps the nearest (``start_candidates``), then leaves the rest
to the policy. ``sample_vehicle_sets`` draws such candidates all at once, as ``(sets, n)``
columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scenegym._checks import check_whole
from scenegym.config import check_config, option

from .descriptors import describe
from .road import Road
from .scene import Scene
from .validity import DEFAULT_RULES, ValidityRules, Violation, validate
from .vehicles import KINDS, Vehicles

__all__ = ["TARGETABLE", "HighwaySceneSpace", "HighwaySpaceConfig"]

TARGETABLE: tuple[str, ...] = (
    "lane_count",
    "max_curvature",
    "vehicle_count",
    "density",
    "mean_speed",
    "std_speed",
    "truck_share",
    "lane_occupancy_spread",
)
"""Descriptors that ``HighwaySceneSpace.sample(rng, targets=...)`` follows."""
_IS_HEAVY = np.array([kind in ("truck", "bus") for kind in KINDS])
"""Which of ``KINDS`` are heavy vehicles, as the ``truck_share`` descriptor counts them."""


@dataclass(frozen=True)
class HighwaySpaceConfig:
    """Bounds of the random highway scene space. Ranges are ``[min, max]``, drawn uniformly."""

    lanes: tuple[int, int] = field(default=(2, 5), metadata=option("main lanes", 1, 8))
    length: tuple[float, float] = field(
        default=(150.0, 350.0), metadata=option("road length (m)", 20.0, 5000.0)
    )
    segments: tuple[int, int] = field(
        default=(1, 3), metadata=option("reference-line segments", 1, 20)
    )
    max_curvature: float = field(
        default=0.004,
        metadata=option(
            "largest |curvature| of a segment (1/m); a segment turns <= 90 deg", 0, 0.2
        ),
    )
    straight_share: float = field(
        default=0.5, metadata=option("chance that a segment is straight", 0.0, 1.0)
    )
    lane_width: tuple[float, float] = field(
        default=(3.25, 3.75), metadata=option("lane width (m)", 1.0, 8.0)
    )
    ramp_probability: float = field(
        default=0.4, metadata=option("chance of an on-ramp or auxiliary lane on the right", 0, 1)
    )
    speed_limit: tuple[float, float] = field(
        default=(22.2, 36.1), metadata=option("speed limit (m/s)", 1.0, 60.0)
    )
    vehicles: tuple[int, int] = field(default=(5, 40), metadata=option("vehicle count", 0, 500))
    placement: str = field(
        default="uniform",
        metadata={
            "help": "where vehicles go: 'uniform' (independently along the road), 'even' "
            "(lanes filled in proportion to their length, vehicles evenly spaced in each) or "
            "'following' (filled the same way, faster vehicles keeping longer gaps)",
            "choices": ("uniform", "even", "following"),
        },
    )
    placement_jitter: float = field(
        default=0.4,
        metadata=option(
            "with 'even' or 'following', how far a vehicle strays, as a share of its spacing",
            0,
            1,
        ),
    )
    flow_speed: tuple[float, float] = field(
        default=(0.2, 1.1), metadata=option("scene mean speed as a share of the limit", 0.0, 2.0)
    )
    speed_std: float = field(
        default=3.0, metadata=option("speed spread around the flow speed (m/s)", 0.0, 30.0)
    )
    lateral_std: float = field(
        default=0.3, metadata=option("spread of the offset from the lane centre (m)", 0.0, 2.0)
    )
    heading_std: float = field(
        default=0.03, metadata=option("spread of the heading to the lane (rad)", 0.0, 1.0)
    )
    kind_shares: dict[str, float] = field(
        default_factory=lambda: {"car": 0.8, "truck": 0.12, "motorcycle": 0.04, "bus": 0.04},
        metadata={
            "help": "relative share of each vehicle kind",
            "range": (0.0, None),
            "fixed_keys": True,
        },
    )
    sizes: dict[str, tuple[float, float, float, float]] = field(
        default_factory=lambda: {
            "car": (4.6, 0.5, 1.85, 0.1),
            "truck": (12.0, 4.0, 2.5, 0.1),
            "motorcycle": (2.2, 0.2, 0.8, 0.1),
            "bus": (12.5, 1.5, 2.55, 0.05),
        },
        metadata={
            "help": "per kind (mean length, std length, mean width, std width) in m",
            "range": (0.0, 30.0),
            "fixed_keys": True,
        },
    )

    def __post_init__(self) -> None:
        check_config(self)
        if sum(self.kind_shares.values()) <= 0:
            raise ValueError("kind_shares must have at least one share above 0")


@dataclass(frozen=True)
class HighwaySceneSpace:
    """The family of random highway scenes bounded by a ``HighwaySpaceConfig``.

    >>> space = HighwaySceneSpace()
    >>> scene = space.sample(np.random.default_rng(0))
    >>> scene == space.sample(np.random.default_rng(0))
    True
    """

    config: HighwaySpaceConfig = field(default_factory=HighwaySpaceConfig)
    rules: ValidityRules = DEFAULT_RULES

    def __post_init__(self) -> None:
        if not isinstance(self.config, HighwaySpaceConfig):
            hint = (
                "; build it with config_from_mapping(HighwaySpaceConfig, mapping) from "
                "scenegym.config"
                if isinstance(self.config, Mapping)
                else ""
            )
            raise TypeError(
                f"config must be a HighwaySpaceConfig, got {type(self.config).__name__}{hint}"
            )
        if not isinstance(self.rules, ValidityRules):
            raise TypeError(f"rules must be ValidityRules, got {type(self.rules).__name__}")

    def sample_road(
        self, rng: np.random.Generator, targets: Mapping[str, float] | None = None
    ) -> Road:
        """A random road within the configured bounds.

        With ``targets`` (see ``sample``): ``lane_count`` main lanes and no ramp (clipped to
        the configured lanes); with both ``vehicle_count`` and ``density``, the length that
        count needs at that density (within the configured lengths); and curvatures scaled so
        that the largest is ``max_curvature`` (at most the configured one; 0 makes the road
        straight).
        """
        c = self.config
        targets = _check_targets(targets) if targets is not None else {}
        lanes = int(rng.integers(c.lanes[0], c.lanes[1] + 1))
        if "lane_count" in targets:
            lanes = int(np.clip(round(targets["lane_count"]), c.lanes[0], c.lanes[1]))
        length = float(rng.uniform(*c.length))
        if targets.get("density", 0.0) > 0.0 and "vehicle_count" in targets:
            # Both asked for: the road is as long as that many vehicles at that density need.
            wanted = 1000.0 * targets["vehicle_count"] / (targets["density"] * lanes)
            length = float(np.clip(wanted, *c.length))
        n_segments = int(rng.integers(c.segments[0], c.segments[1] + 1))
        shares = rng.dirichlet(np.full(n_segments, 4.0))
        lengths = np.maximum(shares * length, 1.0)
        # A segment turns by at most a quarter circle, whatever max_curvature allows.
        limit = np.minimum(c.max_curvature, (np.pi / 2.0) / lengths)
        # A right turn keeps a radius of at least twice the widest possible carriageway (the
        # lanes drawn, a ramp, all at the widest lane width), so its right edge never folds.
        right_limit = np.minimum(limit, 0.5 / ((lanes + 1) * c.lane_width[1]))
        curvatures = rng.uniform(-right_limit, limit)
        curvatures[rng.random(n_segments) < c.straight_share] = 0.0
        if "max_curvature" in targets:
            curvatures = _curvatures_for(
                curvatures, min(max(targets["max_curvature"], 0.0), c.max_curvature), rng
            )
            curvatures = np.clip(curvatures, -right_limit, limit)
        widths = rng.uniform(*c.lane_width, lanes)
        starts = np.zeros(lanes)
        total = float(lengths.sum())
        ends = np.full(lanes, total)
        ramp = rng.random() < c.ramp_probability
        if ramp and "lane_count" not in targets:
            # An on-ramp merging from the start, or an auxiliary lane between two ramps.
            if rng.random() < 0.5:
                start, end = 0.0, rng.uniform(0.3, 0.7) * total
            else:
                start, end = rng.uniform(0.05, 0.3) * total, rng.uniform(0.6, 0.95) * total
            widths = np.append(widths, rng.uniform(*c.lane_width))
            starts = np.append(starts, start)
            ends = np.append(ends, end)
        # Every bound the constructor checks holds by construction (lengths >= 1 m, turns
        # under a quarter circle, right turns wide of the carriageway, lanes inside the road,
        # widths and limits within the config's checked ranges): skip the checks' cost.
        return Road._trusted(
            segment_lengths=lengths,
            segment_curvatures=curvatures,
            lane_widths=widths,
            lane_starts=starts,
            lane_ends=ends,
            speed_limit=float(rng.uniform(*c.speed_limit)),
            origin=(0.0, 0.0, float(rng.uniform(-np.pi, np.pi))),
        )

    def sample_vehicles(
        self,
        road: Road,
        rng: np.random.Generator,
        targets: Mapping[str, float] | None = None,
    ) -> Vehicles:
        """Vehicles on ``road``: with ``placement: uniform`` lanes drawn in proportion to their
        length and stations uniform along the lane, independently; with ``even`` lanes filled
        in proportion to their length and vehicles evenly spaced (``_even_places``); with
        ``following`` lanes filled the same way and each vehicle's room to the next in
        proportion to its length plus ``FOLLOWING_GAP`` plus its speed times
        ``FOLLOWING_HEADWAY`` (``_following_places``).

        With ``targets`` (see ``sample``): ``vehicle_count`` vehicles, or as many as
        ``density`` asks for on this road (clipped to the configured count); speeds drawn,
        then shifted and scaled to mean ``mean_speed`` and spread ``std_speed`` exactly
        (speeds below 0 are raised to 0); ``round(truck_share * n)`` heavy vehicles (trucks
        and buses); lane shares scaled from the lanes' lengths by
        ``exp(lane_occupancy_spread * N(0, 1))`` each, so that evenly placed lanes are about
        as uneven as asked (a few lanes somewhat less; uniform placement adds its own).
        """
        sets = self.sample_vehicle_sets(road, rng, targets)
        return Vehicles._trusted({name: values[0] for name, values in sets.items()})

    def sample_vehicle_sets(
        self,
        road: Road,
        rng: np.random.Generator,
        targets: Mapping[str, float] | None = None,
        count: int = 1,
    ) -> dict[str, NDArray]:
        """``count`` vehicle sets for ``road``, drawn as ``sample_vehicles`` draws one but all
        at once: the ``Vehicles`` columns as ``(count, n)`` arrays (every set holds the same
        number ``n`` of vehicles). With ``count=1`` its row is ``sample_vehicles``' draw from
        the same generator state."""
        c = self.config
        targets = _check_targets(targets) if targets is not None else {}
        count = check_whole("count", count, 1)
        n = int(rng.integers(c.vehicles[0], c.vehicles[1] + 1))
        if "vehicle_count" in targets or "density" in targets:
            wanted = targets.get("vehicle_count")
            if wanted is None:
                wanted = targets["density"] * float(road.lane_lengths.sum()) / 1000.0
            n = int(np.clip(round(wanted), c.vehicles[0], c.vehicles[1]))
        # Weights are station extents (not lane-centre lengths), matching the uniform draw of
        # stations below and keeping the scenes of every seed unchanged.
        extent = np.tile(road.lane_ends - road.lane_starts, (count, 1))
        if "lane_occupancy_spread" in targets:
            # Lane shares spread around their lengths' by about the asked spread.
            spread = max(targets["lane_occupancy_spread"], 0.0)
            extent = extent * np.exp(spread * rng.standard_normal(extent.shape))
        if c.placement == "even":
            lane, s = _even_places(road, n, c.placement_jitter, rng, extent)
        elif c.placement == "following":
            lane = _lanes_of(_lane_counts(n, rng, extent), n)
        else:
            lane = _choice_rows(rng, extent / extent.sum(axis=1, keepdims=True), n)
            s = rng.uniform(road.lane_starts[lane], road.lane_ends[lane])
        shares = np.array([c.kind_shares.get(k, 0.0) for k in KINDS])
        if "truck_share" in targets:
            heavy = float(np.clip(targets["truck_share"], 0.0, 1.0))
            kind = _kinds_for(_shares_for(shares, heavy), heavy, (count, n), rng)
        else:
            kind = rng.choice(len(KINDS), size=(count, n), p=shares / shares.sum())
        sizes = np.array([c.sizes[k] for k in KINDS])[kind]
        length = np.maximum(rng.normal(sizes[..., 0], sizes[..., 1]), 0.5)
        width = np.maximum(rng.normal(sizes[..., 2], sizes[..., 3]), 0.3)
        flow = rng.uniform(*c.flow_speed, size=count) * road.speed_limit
        if "mean_speed" in targets:
            flow = np.full(count, float(targets["mean_speed"]))
        flow = np.maximum(flow, 0.0)[:, None]
        spread = max(float(targets.get("std_speed", c.speed_std)), 0.0)
        speed = rng.normal(flow, spread, (count, n))
        if n and ("mean_speed" in targets or "std_speed" in targets):
            # The drawn speeds moved (and, with a spread target, scaled) onto the targets, so
            # the scene's own mean and spread are the ones asked for (up to the clip at 0).
            with np.errstate(over="ignore", invalid="ignore"):  # runaway targets: see below
                mean = speed.mean(axis=1, keepdims=True)
                deviation = speed - mean
                if "std_speed" in targets and n > 1:
                    now = deviation.std(axis=1, keepdims=True)
                    deviation *= np.where(now > 0, spread / np.where(now > 0, now, 1.0), 1.0)
                speed = (flow if "mean_speed" in targets else mean) + deviation
        speed = np.maximum(speed, 0.0)
        if not np.isfinite(speed).all():
            raise ValueError(
                f"speed targets mean_speed={targets.get('mean_speed')} and std_speed="
                f"{targets.get('std_speed')} give speeds too large to represent; ask for "
                "speeds in m/s of the order of the speed limit"
            )
        half_lane = road.lane_widths[lane] / 2.0
        if c.placement == "following":
            s = _following_places(road, lane, speed, length, c.placement_jitter, rng)
        d = np.clip(rng.normal(0.0, c.lateral_std, (count, n)), -half_lane, half_lane)
        heading = rng.normal(0.0, c.heading_std, (count, n))
        # Columns built here are finite, of one length and of known kinds: the constructor's
        # checks would only cost time.
        return {
            "lane": lane.astype(np.int16),
            "s": s,
            "d": d,
            "heading": heading,
            "speed": speed,
            "length": length,
            "width": width,
            "kind": kind.astype(np.int8),
        }

    def sample(self, rng: np.random.Generator, targets: Mapping[str, float] | None = None) -> Scene:
        """One random scene. Same generator state, same scene.

        ``targets``: descriptor values the scene's road and scene-wide numbers follow (names in
        ``TARGETABLE``; others are ignored, so a goal's whole target set can be passed):
        ``lane_count`` and ``max_curvature`` shape the road, ``vehicle_count`` or ``density``
        the number of vehicles, ``mean_speed``, ``std_speed`` and ``truck_share`` their speeds
        and kinds, ``lane_occupancy_spread`` how unevenly the lanes are filled. Values beyond
        the configured bounds are clipped to them.
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                f"got {type(rng).__name__}"
            )
        road = self.sample_road(rng, targets)  # each checks the targets
        return Scene(road, self.sample_vehicles(road, rng, targets))

    def sample_many(self, n: int, seed: int) -> Iterator[Scene]:
        """``n`` scenes; scene ``i`` depends only on ``(seed, i)``, so any slice can be redone."""
        n = check_whole("n", n, 0)
        seed = check_whole("seed", seed, 0)
        # Child i of SeedSequence(seed).spawn(n) is SeedSequence(seed, spawn_key=(i,)); built
        # one at a time, memory stays flat for any n.
        for i in range(int(n)):
            child = np.random.SeedSequence(seed, spawn_key=(i,))
            yield self.sample(np.random.default_rng(child))

    def validate(self, scene: Scene) -> list[Violation]:
        """Broken rules of ``scene`` under this space's rules."""
        return validate(scene, self.rules)

    def describe(self, scene: Scene) -> dict[str, float]:
        """Descriptors of ``scene``."""
        return describe(scene)


def _check_targets(targets: Any) -> dict[str, float]:
    """The targetable entries of ``targets`` as floats; a clear error for bad values."""
    if not isinstance(targets, Mapping):
        raise TypeError(
            f"targets must be a mapping of descriptor name to value, got {type(targets).__name__}"
        )
    checked = {}
    for name in TARGETABLE:
        if name in targets:
            value = targets[name]
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise TypeError(f"targets[{name!r}] must be a number, got {value!r}")
            if not np.isfinite(value):
                raise ValueError(f"targets[{name!r}] must be finite, got {value!r}")
            checked[name] = float(value)
    return checked


def _lane_counts(n: int, rng: np.random.Generator, weights: NDArray[np.float64]) -> NDArray:
    """How many of ``n`` vehicles each lane gets in each row of ``(sets, lanes)`` ``weights``
    (largest remainders first, ties broken at random)."""
    share = weights / weights.sum(axis=1, keepdims=True) * n
    counts = np.floor(share).astype(np.int64)
    remainder = share - counts + rng.uniform(0.0, 1e-9, share.shape)
    # The first missing lanes by largest remainder get one more.
    place = np.argsort(np.argsort(-remainder, axis=1), axis=1)
    return counts + (place < (n - counts.sum(axis=1, keepdims=True)))


def _lanes_of(counts: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """``(sets, n)`` lane of each vehicle, grouped by lane, from ``(sets, lanes)`` counts."""
    ends = np.cumsum(counts, axis=1)
    return (ends[:, None, :] <= np.arange(n)[None, :, None]).sum(axis=2)


def _choice_rows(rng: np.random.Generator, p: NDArray[np.float64], n: int) -> NDArray:
    """``(sets, n)`` draws of ``range(lanes)`` with each row's ``(sets, lanes)`` chances
    ``p``, as ``rng.choice(lanes, size=n, p=row)`` draws them (so one row draws the same)."""
    cdf = np.cumsum(p, axis=1)
    cdf /= cdf[:, -1:]
    uniform = rng.random((p.shape[0], n))
    return (cdf[:, None, :] <= uniform[:, :, None]).sum(axis=2)


def _even_places(
    road: Road, n: int, jitter: float, rng: np.random.Generator, weights: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """``(sets, n)`` lanes and stations of ``n`` vehicles spread evenly: each lane gets its
    share by the row of ``(sets, lanes)`` ``weights`` (``_lane_counts``), evenly spaced along
    the lane from a random phase, each moved by up to ``jitter / 2`` of the spacing, and kept
    inside the lane."""
    extent = road.lane_ends - road.lane_starts
    counts = _lane_counts(n, rng, weights)
    lane = _lanes_of(counts, n)
    spacing = np.take_along_axis(extent / np.maximum(counts, 1), lane, axis=1)
    rank = np.arange(n) - np.take_along_axis(np.cumsum(counts, axis=1) - counts, lane, axis=1)
    phase = np.take_along_axis(rng.uniform(0.0, 1.0, counts.shape), lane, axis=1)
    s = road.lane_starts[lane] + spacing * (rank + phase)
    s += rng.uniform(-0.5, 0.5, lane.shape) * jitter * spacing
    return lane, np.clip(s, road.lane_starts[lane], road.lane_ends[lane])


FOLLOWING_GAP = 2.0
"""Standstill gap (m) of ``placement: following``."""
FOLLOWING_HEADWAY = 1.5
"""Time headway (s) of ``placement: following``."""


def _following_places(
    road: Road,
    lane: NDArray[np.int64],
    speed: NDArray[np.float64],
    length: NDArray[np.float64],
    jitter: float,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """``(sets, n)`` stations of vehicles already given their lanes (each row grouped by lane,
    in order along it): the room from each vehicle to the next is in proportion to what a
    car follower keeps, ``length + FOLLOWING_GAP + speed * FOLLOWING_HEADWAY``, scaled to
    fill the lane, so faster vehicles keep longer gaps. Each lane starts from a random phase
    of its last vehicle's room; each vehicle is moved by up to ``jitter / 2`` of its room and
    kept inside the lane."""
    lanes = road.lane_count
    # Every (set, lane) is one group; groups are contiguous in row-major order.
    group = (np.arange(lane.shape[0])[:, None] * lanes + lane).ravel()
    counts = np.bincount(group, minlength=lane.shape[0] * lanes)
    extent = np.tile(road.lane_ends - road.lane_starts, lane.shape[0])
    room = (length + FOLLOWING_GAP + np.maximum(speed, 0.0) * FOLLOWING_HEADWAY).ravel()
    room = room * (extent / np.maximum(np.bincount(group, room, counts.size), 1e-9))[group]
    before = np.cumsum(room) - room  # room of every vehicle before, all groups
    used = counts > 0
    first = (np.cumsum(counts) - counts)[used]
    last = np.cumsum(counts)[used] - 1
    ahead = before - np.repeat(before[first], counts[used])  # room before, this group
    phase = np.repeat(rng.uniform(0.0, 1.0, int(used.sum())) * room[last], counts[used])
    flat = lane.ravel()
    s = road.lane_starts[flat] + ahead + phase
    s += rng.uniform(-0.5, 0.5, flat.size) * jitter * room
    return np.clip(s, road.lane_starts[flat], road.lane_ends[flat]).reshape(lane.shape)


def _curvatures_for(
    curvatures: NDArray[np.float64], target: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """``curvatures`` scaled so that the largest magnitude is ``target``; a straight road gets
    one curved segment (a random one, random side) when ``target`` is above 0."""
    largest = float(np.abs(curvatures).max())
    if target <= 0.0:
        return np.zeros_like(curvatures)
    if largest == 0.0:
        curvatures = np.zeros_like(curvatures)
        side = 1.0 if rng.random() < 0.5 else -1.0
        curvatures[int(rng.integers(curvatures.size))] = side * target
        return curvatures
    return curvatures * (target / largest)


def _kinds_for(
    shares: NDArray[np.float64], heavy: float, shape: tuple[int, int], rng: np.random.Generator
) -> NDArray[np.int64]:
    """``(sets, n)`` kinds, ``round(heavy * n)`` of each row trucks or buses, at random places;
    heavy and light kinds split among themselves by ``shares``."""
    sets, n = shape
    count = round(heavy * n)
    parts = []
    for mask, size in ((_IS_HEAVY, count), (~_IS_HEAVY, n - count)):
        weights = shares * mask
        if size:
            parts.append(rng.choice(len(KINDS), size=(sets, size), p=weights / weights.sum()))
    kind = np.concatenate(parts, axis=1) if parts else np.zeros((sets, 0), dtype=np.int64)
    return rng.permuted(kind, axis=1)


def _shares_for(shares: NDArray[np.float64], heavy: float) -> NDArray[np.float64]:
    """Kind shares (``KINDS`` order) rescaled so that trucks and buses together have
    ``heavy``; the configured shares still split heavy and light kinds among themselves."""
    out = np.zeros_like(shares)
    for mask, total in ((_IS_HEAVY, heavy), (~_IS_HEAVY, 1.0 - heavy)):
        part = shares[mask]
        part = part if part.sum() > 0 else np.ones(part.size)  # none configured: equal split
        out[mask] = total * part / part.sum()
    return out
