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

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scenegym._checks import check_seed, check_whole
from scenegym.config import check_config, option
from scenegym.scene.descriptors import describe
from scenegym.scene.road import Road
from scenegym.scene.scene import Scene
from scenegym.scene.validity import DEFAULT_RULES, ValidityRules, Violation, validate
from scenegym.scene.vehicles import KINDS, Vehicles

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


@dataclass(frozen=True, kw_only=True)
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
    lateral_mean: float = field(
        default=0.0,
        metadata=option(
            "mean offset from the lane centre (m; recordings whose map and tracks are "
            "misaligned have one)",
            -2.0,
            2.0,
        ),
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

    # ------------------------------------------------------------------ drawing
    # Every scene draws from its own generator: its road takes one block of uniforms, its
    # vehicle sets one block of uniforms and one of standard normals, each of a size fixed by
    # the config; the rest is array maths over all scenes at once. So a scene depends only on
    # its generator (and targets), whether it is drawn alone or among many.

    def sample_road(
        self, rng: np.random.Generator, targets: Mapping[str, float] | None = None
    ) -> Road:
        """A random road within the configured bounds.

        With ``targets`` (see ``sample``): ``lane_count`` main lanes and no ramp (clipped to
        the configured lanes); with both ``vehicle_count`` and ``density``, the length that
        count needs at that density (within the configured lengths); and curvatures scaled so
        that the largest is ``max_curvature`` (at most the configured one; 0 makes the road
        straight, and a straight road gets one curved segment, a random one on a random side).
        """
        return self.sample_roads([rng], [targets])[0]

    def sample_roads(
        self,
        rngs: Sequence[np.random.Generator],
        targets: Sequence[Mapping[str, float] | None] | None = None,
    ) -> list[Road]:
        """One road per generator of ``rngs`` (with the targets of the same entry of
        ``targets``; None: none), each as ``sample_road`` draws it, all drawn at once."""
        c = self.config
        rngs = _check_rngs(rngs)
        asked = _TargetTable(targets, len(rngs))
        count, most = len(rngs), c.segments[1]
        u = np.empty((count, _ROAD_UNIFORMS + 6 * most + c.lanes[1] + 1))
        for row, rng in zip(u, rngs):
            rng.random(out=row)
        gamma_u = u[:, _ROAD_UNIFORMS : _ROAD_UNIFORMS + 4 * most].reshape(count, most, 4)
        rest = u[:, _ROAD_UNIFORMS + 4 * most :]
        turn_u, straight_u, width_u = rest[:, :most], rest[:, most : 2 * most], rest[:, 2 * most :]
        has_lanes, lane_target = asked["lane_count"]
        lanes = np.where(
            has_lanes, np.clip(np.rint(lane_target), *c.lanes), _whole(u[:, 0], c.lanes)
        )
        lanes = lanes.astype(np.int64)
        length = _between(u[:, 1], c.length)
        has_count, vehicle_target = asked["vehicle_count"]
        both = has_count & (asked["density"][1] > 0.0)
        if both.any():
            # Both asked for: the road is as long as that many vehicles at that density need.
            density = np.where(both, asked["density"][1], 1.0)
            wanted = np.clip(1000.0 * vehicle_target / (density * lanes), *c.length)
            length = np.where(both, wanted, length)
        segments = _whole(u[:, 2], c.segments)
        used = np.arange(most) < segments[:, None]
        # Dirichlet(4, ..., 4) shares: Gamma(4) draws, each the sum of four Exp(1) draws.
        gamma = -np.log1p(-gamma_u).sum(axis=2) * used
        lengths = np.maximum(gamma / gamma.sum(axis=1, keepdims=True) * length[:, None], 1.0)
        # A segment turns by at most a quarter circle, whatever max_curvature allows.
        limit = np.minimum(c.max_curvature, (np.pi / 2.0) / lengths)
        # A right turn keeps a radius of at least twice the widest possible carriageway (the
        # lanes drawn, a ramp, all at the widest lane width), so its right edge never folds.
        right_limit = np.minimum(limit, (0.5 / ((lanes + 1) * c.lane_width[1]))[:, None])
        curvatures = turn_u * (limit + right_limit) - right_limit
        curvatures[(straight_u < c.straight_share) | ~used] = 0.0
        has_turn, turn_target = asked["max_curvature"]
        if has_turn.any():
            target = np.clip(turn_target, 0.0, c.max_curvature)
            curvatures = _curvatures_for(curvatures, target, has_turn, u[:, 9:11], segments)
            curvatures = np.clip(curvatures, -right_limit, limit)
        widths = _between(width_u, c.lane_width)
        total = (lengths * used).sum(axis=1)
        # An on-ramp merging from the start, or an auxiliary lane between two ramps.
        ramp = (u[:, 3] < c.ramp_probability) & ~has_lanes
        merge = u[:, 4] < 0.5
        ramp_start = np.where(merge, 0.0, 0.05 + 0.25 * u[:, 5]) * total
        ramp_end = np.where(merge, 0.3 + 0.4 * u[:, 6], 0.6 + 0.35 * u[:, 6]) * total
        speed_limit = _between(u[:, 7], c.speed_limit)
        heading = (2.0 * u[:, 8] - 1.0) * np.pi
        roads = []
        for i in range(count):
            m, main = int(segments[i]), int(lanes[i])
            n = main + int(ramp[i])
            starts, ends = np.zeros(n), np.full(n, total[i])
            if n > main:
                starts[main], ends[main] = ramp_start[i], ramp_end[i]
            # Every bound the constructor checks holds by construction (lengths >= 1 m, turns
            # under a quarter circle, right turns wide of the carriageway, lanes inside the
            # road, widths and limits within the config's checked ranges): skip the checks.
            roads.append(
                Road.unchecked(
                    segment_lengths=lengths[i, :m].copy(),
                    segment_curvatures=curvatures[i, :m].copy(),
                    lane_widths=widths[i, :n].copy(),
                    lane_starts=starts,
                    lane_ends=ends,
                    speed_limit=float(speed_limit[i]),
                    origin=(0.0, 0.0, float(heading[i])),
                )
            )
        return roads

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
        return Vehicles.unchecked({name: values[0] for name, values in sets.items()})

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
        sizes, columns = self.sample_vehicles_many([road], [rng], [targets], count)
        return {name: values.reshape(count, int(sizes[0])) for name, values in columns.items()}

    def sample_vehicles_many(
        self,
        roads: Sequence[Road],
        rngs: Sequence[np.random.Generator],
        targets: Sequence[Mapping[str, float] | None] | None = None,
        count: int = 1,
    ) -> tuple[NDArray[np.int64], dict[str, NDArray]]:
        """``sample_vehicle_sets`` for many roads at once, road ``i`` drawing from ``rngs[i]``
        with ``targets[i]``: returns the number of vehicles in each set of each road, and the
        ``Vehicles`` columns of all sets end to end (road by road, set by set)."""
        c = self.config
        rngs = _check_rngs(rngs)
        if len(roads) != len(rngs):
            raise ValueError(f"one generator per road: {len(roads)} roads, {len(rngs)} rngs")
        asked = _TargetTable(targets, len(rngs))
        count = check_whole("count", count, 1)
        scenes, lanes = len(rngs), c.lanes[1] + 1
        # First each scene's count and per-set numbers; then exactly as many per-vehicle
        # draws as its sets hold (a block sized for the most vehicles would be mostly unused).
        head = np.empty((scenes, 1 + count * (1 + 2 * lanes)))
        for u_row, rng in zip(head, rngs):
            rng.random(out=u_row)
        per_set = head[:, 1:].reshape(scenes * count, -1)
        flow_u, tie_u, phase_u = per_set[:, 0], per_set[:, 1 : 1 + lanes], per_set[:, 1 + lanes :]
        start, end, width = _lane_tables(roads, lanes)
        extent = np.maximum(end - start, 0.0)
        n = self._counts(head[:, 0], asked, roads)
        # One row per set; every vehicle of every set, set by set.
        of = np.repeat(np.arange(scenes), count)
        row_n = n[of]
        vehicle_u, vehicle_z, spread_z = _vehicle_draws(rngs, n, count, lanes)
        row = np.repeat(np.arange(scenes * count), row_n)
        rank = np.arange(row.size) - (np.cumsum(row_n) - row_n)[row]
        weights = extent[of]
        has_spread, spread_target = asked["lane_occupancy_spread"]
        if has_spread.any():
            # Lane shares spread around their lengths' by about the asked spread.
            spread = np.where(has_spread, np.maximum(spread_target, 0.0), 0.0)[of]
            weights = weights * np.exp(spread[:, None] * spread_z)
        if c.placement == "uniform":
            cdf = np.cumsum(weights, axis=1)
            cdf /= cdf[:, -1:]
            lane = (cdf[row] <= vehicle_u[:, :1]).sum(axis=1)
        else:
            counts = _lane_counts(row_n, tie_u, weights)
            lane = (np.cumsum(counts, axis=1)[row] <= rank[:, None]).sum(axis=1)
        kind = self._kinds(asked, of, row, row_n, vehicle_u)
        sizes = np.array([c.sizes[k] for k in KINDS])[kind]
        length = np.maximum(sizes[:, 0] + sizes[:, 1] * vehicle_z[:, 0], 0.5)
        width_v = np.maximum(sizes[:, 2] + sizes[:, 3] * vehicle_z[:, 1], 0.3)
        speed = self._speeds(asked, of, row, row_n, flow_u, vehicle_z[:, 2], roads)
        lane_start, lane_end = start[of][row, lane], end[of][row, lane]
        if c.placement == "uniform":
            s = lane_start + vehicle_u[:, 1] * (lane_end - lane_start)
        elif c.placement == "even":
            s = _even_places(extent[of], counts, row, rank, lane, phase_u, vehicle_u[:, 4], c)
            s = np.minimum(np.maximum(lane_start + s, lane_start), lane_end)
        else:
            s = _following_places(extent[of], row, lane, speed, length, phase_u, vehicle_u[:, 4], c)
            s = np.minimum(np.maximum(lane_start + s, lane_start), lane_end)
        half_lane = width[of][row, lane] / 2.0
        d = c.lateral_mean + c.lateral_std * vehicle_z[:, 3]
        d = np.minimum(np.maximum(d, -half_lane), half_lane)
        # Columns built here are finite, of one length and of known kinds: the constructor's
        # checks would only cost time.
        return n, {
            "lane": lane.astype(np.int16),
            "s": s,
            "d": d,
            "heading": c.heading_std * vehicle_z[:, 4],
            "speed": speed,
            "length": length,
            "width": width_v,
            "kind": kind.astype(np.int8),
        }

    def _counts(self, u: NDArray[np.float64], asked, roads: Sequence[Road]) -> NDArray[np.int64]:
        """Vehicles per scene: drawn from ``u``, or the asked count or density."""
        c = self.config
        n = _whole(u, c.vehicles)
        has_count, vehicle_target = asked["vehicle_count"]
        has_density, density_target = asked["density"]
        if (has_density & ~has_count).any():
            lane_km = np.array([road.lane_lengths.sum() / 1000.0 for road in roads])
            vehicle_target = np.where(has_count, vehicle_target, density_target * lane_km)
        n = np.where(has_count | has_density, np.clip(np.rint(vehicle_target), *c.vehicles), n)
        return n.astype(np.int64)

    def _kinds(self, asked, of, row, row_n, vehicle_u) -> NDArray[np.int64]:
        """The kind of every vehicle: drawn by the configured shares, or in rows with a
        ``truck_share`` target ``round(truck_share * n)`` heavy ones at random places, heavy
        and light kinds split among themselves by the shares."""
        shares = np.array([self.config.kind_shares.get(k, 0.0) for k in KINDS])
        kind = _pick(shares, vehicle_u[:, 2])
        has_heavy, heavy_target = asked["truck_share"]
        if has_heavy.any() and row.size:
            heavy_count = np.rint(np.clip(heavy_target, 0.0, 1.0)[of] * row_n)
            # The vehicles of a row ranked by a uniform key: the first ones are heavy.
            order = np.lexsort((vehicle_u[:, 3], row))
            place = np.empty(row.size, dtype=np.int64)
            place[order] = np.arange(row.size) - (np.cumsum(row_n) - row_n)[row[order]]
            heavy = place < heavy_count[row]
            chosen = np.where(
                heavy,
                _pick(_within(shares, True), vehicle_u[:, 2]),
                _pick(_within(shares, False), vehicle_u[:, 2]),
            )
            kind = np.where(has_heavy[of][row], chosen, kind)
        return kind

    def _speeds(self, asked, of, row, row_n, flow_u, speed_z, roads) -> NDArray[np.float64]:
        """The speed of every vehicle: around the row's flow speed (a share of the limit, or
        the ``mean_speed`` target) with the configured or ``std_speed`` spread; rows with a
        speed target moved (and scaled) onto it exactly."""
        c = self.config
        limit = np.array([road.speed_limit for road in roads])[of]
        has_mean, mean_target = asked["mean_speed"]
        has_std, std_target = asked["std_speed"]
        flow = np.maximum(
            np.where(has_mean[of], mean_target[of], _between(flow_u, c.flow_speed) * limit), 0.0
        )
        spread = np.maximum(np.where(has_std, std_target, c.speed_std), 0.0)[of]
        with np.errstate(over="ignore", invalid="ignore"):  # runaway targets: see below
            speed = flow[row] + spread[row] * speed_z
        adjust = (has_mean | has_std)[of] & (row_n > 0)
        if adjust.any():
            # The drawn speeds moved (and, with a spread target, scaled) onto the targets, so
            # the scene's own mean and spread are the ones asked for (up to the clip at 0).
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                size = np.maximum(row_n, 1)
                mean = np.bincount(row, speed, row_n.size) / size
                deviation = speed - mean[row]
                now = np.sqrt(np.bincount(row, deviation * deviation, row_n.size) / size)
                scale = has_std[of] & (row_n > 1) & (now > 0)
                deviation *= np.where(scale, spread / np.where(scale, now, 1.0), 1.0)[row]
                moved = np.where(has_mean[of], flow, mean)[row] + deviation
            speed = np.where(adjust[row], moved, speed)
        speed = np.maximum(speed, 0.0)
        if not np.isfinite(speed).all():
            bad = int(of[row[np.flatnonzero(~np.isfinite(speed))[0]]])
            raise ValueError(
                f"speed targets mean_speed={asked.value('mean_speed', bad)} and std_speed="
                f"{asked.value('std_speed', bad)} give speeds too large to represent; ask for "
                "speeds in m/s of the order of the speed limit"
            )
        return speed

    def sample(self, rng: np.random.Generator, targets: Mapping[str, float] | None = None) -> Scene:
        """One random scene. Same generator state, same scene.

        ``targets``: descriptor values the scene's road and scene-wide numbers follow (names in
        ``TARGETABLE``; others are ignored, so a goal's whole target set can be passed):
        ``lane_count`` and ``max_curvature`` shape the road, ``vehicle_count`` or ``density``
        the number of vehicles, ``mean_speed``, ``std_speed`` and ``truck_share`` their speeds
        and kinds, ``lane_occupancy_spread`` how unevenly the lanes are filled. Values beyond
        the configured bounds are clipped to them.
        """
        return self.sample_scenes([rng], [targets])[0]

    def sample_scenes(
        self,
        rngs: Sequence[np.random.Generator],
        targets: Sequence[Mapping[str, float] | None] | None = None,
    ) -> list[Scene]:
        """One scene per generator of ``rngs`` (with the targets of the same entry of
        ``targets``), each as ``sample`` draws it, all drawn at once."""
        roads = self.sample_roads(rngs, targets)  # each checks the targets
        sizes, columns = self.sample_vehicles_many(roads, rngs, targets)
        ends = np.cumsum(sizes)
        return [
            Scene(road, Vehicles.unchecked({k: v[end - size : end] for k, v in columns.items()}))
            for road, size, end in zip(roads, sizes.tolist(), ends.tolist())
        ]

    def sample_many(self, n: int, seed: int) -> Iterator[Scene]:
        """``n`` scenes; scene ``i`` depends only on ``(seed, i)``, so any slice can be redone."""
        n = check_whole("n", n, 0)
        seed = check_seed(seed)
        # Child i of SeedSequence(seed).spawn(n) is SeedSequence(seed, spawn_key=(i,)); built
        # a chunk at a time, memory stays flat for any n.
        for first in range(0, int(n), _CHUNK):
            children = range(first, min(first + _CHUNK, int(n)))
            yield from self.sample_scenes(
                [
                    np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
                    for i in children
                ]
            )

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
    if not targets:  # most scenes of a batch ask for nothing: no loop over the names
        return checked
    for name in TARGETABLE:
        if name in targets:
            value = targets[name]
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise TypeError(f"targets[{name!r}] must be a number, got {value!r}")
            try:
                number = float(value)
            except OverflowError:  # a Python int beyond the float range
                number = math.inf
            if not math.isfinite(number):
                raise ValueError(f"targets[{name!r}] must be finite, got {value!r}")
            checked[name] = number
    return checked


_ROAD_UNIFORMS = 11
"""Uniforms of a road's block before its per-segment and per-lane ones: lanes, length,
segments, ramp, ramp kind, ramp start, ramp end, speed limit, heading, and the side and
segment of the curve a straight road gets for a curvature target."""
_CHUNK = 256
"""Scenes ``sample_many`` draws at once."""


def _check_rngs(rngs: Sequence[np.random.Generator]) -> list[np.random.Generator]:
    rngs = list(rngs)
    for rng in rngs:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                f"got {type(rng).__name__}"
            )
    return rngs


class _TargetTable:
    """The targets of many scenes by name: ``table[name]`` is ``(asked, values)``, which
    scenes ask for ``name`` and the value they ask for (0 where not asked)."""

    def __init__(self, targets: Sequence[Mapping[str, float] | None] | None, count: int) -> None:
        if targets is None:
            targets = [None] * count
        targets = list(targets)
        if len(targets) != count:
            raise ValueError(f"one targets entry per generator: {count} rngs, {len(targets)}")
        self.targets = [_check_targets(t) if t is not None else {} for t in targets]
        names = set().union(*self.targets)
        nothing = (np.zeros(count, dtype=bool), np.zeros(count))
        self._columns: dict[str, tuple[NDArray[np.bool_], NDArray[np.float64]]] = {}
        for name in TARGETABLE:
            if name in names:
                values = np.array([t.get(name, np.nan) for t in self.targets])
                asked = ~np.isnan(values)
                self._columns[name] = asked, np.where(asked, values, 0.0)
            else:
                self._columns[name] = nothing

    def __getitem__(self, name: str) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
        return self._columns[name]

    def value(self, name: str, i: int) -> float | None:
        return self.targets[i].get(name)


def _whole(u: NDArray[np.float64], bounds: tuple[int, int]) -> NDArray[np.int64]:
    """Whole numbers uniform in ``[low, high]`` from uniforms in [0, 1)."""
    low, high = bounds
    return np.minimum(low + np.floor(u * (high - low + 1)), high).astype(np.int64)


def _between(u: NDArray[np.float64], bounds: tuple[float, float]) -> NDArray[np.float64]:
    """Values uniform in ``[low, high)`` from uniforms in [0, 1)."""
    low, high = bounds
    return low + u * (high - low)


def _pick(p: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.int64]:
    """Indices drawn with chances in proportion to ``p``, one per uniform of ``u``."""
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return (cdf[None, :] <= u[:, None]).sum(axis=1)


def _within(shares: NDArray[np.float64], heavy: bool) -> NDArray[np.float64]:
    """The kind shares among heavy (trucks and buses) or light kinds only; equal among them
    when none of them has a share."""
    mask = _IS_HEAVY if heavy else ~_IS_HEAVY
    part = shares * mask
    return part if part.sum() > 0 else mask.astype(np.float64)


def _lane_counts(
    n: NDArray[np.int64], tie_u: NDArray[np.float64], weights: NDArray[np.float64]
) -> NDArray[np.int64]:
    """How many of each row's ``n`` vehicles each lane gets, by the rows of ``(rows, lanes)``
    ``weights`` (lanes of weight 0 get none): the floor of each lane's share, then one more
    for the lanes of largest remainder (ties broken by the uniforms ``tie_u``)."""
    share = weights / weights.sum(axis=1, keepdims=True) * n[:, None]
    counts = np.floor(share).astype(np.int64)
    remainder = np.where(weights > 0, share - counts + 1e-9 * tie_u, -np.inf)
    # The first missing lanes by largest remainder get one more.
    place = np.argsort(np.argsort(-remainder, axis=1), axis=1)
    return counts + (place < (n - counts.sum(axis=1))[:, None])


def _even_places(extent, counts, row, rank, lane, phase_u, jitter_u, config) -> NDArray:
    """Stations from the lane start of vehicles spread evenly: each lane's vehicles (rank
    ``rank`` in their row, grouped by lane) evenly spaced along the lane from a random phase,
    each moved by up to ``placement_jitter / 2`` of the spacing."""
    spacing = extent[row, lane] / np.maximum(counts[row, lane], 1)
    before = (np.cumsum(counts, axis=1) - counts)[row, lane]
    jitter = (jitter_u - 0.5) * config.placement_jitter
    return spacing * (rank - before + phase_u[row, lane] + jitter)


FOLLOWING_GAP = 2.0
"""Standstill gap (m) of ``placement: following``."""
FOLLOWING_HEADWAY = 1.5
"""Time headway (s) of ``placement: following``."""


def _following_places(extent, row, lane, speed, length, phase_u, jitter_u, config) -> NDArray:
    """Stations from the lane start of vehicles already given their lanes (each row grouped
    by lane, in order along it): the room from each vehicle to the next is in proportion to
    what a car follower keeps, ``length + FOLLOWING_GAP + speed * FOLLOWING_HEADWAY``, scaled
    to fill the lane, so faster vehicles keep longer gaps. Each lane starts from a random
    phase of its last vehicle's room; each vehicle is moved by up to ``placement_jitter / 2``
    of its room."""
    # Every (row, lane) is one group; groups are contiguous, in order.
    group = row * extent.shape[1] + lane
    counts = np.bincount(group, minlength=extent.size)
    room = length + FOLLOWING_GAP + np.maximum(speed, 0.0) * FOLLOWING_HEADWAY
    room = room * (extent.ravel() / np.maximum(np.bincount(group, room, extent.size), 1e-9))[group]
    # The room before each vehicle in its group, summed within the group alone (a padded
    # table, one line per group), so no other scene's vehicles change its rounding.
    place = np.arange(group.size) - (np.cumsum(counts) - counts)[group]
    table = np.zeros((extent.size, int(counts.max(initial=0))))
    table[group, place] = room
    ahead = np.cumsum(table, axis=1)[group, place] - room
    last = table[np.arange(extent.size), np.maximum(counts - 1, 0)] if table.size else counts
    phase = (phase_u.ravel() * last)[group]  # a share of the room of the lane's last vehicle
    return ahead + phase + (jitter_u - 0.5) * config.placement_jitter * room


def _curvatures_for(curvatures, target, asked, u, segments) -> NDArray[np.float64]:
    """``curvatures`` of the rows that ``asked`` scaled so that the largest magnitude is
    their ``target``; a straight road gets one curved segment (picked by ``u[:, 1]``, its
    side by ``u[:, 0]``) when the target is above 0."""
    largest = np.abs(curvatures).max(axis=1)
    out = curvatures.copy()
    scale = asked & (target > 0.0) & (largest > 0.0)
    out[scale] *= (target[scale] / largest[scale])[:, None]
    out[asked & (target <= 0.0)] = 0.0
    straight = np.flatnonzero(asked & (target > 0.0) & (largest == 0.0))
    side = np.where(u[straight, 0] < 0.5, 1.0, -1.0)
    at = np.minimum(np.floor(u[straight, 1] * segments[straight]), segments[straight] - 1)
    out[straight, at.astype(np.int64)] = side * target[straight]
    return out


def _lane_tables(
    roads: Sequence[Road], lanes: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``(roads, lanes)`` lane starts, ends (m; lanes a road lacks exist nowhere) and widths."""
    start = np.full((len(roads), lanes), np.inf)
    end = np.full((len(roads), lanes), -np.inf)
    width = np.ones((len(roads), lanes))
    for i, road in enumerate(roads):
        start[i, : road.lane_count] = road.lane_starts
        end[i, : road.lane_count] = road.lane_ends
        width[i, : road.lane_count] = road.lane_widths
    return start, end, width


def _vehicle_draws(rngs, n: NDArray[np.int64], count: int, lanes: int):
    """Each scene's per-vehicle uniform and normal draws ``(vehicles, 5)`` and its per-set lane
    spread draws ``(sets, lanes)``, from that scene's generator in a fixed order."""
    vehicle_u = np.empty((int(n.sum()) * count, 5))
    vehicle_z = np.empty_like(vehicle_u)
    spread_z = np.empty((len(rngs) * count, lanes))
    stops = np.cumsum(n * count).tolist()
    for i, (rng, stop) in enumerate(zip(rngs, stops)):
        block = slice(stop - int(n[i]) * count, stop)
        rng.random(out=vehicle_u[block])
        rng.standard_normal(out=spread_z[i * count : (i + 1) * count])
        rng.standard_normal(out=vehicle_z[block])
    return vehicle_u, vehicle_z, spread_z
