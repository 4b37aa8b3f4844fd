"""The lane grid: a scene as a fixed-size float32 tensor of channels x lanes x longitudinal cells.

Networks read scenes through it and one-shot generators write them with it: ``LaneGrid.encode``
turns a scene into a tensor, ``LaneGrid.decode`` turns a tensor back into a scene on a given road.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scenegym.config import check_config, option
from scenegym.scene.batch import SceneBatch
from scenegym.scene.road import Road
from scenegym.scene.scene import Scene
from scenegym.scene.vehicles import Vehicles

__all__ = ["CHANNELS", "LaneGrid"]

CHANNELS: tuple[str, ...] = (
    "lane",
    "occupied",
    "s_offset",
    "d",
    "heading",
    "speed",
    "length",
    "width",
    "car",
    "truck",
    "motorcycle",
    "bus",
)
"""Channels of a lane grid, in order. Each cell is one lane (row) by ``cell_length`` m of
station (column):

- ``lane``: 1 where the lane exists at the cell centre (ramps and auxiliary lanes only over
  their station interval), else 0;
- ``occupied``: 1 where a vehicle centre lies in the cell;
- ``s_offset``: where that centre lies inside the cell, in ``[0, 1)`` (0: the cell start);
- ``d``: offset from the lane centre (m) / 2 m;
- ``heading``: heading relative to the lane (rad) / 0.6 rad;
- ``speed``: speed (m/s) / 40 m/s;
- ``length``: length (m) / 20 m;
- ``width``: width (m) / 3 m;
- ``car``, ``truck``, ``motorcycle``, ``bus``: one-hot vehicle kind (the order of ``KINDS``).

Unoccupied cells hold 0 in every channel but ``lane``.
"""

_OCCUPIED, _OFFSET, _FIRST_KIND = 1, 2, 8
_SCALES = np.array([2.0, 0.6, 40.0, 20.0, 3.0])
"""Normalisation of the ``d``, ``heading``, ``speed``, ``length`` and ``width`` channels."""
_LOW = np.array([-20.0, -np.pi, 0.0, 0.3, 0.3])
_HIGH = np.array([20.0, np.pi, 100.0, 50.0, 10.0])
"""Physical bounds (m, rad, m/s, m, m) that decoded values are clipped to: wide enough that
validity still reports implausible values, tight enough that every decoded scene is finite
and drawable."""
_OFFSET_MAX = float(np.nextafter(np.float32(1.0), np.float32(0.0)))
"""Largest float32 below 1: ``s_offset`` stays in ``[0, 1)`` after rounding to float32."""


@dataclass(frozen=True, kw_only=True)
class LaneGrid:
    """The lane-grid encoding of scenes: ``len(CHANNELS)`` x ``lanes`` x ``cells`` float32.

    Row ``i`` is lane ``i`` of the road (lane 0 leftmost); column ``j`` covers stations
    ``[j * cell_length, (j + 1) * cell_length)`` m from the road start, so the grid covers
    ``length = cells * cell_length`` m. See ``CHANNELS`` for what each channel holds. The
    scene's ``context`` is not encoded, and ``decode`` takes the road as an argument: the grid
    holds the vehicles and where lanes exist, not the road geometry.

    **What survives a round trip.** For a scene whose vehicles all lie in the grid and no two
    of which share a cell, ``decode(encode(scene), scene.road)`` keeps every vehicle's lane and
    kind exactly, its station within ``cell_length * 2**-23`` m (5e-7 m with 4 m cells: the
    float32 rounding of ``s_offset``), and ``d``, ``heading``, ``speed``, ``length`` and
    ``width`` within float32 precision of their normalised value (relative error below
    2**-23). The order may change: ``decode`` orders vehicles by lane, then station.

    **Vehicles the grid cannot hold.** Vehicles in a lane outside rows ``0 .. lanes - 1`` (a
    road with more lanes than the grid has rows shows only its first ``lanes`` lanes) or with
    a station outside ``[0, length)`` make ``encode`` raise ``ValueError``, or, with
    ``drop=True``, are left out. A cell holds one vehicle: when several centres fall into one
    cell, the later vehicle in ``scene.vehicles`` order wins and the others are lost.
    ``collisions(scene)`` counts those, and ``return_dropped=True`` reports every vehicle left
    out.

    Validity does not rule out shared cells: it forbids overlapping footprints only. Two
    vehicles one behind the other in a lane, both aligned with it at the same offset on a
    straight stretch, have centres at least ``(l1 + l2) / 2`` apart, so with 4 m cells they
    can share a cell only if ``l1 + l2 < 8`` m: a motorcycle (1.5-3 m long when valid) and a
    car up to 6.5 m, or two short cars (valid cars are 2.5-7 m); two cars of 4 m or longer
    cannot. Headings (up to 0.6 rad), different offsets and the outside of a curve (where a
    metre of station is more than a metre of lane) let centres come closer still. Vehicles
    side by side in one lane share a cell at any length: a centre may lie up to half the lane
    width plus 0.05 m from the lane centre, so two cars 1.8 m wide at d = +-0.95 m fit in a
    3.5 m lane without overlapping. Random ``HighwaySceneSpace`` scenes that are valid rarely
    hold such pairs: none of the 362 valid ones among 2,000 default samples (seed 0).

    Args:
        lanes: rows of the grid, lane 0 leftmost.
        cells: longitudinal cells per lane.
        cell_length: station length of a cell (m).

    >>> from scenegym.scene import Road, Scene, Vehicles
    >>> grid = LaneGrid(lanes=3, cells=50)
    >>> road = Road.straight(length=200.0, lanes=3)
    >>> scene = Scene(road, Vehicles.from_columns(lane=[2, 0], s=[57.5, 10.0], speed=[25.0, 20.0]))
    >>> tensor = grid.encode(scene)
    >>> tensor.shape, tensor.dtype.name
    ((12, 3, 50), 'float32')
    >>> decoded = grid.decode(tensor, road)
    >>> decoded.vehicles.lane.tolist(), decoded.vehicles.s.tolist()
    ([0, 2], [10.0, 57.5])
    """

    lanes: int = field(default=6, metadata=option("rows of the grid (lanes), lane 0 leftmost", 1))
    cells: int = field(default=96, metadata=option("longitudinal cells per lane", 1))
    cell_length: float = field(
        default=4.0, metadata=option("station length of a cell (m)", 0.1, 1000.0)
    )

    def __post_init__(self) -> None:
        check_config(self)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(len(CHANNELS), lanes, cells)``: the shape of one encoded scene."""
        return (len(CHANNELS), self.lanes, self.cells)

    @property
    def length(self) -> float:
        """Station length the grid covers from the road start (m)."""
        return self.cells * self.cell_length

    def holds(self, road: Road) -> bool:
        """Whether every lane of ``road`` has a row and its whole length lies in the grid."""
        return road.lane_count <= self.lanes and road.length <= self.length

    @cached_property
    def _centres(self) -> NDArray[np.float64]:
        """Station of every cell centre (m)."""
        return (np.arange(self.cells) + 0.5) * self.cell_length

    # ------------------------------------------------------------------ encode
    def encode(
        self, scene: Scene, *, drop: bool = False, return_dropped: bool = False
    ) -> NDArray[np.float32] | tuple[NDArray[np.float32], int]:
        """The lane grid of ``scene``, float32 of shape ``shape``.

        Args:
            scene: the scene to encode.
            drop: leave out vehicles outside the grid instead of raising ``ValueError``.
            return_dropped: also return how many vehicles are not in the grid: those outside
                it (with ``drop=True``) and those lost to a shared cell.

        Returns:
            The grid, or ``(grid, dropped)`` with ``return_dropped=True``.
        """
        if not isinstance(scene, Scene):
            raise TypeError(f"scene must be a Scene, got {type(scene).__name__}")
        grids, outside, lost = self._encode(SceneBatch.of([scene]), drop=drop, where="scene")
        if return_dropped:
            return grids[0], int(outside[0] + lost[0])
        return grids[0]

    def encode_many(
        self, scenes: Iterable[Scene], *, drop: bool = False, return_dropped: bool = False
    ) -> NDArray[np.float32] | tuple[NDArray[np.float32], NDArray[np.int64]]:
        """The lane grids of ``scenes``, float32 of shape ``(n, *shape)``, in one pass.

        Same as stacking ``encode`` of each scene; with ``return_dropped=True`` also returns
        the ``(n,)`` count of vehicles left out of each grid.
        """
        scenes = list(scenes)
        for i, scene in enumerate(scenes):
            if not isinstance(scene, Scene):
                raise TypeError(f"scenes[{i}] must be a Scene, got {type(scene).__name__}")
        grids, outside, lost = self.encode_batch(SceneBatch.of(scenes), drop=drop)
        if return_dropped:
            return grids, outside + lost
        return grids

    def collisions(self, scene: Scene) -> int:
        """How many vehicles of ``scene`` a shared cell hides: in each cell holding several
        vehicle centres, all but the last in ``scene.vehicles`` order. Vehicles outside the
        grid are not counted."""
        if not isinstance(scene, Scene):
            raise TypeError(f"scene must be a Scene, got {type(scene).__name__}")
        return int(self._encode(SceneBatch.of([scene]), drop=True, where="scene")[2][0])

    def encode_batch(
        self, batch: SceneBatch, *, drop: bool = False
    ) -> tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.int64]]:
        """Grids ``(scenes, *shape)`` of a ``SceneBatch``, the vehicles outside each grid and
        the vehicles lost to shared cells (both ``(scenes,)``)."""
        return self._encode(batch, drop=drop, where="scenes[{}]")

    def encode_windows(
        self, batch: SceneBatch, first_cell: NDArray[np.int64], width: int
    ) -> NDArray[np.float32]:
        """``(scenes, channels, lanes, width)`` windows of the grids of a ``SceneBatch``: for
        scene ``i`` the cells ``first_cell[i] ... first_cell[i] + width - 1``, cells beyond the
        grid all 0. Equal to slicing ``encode_batch(batch, drop=True)``, without building the
        whole grids."""
        first_cell = np.asarray(first_cell, dtype=np.int64)
        if first_cell.shape != (batch.count,):
            raise ValueError(
                f"first_cell must hold one cell per scene ({batch.count}), got shape "
                f"{first_cell.shape}"
            )
        return self._encode(batch, drop=True, where="scenes[{}]", window=(first_cell, width))[0]

    def _encode(
        self,
        batch: SceneBatch,
        *,
        drop: bool,
        where: str,
        window: tuple[NDArray[np.int64], int] | None = None,
    ) -> tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.int64]]:
        """Grids ``(n, *shape)``, vehicles outside each grid and vehicles lost to shared cells
        (both ``(n,)``). ``where`` names a scene in errors (``{}`` takes its index). With
        ``window`` ``(first_cell, width)`` only those cells of each grid (``encode_windows``;
        the counts are then of the windows)."""
        n, rows, cells = batch.count, self.lanes, self.cells
        channels = len(CHANNELS)
        columns = cells if window is None else window[1]
        plane = rows * columns
        grids = np.zeros((n, channels, rows, columns), dtype=np.float32)
        if n == 0:
            return grids, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        self._lane_channel(grids, batch, window)

        lane, s, kind, scene_of = batch.lane, batch.s, batch.kind, batch.scene_of
        physical = np.stack([batch.d, batch.heading, batch.speed, batch.length, batch.width])

        lane_out = (lane < 0) | (lane >= rows)
        station_out = (s < 0.0) | (s >= self.length)
        outside_mask = lane_out | station_out
        outside = np.bincount(scene_of[outside_mask], minlength=n)
        if outside_mask.any():
            if not drop:
                first = int(scene_of[np.argmax(outside_mask)])
                mine = scene_of == first
                raise ValueError(
                    self._outside_message(
                        where.format(first),
                        int(outside[first]),
                        int(np.count_nonzero(lane_out & mine)),
                        int(np.count_nonzero(station_out & mine)),
                    )
                )
            inside = ~outside_mask
            lane, s, kind = lane[inside], s[inside], kind[inside]
            physical, scene_of = physical[:, inside], scene_of[inside]

        position = s / self.cell_length
        # A station just below ``length`` can round to ``cells`` when divided.
        cell = np.minimum(position.astype(np.intp), cells - 1)  # s >= 0: truncation is floor
        local = cell
        if window is not None:
            # Vehicles of cells outside the windows go; each cell keeps all of its vehicles,
            # so the one shown in it is the same as in the whole grid.
            local = cell - window[0][scene_of]
            shown_here = (local >= 0) & (local < columns)
            lane, kind, scene_of = lane[shown_here], kind[shown_here], scene_of[shown_here]
            position, cell, local = position[shown_here], cell[shown_here], local[shown_here]
            physical = physical[:, shown_here]
        key = (scene_of * rows + lane) * cells + cell
        # One vehicle per cell: the last in vehicle order. A stable sort keeps that order
        # within equal keys, so the last of each run of equal keys wins.
        order = np.argsort(key, kind="stable")
        ranked = key[order]
        last = np.ones(ranked.size, dtype=bool)
        last[:-1] = ranked[1:] != ranked[:-1]
        lost = np.bincount(scene_of[order[~last]], minlength=n)
        win = order[last]

        offset = (position[win] - cell[win]).astype(np.float32)
        base = scene_of[win] * (channels * plane) + lane[win] * columns + local[win]
        flat = grids.reshape(-1)
        flat[base + _OCCUPIED * plane] = 1.0
        flat[base + _OFFSET * plane] = np.minimum(offset, _OFFSET_MAX)
        flat[base + np.arange(3, 8)[:, None] * plane] = physical[:, win] / _SCALES[:, None]
        flat[base + (_FIRST_KIND + kind[win].astype(np.intp)) * plane] = 1.0
        return grids, outside, lost

    def _lane_channel(
        self,
        grids: NDArray[np.float32],
        batch: SceneBatch,
        window: tuple[NDArray[np.int64], int] | None,
    ) -> None:
        """Fill channel ``lane``: 1 in the cells where each scene's road has that lane."""
        rows, cells, columns = self.lanes, self.cells, grids.shape[-1]
        roads = batch.roads
        shown = min(rows, roads.lane_start.shape[1])
        starts = roads.lane_start[batch.road_of, :shown, None]
        ends = roads.lane_end[batch.road_of, :shown, None]
        if window is None:
            grids[:, 0, :shown] = (self._centres >= starts) & (self._centres <= ends)
        else:
            index = window[0][:, None] + np.arange(columns)  # (n, width) cells of the grid
            centres = self._centres[np.clip(index, 0, cells - 1)][:, None, :]
            inside = ((index >= 0) & (index < cells))[:, None, :]
            grids[:, 0, :shown] = (centres >= starts) & (centres <= ends) & inside

    def _outside_message(self, where: str, total: int, lane_out: int, station_out: int) -> str:
        reasons = []
        if lane_out:
            reasons.append(f"{lane_out} in a lane outside the grid's rows 0..{self.lanes - 1}")
        if station_out:
            reasons.append(
                f"{station_out} with a station outside the grid's [0, {self.length:g}) m"
            )
        return (
            f"{where} has {total} vehicle(s) the lane grid cannot hold ({'; '.join(reasons)}); "
            f"pass drop=True to leave them out, or use a LaneGrid with more lanes or cells"
        )

    # ------------------------------------------------------------------ decode
    def decode(
        self, grid: ArrayLike, road: Road, *, return_dropped: bool = False
    ) -> Scene | tuple[Scene, int]:
        """The scene a lane grid describes, on ``road``.

        Every cell with ``occupied > 0.5`` becomes a vehicle: lane = row, station
        ``(cell + s_offset) * cell_length`` with ``s_offset`` clipped to ``[0, 1)``, the other
        channels de-normalised and clipped to physical bounds (``d`` within +-20 m, ``heading``
        within +-pi rad, ``speed`` in [0, 100] m/s, ``length`` in [0.3, 50] m, ``width`` in
        [0.3, 10] m), kind the largest one-hot channel (the first on a tie). Vehicles come
        ordered by lane, then station. The ``lane`` channel is not read: vehicles where the
        road's lane does not exist are kept, for the validity rules to report. Vehicles in rows
        at or beyond ``road.lane_count`` are dropped. The result always constructs; whether it
        is valid is for ``validate`` to say.

        Args:
            grid: a float array of shape ``shape`` (any float dtype), finite.
            road: the road the vehicles are placed on; used unchanged.
            return_dropped: also return how many occupied cells lie in rows the road lacks.

        Returns:
            The scene, or ``(scene, dropped)`` with ``return_dropped=True``.
        """
        grid = self._check_grid(grid)
        if not isinstance(road, Road):
            raise TypeError(f"road must be a Road, got {type(road).__name__}")
        lane, cell = np.nonzero(grid[_OCCUPIED] > 0.5)  # row-major: by lane, then station
        on_road = lane < road.lane_count
        dropped = int(lane.size - np.count_nonzero(on_road))
        if dropped:
            lane, cell = lane[on_road], cell[on_road]
        values = grid[:, lane, cell].astype(np.float64)  # (channels, vehicles)
        offset = np.clip(values[_OFFSET], 0.0, _OFFSET_MAX)
        physical = np.clip(values[3:8] * _SCALES[:, None], _LOW[:, None], _HIGH[:, None])
        vehicles = Vehicles(
            lane=lane,
            s=(cell + offset) * self.cell_length,
            d=physical[0],
            heading=physical[1],
            speed=physical[2],
            length=physical[3],
            width=physical[4],
            kind=np.argmax(values[_FIRST_KIND:], axis=0),
        )
        scene = Scene(road, vehicles)
        return (scene, dropped) if return_dropped else scene

    def _check_grid(self, grid: ArrayLike) -> NDArray[np.floating]:
        array = np.asarray(grid)
        if array.shape != self.shape:
            hint = ""
            if array.ndim == 4 and array.shape[1:] == self.shape:
                hint = "; this is a batch of grids: decode each grid[i]"
            raise ValueError(
                f"grid must have shape {self.shape} (channels, lanes, cells) for "
                f"LaneGrid(lanes={self.lanes}, cells={self.cells}), got {array.shape}{hint}"
            )
        if not np.issubdtype(array.dtype, np.floating):
            raise TypeError(f"grid must be a float array, got dtype {array.dtype}")
        if not np.all(np.isfinite(array)):
            bad = np.argwhere(~np.isfinite(array))[0]
            raise ValueError(
                f"grid must be finite, got {array[tuple(bad)]} in channel "
                f"{CHANNELS[bad[0]]!r} at lane {bad[1]}, cell {bad[2]}"
            )
        return array
