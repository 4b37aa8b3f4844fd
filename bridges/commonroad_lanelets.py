"""CommonRoad lanelet maps as scenegym roads: the checks a map must pass, its multi-lane
carriageways (one per driving direction) and the reference line fitted to each."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scenegym.bridges.commonroad_lib import Unrepresentable, finite_number, one_line, wrap_angle
from scenegym.scene.road import Road

__all__ = [
    "Carriageway",
    "build_carriageway",
    "check_map",
    "cut_pieces",
    "id_list",
    "lanelet_groups",
    "left_edges",
    "project_on_polyline",
]


_FIT_TOLERANCE = 0.02
"""Distance (m) of a boundary vertex from the fitted reference line above which the fit
tries shorter segments."""
_END_SNAP = 0.25
"""A lane whose fitted start or end lies within this distance (m) of the road's start or end
begins or ends there."""


_MIN_PIECE = 20.0
"""Shortest reference-line segment (m) the fit makes by halving a segment."""


_CROSSING_AREA = 1.0
"""Overlap (m^2) above which two unrelated lanelets count as crossing."""


@dataclass(kw_only=True)
class Carriageway:
    """One imported driving direction: its road and which lanelet is which lane."""

    index: int
    road: Road
    lanelet_lane: dict[int, int]
    polygons: dict[int, Any]


def id_list(ids: Iterable[int], limit: int = 6) -> str:
    ids = sorted(ids)
    text = ", ".join(str(i) for i in ids[:limit])
    return text + (f", ... ({len(ids)} in all)" if len(ids) > limit else "")


# -- the map ------------------------------------------------------------------------------
def _same_left(lanelet, lanelets) -> int | None:
    if lanelet.adj_left in lanelets and lanelet.adj_left_same_direction:
        return lanelet.adj_left
    return None


def _same_right(lanelet, lanelets) -> int | None:
    if lanelet.adj_right in lanelets and lanelet.adj_right_same_direction:
        return lanelet.adj_right
    return None


def _links(lanelets) -> dict[int, set[int]]:
    """Undirected same-direction adjacency between lanelets."""
    links: dict[int, set[int]] = defaultdict(set)
    for lanelet_id, lanelet in lanelets.items():
        for other in (_same_left(lanelet, lanelets), _same_right(lanelet, lanelets)):
            if other is not None:
                links[lanelet_id].add(other)
                links[other].add(lanelet_id)
    return links


def _successors(lanelets) -> dict[int, set[int]]:
    """Successor sets, taking a link stated on either side."""
    successors: dict[int, set[int]] = defaultdict(set)
    for lanelet_id, lanelet in lanelets.items():
        for other in lanelet.successor:
            if other in lanelets:
                successors[lanelet_id].add(other)
        for other in lanelet.predecessor:
            if other in lanelets:
                successors[other].add(lanelet_id)
    return successors


def _connected(ids: set[int], links: dict[int, set[int]]) -> bool:
    """Are ``ids`` one group under the links among themselves?"""
    ids = set(ids)
    start = next(iter(ids))
    seen, queue = {start}, deque([start])
    while queue:
        for other in links[queue.popleft()] & ids:
            if other not in seen:
                seen.add(other)
                queue.append(other)
    return seen == ids


def check_map(lanelets) -> None:
    """Raise ``Unrepresentable`` for junctions, crossing lanelets or no lane structure."""
    import shapely

    links = _links(lanelets)
    successors = _successors(lanelets)
    predecessors: dict[int, set[int]] = defaultdict(set)
    for lanelet_id, after in successors.items():
        for other in after:
            predecessors[other].add(lanelet_id)
    for lanelet_id in sorted(lanelets):
        for word, others in (("successors", successors), ("predecessors", predecessors)):
            if len(others[lanelet_id]) > 1 and not _connected(others[lanelet_id], links):
                raise Unrepresentable(
                    f"lanelet {lanelet_id} has {len(others[lanelet_id])} {word} "
                    f"({id_list(others[lanelet_id])}) that are no neighbouring lanes (a junction)"
                )
    one_chain = (
        all(len(successors[i]) <= 1 and len(predecessors[i]) <= 1 for i in lanelets)
        and sum(not predecessors[i] for i in lanelets) == 1
    )  # one lane in several sections
    if (
        len(lanelets) > 1
        and not one_chain
        and not any(
            lanelet.adj_left in lanelets or lanelet.adj_right in lanelets
            for lanelet in lanelets.values()
        )
    ):
        raise Unrepresentable(
            "no lanelet has a neighbour (no adjacent structure), so lanes cannot be counted"
        )
    ids = sorted(lanelets)
    polygons = [_polygon(lanelets[i]) for i in ids]
    near: dict[int, set[int]] = defaultdict(set)
    for lanelet_id, lanelet in lanelets.items():
        related = {lanelet.adj_left, lanelet.adj_right}
        related |= successors[lanelet_id] | predecessors[lanelet_id]
        near[lanelet_id] = {r for r in related if r is not None}
    tree = shapely.STRtree(polygons)
    first, second = tree.query(polygons, predicate="intersects")
    for i, j in zip(first.tolist(), second.tolist()):
        a, b = ids[i], ids[j]
        if a >= b or b in near[a] or a in near[b] or near[a] & near[b]:
            continue
        if polygons[i].intersection(polygons[j]).area > _CROSSING_AREA:
            raise Unrepresentable(f"lanelets {a} and {b} cross each other (a junction)")


def _polygon(lanelet):
    import shapely

    ring = np.concatenate([lanelet.left_vertices, lanelet.right_vertices[::-1]])
    polygon = shapely.Polygon(ring)
    return polygon if polygon.is_valid else shapely.make_valid(polygon)


def lanelet_groups(lanelets) -> list[list[int]]:
    """Carriageways: lanelets joined by same-direction adjacency or succession."""
    links = _links(lanelets)
    for lanelet_id, after in _successors(lanelets).items():
        for other in after:
            links[lanelet_id].add(other)
            links[other].add(lanelet_id)
    groups, seen = [], set()
    for start in sorted(lanelets):
        if start in seen:
            continue
        group, queue = [], deque([start])
        seen.add(start)
        while queue:
            current = queue.popleft()
            group.append(current)
            for other in sorted(links[current]):
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
        groups.append(sorted(group))
    return groups


def _continuations(lanelets, group: list[int]) -> dict[int, int]:
    """``successor -> predecessor`` pairs that continue one lane (same lateral place).

    A succession link continues a lane when the centre line of the one ends where that of the
    other starts (within a quarter lane width) and each is the other's best such match; a ramp
    that merges into a lane is a successor link but no continuation.
    """
    members = set(group)
    successors = _successors(lanelets)
    candidates = []
    for a in group:
        for b in successors[a] & members:
            first, second = lanelets[a], lanelets[b]
            gap = float(np.hypot(*(first.center_vertices[-1] - second.center_vertices[0])))
            width = min(
                float(np.hypot(*(first.left_vertices[-1] - first.right_vertices[-1]))),
                float(np.hypot(*(second.left_vertices[0] - second.right_vertices[0]))),
            )
            if gap <= 0.25 * width:
                candidates.append((gap, a, b))
    pairs: dict[int, int] = {}
    used = set()
    for _, a, b in sorted(candidates):
        if b not in pairs and a not in used:
            pairs[b] = a
            used.add(a)
    return pairs


def _slots(lanelets, group: list[int]) -> tuple[dict[int, int], dict[int, int], list[int]]:
    """Lane slot (0 = leftmost) of each lanelet through adjacency and lane continuation.

    Returns the slots of the largest consistently linked part, the continuation pairs and the
    lanelets left out (those with no lateral link to that part).
    """
    pairs = _continuations(lanelets, group)
    members = set(group)
    edges: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for a in group:
        right = _same_right(lanelets[a], lanelets)
        if right in members:
            edges[a].append((right, 1))
            edges[right].append((a, -1))
        left = _same_left(lanelets[a], lanelets)
        if left in members:
            edges[a].append((left, -1))
            edges[left].append((a, 1))
    for b, a in pairs.items():
        edges[a].append((b, 0))
        edges[b].append((a, 0))
    parts = []
    seen: set[int] = set()
    for start in group:
        if start in seen:
            continue
        slot = {start: 0}
        seen.add(start)
        queue = deque([start])
        while queue:
            current = queue.popleft()
            for other, step in edges[current]:
                expected = slot[current] + step
                if other not in slot:
                    slot[other] = expected
                    seen.add(other)
                    queue.append(other)
                elif slot[other] != expected:
                    raise Unrepresentable(
                        f"lanes cannot be counted consistently: lanelet {other} would be lane "
                        f"{slot[other]} and lane {expected} relative to lanelet {start}"
                    )
        parts.append(slot)
    length = {i: _polyline_length(lanelets[i].center_vertices) for i in group}
    main = max(parts, key=lambda part: (sum(length[i] for i in part), -min(part)))
    low = min(main.values())
    slots = {i: s - low for i, s in main.items()}
    left_out = sorted(members - set(slots))
    return slots, {b: a for b, a in pairs.items() if b in slots and a in slots}, left_out


def _polyline_length(points: NDArray[np.float64]) -> float:
    return float(np.sum(np.hypot(*np.diff(points, axis=0).T)))


def build_carriageway(cr, network, lanelets, group: list[int], index: int):
    """Build the road of one carriageway; returns it and notes on what was left out."""
    slots, pairs, left_out = _slots(lanelets, group)
    notes = []
    if left_out:
        notes.append(
            f"lanelets {id_list(left_out)} have no lateral link to the other lanes and are left out"
        )
    n_lanes = max(slots.values()) + 1
    by_slot: dict[int, list[int]] = defaultdict(list)
    for lanelet_id, slot in slots.items():
        by_slot[slot].append(lanelet_id)
    missing = [s for s in range(n_lanes) if not by_slot[s]]
    if missing:
        raise Unrepresentable(f"lane {missing[0]} has no lanelet")
    widths = np.empty(n_lanes)
    for slot in range(n_lanes):
        gaps = np.concatenate(
            [
                np.hypot(*(lanelets[i].left_vertices - lanelets[i].right_vertices).T)
                for i in by_slot[slot]
            ]
        )
        widths[slot] = float(gaps.mean())
    road = _reference_road(network, lanelets, slots, pairs, by_slot, widths)
    road = _with_lane_extents(road, lanelets, by_slot, widths)
    polygons = {i: _polygon(lanelets[i]) for i in slots}
    return Carriageway(index=index, road=road, lanelet_lane=slots, polygons=polygons), notes


def _reference_road(network, lanelets, slots, pairs, by_slot, widths) -> Road:
    """The road whose reference line follows the longest chain of one lane, shifted to the
    left edge, and goes on along the others where they reach beyond its ends."""
    n_lanes = widths.size
    successor_of = {a: b for b, a in pairs.items()}
    chains = []
    for slot in range(n_lanes):
        for start in sorted(by_slot[slot]):
            if start in pairs:
                continue  # not a chain start
            chain, current = [start], start
            while current in successor_of and successor_of[current] not in chain:
                current = successor_of[current]
                chain.append(current)
            total = sum(_polyline_length(lanelets[i].center_vertices) for i in chain)
            chains.append((round(total, 3), -slot, chain))
    if not chains:
        raise Unrepresentable("its lanes form a loop")
    # Lanes to the outside of a bend are longer, so take the leftmost chain that covers nearly
    # as much as the longest one.
    longest = max(item[0] for item in chains)
    _, negative_slot, spine = max(
        (item for item in chains if item[0] >= 0.9 * longest),
        key=lambda item: (item[1], item[0]),
    )
    spine_slot = -negative_slot
    edges = left_edges(lanelets, spine, float(widths[:spine_slot].sum()))
    if not edges:
        raise Unrepresentable(f"the lanelets of lane {spine_slot} have no left boundary")
    others = [
        left_edges(lanelets, chain, float(widths[:-slot].sum()))
        for _, slot, chain in chains
        if chain is not spine
    ]
    points, knots = _chain_polyline(_extended(edges, others, float(widths.min())))
    lengths, curvatures, origin = _fit_reference(points, knots)
    try:
        road = Road(
            segment_lengths=lengths,
            segment_curvatures=curvatures,
            lane_widths=widths,
            speed_limit=_speed_limit(network, slots),
            origin=origin,
        )
    except ValueError as error:
        raise Unrepresentable(f"the fitted road is not valid ({one_line(error)})") from None
    return road


def _with_lane_extents(road: Road, lanelets, by_slot, widths) -> Road:
    """``road`` with every lane beginning and ending where the centre lines of its lanelets
    lie in place."""
    n_lanes = widths.size
    starts, ends = np.empty(n_lanes), np.empty(n_lanes)
    for slot in range(n_lanes):
        centre = np.concatenate([lanelets[i].center_vertices for i in by_slot[slot]])
        s, offset = road.cartesian_to_frenet(centre[:, 0], centre[:, 1])
        inside = (np.abs(offset - road.lane_centers[slot]) < 0.5 * widths[slot]) & (
            (s > -_FIT_TOLERANCE) & (s < road.length + _FIT_TOLERANCE)
        )
        if not inside.any():
            raise Unrepresentable(f"lane {slot} never lies beside the other lanes")
        starts[slot] = max(0.0, float(s[inside].min()))
        ends[slot] = min(road.length, float(s[inside].max()))
        # A lane drawn to the road's end is fitted a few centimetres short of it.
        starts[slot] = 0.0 if starts[slot] < _END_SNAP else starts[slot]
        ends[slot] = road.length if road.length - ends[slot] < _END_SNAP else ends[slot]
        if ends[slot] - starts[slot] <= 1e-3:
            raise Unrepresentable(f"lane {slot} has no length along the reference line")
    try:
        road = Road(
            segment_lengths=road.segment_lengths,
            segment_curvatures=road.segment_curvatures,
            lane_widths=widths,
            lane_starts=starts,
            lane_ends=ends,
            speed_limit=road.speed_limit,
            origin=road.origin,
        )
    except ValueError as error:
        raise Unrepresentable(f"the lanes do not fit the road ({one_line(error)})") from None
    return road


def left_edges(lanelets, chain: list[int], shift: float) -> list[NDArray[np.float64]]:
    """The left boundaries of a chain of lanelets, each shifted ``shift`` m to its left (to
    the carriageway's left edge)."""
    edges = []
    for i in chain:
        edge = np.asarray(lanelets[i].left_vertices, dtype=np.float64)
        # Repeated vertices carry no direction (and would turn the shift's normal).
        edge = edge[np.concatenate([[True], np.hypot(*np.diff(edge, axis=0).T) > 1e-9])]
        if len(edge) >= 2:
            edges.append(edge)
    if shift > 0:
        # Shift lanelet by lanelet: curvature changes where lanelets join, not inside them.
        edges = [_offset_polyline(edge, shift) for edge in edges]
    return edges


def project_on_polyline(
    points: NDArray[np.float64], point: NDArray[np.float64]
) -> tuple[float, float]:
    """Station (m along ``points``) of the nearest point of the polyline to ``point``, and
    the distance to it."""
    a, chord = points[:-1], np.diff(points, axis=0)
    squared = np.maximum(np.sum(chord * chord, axis=1), 1e-18)
    t = np.clip(np.sum((point - a) * chord, axis=1) / squared, 0.0, 1.0)
    distance = np.hypot(*(a + t[:, None] * chord - point).T)
    k = int(np.argmin(distance))
    before = float(np.sum(np.sqrt(squared[:k])))
    return before + float(t[k] * np.sqrt(squared[k])), float(distance[k])


def cut_pieces(pieces: list[NDArray[np.float64]], station: float, keep_before: bool):
    """The part of the joined ``pieces`` before (or after) ``station`` m, as pieces; stations
    run along ``np.concatenate(pieces)``, the chords between pieces included (as in
    ``project_on_polyline``)."""
    kept, start = [], 0.0
    for k, piece in enumerate(pieces):
        if k:
            start += float(np.hypot(*(piece[0] - pieces[k - 1][-1])))
        stations = start + np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(piece, axis=0).T))])
        end = float(stations[-1])
        inside = stations < station if keep_before else stations > station
        if start < station < end:
            cut = np.array([np.interp(station, stations, piece[:, c]) for c in (0, 1)])
            part = np.vstack([piece[inside], cut] if keep_before else [cut, piece[inside]])
            if len(part) >= 2:
                kept.append(part)
        elif (end <= station) if keep_before else (start >= station):
            kept.append(piece)
        start = end
    return kept


def _extended(
    edges: list[NDArray[np.float64]], others: list[list[NDArray[np.float64]]], width: float
) -> list[NDArray[np.float64]]:
    """``edges`` (the followed lane's left-edge pieces) lengthened at both ends by the parts
    of ``others`` (the other lanes' chains, shifted onto the same edge) that reach more than a
    metre beyond them; ``width``: how far apart (m) edges that are one may lie."""
    for _ in range(len(others)):  # each pass takes at least one chain further
        grown = False
        for chain in others:
            if not chain:
                continue
            points = np.concatenate(chain)
            length = _polyline_length(points)
            station, distance = project_on_polyline(points, edges[0][0])
            if distance < 0.5 * width and station > 1.0:
                edges = cut_pieces(chain, station, keep_before=True) + edges
                grown = True
            station, distance = project_on_polyline(points, edges[-1][-1])
            if distance < 0.5 * width and length - station > 1.0:
                edges = edges + cut_pieces(chain, station, keep_before=False)
                grown = True
        if not grown:
            break
    return edges


def _chain_polyline(polylines: Sequence[NDArray[np.float64]]):
    """Join polylines end to start; returns the points and the indices of the joints."""
    parts = [np.asarray(polylines[0], dtype=np.float64)]
    knots = [0]
    count = len(parts[0])
    for polyline in polylines[1:]:
        polyline = np.asarray(polyline, dtype=np.float64)
        knots.append(count - 1)
        if np.hypot(*(polyline[0] - parts[-1][-1])) < 1e-3:
            polyline = polyline[1:]
        else:
            knots[-1] = count
        parts.append(polyline)
        count += len(polyline)
    points = np.concatenate(parts)
    # Repeated points carry no direction: drop them and move the joints along.
    keep = np.concatenate([[True], np.hypot(*np.diff(points, axis=0).T) > 1e-9])
    new_index = np.cumsum(keep) - 1
    knots = sorted({int(new_index[k]) for k in knots} | {int(new_index[-1])})
    return points[keep], knots


def _offset_polyline(points: NDArray[np.float64], offset: float) -> NDArray[np.float64]:
    """Shift a polyline ``offset`` m to its left, normal to its tangents.

    The tangent heading at a vertex interpolates the headings of the two chords around it by
    their lengths, which is exact for vertices on a circular arc however they are spaced.
    """
    chords = np.diff(points, axis=0)
    lengths = np.hypot(chords[:, 0], chords[:, 1])
    theta = np.unwrap(np.arctan2(chords[:, 1], chords[:, 0]))
    heading = np.empty(len(points))
    if theta.size == 1:
        heading[:] = theta[0]
    else:
        before, after = lengths[:-1], lengths[1:]
        heading[1:-1] = (theta[:-1] * after + theta[1:] * before) / (before + after)
        heading[0] = theta[0] - (theta[1] - theta[0]) * lengths[0] / (lengths[0] + lengths[1])
        heading[-1] = theta[-1] + (theta[-1] - theta[-2]) * lengths[-1] / (
            lengths[-1] + lengths[-2]
        )
    normal = np.stack([-np.sin(heading), np.cos(heading)], axis=1)
    return points + offset * normal


def _chain(lengths, curvatures, origin) -> Road:
    """A one-lane road along the given reference line, to project points onto it."""
    return Road(
        segment_lengths=lengths,
        segment_curvatures=curvatures,
        lane_widths=[3.5],
        origin=tuple(origin),
    )


def _fit_pieces(points, stations, breaks):
    """Least-squares fit of a chain of circular arcs with fixed break stations (m).

    The chain is continuous in position and heading; its parameters are the origin
    ``(x, y, heading)`` and one curvature per piece. The residuals are the lateral offsets of
    all points from the chain, plus where the first and last point fall along it.
    """
    from scipy.optimize import least_squares

    lengths = np.diff(breaks)
    chords = np.diff(points, axis=0)
    theta = np.unwrap(np.arctan2(chords[:, 1], chords[:, 0]))
    middle = 0.5 * (stations[:-1] + stations[1:])
    # Start from the chord headings: a chord of an arc points along the tangent at its middle.
    if theta.size >= 2:
        at_breaks = np.interp(breaks, middle, theta)
        heading = theta[0] - (theta[1] - theta[0]) * middle[0] / (middle[1] - middle[0])
        at_breaks[0] = heading
        guess = np.diff(at_breaks) / lengths
    else:
        heading = theta[0]
        guess = np.zeros(lengths.size)
    limit = np.minimum(0.2, 6.0 / lengths)  # keeps every piece below a full turn
    guess = np.clip(guess, -0.99 * limit, 0.99 * limit)
    start = np.concatenate([points[0], [heading], guess])
    low = np.concatenate([[-np.inf] * 3, -limit])
    high = np.concatenate([[np.inf] * 3, limit])

    def residuals(parameters):
        road = _chain(lengths, parameters[3:], parameters[:3])
        s, offset = road.cartesian_to_frenet(points[:, 0], points[:, 1])
        return np.concatenate([offset, [s[0], s[-1] - stations[-1]]])

    fit = least_squares(
        residuals, start, bounds=(low, high), x_scale="jac", xtol=1e-12, ftol=1e-12, gtol=1e-12
    )
    return lengths, fit.x[3:], fit.x[:3]


def _arc_lengths(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Length (m) of the curve between neighbouring vertices: each chord is taken as a circular
    arc whose curvature is estimated from the turn of the chords around it."""
    chords = np.diff(points, axis=0)
    lengths = np.hypot(chords[:, 0], chords[:, 1])
    if lengths.size < 2:
        return lengths
    theta = np.unwrap(np.arctan2(chords[:, 1], chords[:, 0]))
    turn = np.diff(theta) / (0.5 * (lengths[:-1] + lengths[1:]))  # curvature at inner vertices
    curvature = np.concatenate([[turn[0]], 0.5 * (turn[:-1] + turn[1:]), [turn[-1]]])
    half = np.clip(np.abs(curvature) * lengths / 2.0, 1e-12, 1.0)
    return lengths * half / np.sin(half)


def _fit_reference(points: NDArray[np.float64], knots: Sequence[int]):
    """Fit a chain of straight and circular segments to a polyline (the left road edge).

    The pieces first end at the lanelet joints (``knots``, vertex indices), where recorded and
    exported maps change curvature. The chain is fitted by least squares; a piece whose
    vertices stray more than ``_FIT_TOLERANCE`` from it is halved (down to ``_MIN_PIECE`` m)
    and the chain fitted again. Neighbouring pieces of nearly equal curvature are merged.

    Returns segment lengths (m), curvatures (1/m) and the origin ``(x, y, heading)``.
    """
    if len(points) < 2:
        raise Unrepresentable("the left edge of the carriageway has fewer than two points")
    stations = np.concatenate([[0.0], np.cumsum(_arc_lengths(points))])
    total = float(stations[-1])
    breaks = np.unique(np.concatenate([[0.0, total], stations[list(knots)]]))
    breaks = breaks[np.concatenate([[True], np.diff(breaks) > 1e-6])]
    breaks[-1] = total
    for _ in range(16):
        lengths, curvatures, origin = _fit_pieces(points, stations, breaks)
        s, offset = _chain(lengths, curvatures, origin).cartesian_to_frenet(
            points[:, 0], points[:, 1]
        )
        piece = np.clip(np.searchsorted(breaks, s, side="right") - 1, 0, lengths.size - 1)
        worst = np.zeros(lengths.size)
        np.maximum.at(worst, piece, np.abs(offset))
        counts = np.bincount(piece, minlength=lengths.size)
        split = (worst > _FIT_TOLERANCE) & (lengths >= 2 * _MIN_PIECE) & (counts >= 4)
        if not split.any():
            break
        breaks = np.sort(np.concatenate([breaks, 0.5 * (breaks[:-1] + breaks[1:])[split]]))

    merged = [0]  # indices into breaks that stay
    for j in range(1, lengths.size):
        first, second = lengths[j - 1], lengths[j]
        if abs(curvatures[j] - curvatures[j - 1]) * first * second / 2.0 >= 1e-4:
            merged.append(j)
    if len(merged) < lengths.size:
        breaks = np.concatenate([breaks[merged], [total]])
        lengths, curvatures, origin = _fit_pieces(points, stations, breaks)
    curvatures = np.where(np.abs(curvatures) * lengths < 1e-9, 0.0, curvatures)
    origin = (float(origin[0]), float(origin[1]), float(wrap_angle(origin[2])))
    return lengths, curvatures, origin


def _speed_limit(network, slots: dict[int, int]) -> float:
    """The lowest max-speed sign (m/s) on the carriageway's lanelets; Road's default if none."""
    limits = []
    sign_ids = set()
    for lanelet_id in slots:
        sign_ids |= set(network.find_lanelet_by_id(lanelet_id).traffic_signs)
    for sign_id in sign_ids:
        sign = network.find_traffic_sign_by_id(sign_id)
        if sign is None:
            continue
        for element in sign.traffic_sign_elements:
            if element.traffic_sign_element_id.name == "MAX_SPEED" and element.additional_values:
                value = finite_number(element.additional_values[0])
                if value is not None and value > 0:
                    limits.append(value)
    if not limits:
        return Road.__dataclass_fields__["speed_limit"].default
    return float(np.clip(min(limits), 1.0, 60.0))
