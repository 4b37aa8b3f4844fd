"""The ``construct`` representation: the scene is built lane by lane from the road start, one
placed vehicle per step, with action masks that keep every placement valid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from scenegym.envs.representation import ColumnRepresentation
from scenegym.scene.batch import SceneBatch
from scenegym.scene.scene import Scene
from scenegym.scene.vehicles import KINDS

__all__ = ["CONSTRUCT_GAPS", "CONSTRUCT_SPEEDS", "ConstructRepresentation"]

CONSTRUCT_GAPS = (2.0, 4.0, 7.0, 10.0, 15.0, 25.0, 40.0, 70.0)
"""Bumper-to-bumper gaps (m) a ``construct`` action can leave behind the previous vehicle."""
CONSTRUCT_SPEEDS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.15)
"""Speeds a ``construct`` action can give, as shares of the speed limit."""
PLACEMENTS = len(CONSTRUCT_GAPS) * len(CONSTRUCT_SPEEDS) * len(KINDS)
"""Actions ``0 .. PLACEMENTS - 1`` place a vehicle; then "next lane", then "stop"."""
_NEXT_LANE, _STOP = PLACEMENTS, PLACEMENTS + 1


class ConstructRepresentation(ColumnRepresentation):
    """``construct``: ``Discrete(226)``; each step places the next vehicle behind a cursor
    (a gap, a speed and a kind), moves the cursor to the next lane, or stops.

    The cursor of each row is its lane (``lane``) and the front bumper of the last vehicle
    placed there (``front``, m); the observation adds ``"cursor"``: lane / (lanes - 1) and
    front / grid length. ``action_masks`` forbids placements that leave the lane's extent or
    exceed ``max_vehicles`` and "next lane" on the last lane. ``DrivingLayoutEnv``'s
    docstring is the manual.

    Args:
        grid, max_vehicles, edit_budget, mean_size, rows: as ``Representation``.
    """

    name = "construct"
    masked = True

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.action_space = spaces.Discrete(PLACEMENTS + 2)
        self.parts = {
            "grid": spaces.Box(-5.0, 5.0, self.grid.shape, dtype=np.float32),
            "cursor": spaces.Box(0.0, 1.0, (2,), dtype=np.float32),
        }
        self.lane = np.zeros(self.rows, dtype=np.int64)
        self.front = np.zeros(self.rows)

    def load(self, rows: NDArray[np.int64], scenes: Sequence[Scene]) -> None:
        super().load(rows, scenes)
        for row in rows.tolist():
            self.lane[row] = 0
            self.front[row] = float(self.roads[row].lane_starts[0])

    def apply(
        self, actions: Any, rows: NDArray[np.int64] | None = None
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
        """One action per row: terminated on "stop" or when no placement or lane change is
        left; truncated after ``edit_budget`` steps."""
        rows = self.every_row if rows is None else rows
        actions = np.asarray(actions).reshape(rows.size, -1)[:, 0]
        flags = np.zeros((3, rows.size), dtype=bool)
        for k, (row, action) in enumerate(zip(rows.tolist(), actions.tolist())):
            flags[0, k], flags[1, k] = self._construct(row, int(action))
        return flags[0], flags[1], flags[2]

    def _construct(self, row: int, action: int) -> tuple[bool, bool]:
        if not 0 <= action < PLACEMENTS + 2:
            raise ValueError(f"action must be in 0..{PLACEMENTS + 1}, got {action}")
        done = action == _STOP
        road = self.roads[row]
        if not self.action_masks(row)[action]:
            pass  # a masked action changes nothing (MaskablePPO never picks one)
        elif action == _NEXT_LANE:
            self.lane[row] += 1
            self.front[row] = float(road.lane_starts[self.lane[row]])
        elif action < PLACEMENTS:
            s, speed, kind, length, width = self._placement(row, action)
            self.append(
                row,
                lane=int(self.lane[row]),
                s=s,
                d=0.0,
                heading=0.0,
                speed=speed,
                length=length,
                width=width,
                kind=kind,
            )
            self.front[row] = s + length / 2.0
        self.steps[row] += 1
        done = done or not self.action_masks(row)[:_STOP].any()
        return done, not done and self.steps[row] >= self.edit_budget

    def _placement(self, row: int, action: int) -> tuple[float, float, int, float, float]:
        """``(s, speed, kind, length, width)`` of the vehicle a placement action puts down."""
        gap_i, rest = divmod(action, len(CONSTRUCT_SPEEDS) * len(KINDS))
        speed_i, kind = divmod(rest, len(KINDS))
        length, width = self.mean_size[kind]
        s = float(self.front[row]) + CONSTRUCT_GAPS[gap_i] + length / 2.0
        speed = CONSTRUCT_SPEEDS[speed_i] * self.roads[row].speed_limit
        return s, speed, kind, float(length), float(width)

    def action_masks(self, row: int) -> NDArray[np.bool_]:
        """A placement is allowed while the vehicle stays inside its lane's extent and fewer
        than ``max_vehicles`` are placed; "next lane" while a lane is left; "stop" always."""
        mask = np.zeros(PLACEMENTS + 2, dtype=bool)
        road = self.roads[row]
        lane, front = int(self.lane[row]), float(self.front[row])
        if self.columns[row]["lane"].size < self.max_vehicles and lane < road.lane_count:
            gaps = np.repeat(np.array(CONSTRUCT_GAPS), len(CONSTRUCT_SPEEDS) * len(KINDS))
            lengths = np.tile(self.mean_size[:, 0], len(CONSTRUCT_GAPS) * len(CONSTRUCT_SPEEDS))
            rear = front + gaps
            mask[:PLACEMENTS] = (rear >= road.lane_starts[lane]) & (
                rear + lengths <= road.lane_ends[lane]
            )
        mask[_NEXT_LANE] = lane < road.lane_count - 1
        mask[_STOP] = True
        return mask

    def observe(
        self, batch: SceneBatch, rows: NDArray[np.int64] | None = None
    ) -> dict[str, NDArray]:
        """The whole grid and ``"cursor"``: lane / (lanes - 1), front / grid length (at most
        1)."""
        rows = self.every_row if rows is None else rows
        observation = super().observe(batch, rows)
        cursor = np.column_stack([self.lane[rows], self.front[rows]]).astype(np.float64)
        cursor[:, 0] /= max(self.grid.lanes - 1, 1)
        cursor[:, 1] = np.minimum(cursor[:, 1] / self.grid.length, 1.0)
        observation["cursor"] = cursor.astype(np.float32)
        return observation
