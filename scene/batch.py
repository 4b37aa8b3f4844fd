"""Many scenes at once: every vehicle of every scene in flat columns.

Validity checks, descriptors, per-vehicle features and lane grids are computed here for a whole
batch of scenes in one vectorised pass; the one-scene functions (``violation_counts``,
``describe``, ``scene_vehicle_features``, ``LaneGrid.encode``) are the same code on a batch of
one, so a batched environment, an evaluation of ten thousand scenes and a single call agree.

A ``RoadBatch`` holds the lane and reference-line tables of many roads padded to the largest
lane and segment counts; a ``SceneBatch`` holds the vehicle columns of all scenes back to back,
with ``scene_of`` naming each vehicle's scene and ``road_of`` each scene's road.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from scenegym.scene.geometry import box_frames
from scenegym.scene.road import Road, advance
from scenegym.scene.scene import Scene
from scenegym.scene.vehicles import Vehicles, kind_code

__all__ = [
    "COLUMNS",
    "GAP_CAP",
    "HEADWAY_CAP",
    "HEAVY_KINDS",
    "RoadBatch",
    "SceneBatch",
    "road_batch",
]

COLUMNS: tuple[str, ...] = ("lane", "s", "d", "heading", "speed", "length", "width", "kind")
"""The vehicle columns a ``SceneBatch`` holds, as in ``Vehicles``."""

HEADWAY_CAP = 10.0
"""Time headways (s) are capped here: beyond 10 s a vehicle is not following."""
GAP_CAP = 200.0
"""Gaps (m) are capped here; it is also the gap reported when no vehicle follows another."""
HEAVY_KINDS = (kind_code("truck"), kind_code("bus"))
"""Kind codes of heavy vehicles (trucks and buses), counted by ``truck_share``."""


class RoadBatch:
    """Lane and segment tables of many roads, padded to the most lanes and segments.

    Missing lanes have start ``+inf`` and end ``-inf`` so they exist nowhere; missing segments
    start at ``+inf`` so no station falls on them.
    """

    def __init__(self, roads: Sequence[Road]) -> None:
        self.roads = list(roads)
        count = len(self.roads)
        lanes = max((road.lane_count for road in self.roads), default=1)
        segments = max((road.segment_lengths.size for road in self.roads), default=1)
        self.lane_count = np.zeros(count, dtype=np.int64)
        self.segment_count = np.zeros(count, dtype=np.int64)
        self.length = np.zeros(count)
        self.speed_limit = np.zeros(count)
        self.max_curvature = np.zeros(count)
        self.total_lane_km = np.zeros(count)
        self.lane_start = np.empty((count, lanes))
        self.lane_end = np.empty((count, lanes))
        self.lane_width = np.empty((count, lanes))
        self.lane_centre = np.empty((count, lanes))
        self.left_edge = np.empty((count, lanes))  # left boundary of each lane
        self.right_edge = np.empty((count, lanes))  # right boundary of each lane
        self.lane_km = np.empty((count, lanes))
        self.segment_start = np.empty((count, segments))
        self.segment_curvature = np.empty((count, segments))
        self.segment_pose = np.empty((count, segments, 3))
        self.lane_segment_start = np.empty((count, lanes, segments))
        self.lane_scale = np.empty((count, lanes, segments))
        self._fill(np.arange(count), self.roads)

    def _fill(self, rows: NDArray[np.int64], roads: Sequence[Road]) -> None:
        """Write the tables of ``roads`` into ``rows``, all at once (the arithmetic of
        ``Road``'s own tables)."""
        count, lanes, segments = len(roads), self.lane_start.shape[1], self.segment_start.shape[1]
        n = np.array([road.lane_count for road in roads], dtype=np.int64)
        m = np.array([road.segment_lengths.size for road in roads], dtype=np.int64)
        has_lane = np.arange(lanes) < n[:, None]
        has_segment = np.arange(segments) < m[:, None]
        width, start, end = np.zeros((3, count, lanes))
        length, curvature = np.zeros((2, count, segments))
        origin = np.empty((count, 3))
        for i, road in enumerate(roads):
            width[i, : n[i]] = road.lane_widths
            start[i, : n[i]] = road.lane_starts
            end[i, : n[i]] = road.lane_ends
            length[i, : m[i]] = road.segment_lengths
            curvature[i, : m[i]] = road.segment_curvatures
            origin[i] = road.origin
        self.lane_count[rows], self.segment_count[rows] = n, m
        along = np.cumsum(length, axis=1)
        self.length[rows] = along[:, -1]
        self.speed_limit[rows] = [road.speed_limit for road in roads]
        self.max_curvature[rows] = np.abs(curvature).max(axis=1)
        right = np.cumsum(width, axis=1)
        centre = -(right - width / 2.0)
        left = -np.concatenate([np.zeros((count, 1)), right[:, :-1]], axis=1)
        segment_start = np.concatenate([np.zeros((count, 1)), along[:, :-1]], axis=1)
        scale = np.where(
            has_lane[:, :, None] & has_segment[:, None, :],
            1.0 - curvature[:, None, :] * centre[:, :, None],
            1.0,
        )
        lane_along = np.cumsum(length[:, None, :] * scale, axis=2)
        segment_lane_start = np.concatenate(
            [np.zeros((count, lanes, 1)), lane_along[:, :, :-1]], axis=2
        )
        segment_lane_start[~(has_lane[:, :, None] & has_segment[:, None, :])] = 0.0
        # Lane lengths along their centres, from lane start to end (Road.lane_distance).
        at = segment_start[:, None, :]
        arcs = []
        for station in (end, start):
            index = (np.where(has_segment[:, None, :], at, np.inf) <= station[:, :, None]).sum(2)
            index = np.minimum(np.maximum(index - 1, 0), (m - 1)[:, None])
            pick = (np.arange(count)[:, None], np.arange(lanes)[None, :], index)
            u = station - np.take_along_axis(segment_start, index, axis=1)
            arcs.append(segment_lane_start[pick] + u * scale[pick])
        lane_km = np.where(has_lane, (arcs[0] - arcs[1]) / 1000.0, 0.0)
        self.total_lane_km[rows] = lane_km.sum(axis=1)
        for table, values, pad in (
            (self.lane_start, start, np.inf),
            (self.lane_end, end, -np.inf),
            (self.lane_width, width, 1.0),
            (self.lane_centre, centre, 0.0),
            (self.left_edge, left, -np.inf),
            (self.right_edge, -right, np.inf),
            (self.lane_km, lane_km, 0.0),
        ):
            table[rows] = np.where(has_lane, values, pad)
        self.segment_start[rows] = np.where(has_segment, segment_start, np.inf)
        self.segment_curvature[rows] = curvature
        self.lane_segment_start[rows] = segment_lane_start
        self.lane_scale[rows] = scale
        # Poses at every segment start: one step along the reference line per segment.
        pose = np.zeros((count, segments, 3))
        x, y, heading = origin.T
        for j in range(segments):
            pose[:, j] = np.where(has_segment[:, j, None], np.stack([x, y, heading], 1), 0.0)
            x, y, heading = advance(x, y, heading, curvature[:, j], length[:, j])
        self.segment_pose[rows] = pose

    def fits(self, road: Road) -> bool:
        """Can ``road`` take a row of these tables (no more lanes or segments than they have)?"""
        return (
            road.lane_count <= self.lane_start.shape[1]
            and road.segment_lengths.size <= self.segment_start.shape[1]
        )

    def replace(self, rows: Sequence[int], roads: Sequence[Road]) -> None:
        """Put ``roads`` in ``rows`` (they must ``fit``)."""
        if not all(self.fits(road) for road in roads):
            raise ValueError("a road has more lanes or segments than the tables hold")
        for r, road in zip(rows, roads):
            self.roads[r] = road
        self._fill(np.asarray(rows, dtype=np.int64), roads)

    def _segment(self, road: NDArray, s: NDArray) -> NDArray[np.intp]:
        """Index of the segment of ``road`` holding station ``s`` (stations outside the road
        fall on the first or last segment)."""
        if self.segment_start.shape[1] == 1:
            return np.zeros(s.shape, dtype=np.intp)
        index = (self.segment_start[road] <= s[:, None]).sum(axis=1) - 1
        return np.minimum(np.maximum(index, 0), self.segment_count[road] - 1)

    def lane_arc(self, road: NDArray, lane: NDArray, s: NDArray) -> NDArray[np.float64]:
        """Distance (m) along the centre of ``lane`` of ``road`` from station 0 to ``s``; the
        same arithmetic as ``Road.lane_distance``."""
        index = self._segment(road, s)
        u = s - self.segment_start[road, index]
        return self.lane_segment_start[road, lane, index] + u * self.lane_scale[road, lane, index]

    def reference(self, road: NDArray, s: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """Reference-line position (m) and heading (rad) of ``road`` at stations ``s``; the
        same arithmetic as ``Road.reference_pose``."""
        index = self._segment(road, s)
        pose = self.segment_pose[road, index]
        return advance(
            pose[:, 0],
            pose[:, 1],
            pose[:, 2],
            self.segment_curvature[road, index],
            s - self.segment_start[road, index],
        )

    def curvature(self, road: NDArray, s: NDArray) -> NDArray[np.float64]:
        """Curvature (1/m, positive turns left) of the reference line of ``road`` at ``s``
        (stations past either end take the first or last segment's)."""
        return self.segment_curvature[road, self._segment(road, s)]

    def lanes_at(self, road: NDArray, s: NDArray) -> NDArray[np.bool_]:
        """``(len(s), lanes)`` mask: does lane ``j`` of ``road[i]`` exist at station ``s[i]``?"""
        s = s[:, None]
        return (s >= self.lane_start[road]) & (s <= self.lane_end[road])


_ROAD_BATCHES: OrderedDict[int, tuple[Road, RoadBatch]] = OrderedDict()
_ROAD_BATCHES_KEPT = 1024


def road_batch(road: Road) -> RoadBatch:
    """``RoadBatch([road])``, made once for each of the last 1,024 road objects used.

    Roads are immutable, so the tables of one road object never change; the cache is keyed by
    the object's identity and holds the road itself, so that an id is never reused while
    cached."""
    key = id(road)
    found = _ROAD_BATCHES.get(key)
    if found is not None:
        _ROAD_BATCHES.move_to_end(key)
        return found[1]
    batch = RoadBatch([road])
    _ROAD_BATCHES[key] = (road, batch)
    if len(_ROAD_BATCHES) > _ROAD_BATCHES_KEPT:
        _ROAD_BATCHES.popitem(last=False)
    return batch


class SceneBatch:
    """The vehicles of many scenes in flat columns, scene by scene.

    Args:
        roads: the roads the scenes drive on.
        road_of: ``(scenes,)`` index into ``roads.roads`` of each scene's road.
        sizes: ``(scenes,)`` vehicle count of each scene.
        columns: one flat array per name in ``COLUMNS``, ``sizes.sum()`` long (lane and kind
            integer, the rest float64).
    """

    def __init__(
        self,
        roads: RoadBatch,
        *,
        road_of: NDArray[np.int64],
        sizes: NDArray[np.int64],
        columns: dict[str, NDArray],
    ) -> None:
        self.roads = roads
        self.road_of = np.asarray(road_of, dtype=np.int64)
        self.sizes = np.asarray(sizes, dtype=np.int64)
        self.count = self.sizes.size
        self.scene_of = np.repeat(np.arange(self.count), self.sizes)
        self.first = np.cumsum(self.sizes) - self.sizes
        self.lane = np.asarray(columns["lane"]).astype(np.int64)
        self.s = columns["s"]
        self.d = columns["d"]
        self.heading = columns["heading"]
        self.speed = columns["speed"]
        self.length = columns["length"]
        self.width = columns["width"]
        self.kind = np.asarray(columns["kind"]).astype(np.int64)
        self.road = self.road_of[self.scene_of]  # road of every vehicle
        self._pairs: tuple[NDArray, NDArray, NDArray] | None = None
        self._violations: tuple | None = None  # (rules, per scene, per vehicle)

    @classmethod
    def of(cls, scenes: Sequence[Scene]) -> SceneBatch:
        """The batch of ``scenes``; scenes sharing one ``Road`` object share its tables."""
        if len(scenes) == 1:
            road = scenes[0].road
            roads, road_of = road_batch(road), np.zeros(1, dtype=np.int64)
        else:
            index: dict[int, int] = {}
            unique: list[Road] = []
            road_of = np.empty(len(scenes), dtype=np.int64)
            for i, scene in enumerate(scenes):
                key = id(scene.road)
                if key not in index:
                    index[key] = len(unique)
                    unique.append(scene.road)
                road_of[i] = index[key]
            roads = RoadBatch(unique)
        vehicles = [scene.vehicles for scene in scenes]
        sizes = np.array([len(v) for v in vehicles], dtype=np.int64)
        if len(vehicles) == 1:
            columns = {name: getattr(vehicles[0], name) for name in COLUMNS}
        else:
            columns = {
                name: np.concatenate([getattr(v, name) for v in vehicles])
                if vehicles
                else np.zeros(0)
                for name in COLUMNS
            }
        return cls(roads, road_of=road_of, sizes=sizes, columns=columns)

    def scene(self, i: int) -> Scene:
        """Scene ``i`` of the batch, rebuilt from the columns (context and id are not kept)."""
        start, stop = int(self.first[i]), int(self.first[i] + self.sizes[i])
        columns = {name: getattr(self, name)[start:stop] for name in COLUMNS}
        return Scene(self.roads.roads[int(self.road_of[i])], Vehicles.unchecked(columns))

    # ------------------------------------------------------------------ lanes
    def clipped_lane(self) -> NDArray[np.int64]:
        """Each vehicle's lane clipped into its road's lanes (invalid lanes are measured along
        the nearest one)."""
        return np.minimum(np.maximum(self.lane, 0), self.roads.lane_count[self.road] - 1)

    # ------------------------------------------------------------------ validity
    def single_vehicle_checks(self, rules) -> dict[str, NDArray[np.bool_]]:
        """Boolean masks, one per single-vehicle rule of ``scenegym.scene.validity``: True
        where the vehicle breaks the rule."""
        roads, road = self.roads, self.road
        n = self.lane.size
        lane_ok = (self.lane >= 0) & (self.lane < roads.lane_count[road])
        lane = np.where(lane_ok, self.lane, 0)
        exists = roads.lanes_at(road, self.s)  # (n, lanes)
        present = exists[np.arange(n), lane]
        half_width = roads.lane_width[road, lane] / 2.0
        outside_lane = np.abs(self.d) > half_width + rules.lane_tolerance
        lane_bad = ~lane_ok | ~present | outside_lane

        # Lateral extent of the footprint against the outer edges of the lanes present at s.
        any_lane = exists.any(axis=1)
        left_edge = np.where(exists, roads.left_edge[road], -np.inf).max(axis=1)
        right_edge = np.where(exists, roads.right_edge[road], np.inf).min(axis=1)
        centre = roads.lane_centre[road, lane] + self.d
        half_extent = self.length / 2 * np.abs(np.sin(self.heading)) + self.width / 2 * np.abs(
            np.cos(self.heading)
        )
        tol = rules.offroad_tolerance
        off_road = (
            (self.s < 0.0)
            | (self.s > roads.length[road])
            | ~any_lane
            | (centre + half_extent > left_edge + tol)
            | (centre - half_extent < right_edge - tol)
        )
        sizes = rules.size_table()[self.kind]
        return {
            "lane": lane_bad,
            "off_road": off_road,
            "heading": np.abs(self.heading) > rules.max_heading,
            "speed": (self.speed < 0.0) | (self.speed > rules.max_speed),
            "size": (self.length < sizes[:, 0])
            | (self.length > sizes[:, 1])
            | (self.width < sizes[:, 2])
            | (self.width > sizes[:, 3]),
        }

    def frames(self) -> NDArray[np.float64]:
        """``(n, 3, 2)`` world frames of every vehicle (see ``geometry.vehicle_frames``)."""
        return self._frames_of(slice(None))

    def overlapping_pairs(self) -> NDArray[np.int64]:
        """``(m, 2)`` flat index pairs ``i < j`` of vehicles of one scene whose footprints
        intersect, sorted."""
        if self.lane.size < 2:
            return np.zeros((0, 2), dtype=np.int64)
        return overlapping_frames(self.frames(), self.scene_of)

    def violation_counts(self, rules) -> NDArray[np.int64]:
        """``(scenes, len(RULES))`` number of violations of every rule in every scene."""
        return self.violations(rules)[0]

    def violations(self, rules) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """``(scenes, len(RULES))`` violations of every rule in every scene, and ``(n,)`` the
        number of violations each vehicle is named in (cached: a batch is checked once)."""
        if self._violations is None or self._violations[0] is not rules:
            checks = self.single_vehicle_checks(rules)
            counts = np.zeros((self.count, len(checks) + 1), dtype=np.int64)
            per_vehicle = np.zeros(self.lane.size, dtype=np.int64)
            for column, mask in enumerate(checks.values()):
                counts[:, column] = np.bincount(self.scene_of[mask], minlength=self.count)
                per_vehicle += mask
            pairs = self.overlapping_pairs()
            counts[:, -1] = np.bincount(self.scene_of[pairs[:, 0]], minlength=self.count)
            per_vehicle += np.bincount(pairs.ravel(), minlength=self.lane.size)
            self._violations = (rules, counts, per_vehicle)
        return self._violations[1], self._violations[2]

    def know_violations(
        self, rules, per_scene: NDArray[np.int64], per_vehicle: NDArray[np.int64]
    ) -> None:
        """Take ``violations(rules)`` as already known (kept up to date by whoever edits the
        scenes, as ``scenegym.envs.EditRepresentation`` does), so that it is not checked again."""
        self._violations = (rules, per_scene, per_vehicle)

    def violations_of(self, rules, vehicles: NDArray[np.int64]) -> NDArray[np.int64]:
        """The number of violations each of the flat ``vehicles`` is named in: the entries
        of ``violations(rules)[1]`` at ``vehicles``, found by checking those vehicles alone
        (their rules, and their overlaps with the others of their scene)."""
        vehicles = np.asarray(vehicles, dtype=np.int64)
        if vehicles.size == 0:
            return np.zeros(0, dtype=np.int64)
        if self._violations is not None and self._violations[0] is rules:
            # The whole batch was checked already (a scored step): read, don't check again.
            return self._violations[2][vehicles]
        alone = SceneBatch(
            self.roads,
            road_of=self.road[vehicles],
            sizes=np.ones(vehicles.size, dtype=np.int64),
            columns={name: getattr(self, name)[vehicles] for name in COLUMNS},
        )
        counts = np.zeros(vehicles.size, dtype=np.int64)
        for mask in alone.single_vehicle_checks(rules).values():
            counts += mask
        # Pairs of each vehicle with every other vehicle of its scene, as (lower, higher)
        # flat indices so that the test is the one overlapping_pairs makes.
        scene = self.scene_of[vehicles]
        sizes = self.sizes[scene]
        query = np.repeat(np.arange(vehicles.size), sizes)
        other = self.first[scene][query] + (
            np.arange(query.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        )
        keep = other != vehicles[query]
        query, other = query[keep], other[keep]
        if query.size:
            i = np.minimum(vehicles[query], other)
            j = np.maximum(vehicles[query], other)
            used = np.zeros(self.lane.size, dtype=bool)
            used[i] = used[j] = True
            used = np.flatnonzero(used)
            frames = np.zeros((self.lane.size, 3, 2))
            frames[used] = self._frames_of(used)
            centre = frames[:, 0]
            radius = np.sqrt(np.sum(frames[:, 1] ** 2 + frames[:, 2] ** 2, axis=1))
            near = np.sum((centre[i] - centre[j]) ** 2, axis=1) < (radius[i] + radius[j]) ** 2
            hit = intersecting_frames(frames[i[near]], frames[j[near]])
            counts += np.bincount(query[near][hit], minlength=vehicles.size)
        return counts

    def _frames_of(self, index: NDArray[np.int64] | slice) -> NDArray[np.float64]:
        """World frames of the flat vehicles ``index`` (an index array or a slice)."""
        road = self.road[index]
        lane = self.clipped_lane()[index]
        offset = self.roads.lane_centre[road, lane] + self.d[index]
        xr, yr, h = self.roads.reference(road, self.s[index])
        return box_frames(
            xr - offset * np.sin(h),
            yr + offset * np.cos(h),
            h + self.heading[index],
            self.length[index],
            self.width[index],
        )

    # ------------------------------------------------------------------ car following
    def leader_follower(self) -> tuple[NDArray, NDArray, NDArray]:
        """Flat follower index, leader index and bumper-to-bumper gap (m) of every pair of
        consecutive vehicles in one lane of one scene (see ``descriptors``)."""
        if self._pairs is None:
            order = np.lexsort((self.s, self.lane, self.scene_of))
            same = (self.lane[order[1:]] == self.lane[order[:-1]]) & (
                self.scene_of[order[1:]] == self.scene_of[order[:-1]]
            )
            follower, leader = order[:-1][same], order[1:][same]
            road = self.road[follower]
            lane = self.clipped_lane()[follower]
            centres = self.roads.lane_arc(road, lane, self.s[leader]) - self.roads.lane_arc(
                road, lane, self.s[follower]
            )
            gap = centres - self.length[leader] / 2 - self.length[follower] / 2
            self._pairs = (follower, leader, gap)
        return self._pairs

    def vehicle_features(self) -> NDArray[np.float64]:
        """``(n, 8)`` per-vehicle features (``scenegym.rewards.VEHICLE_FEATURES``)."""
        n = self.lane.size
        follower, leader, gap = self.leader_follower()
        has_leader = np.zeros(n, dtype=bool)
        has_leader[follower] = True
        raw_gap = np.full(n, np.inf)
        raw_gap[follower] = gap
        relative_speed = np.zeros(n)
        relative_speed[follower] = self.speed[leader] - self.speed[follower]
        # The same headway rule as ``describe``: 0 when footprints touch or overlap, capped
        # when the follower stands still or no vehicle leads.
        with np.errstate(divide="ignore", invalid="ignore"):
            headway = np.minimum(raw_gap / np.maximum(self.speed, 0.0), HEADWAY_CAP)
        headway = np.where(has_leader & (raw_gap <= 0), 0.0, headway)
        headway = np.where(has_leader, headway, HEADWAY_CAP)
        return np.column_stack(
            [
                self.speed,
                np.minimum(raw_gap, GAP_CAP),
                headway,
                relative_speed,
                self.d,
                self.heading,
                self.length,
                self.width,
            ]
        )

    def describe(self) -> dict[str, NDArray[np.float64]]:
        """Every descriptor (``scenegym.scene.DESCRIPTORS``) of every scene, ``(scenes,)`` each."""
        b, roads = self.count, self.roads
        n = self.sizes.astype(np.float64)
        some = self.sizes > 0
        scene_of = self.scene_of
        follower, _, gap = self.leader_follower()
        with np.errstate(divide="ignore", invalid="ignore"):
            headway = np.where(
                gap <= 0, 0.0, np.minimum(gap / np.maximum(self.speed[follower], 0.0), HEADWAY_CAP)
            )
        pair_scene = scene_of[follower]
        pairs = np.bincount(pair_scene, minlength=b)
        order = np.lexsort((headway, pair_scene))
        sorted_headway = headway[order]
        start = np.cumsum(pairs) - pairs
        has_pairs = pairs > 0
        low = np.where(has_pairs, start + (pairs - 1) // 2, 0)
        high = np.where(has_pairs, start + pairs // 2, 0)
        if sorted_headway.size:
            median = (sorted_headway[low] + sorted_headway[high]) / 2.0
            smallest = sorted_headway[np.where(has_pairs, start, 0)]
        else:
            median = smallest = np.zeros(b)
        min_gap = np.full(b, GAP_CAP)
        np.minimum.at(min_gap, pair_scene, gap)

        with np.errstate(divide="ignore", invalid="ignore"):
            mean_speed = np.bincount(scene_of, self.speed, minlength=b) / n
            deviation = self.speed - mean_speed[scene_of]
            std_speed = np.sqrt(np.bincount(scene_of, deviation * deviation, minlength=b) / n)
            heavy = np.isin(self.kind, HEAVY_KINDS).astype(np.float64)
            truck_share = np.bincount(scene_of, heavy, minlength=b) / n

        lanes = roads.lane_km.shape[1]
        road_of = self.road_of
        per_lane = np.bincount(scene_of * lanes + self.clipped_lane(), minlength=b * lanes)
        exists = np.arange(lanes)[None, :] < roads.lane_count[road_of][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            per_lane = np.where(exists, per_lane.reshape(b, lanes) / roads.lane_km[road_of], 0.0)
        lane_n = roads.lane_count[road_of]
        mean_lane = per_lane.sum(axis=1) / lane_n
        spread = np.where(exists, per_lane - mean_lane[:, None], 0.0)
        std_lane = np.sqrt((spread * spread).sum(axis=1) / lane_n)
        with np.errstate(divide="ignore", invalid="ignore"):
            occupancy_spread = np.where(mean_lane > 0, std_lane / mean_lane, 0.0)
        return {
            "vehicle_count": n,
            "density": n / roads.total_lane_km[road_of],
            "mean_speed": np.where(some, mean_speed, 0.0),
            "std_speed": np.where(self.sizes > 1, std_speed, 0.0),
            "min_time_headway": np.where(has_pairs, smallest, HEADWAY_CAP),
            "median_time_headway": np.where(has_pairs, median, HEADWAY_CAP),
            "min_gap": min_gap,
            "lane_occupancy_spread": occupancy_spread,
            "truck_share": np.where(some, truck_share, 0.0),
            "max_curvature": roads.max_curvature[road_of],
            "lane_count": roads.lane_count[road_of].astype(np.float64),
        }


def _near_pairs(
    centre: NDArray[np.float64], radius: NDArray[np.float64], group: NDArray[np.int64]
) -> tuple[NDArray, NDArray]:
    """Index pairs ``i < j`` of one group whose circles (``centre``, ``radius``) intersect:
    sweep and prune along world x within each group, then the exact circle test. Memory
    grows with the number of candidate pairs, not the square of the vehicle count."""
    x = centre[:, 0]
    lo, hi = x - radius, x + radius
    # One increasing key: groups laid end to end, each shifted to start at 0, with a margin
    # wider than any group so that no interval reaches into the next group.
    count = int(group.max()) + 1
    base = np.full(count, np.inf)
    np.minimum.at(base, group, lo)
    top = np.full(count, -np.inf)
    np.maximum.at(top, group, hi)
    present = np.isfinite(base)
    span = float(np.max(top[present] - base[present])) + 1.0
    offset = group * span - base[group]
    key_lo, key_hi = lo + offset, hi + offset
    order = np.argsort(key_lo, kind="stable")
    sorted_lo = key_lo[order]
    # A little slack: a candidate too many is removed by the exact test below.
    ends = np.searchsorted(sorted_lo, key_hi[order] + 1e-6, side="right")
    rank = np.arange(order.size)
    counts = np.maximum(ends - rank - 1, 0)
    total = int(counts.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    a_rank = np.repeat(rank, counts)
    steps = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    a, b = order[a_rank], order[a_rank + 1 + steps]
    i, j = np.minimum(a, b), np.maximum(a, b)
    near = (group[i] == group[j]) & (
        np.sum((centre[i] - centre[j]) ** 2, axis=1) < (radius[i] + radius[j]) ** 2
    )
    return i[near], j[near]


def overlapping_frames(frames: NDArray[np.float64], group: NDArray[np.int64]) -> NDArray[np.int64]:
    """Sorted ``(m, 2)`` pairs ``i < j`` of one group whose footprints (``(n, 3, 2)`` frames as
    from ``vehicle_frames``) intersect."""
    centre = frames[:, 0]
    radius = np.sqrt(np.sum(frames[:, 1] ** 2 + frames[:, 2] ** 2, axis=1))
    i, j = _near_pairs(centre, radius, group)
    hit = intersecting_frames(frames[i], frames[j])
    pairs = np.stack([i[hit], j[hit]], axis=1)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def intersecting_frames(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.bool_]:
    """``(m,)`` do the oriented boxes with frames ``a[k]`` and ``b[k]`` (each ``(m, 3, 2)``:
    centre, half-length vector, half-width vector) intersect?

    Separating axis test over the four edge directions: the boxes are apart along unit axis
    ``n`` when ``|n . (centre_b - centre_a)|`` reaches the sum of both boxes' projected half
    extents; boxes that only touch do not intersect.
    """
    if a.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    dx, dy = b[:, 0, 0] - a[:, 0, 0], b[:, 0, 1] - a[:, 0, 1]
    vectors = (a[:, 1], a[:, 2], b[:, 1], b[:, 2])
    separated = np.zeros(a.shape[0], dtype=bool)
    for axis in vectors:
        norm = np.hypot(axis[:, 0], axis[:, 1]) + 1e-12
        nx, ny = axis[:, 0] / norm, axis[:, 1] / norm
        extent = sum(np.abs(nx * v[:, 0] + ny * v[:, 1]) for v in vectors)
        separated |= np.abs(nx * dx + ny * dy) >= extent - 1e-9
    return ~separated
