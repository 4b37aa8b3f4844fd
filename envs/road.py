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


def _wrap(angle: NDArray[np.float64]) -> NDArray[np.float64]:
    """Wrap angles (rad) to [-pi, pi)."""
    return (angle + np.pi) % (2.0 * np.pi) - np.pi


@dataclass(frozen=True, eq=False)
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
        if lengths.size == 0:
            raise ValueError("road.segment_lengths must hold at least one segment, got none")
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
        if widths.size == 0:
            raise ValueError("road.lane_widths must hold at least one lane, got none")
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
        return float(self._segment_starts[-1] + self.segment_lengths[-1])

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
    def _segment_starts(self) -> NDArray[np.float64]:
        return np.concatenate([[0.0], np.cumsum(self.segment_lengths)[:-1]])

    @cached_property
    def _segment_poses(self) -> NDArray[np.float64]:
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
        index = np.searchsorted(self._segment_starts, s, side="right") - 1
        index = np.clip(index, 0, self.segment_lengths.size - 1)
        u = s - self._segment_starts[index]
        return self._lane_segment_starts[lane, index] + u * self._lane_scale[lane, index]

    def reference_pose(self, s: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
        """Position (m) and heading (rad) of the reference line at stations ``s`` (m).

        Stations outside ``[0, length]`` extend the first or last segment.
        """
        s = np.asarray(s, dtype=np.float64)
        if self.segment_lengths.size == 1:
            index = np.zeros(s.shape, dtype=np.intp)
        else:
            index = np.searchsorted(self._segment_starts, s, side="right") - 1
            index = np.minimum(np.maximum(index, 0), self.segment_lengths.size - 1)
        u = s - self._segment_starts[index]
        pose = self._segment_poses[index]
        return _advance(pose[..., 0], pose[..., 1], pose[..., 2], self.segment_curvatures[index], u)

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
        x0, y0, h0 = (self._segment_poses[:, i] for i in range(3))
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
                rx, ry, rh = _advance(x0, y0, h0, k, u)
                along = (px - rx) * np.cos(rh) + (py - ry) * np.sin(rh)
                across = -(px - rx) * np.sin(rh) + (py - ry) * np.cos(rh)
                u = np.where(curved, u, u + along / (1.0 - k * across))
        u = np.clip(u, low, high)
        rx, ry, rh = _advance(x0, y0, h0, k, u)
        dx, dy = px - rx, py - ry
        best = np.argmin(dx * dx + dy * dy, axis=1)
        rows = np.arange(best.size)
        s = self._segment_starts[best] + u[rows, best]
        offset = -dx[rows, best] * np.sin(rh[rows, best]) + dy[rows, best] * np.cos(rh[rows, best])
        return s.reshape(shape), offset.reshape(shape)

    def centerline(self, step: float = 2.0) -> NDArray[np.float64]:
        """``(m, 3)`` samples (x, y, heading) of the reference line, at most ``step`` m apart,
        segment joints included."""
        stations = self.stations(step)
        x, y, h = self.reference_pose(stations)
        return np.stack([x, y, h], axis=1)

    def stations(self, step: float = 2.0) -> NDArray[np.float64]:
        """Stations (m) at most ``step`` m apart that include every segment joint and lane end."""
        n = max(2, int(np.ceil(self.length / step)) + 1)
        knots = np.concatenate(
            [
                np.linspace(0.0, self.length, n),
                self._segment_starts,
                self.lane_starts,
                self.lane_ends,
            ]
        )
        return np.unique(np.clip(knots, 0.0, self.length))

    @cached_property
    def _outline_stations(self) -> NDArray[np.float64]:
        """Stations for drawing: segment joints and lane ends, plus points inside arcs close
        enough that a chord strays at most ``_SAGITTA`` m from the arc. Straight segments need
        no inner points."""
        knots = [self._segment_starts, [self.length], self.lane_starts, self.lane_ends]
        curved = np.flatnonzero(self.segment_curvatures != 0.0)
        for i in curved:
            k = abs(self.segment_curvatures[i])
            step = np.sqrt(8.0 * _SAGITTA / k)  # sagitta of a chord c is k c^2 / 8
            count = int(np.ceil(self.segment_lengths[i] / step))
            knots.append(
                self._segment_starts[i] + np.linspace(0, self.segment_lengths[i], count + 1)
            )
        stations = np.sort(np.clip(np.concatenate(knots), 0.0, self.length))
        keep = np.empty(stations.size, dtype=bool)
        keep[0] = True
        np.greater(stations[1:], stations[:-1] + 1e-9, out=keep[1:])
        return stations[keep]

    @cached_property
    def _boundary_points(self) -> NDArray[np.float64]:
        """``(n_lanes + 1, m, 2)`` world points of every lane boundary at the drawing stations."""
        stations = self._outline_stations
        x, y, _ = self.frenet_to_cartesian(stations[None, :], self.lane_boundaries[:, None])
        return np.stack([x, y], axis=-1)

    @cached_property
    def lane_outlines(self) -> tuple[NDArray[np.float64], ...]:
        """World polygon (m) of each lane over the stations where it exists, ``(m, 2)`` each:
        the left boundary forwards, then the right boundary backwards. Arcs are sampled so
        that no chord strays more than 2 cm from the arc."""
        points = self._boundary_points
        exists = self.lanes_at(self._outline_stations)
        outlines = []
        for lane in range(self.lane_count):
            mask = exists[lane]
            left, right = points[lane], points[lane + 1]
            if not mask.all():
                left, right = left[mask], right[mask]
            outlines.append(np.concatenate([left, right[::-1]]))
        return tuple(outlines)

    @cached_property
    def markings(self) -> tuple[tuple[NDArray[np.float64], ...], NDArray[np.float64]]:
        """Lane markings in world coordinates (m): ``(solid, dashes)``.

        A boundary between two lanes that both exist is dashed (3 m line, 9 m gap); a boundary
        with a lane on one side only is a solid edge line. ``solid`` is a tuple of ``(m, 2)``
        polylines, ``dashes`` an ``(k, 2, 2)`` array of dash end points.
        """
        stations = self._outline_stations
        points = self._boundary_points
        if np.all(self.lane_starts <= 0.0) and np.all(self.lane_ends >= self.length):
            # Every lane runs the whole road: solid edges, every inner boundary dashed.
            begins = np.arange(0.0, self.length - _DASH_LENGTH, _DASH_PERIOD)
            inner = self.lane_boundaries[1:-1]
            s = np.stack([begins, begins + _DASH_LENGTH], axis=1)[None, :, :]
            x, y, _ = self.frenet_to_cartesian(
                np.broadcast_to(s, (inner.size, *s.shape[1:])), inner[:, None, None]
            )
            dashes = np.stack([x, y], axis=-1).reshape(-1, 2, 2)
            return (points[0], points[-1]), dashes
        # Which lanes exist is constant between consecutive stations: judge each interval by
        # its midpoint; a run of intervals [i, j) spans stations i..j.
        exists = self.lanes_at((stations[:-1] + stations[1:]) / 2.0)
        padded = np.zeros((self.lane_count + 2, stations.size - 1), dtype=bool)
        padded[1:-1] = exists
        left_of, right_of = padded[:-1], padded[1:]  # lane left / right of each boundary
        solid_mask = left_of ^ right_of
        dashed_mask = left_of & right_of
        solid: list[NDArray[np.float64]] = []
        dash_s: list[NDArray[np.float64]] = []
        dash_offset: list[NDArray[np.float64]] = []
        for boundary in range(self.lane_count + 1):
            if solid_mask[boundary].all():
                solid.append(points[boundary])
            elif solid_mask[boundary].any():
                for start, end in _runs(solid_mask[boundary]):
                    solid.append(points[boundary, start : end + 1])
            if dashed_mask[boundary].any():
                for start, end in _runs(dashed_mask[boundary]):
                    a, b = stations[start], stations[end]
                    begins = np.arange(a, b - _DASH_LENGTH, _DASH_PERIOD)
                    dash_s.append(begins)
                    dash_offset.append(np.full(begins.size, self.lane_boundaries[boundary]))
        if dash_s:
            begins = np.concatenate(dash_s)
            s = np.stack([begins, begins + _DASH_LENGTH], axis=1)
            offset = np.repeat(np.concatenate(dash_offset)[:, None], 2, axis=1)
            x, y, _ = self.frenet_to_cartesian(s, offset)
            dashes = np.stack([x, y], axis=-1)
        else:
            dashes = np.zeros((0, 2, 2))
        return tuple(solid), dashes

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
        seg_start = self._segment_starts
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
        """A JSON-ready dict; ``Road.from_dict`` inverts it exactly."""
        return {
            "segment_lengths": self.segment_lengths.tolist(),
            "segment_curvatures": self.segment_curvatures.tolist(),
            "lane_widths": self.lane_widths.tolist(),
            "lane_starts": self.lane_starts.tolist(),
            "lane_ends": self.lane_ends.tolist(),
            "speed_limit": self.speed_limit,
            "origin": list(self.origin),
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


def _runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """``(start, end)`` index pairs of the runs of True in a 1-D mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _advance(x, y, heading, curvature, u):
    """Pose after travelling ``u`` m from ``(x, y, heading)`` along curvature ``curvature``.

    Uses the chord form ``u * sinc(k u / 2)`` so straight segments (k = 0) need no branch.
    """
    half = curvature * u / 2.0
    safe = np.where(half == 0.0, 1.0, half)
    chord = u * np.where(half == 0.0, 1.0, np.sin(safe) / safe)  # u * sinc(k u / 2)
    mid = heading + half
    turn = 2.0 * half
    return x + chord * np.cos(mid), y + chord * np.sin(mid), heading + turn
