"""The ``oneshot`` representation: one ``Box`` action is the whole encoded scene."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from scenegym.envs.representation import OBSERVATION_BOUND, ColumnRepresentation

__all__ = ["OneshotRepresentation"]


class OneshotRepresentation(ColumnRepresentation):
    """``oneshot``: ``Box(-1, 1, (11, lanes, cells))``, the whole scene in one action, one
    plane per grid channel but ``lane`` (the road gives it); the episode ends after it and
    its reward is the scene's score. ``DrivingLayoutEnv``'s docstring is the manual.

    Args:
        grid, max_vehicles, edit_budget, mean_size, rows: as ``Representation``.
    """

    name = "oneshot"

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        shape = (self.grid.shape[0] - 1, *self.grid.shape[1:])
        self.action_space = spaces.Box(-1.0, 1.0, shape, dtype=np.float32)
        self.parts = {
            "grid": spaces.Box(
                -OBSERVATION_BOUND, OBSERVATION_BOUND, self.grid.shape, dtype=np.float32
            )
        }

    def apply(
        self, actions: Any, rows: NDArray[np.int64] | None = None
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
        """Each action is the whole scene of its row: each channel in [-1, 1] maps onto the
        grid, which is decoded on the row's road. Terminated, with the score as reward."""
        rows = self.every_row if rows is None else rows
        actions = np.asarray(actions, dtype=np.float64).reshape(rows.size, *self.action_space.shape)
        for row, action in zip(rows.tolist(), actions):
            self.set_scene(row, self.grid.decode(self.grid_of(action), self.roads[row]))
        self.steps[rows] += 1
        ones = np.ones(rows.size, dtype=bool)
        return ones, ~ones, ones

    def grid_of(self, action: NDArray) -> NDArray[np.float64]:
        """The lane grid one action stands for: occupied where its first plane is above 0;
        place in the cell, offset (+-1 m), heading (+-0.15 rad), speed (0-40 m/s), length
        (2-18 m), width (1.5-2.7 m) and kind (the largest of four planes)."""
        a = np.clip(action, -1.0, 1.0)
        grid = np.zeros(self.grid.shape)
        grid[1] = a[0] + 0.5  # occupied where a > 0
        grid[2] = (a[1] + 1.0) / 2.0  # place in the cell
        grid[3] = a[2] * 0.5  # offset: +-1 m
        grid[4] = a[3] * 0.25  # heading: +-0.15 rad
        grid[5] = (a[4] + 1.0) / 2.0  # speed: 0..40 m/s
        grid[6] = 0.1 + (a[5] + 1.0) / 2.0 * 0.8  # length: 2..18 m
        grid[7] = 0.5 + (a[6] + 1.0) / 2.0 * 0.4  # width: 1.5..2.7 m
        grid[8:] = a[7:]  # kind: the largest
        return grid
