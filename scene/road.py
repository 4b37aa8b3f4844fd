"""The road: a multi-lane carriageway along a reference line, in the Frenet frame.

Geometry
--------
The *reference line* starts at ``origin`` (x, y in m, heading in rad) and is a chain of
segments, each straight (curvature 0) or a circular arc of constant curvature (1/m, positive
turns left). ``s`` is the station along the reference line (m). The reference line is the
**left edge** of the carriageway: lane 0 is the leftmost lane (next to the median) and lanes are
numbered to the right, as lanes are counted in recorded freeway data. A lateral offset ``D``
from the reference line is positive to the left, so lane centres have negative ``D``.

Each lane has a constant width and a station interval ``[start, end]`` where it exists; a lane
that exists over only part of the road is a ramp or an auxiliary lane. A lane keeps its lateral
place whether or not its neighbours exist, so lanes that begin or end sit at the outer edges.

Vehicles are stored per lane (lane index, station, offset from the lane centre); a future lane
graph with junctions gives each lane its own reference line and keeps that storage unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scenegym._checks import as_float_array, check_keys, check_range

__all__ = ["Road"]

_SAGITTA = 0.02
"""Largest distance (m) between a drawn chord and the arc it stands for."""
_DASH_LENGTH = 3.0
"""Length of a dash of a lane line (m)."""
_DASH_PERIOD = 12.0
"""Distance from one dash start to the next (m)."""


MAX_SEGMENTS = 1_000
"""The most reference-line segments a road holds (a 10 km recorded road needs a few hundred)."""

MAX_LENGTH = 10_000.0
"""The longest road (m), 15 times a recorded highway scene; drawing and exporting allocate
memory in proportion to the length (a 99 km road took 1.6 GB to export)."""

MAX_LANES = 32
"""The most lanes a road holds."""

MAX_COORDINATE = 1e8
"""The largest map coordinate of a road's origin (m), beyond any projected map's."""


def _check_reference_line(lengths: NDArray[np.float64], curvatures: NDArray[np.float64]) -> None:
    """``ValueError`` naming what is wrong with a road's segment lengths and curvatures."""
    if lengths.size == 0:
        raise ValueError("road.segment_lengths must hold at least one segment, got none")
    if lengths.size > MAX_SEGMENTS:
        raise ValueError(
            f"a road holds at most {MAX_SEGMENTS} segments, got {lengths.size}; join "
            "straight runs and arcs of equal curvature"
        )
    if lengths.sum() > MAX_LENGTH:
        raise ValueError(
            f"a road is at most {MAX_LENGTH:g} m long, got {lengths.sum():g} m; cut it into scenes"
        )
    if curvatures.shape != lengths.shape:
        raise ValueError(
            f"road.segment_curvatures must have one value per segment ({lengths.size}), "
            f"got {curvatures.size}"
        )
    if np.any(lengths <= 0):
        raise ValueError(f"road.segment_lengths must be > 0 m, got {lengths.tolist()}")
    if np.any(np.abs(curvatures) > 0.2):
        raise ValueError(
            "road.segment_curvatures must be within [-0.2, 0.2] 1/m (radius >= 5 m), "
            f"got {curvatures.tolist()}"
        )
    if np.any(np.abs(curvatures * lengths) >= 2 * np.pi):
        raise ValueError("a road segment must turn by less than a full circle (|k * L| < 2 pi)")


def _wrap(angle: NDArray[np.float64]) -> NDArray[np.float64]:
    """Wrap angles (rad) to [-pi, pi)."""
    return (angle + np.pi) % (2.0 * np.pi) - np.pi


@dataclass(frozen=True, eq=False, kw_only=True)
class Road:
    """A multi-lane carriageway along a reference line of straight and circular segments.

    Args:
        segment_lengths: length of each reference-line segment (m), shape ``(n_segments,)``.
        segment_curvatures: curvature of each segment (1/m, positive turns left), same shape.
        lane_widths: width of each lane (m), lane 0 leftmost, shape ``(n_lanes,)``.
        lane_starts: station where each lane begins (m); default 0 (the road start).
        lane_ends: station where each lane ends (m); default the road length.
        speed_limit: posted speed limit (m/s).
        origin: ``(x, y, heading)`` of the reference line start (m, m, rad).

    >>> road = Road.straight(length=200.0, lanes=3, lane_width=3.5)
    >>> road.lane_count, road.length, float(road.lane_centers[1])
    (3, 200.0, -5.25)
    """

    segment_lengths: NDArray[np.float64]
    segment_curvatures: NDArray[np.float64]
    lane_widths: NDArray[np.float64]
    lane_starts: NDArray[np.float64] | None = None
    lane_ends: NDArray[np.float64] | None = None
    speed_limit: float = 33.3
    origin: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0))

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        lengths = as_float_array("road.segment_lengths", self.segment_lengths)
        curvatures = as_float_array("road.segment_curvatures", self.segment_curvatures)
        widths = as_float_array("road.lane_widths", self.lane_widths)
        _check_reference_line(lengths, curvatures)
        if widths.size == 0:
            raise ValueError("road.lane_widths must hold at least one lane, got none")
        if widths.size > MAX_LANES:
            raise ValueError(f"a road holds at most {MAX_LANES} lanes, got {widths.size}")
        if np.any((widths < 1.0) | (widths > 8.0)):
            raise ValueError(f"road.lane_widths must be in [1, 8] m, got {widths.tolist()}")
        # The right edge of a right turn runs at radius 1/|k| - width: near zero it folds back
        # on itself and the Frenet frame stops being one-to-one.
        width = float(widths.sum())
        folds = np.flatnonzero((curvatures < 0) & (-curvatures * width >= 0.95))
        if folds.size:
            bad = int(folds[0])
            raise ValueError(
                f"road segment {bad} turns right with radius {-1.0 / curvatures[bad]:.2f} m, too "
                f"tight for the carriageway width {width:.2f} m (a right turn needs a radius "
                f"> width / 0.95 = {width / 0.95:.2f} m)"
            )
        total = float(lengths.sum())
        starts = np.zeros(widths.size) if self.lane_starts is None else self.lane_starts
        ends = np.full(widths.size, total) if self.lane_ends is None else self.lane_ends
        starts = as_float_array("road.lane_starts", starts)
        ends = as_float_array("road.lane_ends", ends)
        for name, values in (("road.lane_starts", starts), ("road.lane_ends", ends)):
            if values.shape != widths.shape:
                raise ValueError(
                    f"{name} must have one value per lane ({widths.size}), got {values.size}"
                )
        tol = 1e-6 * max(total, 1.0)
        if np.any(starts < -tol) or np.any(ends > total + tol) or np.any(ends - starts <= 0):
            raise ValueError(
                f"every lane needs 0 <= start < end <= road length ({total:g} m), got starts "
                f"{starts.tolist()} and ends {ends.tolist()}"
            )
        origin = tuple(float(v) for v in as_float_array("road.origin", self.origin))
        if len(origin) != 3:
            raise ValueError(f"road.origin must be (x, y, heading), got {self.origin!r}")
        if max(abs(origin[0]), abs(origin[1])) > MAX_COORDINATE or abs(origin[2]) > 2 * np.pi:
            raise ValueError(
                f"road.origin {origin} lies outside any map: x and y must be within "
                f"±{MAX_COORDINATE:g} m and the heading within ±2 pi rad"
            )
        if isinstance(self.speed_limit, bool | np.bool_):
            raise TypeError(f"road.speed_limit must be a number (m/s), got {self.speed_limit!r}")
        try:
            speed_limit = float(self.speed_limit)
        except (TypeError, ValueError):
            raise TypeError(
                f"road.speed_limit must be a number (m/s), got {self.speed_limit!r}"
            ) from None
        except OverflowError:  # a Python int beyond the float range
            raise ValueError(
                f"road.speed_limit must be a finite number (m/s), got {self.speed_limit!r}"
            ) from None
        speed_limit = check_range("road.speed_limit", speed_limit, 1.0, 60.0)
        set_(self, "segment_lengths", lengths)
        set_(self, "segment_curvatures", curvatures)
        set_(self, "lane_widths", widths)
        set_(self, "lane_starts", starts)
        set_(self, "lane_ends", ends)
        set_(self, "speed_limit", speed_limit)
        set_(self, "origin", origin)

    @classmethod
    def unchecked(
        cls,
        *,
        segment_lengths: NDArray[np.float64],
        segment_curvatures: NDArray[np.float64],
        lane_widths: NDArray[np.float64],
        lane_starts: NDArray[np.float64],
        lane_ends: NDArray[np.float64],
        speed_limit: float,
        origin: tuple[float, float, float],
    ) -> Road:
        """A road from float64 arrays already within every bound the constructor checks,
        made read-only without those checks (for the scene space's hot loop)."""
        road = object.__new__(cls)
        set_ = object.__setattr__
        for name, values in (
            ("segment_lengths", segment_lengths),
            ("segment_curvatures", segment_curvatures),
            ("lane_widths", lane_widths),
            ("lane_starts", lane_starts),
            ("lane_ends", lane_ends),
        ):
            values.setflags(write=False)
            set_(road, name, values)
        set_(road, "speed_limit", float(speed_limit))
        set_(road, "origin", tuple(float(v) for v in origin))
        return road

    # ------------------------------------------------------------------ constructors
    @classmethod
    def straight(
        cls, *, length: float, lanes: int, lane_width: float = 3.5, speed_limit: float = 33.3
    ) -> Road:
        """A straight road of ``lanes`` equal lanes, ``length`` m long."""
        return cls(
            segment_lengths=[length],
            segment_curvatures=[0.0],
            lane_widths=[lane_width] * lanes,
            speed_limit=speed_limit,
        )

    # ------------------------------------------------------------------ properties
    @property
    def length(self) -> float:
        """Length of the reference line (m)."""
        return float(self.segment_starts[-1] + self.segment_lengths[-1])

    @property
    def lane_count(self) -> int:
        """Number of lanes, ramps and auxiliary lanes included."""
        return int(self.lane_widths.size)

    @property
    def max_curvature(self) -> float:
        """Largest absolute curvature of the reference line (1/m)."""
        return float(np.max(np.abs(self.segment_curvatures)))

    @cached_property
    def lane_centers(self) -> NDArray[np.float64]:
        """Lateral offset of each lane centre from the reference line (m, negative: right)."""
        right = np.cumsum(self.lane_widths)
        return _read_only(-(right - self.lane_widths / 2.0))

    @cached_property
    def lane_boundaries(self) -> NDArray[np.float64]:
        """Lateral offsets of the ``n_lanes + 1`` lane boundaries, left to right (m)."""
        return _read_only(-np.concatenate([[0.0], np.cumsum(self.lane_widths)]))

    @cached_property
    def lane_lengths(self) -> NDArray[np.float64]:
        """Length of each lane along its centre (m): longer than its station interval on the
        outside of a curve, shorter on the inside (see ``lane_distance``)."""
        lanes = np.arange(self.lane_count)
        return _read_only(self.lane_distance(lanes, self.lane_starts, self.lane_ends))

    @cached_property
    def _lane_scale(self) -> NDArray[np.float64]:
        """``(n_lanes, n_segments)`` lane-centre length per metre of reference line."""
        return 1.0 - self.segment_curvatures[None, :] * self.lane_centers[:, None]

    @cached_property
    def _lane_segment_starts(self) -> NDArray[np.float64]:
        """``(n_lanes, n_segments)`` distance along each lane centre from station 0 to the
        start of each segment (m)."""
        along = np.cumsum(self.segment_lengths[None, :] * self._lane_scale, axis=1)
        return np.concatenate([np.zeros((self.lane_count, 1)), along[:, :-1]], axis=1)

    @cached_property
    def segment_starts(self) -> NDArray[np.float64]:
        return np.concatenate([[0.0], np.cumsum(self.segment_lengths)[:-1]])

    @cached_property
    def segment_poses(self) -> NDArray[np.float64]:
        """``(n_segments, 3)`` start pose (x, y, heading) of every segment."""
        return self._poses[:-1]

    @cached_property
    def _poses(self) -> NDArray[np.float64]:
        """``(n_segments + 1, 3)`` poses at every segment start and at the road end."""
        poses = np.empty((self.segment_lengths.size + 1, 3))
        x, y, h = self.origin
        poses[0] = x, y, h
        # Plain floats: a few segments do not pay numpy's per-call cost.
        for i, (length, k) in enumerate(
            zip(self.segment_lengths.tolist(), self.segment_curvatures.tolist()), start=1
        ):
            half = k * length / 2.0
            chord = length * (math.sin(half) / half if half != 0.0 else 1.0)
            x, y, h = x + chord * math.cos(h + half), y + chord * math.sin(h + half), h + 2 * half
            poses[i] = x, y, h
        return poses

    @property
    def end_pose(self) -> tuple[float, float, float]:
        """``(x, y, heading)`` of the reference line at the road end (m, m, rad)."""
        return tuple(float(v) for v in self._poses[-1])

    # ------------------------------------------------------------------ geometry
    def lanes_at(self, s: ArrayLike) -> NDArray[np.bool_]:
        """``(n_lanes, n)`` mask: does lane ``i`` exist at station ``s[j]``?"""
        s = np.asarray(s, dtype=np.float64)
        return (s >= self.lane_starts[:, None]) & (s <= self.lane_ends[:, None])

    def nearest_lane(self, s: ArrayLike, offset: ArrayLike) -> NDArray[np.intp]:
        """For points at stations ``s`` (m, clipped to the road) and lateral offsets ``offset``
        (m from the reference line), the lane existing there whose centre is nearest."""
        s = np.clip(np.asarray(s, dtype=np.float64), 0.0, self.length)
        distance = np.abs(
            np.asarray(offset, dtype=np.float64)[None, :] - self.lane_centers[:, None]
        )
        return np.argmin(np.where(self.lanes_at(s), distance, np.inf), axis=0)

    def lane_distance(self, lane: ArrayLike, s_from: ArrayLike, s_to: ArrayLike) -> NDArray:
        """Distance (m) along the centre of ``lane`` from station ``s_from`` to ``s_to`` (m),
        negative when ``s_to < s_from``; the three arguments broadcast together.

        On a segment of curvature ``k`` a lane centre at offset ``D`` (m, left positive) is
        ``1 - k * D`` times as long as the reference line: longer on the outside of a curve,
        shorter on the inside. Stations outside ``[0, length]`` extend the first or last
        segment.

        >>> road = Road(segment_lengths=[100.0], segment_curvatures=[0.01], lane_widths=[4.0, 4.0])
        >>> road.lane_distance([0, 1], 0.0, 100.0).round(6).tolist()
        [102.0, 106.0]
        """
        lane = np.asarray(lane)
        if lane.size and not np.issubdtype(lane.dtype, np.integer):
            raise TypeError(f"lane must be whole lane indices, got dtype {lane.dtype}")
        if lane.size and (lane.min() < 0 or lane.max() >= self.lane_count):
            raise ValueError(
                f"lane must be in [0, {self.lane_count - 1}] on this road, got "
                f"{int(lane.min())}..{int(lane.max())}"
            )
        return self._lane_arc(lane, s_to) - self._lane_arc(lane, s_from)

    def _lane_arc(self, lane: NDArray[np.integer], s: ArrayLike) -> NDArray[np.float64]:
        """Distance (m) along the centre of ``lane`` from station 0 to station ``s``."""
        s = np.asarray(s, dtype=np.float64)
        if self.segment_lengths.size == 1:
            return self._lane_segment_starts[lane, 0] + s * self._lane_scale[lane, 0]
        index = np.searchsorted(self.segment_starts, s, side="right") - 1
        index = np.minimum(np.maximum(index, 0), self.segment_lengths.size - 1)
        u = s - self.segment_starts[index]
        return self._lane_segment_starts[lane, index] + u * self._lane_scale[lane, index]

    def reference_pose(self, s: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
        """Position (m) and heading (rad) of the reference line at stations ``s`` (m).

        Stations outside ``[0, length]`` extend the first or last segment.
        """
        s = np.asarray(s, dtype=np.float64)
        if self.segment_lengths.size == 1:
            index = np.zeros(s.shape, dtype=np.intp)
        else:
            index = np.searchsorted(self.segment_starts, s, side="right") - 1
            index = np.minimum(np.maximum(index, 0), self.segment_lengths.size - 1)
        u = s - self.segment_starts[index]
        pose = self.segment_poses[index]
        return advance(pose[..., 0], pose[..., 1], pose[..., 2], self.segment_curvatures[index], u)

    def frenet_to_cartesian(
        self, s: ArrayLike, offset: ArrayLike
    ) -> tuple[NDArray, NDArray, NDArray]:
        """Map stations ``s`` (m) and lateral offsets from the reference line (m, left
        positive) to world ``x, y`` (m) and the reference heading there (rad).

        >>> road = Road(segment_lengths=[50.0], segment_curvatures=[0.01], lane_widths=[3.5])
        >>> x, y, h = road.frenet_to_cartesian([25.0], [-1.75])
        >>> s, d = road.cartesian_to_frenet(x, y)
        >>> bool(np.allclose(s, 25.0) and np.allclose(d, -1.75))
        True
        """
        xr, yr, h = self.reference_pose(s)
        offset = np.asarray(offset, dtype=np.float64)
        return xr - offset * np.sin(h), yr + offset * np.cos(h), h

    def cartesian_to_frenet(self, x: ArrayLike, y: ArrayLike) -> tuple[NDArray, NDArray]:
        """Project world points (m) onto the reference line: station ``s`` and offset (m).

        Each point goes to the nearest point of the nearest segment; points before the start
        or beyond the end project onto the extension of the first or last segment.
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        shape = np.broadcast_shapes(x.shape, y.shape)
        px = np.broadcast_to(x, shape).reshape(-1, 1)
        py = np.broadcast_to(y, shape).reshape(-1, 1)
        x0, y0, h0 = (self.segment_poses[:, i] for i in range(3))
        k = self.segment_curvatures
        length = self.segment_lengths
        # Straight segments: project onto the direction.
        u_line = (px - x0) * np.cos(h0) + (py - y0) * np.sin(h0)
        # Arcs: the angle of the point about the circle centre gives the arc parameter. Nearly
        # straight arcs have far-away centres that lose precision; for them the tangent
        # projection is refined by Newton steps below.
        curved = np.abs(k) > 1e-4
        k_safe = np.where(curved, k, 1.0)
        cx = x0 - np.sin(h0) / k_safe
        cy = y0 + np.cos(h0) / k_safe
        phi = np.arctan2(py - cy, px - cx)
        sigma = np.sign(k_safe)
        half = k_safe * length / 2.0
        u_arc = (half + _wrap(phi - h0 + sigma * np.pi / 2.0 - half)) / k_safe
        u = np.where(curved, u_arc, u_line)
        low = np.where(np.arange(k.size) == 0, -np.inf, 0.0)
        high = np.where(np.arange(k.size) == k.size - 1, np.inf, length)
        if np.any(~curved & (k != 0.0)):
            # Newton on f(u) = (p - r(u)) . t(u); f'(u) = -(1 - k * offset(u)).
            for _ in range(3):
                rx, ry, rh = advance(x0, y0, h0, k, u)
                along = (px - rx) * np.cos(rh) + (py - ry) * np.sin(rh)
                across = -(px - rx) * np.sin(rh) + (py - ry) * np.cos(rh)
                u = np.where(curved, u, u + along / (1.0 - k * across))
        u = np.clip(u, low, high)
        rx, ry, rh = advance(x0, y0, h0, k, u)
        dx, dy = px - rx, py - ry
        best = np.argmin(dx * dx + dy * dy, axis=1)
        rows = np.arange(best.size)
        s = self.segment_starts[best] + u[rows, best]
        offset = -dx[rows, best] * np.sin(rh[rows, best]) + dy[rows, best] * np.cos(rh[rows, best])
        return s.reshape(shape), offset.reshape(shape)

    def stations(self, step: float = 2.0) -> NDArray[np.float64]:
        """Stations (m) at most ``step`` m apart that include every segment joint and lane end."""
        n = max(2, int(np.ceil(self.length / step)) + 1)
        knots = np.concatenate(
            [
                np.linspace(0.0, self.length, n),
                self.segment_starts,
                self.lane_starts,
                self.lane_ends,
            ]
        )
        return np.unique(np.clip(knots, 0.0, self.length))

    @cached_property
    def lane_outlines(self) -> tuple[NDArray[np.float64], ...]:
        """World polygon (m) of each lane over the stations where it exists, ``(m, 2)`` each:
        the left boundary forwards, then the right boundary backwards. Arcs are sampled so
        that no chord strays more than 2 cm from the arc; straight stretches need no inner
        points. ``prepare_drawing([roads])`` computes this for many roads at once."""
        prepare_drawing([self])
        return self.__dict__["lane_outlines"]

    @cached_property
    def markings(self) -> tuple[tuple[NDArray[np.float64], ...], NDArray[np.float64]]:
        """Lane markings in world coordinates (m): ``(solid, dashes)``.

        A boundary between two lanes is dashed (3 m line every 12 m, counted from the road
        start) where both lanes exist over the whole dash; where a lane exists on one side only
        the boundary is a solid edge line. ``solid`` is a tuple of ``(m, 2)`` polylines,
        ``dashes`` an ``(k, 2, 2)`` array of dash end points.
        """
        prepare_drawing([self])
        return self.__dict__["markings"]

    def section(self, start: float, end: float) -> Road:
        """The part of the road between stations ``start`` and ``end`` (m) as a road of its
        own: its reference line starts at the pose of ``start``, stations shift by ``-start``,
        and every lane keeps its index. Each lane must exist somewhere in the section.

        >>> road = Road(segment_lengths=[100.0, 100.0], segment_curvatures=[0.0, 0.01],
        ...             lane_widths=[3.5, 3.5])
        >>> part = road.section(50.0, 150.0)
        >>> part.length, part.segment_lengths.tolist(), part.segment_curvatures.tolist()
        (100.0, [50.0, 50.0], [0.0, 0.01])
        """
        start, end = float(start), float(end)
        if not 0.0 <= start < end <= self.length + 1e-9:
            raise ValueError(
                f"section needs 0 <= start < end <= road length ({self.length:g} m), "
                f"got start {start:g} and end {end:g}"
            )
        end = min(end, self.length)
        seg_start = self.segment_starts
        seg_end = seg_start + self.segment_lengths
        keep = (seg_end > start) & (seg_start < end)
        lengths = np.minimum(seg_end[keep], end) - np.maximum(seg_start[keep], start)
        curvatures = self.segment_curvatures[keep][lengths > 1e-9]
        lengths = lengths[lengths > 1e-9]
        lane_starts = np.clip(self.lane_starts - start, 0.0, end - start)
        lane_ends = np.clip(self.lane_ends - start, 0.0, end - start)
        missing = np.flatnonzero(lane_ends - lane_starts <= 0.0)
        if missing.size:
            raise ValueError(
                f"lane {int(missing[0])} does not exist between {start:g} and {end:g} m; "
                "choose a section where every lane exists somewhere"
            )
        x, y, h = self.reference_pose(start)
        return Road(
            segment_lengths=lengths,
            segment_curvatures=curvatures,
            lane_widths=self.lane_widths,
            lane_starts=lane_starts,
            lane_ends=lane_ends,
            speed_limit=self.speed_limit,
            origin=(float(x), float(y), float(h)),
        )

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``Road.from_dict`` inverts it exactly (-0.0 is written as 0.0,
        so equal roads give equal files and scene ids)."""
        return {
            "segment_lengths": (self.segment_lengths + 0.0).tolist(),
            "segment_curvatures": (self.segment_curvatures + 0.0).tolist(),
            "lane_widths": (self.lane_widths + 0.0).tolist(),
            "lane_starts": (self.lane_starts + 0.0).tolist(),
            "lane_ends": (self.lane_ends + 0.0).tolist(),
            "speed_limit": self.speed_limit + 0.0,
            "origin": [value + 0.0 for value in self.origin],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Road:
        """Build a road from ``to_dict`` output; unknown or missing keys raise ``ValueError``."""
        check_keys(
            "road",
            data,
            {"segment_lengths", "segment_curvatures", "lane_widths"},
            {"lane_starts", "lane_ends", "speed_limit", "origin"},
        )
        return cls(**data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Road) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def _read_only(array: NDArray) -> NDArray:
    """``array``, marked read-only: cached arrays are shared by every caller."""
    array.setflags(write=False)
    return array


class RoadTable:
    """The reference lines of many roads in flat arrays, for Frenet -> world maps of points on
    any of them in one vectorised pass. ``road_index`` values index the given ``roads``."""

    def __init__(self, roads: list[Road]) -> None:
        count = len(roads)
        self.seg_count = np.array([road.segment_lengths.size for road in roads])
        self.seg_road = np.repeat(np.arange(count), self.seg_count)
        self.seg_start = np.concatenate([road.segment_starts for road in roads])
        self.seg_k = np.concatenate([road.segment_curvatures for road in roads])
        self.seg_pose = np.concatenate([road.segment_poses for road in roads])
        self.seg_first = np.cumsum(self.seg_count) - self.seg_count
        self.length = np.array([road.length for road in roads])
        self.scale = float(self.length.max()) * 2.0 + 1.0
        self.seg_key = self.seg_road * self.scale + self.seg_start

    def reference(self, road_index: NDArray, s: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """Reference-line position (m) and heading (rad) at stations ``s`` of each road."""
        index = np.searchsorted(self.seg_key, road_index * self.scale + s, side="right") - 1
        low = self.seg_first[road_index]
        index = np.minimum(np.maximum(index, low), low + self.seg_count[road_index] - 1)
        pose = self.seg_pose[index]
        return advance(
            pose[:, 0], pose[:, 1], pose[:, 2], self.seg_k[index], s - self.seg_start[index]
        )


def prepare_drawing(roads: list[Road]) -> None:
    """Compute ``lane_outlines`` and ``markings`` of many roads in a few vectorised passes.

    The work that does not depend on the number of roads (station sampling, the Frenet to
    world map, dash placement) runs once over all roads together; only cutting the results into
    per-road polylines loops over roads. Roads that already have their drawing are skipped.
    """
    roads = [road for road in roads if "markings" not in road.__dict__]
    if not roads:
        return
    count = len(roads)
    ids = np.arange(count)
    table = RoadTable(roads)
    length, scale = table.length, table.scale
    lane_count = np.array([road.lane_count for road in roads])
    lane_road = np.repeat(ids, lane_count)
    lane_first = np.cumsum(lane_count) - lane_count
    lane_start = np.concatenate([road.lane_starts for road in roads])
    lane_end = np.concatenate([road.lane_ends for road in roads])
    boundary = np.concatenate([road.lane_boundaries for road in roads])
    boundary_first = np.cumsum(lane_count + 1) - (lane_count + 1)

    st_road, st_s = _stations(roads, table, lane_road, lane_start, lane_end)
    st_count = np.bincount(st_road, minlength=count)
    st_first = np.cumsum(st_count) - st_count

    # Every boundary of every road at every station of that road: road r's block is
    # (lanes + 1) x stations, boundary-major.
    block = (lane_count + 1) * st_count
    point_road = np.repeat(ids, block)
    local = np.arange(point_road.size) - np.repeat(np.cumsum(block) - block, block)
    per_row = st_count[point_road]
    point_s = st_s[st_first[point_road] + local % per_row]
    point_offset = boundary[boundary_first[point_road] + local // per_row]
    points = _to_world(table, point_road, point_s, point_offset)
    block_first = np.cumsum(block) - block

    ends, dash_split = _dashes(table, lane_count, lane_start, lane_end, boundary, boundary_first)

    # Where each lane starts and ends among its road's stations (one search for all lanes).
    station_key = st_road * scale + st_s
    lane_begin = np.searchsorted(station_key, lane_road * scale + lane_start - 1e-9)
    lane_stop = np.searchsorted(station_key, lane_road * scale + lane_end + 1e-9)
    lane_begin -= st_first[lane_road]
    lane_stop -= st_first[lane_road]
    partial = (lane_start > 0.0) | (lane_end < length[lane_road])
    road_full = np.bincount(lane_road, weights=partial, minlength=count) == 0

    for r, road in enumerate(roads):
        k, m = int(lane_count[r]), int(st_count[r])
        grid = points[block_first[r] : block_first[r] + (k + 1) * m].reshape(k + 1, m, 2)
        if road_full[r]:
            outlines = [np.concatenate([grid[lane], grid[lane + 1, ::-1]]) for lane in range(k)]
            solid = [grid[0], grid[k]]
        else:
            first = lane_first[r]
            outlines = []
            for lane in range(k):
                i, j = int(lane_begin[first + lane]), int(lane_stop[first + lane])
                outlines.append(np.concatenate([grid[lane, i:j], grid[lane + 1, i:j][::-1]]))
            stations = st_s[st_first[r] : st_first[r] + m]
            intervals = _edge_intervals(lane_start[first : first + k], lane_end[first : first + k])
            bounds = np.searchsorted(stations, intervals + np.array([-1e-9, 1e-9]))
            solid = [
                grid[row // 2, i:j]
                for row, ((a0, a1), (i, j)) in enumerate(zip(intervals, bounds))
                if a1 > a0 and j - i >= 2
            ]
        road.__dict__["lane_outlines"] = tuple(outlines)
        road.__dict__["markings"] = (tuple(solid), ends[dash_split[r] : dash_split[r + 1]])


def _to_world(table: RoadTable, road_of, s, offset) -> NDArray[np.float64]:
    """``(..., 2)`` world points at stations ``s`` and offsets ``offset`` of roads ``road_of``."""
    x, y, h = table.reference(road_of, s)
    return np.stack([x - offset * np.sin(h), y + offset * np.cos(h)], axis=-1)


def _stations(roads: list[Road], table: RoadTable, lane_road, lane_start, lane_end):
    """The drawing stations of every road, sorted by road and station: ``(road, s)``."""
    seg_road, seg_start, seg_k = table.seg_road, table.seg_start, table.seg_k
    seg_length = np.concatenate([road.segment_lengths for road in roads])
    length, ids = table.length, np.arange(len(roads))
    # Stations: segment starts, arc points with chords within _SAGITTA, road ends, lane ends.
    # Between two stations ds apart, a boundary of radius rho strays ds^2 rho k^2 / 8 from its
    # arc; the outermost boundary of a left turn (rho = 1/k + width) strays the most.
    width = np.array([-road.lane_boundaries[-1] for road in roads])[seg_road]
    worst = np.abs(seg_k) * (1.0 + np.maximum(seg_k, 0.0) * width)
    with np.errstate(divide="ignore"):
        pieces = np.where(
            seg_k != 0.0, np.ceil(seg_length / np.sqrt(8.0 * _SAGITTA / worst)), 1.0
        ).astype(np.int64)
    sample_seg = np.repeat(np.arange(seg_k.size), pieces)
    step = np.arange(sample_seg.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    sample_s = seg_start[sample_seg] + seg_length[sample_seg] * step / pieces[sample_seg]
    all_road = np.concatenate([seg_road[sample_seg], ids, lane_road, lane_road])
    all_s = np.concatenate([sample_s, length, lane_start, lane_end])
    all_s = np.clip(all_s, 0.0, length[all_road])
    order = np.lexsort((all_s, all_road))
    all_road, all_s = all_road[order], all_s[order]
    keep = np.ones(all_s.size, dtype=bool)
    keep[1:] = (all_road[1:] != all_road[:-1]) | (all_s[1:] > all_s[:-1] + 1e-9)
    return all_road[keep], all_s[keep]


def _dashes(table: RoadTable, lane_count, lane_start, lane_end, boundary, boundary_first):
    """Dash end points ``(dashes, 2, 2)`` of every road and where each road's dashes begin."""
    length, ids = table.length, np.arange(lane_count.size)
    lane_first = np.cumsum(lane_count) - lane_count
    # Dashes on every inner boundary from the road start, kept where both lanes exist.
    per_boundary = np.maximum(np.ceil((length - _DASH_LENGTH) / _DASH_PERIOD), 0).astype(int)
    dash_count = per_boundary * np.maximum(lane_count - 1, 0)  # every inner boundary
    dash_road = np.repeat(ids, dash_count)
    local = np.arange(dash_road.size) - np.repeat(np.cumsum(dash_count) - dash_count, dash_count)
    along = per_boundary[dash_road]
    which = local // np.maximum(along, 1)  # inner boundary ``which`` is boundary which + 1
    dash_s0 = (local % np.maximum(along, 1)) * _DASH_PERIOD
    left_lane = lane_first[dash_road] + which
    both = (
        (lane_start[left_lane] <= dash_s0)
        & (lane_start[left_lane + 1] <= dash_s0)
        & (lane_end[left_lane] >= dash_s0 + _DASH_LENGTH)
        & (lane_end[left_lane + 1] >= dash_s0 + _DASH_LENGTH)
    )
    dash_road, dash_s0, which = dash_road[both], dash_s0[both], which[both]
    dash_offset = boundary[boundary_first[dash_road] + which + 1]
    ends = _to_world(
        table,
        np.repeat(dash_road, 2),
        np.stack([dash_s0, dash_s0 + _DASH_LENGTH], axis=1).ravel(),
        np.repeat(dash_offset, 2),
    ).reshape(-1, 2, 2)
    dash_split = np.searchsorted(dash_road, ids, side="left")
    dash_split = np.append(dash_split, dash_road.size)
    return ends, dash_split


def _edge_intervals(starts: NDArray, ends: NDArray) -> NDArray[np.float64]:
    """``(2 * (k + 1), 2)`` station intervals where exactly one of the two lanes beside each
    boundary exists (boundary ``b`` at rows ``2b`` and ``2b + 1``; a boundary has two such
    intervals when one lane lies inside the other's span, else the second is ``(0, 0)``)."""
    k = len(starts)
    out = np.zeros((2 * (k + 1), 2))
    for b in range(k + 1):
        one = (starts[b - 1], ends[b - 1]) if b > 0 else None
        two = (starts[b], ends[b]) if b < k else None
        if one is None or two is None:
            pieces = [one if one is not None else two]
        elif one[1] < two[0] or two[1] < one[0]:
            pieces = [one, two]
        else:
            pieces = [
                (min(one[0], two[0]), max(one[0], two[0])),
                (min(one[1], two[1]), max(one[1], two[1])),
            ]
        for row, piece in enumerate(p for p in pieces if p[1] > p[0]):
            out[2 * b + row] = piece
    return out


def advance(x, y, heading, curvature, u):
    """Pose after travelling ``u`` m from ``(x, y, heading)`` along curvature ``curvature``.

    Uses the chord form ``u * sinc(k u / 2)`` so straight segments (k = 0) need no branch.
    """
    half = curvature * u / 2.0
    safe = np.where(half == 0.0, 1.0, half)
    chord = u * np.where(half == 0.0, 1.0, np.sin(safe) / safe)  # u * sinc(k u / 2)
    mid = heading + half
    turn = 2.0 * half
    return x + chord * np.cos(mid), y + chord * np.sin(mid), heading + turn
