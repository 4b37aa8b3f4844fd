"""Cursor edits of many scenes at once, as array operations over padded vehicle columns.

``DrivingLayoutEnv`` with ``select="cursor"`` edits one scene per step in Python. A vector
environment rolling out hundreds of episodes in lockstep (sampling from a trained policy)
would pay that Python once per environment and step; ``CursorEdits`` holds the scenes of all
of them as ``(envs, max_vehicles)`` columns and applies one action per environment to all of
them in a handful of numpy calls. The arithmetic is the environment's own, operation by
operation, so the edited scenes, the cursor and the observations equal those of the
environments stepped one by one (``tests/test_editing.py``).

One step changes one vehicle per scene, so the validity check is kept up to date instead of
made again: the rules each vehicle breaks, its footprint and which footprints intersect are
kept per vehicle, and only the edited, added or removed vehicle is checked again (against
the others of its scene). The counts equal a full check of the scenes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from scenegym.scene.batch import (
    COLUMNS,
    RoadBatch,
    SceneBatch,
    intersecting_frames,
    overlapping_frames,
)
from scenegym.scene.validity import DEFAULT_RULES, RULES

if TYPE_CHECKING:
    from scenegym.envs.generation import DrivingLayoutEnv

__all__ = ["CursorEdits"]

_FLOATS = ("s", "d", "heading", "speed", "length", "width")
# Operation codes, in the order of generation.EDIT_OPERATIONS.
_LANE, _MOVE, _SPEED, _OFFSET, _HEADING, _KIND, _REMOVE, _ADD = range(8)
_NO_LANE = -(2**31)  # the cursor key of an empty scene: before every lane
_SINGLE_RULES = len(RULES) - 1  # SceneBatch.single_vehicle_checks: all rules but overlap


class CursorEdits:
    """The scenes of ``envs`` (cursor-edit environments configured alike, each after
    ``_begin``) as padded columns, edited together.

    ``apply(actions)`` carries out one ``(operation, level)`` action per environment as
    ``DrivingLayoutEnv._apply`` does; ``batch()`` is the ``SceneBatch`` of the current scenes;
    ``store()`` writes the scenes, cursors and step counts back into the environments.
    With ``kept=True`` (default) the validity check is kept up to date and ``batch()``
    knows its violations; rollouts that do not score the scenes pass ``kept=False``.
    """

    def __init__(
        self, envs: list[DrivingLayoutEnv], roads: RoadBatch | None = None, kept: bool = True
    ) -> None:
        first = envs[0]
        if first.representation != "edit" or first.select != "cursor":
            raise ValueError("CursorEdits needs edit environments with select='cursor'")
        self.envs = envs
        count, width = len(envs), first.max_vehicles
        self.roads = roads if roads is not None else RoadBatch([env.road for env in envs])
        self.road_of = np.arange(count, dtype=np.int64)
        self.count = np.fromiter((env._columns["lane"].size for env in envs), np.int64, count)
        self.current = np.fromiter((env._current for env in envs), np.int64, count)
        self.steps = np.fromiter((env._steps for env in envs), np.int64, count)
        self.budget = first.edit_budget
        self.realign = first.realign
        self.mean_size = first._mean_size
        self.dtypes = {name: first._columns[name].dtype for name in COLUMNS}
        self.columns: dict[str, NDArray] = {}
        flat = {name: np.concatenate([env._columns[name] for env in envs]) for name in COLUMNS}
        slots = np.arange(width)
        valid = slots < self.count[:, None]
        for name in COLUMNS:
            dtype = np.float64 if name in _FLOATS else np.int64
            padded = np.zeros((count, width), dtype=dtype)
            padded[valid] = flat[name]
            self.columns[name] = padded
        self._slots = slots
        self.kept = kept
        # The validity check of every vehicle: the single-vehicle rules it breaks, its
        # footprint (frame and enclosing radius), which other footprints of its scene it
        # intersects, and how many (rules, intersections and counts are zero beyond each
        # scene's vehicles; frames there are stale and never read).
        shape = (count, width) if kept else (0, 0)
        self.broken = np.zeros((*shape, _SINGLE_RULES), dtype=bool)
        self.frames = np.zeros((*shape, 3, 2))
        self.radius = np.zeros(shape)
        self.hits = np.zeros((*shape, shape[1]), dtype=bool)
        self.overlaps = np.zeros(shape, dtype=np.int64)
        self._check(np.arange(count, dtype=np.int64))

    # ------------------------------------------------------------------ state
    def batch(self, rows: NDArray[np.int64] | None = None) -> SceneBatch:
        """The current scenes (of the environments ``rows``, default all), vehicles in each
        environment's order, their violations of ``DEFAULT_RULES`` known."""
        at = slice(None) if rows is None else rows
        count = self.count[at]
        valid = self._slots < count[:, None]
        batch = SceneBatch(
            self.roads,
            self.road_of[at],
            count,
            {name: values[at][valid] for name, values in self.columns.items()},
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

    def _check(self, rows: NDArray[np.int64]) -> None:
        """Check the scenes ``rows`` whole (after they were loaded)."""
        if not self.kept:
            return
        c, width = self.columns, self._slots.size
        count = self.count[rows]
        valid = self._slots < count[:, None]
        batch = SceneBatch(
            self.roads, self.road_of[rows], count, {name: c[name][rows][valid] for name in COLUMNS}
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
            self.roads,
            self.road_of[rows],
            np.ones(rows.size, dtype=np.int64),
            {name: c[name][rows, slots] for name in COLUMNS},
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

    def load(self, rows: NDArray[np.int64]) -> None:
        """Take the scenes, cursors and step counts of the environments ``rows`` again (after
        they were reset)."""
        for e in rows:
            env = self.envs[e]
            n = env._columns["lane"].size
            self.count[e], self.current[e], self.steps[e] = n, env._current, env._steps
            for name, values in self.columns.items():
                values[e, :n] = env._columns[name]
        self._check(np.asarray(rows, dtype=np.int64))

    def store(self) -> None:
        """Write the scenes, cursors and step counts back into the environments."""
        for e, env in enumerate(self.envs):
            n = int(self.count[e])
            env._columns = {
                name: values[e, :n].astype(self.dtypes[name])
                for name, values in self.columns.items()
            }
            env._current = int(self.current[e])
            env._steps = int(self.steps[e])

    # ------------------------------------------------------------------ edits
    def apply(self, actions: NDArray) -> NDArray[np.bool_]:
        """One ``(operation, level)`` action per environment; returns which episodes are
        truncated by the edit budget."""
        actions = np.asarray(actions).reshape(len(self.envs), -1)
        operation = actions[:, 0].astype(np.int64)
        level = actions[:, 1].astype(np.int64)
        c, roads = self.columns, self.roads
        rows = np.arange(len(self.envs))
        n_before = self.count.copy()
        cursor = self.current
        i = np.maximum(cursor, 0)
        here = cursor >= 0
        key_lane = np.where(here, c["lane"][rows, i], _NO_LANE)
        key_s = np.where(here, c["s"][rows, i], -np.inf)
        has = n_before > 0

        def on(code: int) -> NDArray[np.int64]:
            return np.flatnonzero((operation == code) & has)

        e = on(_LANE)
        c["lane"][e, i[e]] = level[e] % roads.lane_count[e]
        e = on(_MOVE)
        c["s"][e, i[e]] = np.clip(c["s"][e, i[e]] + (level[e] - 5) * 2.0, 0.0, roads.length[e])
        e = on(_SPEED)
        c["speed"][e, i[e]] = level[e] / 10.0 * 1.2 * roads.speed_limit[e]
        e = on(_OFFSET)
        c["d"][e, i[e]] = (level[e] - 5) / 5.0
        e = on(_HEADING)
        c["heading"][e, i[e]] = (level[e] - 5) / 5.0 * 0.15
        e = on(_KIND)
        if self.realign:
            size = self.mean_size[c["kind"][e, i[e]]]
            c["d"][e, i[e]] = 0.0
            c["heading"][e, i[e]] = 0.0
        else:
            kind = level[e] % len(self.mean_size)
            c["kind"][e, i[e]] = kind
            size = self.mean_size[kind]
        c["length"][e, i[e]] = size[:, 0]
        c["width"][e, i[e]] = size[:, 1]
        e = on(_REMOVE)
        if e.size:
            source = self._slots + (self._slots >= i[e, None])
            source = np.minimum(source, self._slots.size - 1)
            for values in c.values():
                values[e] = values[e[:, None], source]
            self.count[e] -= 1
            self._drop(e, i[e], source)
        added = np.flatnonzero((operation == _ADD) & (n_before < len(self._slots)))
        if added.size:
            self._add(added, level[added])
        edited = np.flatnonzero((operation < _REMOVE) & has)
        self._recheck(np.concatenate([edited, added]), np.concatenate([i[edited], n_before[added]]))
        self._move_cursor(rows, i, cursor, key_lane, key_s, n_before)
        self.steps += 1
        return self.steps >= self.budget

    def _add(self, e: NDArray[np.int64], level: NDArray[np.int64]) -> None:
        """``DrivingLayoutEnv._add`` in the environments ``e``: a car in the middle of the
        largest free gap of lane ``level mod lanes``, at the scene's mean speed."""
        c, roads = self.columns, self.roads
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
        speeds = np.where(self._slots < n[:, None], c["speed"][e], 0.0)
        total = np.cumsum(speeds, axis=1)[rows, np.maximum(n - 1, 0)]
        with np.errstate(invalid="ignore", divide="ignore"):
            speed = np.where(n > 0, total / n, 0.8 * roads.speed_limit[e])
        length, width = self.mean_size[0]
        for name, value in (
            ("lane", lane),
            ("s", s),
            ("d", 0.0),
            ("heading", 0.0),
            ("speed", speed),
            ("length", length),
            ("width", width),
            ("kind", 0),
        ):
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
        """``DrivingLayoutEnv._edit_at_cursor``'s move: to the first vehicle after the edited
        one's place before the edit (lane, station, then index order), around to the first."""
        c, n, slots = self.columns, self.count, self._slots
        valid = slots < n[:, None]
        # After a removal, compare in the indices of before the edit.
        index = slots + ((n < n_before)[:, None] & (slots >= i[:, None]))
        lane, s = c["lane"], c["s"]
        kl, ks = key_lane[:, None], key_s[:, None]
        after = (lane > kl) | ((lane == kl) & ((s > ks) | ((s == ks) & (index > cursor[:, None]))))
        candidates = valid & after
        candidates[~candidates.any(axis=1)] = valid[~candidates.any(axis=1)]
        first_lane = np.where(candidates, lane, np.iinfo(np.int64).max).min(axis=1)
        candidates &= lane == first_lane[:, None]
        first_s = np.where(candidates, s, np.inf).min(axis=1)
        candidates &= s == first_s[:, None]
        self.current = np.where(n > 0, np.argmax(candidates, axis=1), -1)


def _radius(frames: NDArray[np.float64]) -> NDArray[np.float64]:
    """The radius of the circle around each footprint (``(n, 3, 2)`` frames), as
    ``SceneBatch.overlapping_pairs`` computes it."""
    return np.sqrt(np.sum(frames[:, 1] ** 2 + frames[:, 2] ** 2, axis=1))
