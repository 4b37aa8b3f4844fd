"""Cursor edits of many scenes at once, as array operations over padded vehicle columns.

``DrivingLayoutEnv`` with ``select="cursor"`` edits one scene per step in Python. A vector
environment rolling out hundreds of episodes in lockstep (sampling from a trained policy)
would pay that Python once per environment and step; ``CursorEdits`` holds the scenes of all
of them as ``(envs, max_vehicles)`` columns and applies one action per environment to all of
them in a handful of numpy calls. The arithmetic is the environment's own, operation by
operation, so the edited scenes, the cursor and the observations equal those of the
environments stepped one by one (``tests/test_editing.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from .batch import COLUMNS, RoadBatch, SceneBatch

if TYPE_CHECKING:
    from .generation import DrivingLayoutEnv

__all__ = ["CursorEdits"]

_FLOATS = ("s", "d", "heading", "speed", "length", "width")
# Operation codes, in the order of generation.EDIT_OPERATIONS.
_LANE, _MOVE, _SPEED, _OFFSET, _HEADING, _KIND, _REMOVE, _ADD = range(8)
_NO_LANE = -(2**31)  # the cursor key of an empty scene: before every lane


class CursorEdits:
    """The scenes of ``envs`` (cursor-edit environments configured alike, each after
    ``_begin``) as padded columns, edited together.

    ``apply(actions)`` carries out one ``(operation, level)`` action per environment as
    ``DrivingLayoutEnv._apply`` does; ``batch()`` is the ``SceneBatch`` of the current scenes;
    ``store()`` writes the scenes, cursors and step counts back into the environments.
    """

    def __init__(self, envs: list[DrivingLayoutEnv], roads: RoadBatch | None = None) -> None:
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

    # ------------------------------------------------------------------ state
    def batch(self) -> SceneBatch:
        """The current scenes, vehicles in each environment's order."""
        valid = self._slots < self.count[:, None]
        return SceneBatch(
            self.roads,
            self.road_of,
            self.count,
            {name: values[valid] for name, values in self.columns.items()},
        )

    def load(self, rows: NDArray[np.int64]) -> None:
        """Take the scenes, cursors and step counts of the environments ``rows`` again (after
        they were reset)."""
        for e in rows:
            env = self.envs[e]
            n = env._columns["lane"].size
            self.count[e], self.current[e], self.steps[e] = n, env._current, env._steps
            for name, values in self.columns.items():
                values[e, :n] = env._columns[name]

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
                values[e] = np.take_along_axis(values[e], source, axis=1)
            self.count[e] -= 1
        e = np.flatnonzero((operation == _ADD) & (n_before < len(self._slots)))
        if e.size:
            self._add(e, level[e])
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
