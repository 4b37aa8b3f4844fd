"""The ``edit`` representation: each step changes one attribute of one vehicle, removes it or
adds a vehicle, in every scene of a batch at once.

The scenes are held as ``(rows, max_vehicles)`` vehicle columns and one action per row is
carried out in a handful of numpy calls, whether the rows are one environment's single scene
or the scenes of a ``DrivingLayoutVecEnv``'s hundreds of environments stepped in lockstep:
the arithmetic of an edit exists once.

One step changes one vehicle per scene, so the validity check is kept up to date instead of
made again: the rules each vehicle breaks, its footprint and which footprints intersect are
kept per vehicle, and only the edited, added or removed vehicle is checked again (against
the others of its scene). The counts equal a full check of the scenes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from scenegym._checks import check_whole
from scenegym.envs.representation import OBSERVATION_BOUND, VEHICLE_DTYPES, Representation
from scenegym.scene.batch import COLUMNS, SceneBatch, intersecting_frames, overlapping_frames
from scenegym.scene.encoding import CHANNELS, LaneGrid
from scenegym.scene.scene import Scene
from scenegym.scene.space import HighwaySpaceConfig
from scenegym.scene.validity import DEFAULT_RULES, RULES
from scenegym.scene.vehicles import KINDS, Vehicles

__all__ = [
    "COMPACT_ACTIONS",
    "COMPACT_CHANNELS",
    "EDIT_OPERATIONS",
    "SELECTIONS",
    "EditRepresentation",
    "check_edit_settings",
]

EDIT_OPERATIONS: tuple[str, ...] = (
    "lane",
    "move",
    "speed",
    "offset",
    "heading",
    "kind",
    "remove",
    "add",
)
"""What one ``edit`` action does to the chosen vehicle (see ``DrivingLayoutEnv``)."""
LEVELS = 11
"""Levels of each edit operation (0..10)."""
SELECTIONS: tuple[str, ...] = ("index", "cursor")
"""How an ``edit`` action picks its vehicle: by index, or the vehicle under a cursor that
visits all vehicles in lane, then station order."""
COMPACT_CHANNELS: tuple[str, ...] = ("lane", "occupied", "s_offset", "speed", "length")
"""The grid channels of a ``compact`` cursor view (edit-v5)."""
COMPACT_ACTIONS: tuple[tuple[int, int], ...] = (
    (5, 0),  # realign (compact=True needs realign=True)
    *((1, level) for level in (5, 1, 3, 4, 6, 7, 9)),  # move by 0 (skip), -8 ... +8 m
    *((0, level) for level in range(6)),  # lane 0 ... 5
    *((2, level) for level in range(11)),  # speed 0 ... 1.2 x the limit
    (6, 0),  # remove
    *((7, level) for level in range(6)),  # add in lane 0 ... 5
)
"""The ``(operation, level)`` edits of a ``compact`` action set (edit-v5), in index order."""
CURSOR_FEATURES = 13
"""Cursor features after the lane one-hot (see ``DrivingLayoutEnv``'s observation space)."""

_COMPACT_CHANNEL_INDEX = [CHANNELS.index(name) for name in COMPACT_CHANNELS]
_FLOATS = ("s", "d", "heading", "speed", "length", "width")
# Operation codes, in the order of EDIT_OPERATIONS.
_LANE, _MOVE, _SPEED, _OFFSET, _HEADING, _KIND, _REMOVE, _ADD = range(len(EDIT_OPERATIONS))
_NO_LANE = -(2**31)  # the cursor key of an empty scene: before every lane
_LAST_LANE = np.iinfo(np.int64).max  # after every lane
_SINGLE_RULES = len(RULES) - 1  # SceneBatch.single_vehicle_checks: all rules but overlap


def vehicle_draws(space: HighwaySpaceConfig) -> dict[str, Any]:
    """What ``redraw`` draws from, taken from a space's config: per kind (``KINDS`` order)
    the size distribution ``sizes`` (mean and std of length and width) and the bounds the
    validity rules allow (``bounds``), the cumulative kind shares (``shares``), and the
    lateral offset's mean and spread and the heading's spread (``lateral``)."""
    shares = np.array([space.kind_shares[kind] for kind in KINDS], dtype=np.float64)
    return {
        "sizes": np.array([space.sizes[kind] for kind in KINDS], dtype=np.float64),
        "bounds": DEFAULT_RULES.size_table(),
        "shares": np.cumsum(shares / shares.sum()),
        "lateral": np.array([space.lateral_mean, space.lateral_std, space.heading_std]),
    }


def check_edit_settings(
    *, select: str, window: Any, realign: Any, compact: Any, redraw: Any = False
) -> int:
    """Raise unless ``select``, ``window``, ``realign``, ``compact`` and ``redraw`` are
    settings the ``edit`` representation allows; returns ``window`` as an int."""
    if select not in SELECTIONS:
        raise ValueError(f"select must be one of {', '.join(SELECTIONS)}, got {select!r}")
    window = check_whole("window", window, 2)
    if redraw is not None and not isinstance(redraw, (bool, dict)):
        raise TypeError(f"redraw must be True or False, got {redraw!r}")
    if redraw and not realign:
        raise ValueError("redraw=True draws what realigning sets: it needs realign=True")
    for name, value in (("realign", realign), ("compact", compact)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {value!r}")
    if compact and select != "cursor":
        raise ValueError(
            "compact=True is a cursor view and a cursor action set: it needs "
            "representation='edit' and select='cursor'"
        )
    if compact and not realign:
        raise ValueError(
            "compact=True sets offsets, headings and sizes only by realigning: it needs "
            "realign=True"
        )
    return window


class EditRepresentation(Representation):
    """``edit``: each step edits one vehicle of each scene (``EDIT_OPERATIONS``).

    The vehicle is named by index (``select="index"``) or is the one under an edit cursor
    (``"cursor"``), which then moves on along the road; ``realign`` makes operation 5 repair
    the vehicle in place instead of changing its kind; ``window`` is the length in cells of
    the cursor view; ``compact`` gives the compact cursor view and the 32 edits of
    ``COMPACT_ACTIONS``. ``DrivingLayoutEnv``'s docstring is the manual of the action and
    observation spaces.

    State of each row: its vehicle columns (``columns``, ``(rows, max_vehicles)`` each, the
    first ``count[row]`` in use), the vehicle under the cursor (``current``, -1 without
    one) and the steps taken (``steps``). With ``kept`` (default) the validity check of
    every vehicle is kept up to date and ``batch()`` knows its violations.

    Args:
        grid, max_vehicles, edit_budget, mean_size, rows: as ``Representation``.
        select: ``"index"`` or ``"cursor"``.
        window: cells of the cursor view.
        realign: operation 5 realigns the vehicle instead of changing its kind.
        compact: the compact cursor view and action set (needs ``select="cursor"`` and
            ``realign``).
        redraw: None, or what realigning and adding draw from (``vehicle_draws``): an
            offset, heading and size, and an added vehicle's kind, from the random numbers
            each episode draws at its start (``draw``) instead of the lane centre, the lane
            heading, the kind's mean size and a car (needs ``realign``).
    """

    name = "edit"
    keeps_vehicles = True

    def __init__(
        self,
        *,
        grid: LaneGrid,
        max_vehicles: int,
        edit_budget: int,
        mean_size: NDArray[np.float64],
        select: str = "index",
        window: int = 16,
        realign: bool = False,
        compact: bool = False,
        redraw: dict[str, Any] | None = None,
        rows: int = 1,
    ) -> None:
        window = check_edit_settings(
            select=select, window=window, realign=realign, compact=compact, redraw=redraw
        )
        super().__init__(
            grid=grid,
            max_vehicles=max_vehicles,
            edit_budget=edit_budget,
            mean_size=mean_size,
            rows=rows,
        )
        self.select, self.window, self.realign, self.compact = select, window, realign, compact
        self.redraw = redraw or None
        # Per row and step: 4 standard normals (length, width, offset, heading) and a uniform
        # (kind) for the edit of that step, drawn at the episode's start.
        self.noise = np.zeros((rows, edit_budget if redraw else 0, 5))
        box = spaces.Box
        if select == "cursor":
            parts = [len(EDIT_OPERATIONS), LEVELS]
            shape = (len(COMPACT_CHANNELS), 3, window) if compact else (*grid.shape[:2], window)
            self.parts = {
                "grid": box(-OBSERVATION_BOUND, OBSERVATION_BOUND, shape, dtype=np.float32),
                "cursor": box(
                    -OBSERVATION_BOUND,
                    OBSERVATION_BOUND,
                    (grid.lanes + CURSOR_FEATURES,),
                    dtype=np.float32,
                ),
            }
        else:
            parts = [max_vehicles, len(EDIT_OPERATIONS), LEVELS]
            self.parts = {
                "grid": box(-OBSERVATION_BOUND, OBSERVATION_BOUND, grid.shape, dtype=np.float32)
            }
        self.action_space = spaces.MultiDiscrete(parts)
        self._sizes = np.array(parts, dtype=np.int64)  # the allowed values of each part
        if compact:
            self.action_space = spaces.Discrete(len(COMPACT_ACTIONS))
            self.table = np.array(COMPACT_ACTIONS, dtype=np.int64)
        self._slots = np.arange(max_vehicles)
        self.columns = {
            name: np.zeros((rows, max_vehicles), dtype=np.float64 if name in _FLOATS else np.int64)
            for name in COLUMNS
        }
        self.count = np.zeros(rows, dtype=np.int64)
        self.current = np.full(rows, -1, dtype=np.int64)
        self.kept = True
        self._allocate_check()

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "select": self.select,
            "window": self.window,
            "realign": self.realign,
            "compact": self.compact,
            "redraw": self.redraw,
        }

    # ------------------------------------------------------------------ state
    def draw(self, rows: NDArray[np.int64], rngs: Sequence[np.random.Generator]) -> None:
        if self.redraw is None:
            return
        for row, rng in zip(rows.tolist(), rngs):
            self.noise[row, :, :4] = rng.standard_normal((self.edit_budget, 4))
            self.noise[row, :, 4] = rng.random(self.edit_budget)

    def _step_noise(self, e: NDArray[np.int64]) -> NDArray[np.float64]:
        """``(len(e), 5)``: the numbers drawn for the current step of rows ``e``."""
        return self.noise[e, np.minimum(self.steps[e], self.edit_budget - 1)]

    def _drawn(
        self, e: NDArray[np.int64], kind: NDArray[np.int64], lane: NDArray[np.int64]
    ) -> dict[str, NDArray[np.float64]]:
        """Length, width, offset and heading drawn for vehicles of ``kind`` in ``lane`` of
        rows ``e``, from the numbers of each row's current step: sizes within the rules'
        bounds, the footprint inside its lane, the heading within 3 spreads."""
        z = self._step_noise(e)
        sizes, bounds = self.redraw["sizes"][kind], self.redraw["bounds"][kind]
        mean, spread, heading_std = self.redraw["lateral"]
        length = np.clip(sizes[:, 0] + sizes[:, 1] * z[:, 0], bounds[:, 0], bounds[:, 1])
        width = np.clip(sizes[:, 2] + sizes[:, 3] * z[:, 1], bounds[:, 2], bounds[:, 3])
        room = np.maximum(self.road_batch.lane_width[e, lane] - width, 0.0) / 2.0
        return {
            "length": length,
            "width": width,
            "d": np.clip(mean + spread * z[:, 2], -room, room),
            "heading": np.clip(heading_std * z[:, 3], -3 * heading_std, 3 * heading_std),
        }

    def _drawn_kind(self, e: NDArray[np.int64]) -> NDArray[np.int64]:
        """The kind of a vehicle added to rows ``e``, drawn from the kind shares."""
        u = self._step_noise(e)[:, 4]
        kind = np.searchsorted(self.redraw["shares"], u, side="right")
        return np.minimum(kind, len(KINDS) - 1)

    def load(self, rows: NDArray[np.int64], scenes: Sequence[Scene]) -> None:
        for row, scene in zip(rows.tolist(), scenes):
            vehicles = scene.vehicles
            n = len(vehicles)
            self.count[row] = n
            for name, values in self.columns.items():
                values[row, :n] = getattr(vehicles, name)
            if self.select == "cursor":
                # The first vehicle in lane, station, then index order; -1 without vehicles.
                lane, s = vehicles.lane, vehicles.s
                self.current[row] = int(np.lexsort((np.arange(n), s, lane))[0]) if n else -1
        self._check(rows)

    def counts(self, rows: NDArray[np.int64] | None = None) -> NDArray[np.int64]:
        return self.count.copy() if rows is None else self.count[rows]

    def scene(self, row: int) -> Scene:
        n = int(self.count[row])
        columns = {
            name: values[row, :n].astype(VEHICLE_DTYPES[name])
            for name, values in self.columns.items()
        }
        return Scene(self.roads[row], Vehicles.unchecked(columns))

    def batch(self, rows: NDArray[np.int64] | None = None) -> SceneBatch:
        """The current scenes of ``rows``, vehicles in each scene's order; with ``kept``
        their violations of ``DEFAULT_RULES`` are known."""
        at = slice(None) if rows is None else rows
        count = self.count[at]
        valid = self._slots < count[:, None]
        batch = SceneBatch(
            self.road_batch,
            road_of=self.every_row[at],
            sizes=count,
            columns={name: values[at][valid] for name, values in self.columns.items()},
        )
        if not self.kept:
            return batch
        broken, overlaps = self.broken[at], self.overlaps[at]
        per_scene = np.empty((count.size, _SINGLE_RULES + 1), dtype=np.int64)
        per_scene[:, :-1] = broken.sum(axis=1)
        per_scene[:, -1] = overlaps.sum(axis=1) // 2  # each pair is counted by both
        per_vehicle = (broken.sum(axis=2) + overlaps)[valid]
        batch.know_violations(DEFAULT_RULES, per_scene, per_vehicle)
        return batch

    def keep_check(self, kept: bool) -> None:
        """Keep the validity check up to date (``kept``), or check the scenes on demand."""
        if kept == self.kept:
            return
        self.kept = kept
        self._allocate_check()
        if self.road_batch is not None:
            self._check(self.every_row)

    # ------------------------------------------------------------------ edits
    def apply(
        self, actions: Any, rows: NDArray[np.int64] | None = None
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
        """One ``(operation, level)`` action (``(vehicle, operation, level)`` with
        ``select="index"``) per row; episodes are never terminated, and truncated after
        ``edit_budget`` steps."""
        rows = self.every_row if rows is None else rows
        actions = np.asarray(actions).reshape(rows.size, -1)[:, : self._sizes.size]
        actions = actions.astype(np.int64)
        if actions.size and (actions.min() < 0 or (actions >= self._sizes).any()):
            raise ValueError(
                f"edit actions must be below {self._sizes.tolist()} part by part, got "
                f"{actions.tolist()}"
            )
        c = self.columns
        count = self.count[rows]  # before the edit
        has = count > 0
        operation, level = actions[:, -2], actions[:, -1]
        if self.select == "cursor":
            cursor = self.current[rows]
            i = np.maximum(cursor, 0)
            here = cursor >= 0
            key_lane = np.where(here, c["lane"][rows, i], _NO_LANE)
            key_s = np.where(here, c["s"][rows, i], -np.inf)
        else:
            i = actions[:, 0] % np.maximum(count, 1)
        self._change(rows, i, operation, level, has)
        k = np.flatnonzero((operation == _REMOVE) & has)
        if k.size:
            self._remove(rows[k], i[k])
        added = np.flatnonzero((operation == _ADD) & (count < self._slots.size))
        if added.size:
            self._add(rows[added], level[added])
        edited = np.flatnonzero((operation < _REMOVE) & has)
        self._recheck(
            np.concatenate([rows[edited], rows[added]]),
            np.concatenate([i[edited], count[added]]),
        )
        if self.select == "cursor":
            self._move_cursor(rows, i, cursor, key_lane, key_s, count)
        self.steps[rows] += 1
        never = np.zeros(rows.size, dtype=bool)
        return never, self.steps[rows] >= self.edit_budget, never

    def _change(
        self,
        rows: NDArray[np.int64],
        i: NDArray[np.int64],
        operation: NDArray[np.int64],
        level: NDArray[np.int64],
        has: NDArray[np.bool_],
    ) -> None:
        """Operations 0-5 on vehicle ``i[k]`` of row ``rows[k]`` (rows with vehicles), one
        operation at a time over the rows that ask for it."""
        codes = operation[has].tolist()
        if len(codes) == rows.size and len(set(codes)) == 1:  # one operation everywhere
            if codes[0] < _REMOVE:
                self._operate(codes[0], rows, i, level)
            return
        for code in sorted(set(codes)):
            if code < _REMOVE:
                k = np.flatnonzero((operation == code) & has)
                self._operate(code, rows[k], i[k], level[k])

    def _operate(
        self, code: int, e: NDArray[np.int64], v: NDArray[np.int64], level: NDArray[np.int64]
    ) -> None:
        """Operation ``code`` (0-5) with ``level[k]`` on vehicle ``v[k]`` of row ``e[k]``."""
        c, roads = self.columns, self.road_batch
        if code == _LANE:
            c["lane"][e, v] = level % roads.lane_count[e]
        elif code == _MOVE:
            c["s"][e, v] = np.clip(c["s"][e, v] + (level - 5) * 2.0, 0.0, roads.length[e])
        elif code == _SPEED:
            c["speed"][e, v] = level / 10.0 * 1.2 * roads.speed_limit[e]
        elif code == _OFFSET:
            c["d"][e, v] = (level - 5) / 5.0
        elif code == _HEADING:
            c["heading"][e, v] = (level - 5) / 5.0 * 0.15
        elif self.redraw is not None:
            # Repaired in place: drawn again from the traffic the space describes.
            for name, values in self._drawn(e, c["kind"][e, v], c["lane"][e, v]).items():
                c[name][e, v] = values
        else:
            if self.realign:
                # Repaired in place: its kind's mean size, on the lane centre, along the lane.
                size = self.mean_size[c["kind"][e, v]]
                c["d"][e, v] = 0.0
                c["heading"][e, v] = 0.0
            else:
                kind = level % len(self.mean_size)
                c["kind"][e, v] = kind
                size = self.mean_size[kind]
            c["length"][e, v] = size[:, 0]
            c["width"][e, v] = size[:, 1]

    def _remove(self, e: NDArray[np.int64], i: NDArray[np.int64]) -> None:
        """Remove vehicle ``i[k]`` of row ``e[k]``; the later vehicles move up."""
        slots = self._slots
        source = np.minimum(slots + (slots >= i[:, None]), slots.size - 1)
        for values in self.columns.values():
            values[e] = values[e[:, None], source]
        self.count[e] -= 1
        self._drop(e, i, source)

    def _add(self, e: NDArray[np.int64], level: NDArray[np.int64]) -> None:
        """A car of mean size (with ``redraw``: a vehicle drawn as ``_drawn`` does) in rows
        ``e`` (not full), in lane ``level mod lanes``, in the
        middle of that lane's largest free gap (the first of equals), at the scene's mean
        speed (0.8 x the limit in an empty scene)."""
        c, roads = self.columns, self.road_batch
        n = self.count[e]
        lane = level % roads.lane_count[e]
        start, end = roads.lane_start[e, lane], roads.lane_end[e, lane]
        mine = (self._slots < n[:, None]) & (c["lane"][e] == lane[:, None])
        fronts = np.sort(np.where(mine, c["s"][e], np.inf), axis=1)
        k = mine.sum(axis=1)
        rows = np.arange(e.size)
        edges = np.concatenate([start[:, None], fronts, np.full((e.size, 1), np.inf)], axis=1)
        edges[rows, k + 1] = end
        with np.errstate(invalid="ignore"):  # inf - inf past each lane's last edge
            gaps = np.diff(edges, axis=1)
        gaps[np.arange(gaps.shape[1]) > k[:, None]] = -np.inf
        best = np.argmax(gaps, axis=1)
        s = (edges[rows, best] + edges[rows, best + 1]) / 2.0
        # The mean speed as a running sum, vehicle by vehicle.
        speeds = np.where(self._slots < n[:, None], c["speed"][e], 0.0)
        total = np.cumsum(speeds, axis=1)[rows, np.maximum(n - 1, 0)]
        with np.errstate(invalid="ignore", divide="ignore"):
            speed = np.where(n > 0, total / n, 0.8 * roads.speed_limit[e])
        length, width = self.mean_size[0]
        added = {"d": 0.0, "heading": 0.0, "length": length, "width": width, "kind": 0}
        if self.redraw is not None:
            kind = self._drawn_kind(e)
            added = {**self._drawn(e, kind, lane), "kind": kind}
        for name, value in (("lane", lane), ("s", s), ("speed", speed), *added.items()):
            c[name][e, n] = value
        self.count[e] += 1

    def _move_cursor(
        self,
        rows: NDArray[np.int64],
        i: NDArray[np.int64],
        cursor: NDArray[np.int64],
        key_lane: NDArray[np.int64],
        key_s: NDArray[np.float64],
        n_before: NDArray[np.int64],
    ) -> None:
        """Move the cursor of ``rows`` on along the road: to the first vehicle after the
        edited vehicle's place before the edit, in lane, station, then index order, around
        to the first after the last. A vehicle moved ahead of the cursor is met again;
        vehicles at the same place are all visited."""
        c, slots = self.columns, self._slots
        n = self.count[rows]
        valid = slots < n[:, None]
        # After a removal, compare in the indices of before the edit.
        index = slots + ((n < n_before)[:, None] & (slots >= i[:, None]))
        lane, s = c["lane"][rows], c["s"][rows]
        kl, ks = key_lane[:, None], key_s[:, None]
        after = (lane > kl) | ((lane == kl) & ((s > ks) | ((s == ks) & (index > cursor[:, None]))))
        candidates = valid & after
        none_after = ~candidates.any(axis=1)
        candidates[none_after] = valid[none_after]
        first_lane = np.where(candidates, lane, _LAST_LANE).min(axis=1)
        candidates &= lane == first_lane[:, None]
        first_s = np.where(candidates, s, np.inf).min(axis=1)
        candidates &= s == first_s[:, None]
        self.current[rows] = np.where(n > 0, np.argmax(candidates, axis=1), -1)

    # ------------------------------------------------------------------ kept validity check
    def _allocate_check(self) -> None:
        """The validity check of every vehicle: the single-vehicle rules it breaks, its
        footprint (frame and enclosing radius), which other footprints of its scene it
        intersects, and how many (rules, intersections and counts are zero beyond each
        scene's vehicles; frames there are stale and never read)."""
        shape = (self.rows, self._slots.size) if self.kept else (0, 0)
        self.broken = np.zeros((*shape, _SINGLE_RULES), dtype=bool)
        self.frames = np.zeros((*shape, 3, 2))
        self.radius = np.zeros(shape)
        self.hits = np.zeros((*shape, shape[1]), dtype=bool)
        self.overlaps = np.zeros(shape, dtype=np.int64)

    def _check(self, rows: NDArray[np.int64]) -> None:
        """Check the scenes ``rows`` whole (after they were loaded)."""
        if not self.kept:
            return
        c, width = self.columns, self._slots.size
        count = self.count[rows]
        valid = self._slots < count[:, None]
        batch = SceneBatch(
            self.road_batch,
            road_of=rows,
            sizes=count,
            columns={name: c[name][rows][valid] for name in COLUMNS},
        )
        checks = batch.single_vehicle_checks(DEFAULT_RULES)
        broken = np.zeros((rows.size, width, _SINGLE_RULES), dtype=bool)
        broken[valid] = np.stack(list(checks.values()), axis=1)
        frames = np.zeros((rows.size, width, 3, 2))
        radius = np.zeros((rows.size, width))
        hits = np.zeros((rows.size, width, width), dtype=bool)
        if batch.lane.size:
            flat = batch.frames()
            frames[valid] = flat
            radius[valid] = _radius(flat)
            pairs = overlapping_frames(flat, batch.scene_of)
            scene = batch.scene_of[pairs[:, 0]]
            first, second = pairs[:, 0] - batch.first[scene], pairs[:, 1] - batch.first[scene]
            hits[scene, first, second] = hits[scene, second, first] = True
        self.broken[rows], self.frames[rows], self.radius[rows] = broken, frames, radius
        self.hits[rows] = hits
        self.overlaps[rows] = hits.sum(axis=2)

    def _recheck(self, rows: NDArray[np.int64], slots: NDArray[np.int64]) -> None:
        """Check vehicle ``slots[k]`` of scene ``rows[k]`` again (one per scene): its rules,
        and its footprint against the others of its scene, as ``SceneBatch`` checks them."""
        if rows.size == 0 or not self.kept:
            return
        c = self.columns
        alone = SceneBatch(
            self.road_batch,
            road_of=rows,
            sizes=np.ones(rows.size, dtype=np.int64),
            columns={name: c[name][rows, slots] for name in COLUMNS},
        )
        self.broken[rows, slots] = np.stack(
            list(alone.single_vehicle_checks(DEFAULT_RULES).values()), axis=1
        )
        frames = alone.frames()
        radius = _radius(frames)
        self.frames[rows, slots], self.radius[rows, slots] = frames, radius
        # The circle test, then the exact one, of each pair (lower slot, higher slot): the
        # order and arithmetic of SceneBatch.overlapping_pairs.
        others = (self._slots < self.count[rows, None]) & (self._slots != slots[:, None])
        distance = np.sum((self.frames[rows, :, 0] - frames[:, None, 0]) ** 2, axis=2)
        near = others & (distance < (self.radius[rows] + radius[:, None]) ** 2)
        k, other = np.nonzero(near)
        low, high = np.minimum(slots[k], other), np.maximum(slots[k], other)
        hit = intersecting_frames(self.frames[rows[k], low], self.frames[rows[k], high])
        row = np.zeros((rows.size, self._slots.size), dtype=bool)
        row[k[hit], other[hit]] = True
        self.overlaps[rows] += row.astype(np.int64) - self.hits[rows, slots]
        self.overlaps[rows, slots] = row.sum(axis=1)
        self.hits[rows, slots] = row
        self.hits[rows, :, slots] = row

    def _drop(self, rows: NDArray[np.int64], slots: NDArray[np.int64], source) -> None:
        """Forget the check of vehicle ``slots[k]`` of scene ``rows[k]``, removed: its
        partners lose an overlap and the later vehicles move up (``source``: each slot's
        slot before)."""
        if not self.kept:
            return
        self.overlaps[rows] -= self.hits[rows, slots]
        at = rows[:, None]
        for values in (self.broken, self.frames, self.radius, self.overlaps):
            values[rows] = values[at, source]
        self.hits[rows] = self.hits[at[:, :, None], source[:, :, None], source[:, None, :]]
        last = self.count[rows]  # the slot no longer in use (counts already lowered)
        self.broken[rows, last] = False
        self.overlaps[rows, last] = 0
        self.hits[rows, last] = False
        self.hits[rows, :, last] = False

    # ------------------------------------------------------------------ observation
    def observe(
        self, batch: SceneBatch, rows: NDArray[np.int64] | None = None
    ) -> dict[str, NDArray]:
        """The whole grid (``select="index"``), or the cursor view: the grid window centred
        on each scene's cursor vehicle and its cursor features."""
        if self.select != "cursor":
            return super().observe(batch, rows)
        rows = self.every_row if rows is None else rows
        current, steps = self.current[rows], self.steps[rows]
        grid, window = self.grid, self.window
        n, lanes, cells = len(current), grid.lanes, grid.cells
        has = current >= 0
        flat = (batch.first + current)[has]  # the cursor vehicles, in the batch's columns

        def take(column: NDArray) -> NDArray[np.float64]:
            """``column`` of each scene's cursor vehicle; 0 where there is none."""
            values = np.zeros(n)
            values[has] = column[flat]
            return values

        lane = take(batch.lane).astype(np.int64)
        cell = np.clip((take(batch.s) / grid.cell_length).astype(np.int64), 0, cells - 1)
        # Cells cell - window // 2 ... of each grid; those beyond the grid's ends are zero.
        crop = grid.encode_windows(batch, cell - window // 2, window)
        np.clip(crop, -OBSERVATION_BOUND, OBSERVATION_BOUND, out=crop)
        violations = np.zeros(n)
        violations[has] = batch.violations_of(DEFAULT_RULES, flat)
        features = np.zeros((n, lanes + CURSOR_FEATURES), dtype=np.float32)
        features[np.flatnonzero(has), np.minimum(lane[has], lanes - 1)] = 1.0
        kind = take(batch.kind).astype(np.int64)
        own = np.column_stack(
            [
                cell / cells,
                has,
                take(batch.d) / 2.0,
                take(batch.heading) / 0.6,
                take(batch.speed) / 40.0,
                take(batch.length) / 20.0,
                take(batch.width) / 3.0,
                (kind[:, None] == np.arange(4)) & has[:, None],
                np.minimum(violations / 4.0, 1.0),
                steps / self.edit_budget,
            ]
        )
        features[:, lanes:] = np.clip(own, -OBSERVATION_BOUND, OBSERVATION_BOUND)
        if self.compact:
            # COMPACT_CHANNELS of the lanes left of, at and right of the cursor vehicle's
            # lane (rows beyond the grid all 0).
            padded = np.zeros((n, len(COMPACT_CHANNELS), lanes + 2, window), dtype=np.float32)
            padded[:, :, 1:-1] = crop[:, _COMPACT_CHANNEL_INDEX]
            near = np.minimum(lane, lanes - 1)[:, None] + np.arange(3)
            crop = padded[np.arange(n)[:, None], :, near].transpose(0, 2, 1, 3)
        return {"grid": np.ascontiguousarray(crop), "cursor": features}


def _radius(frames: NDArray[np.float64]) -> NDArray[np.float64]:
    """The radius of the circle around each footprint (``(n, 3, 2)`` frames), as
    ``SceneBatch.overlapping_pairs`` computes it."""
    return np.sqrt(np.sum(frames[:, 1] ** 2 + frames[:, 2] ** 2, axis=1))
