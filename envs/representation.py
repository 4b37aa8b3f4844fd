"""How actions change scenes (after PCGRL): what every representation does, the scenes of
its episodes as rows, and the spaces a policy sees of it.

A ``DrivingLayoutEnv`` holds a representation and delegates to it everything that differs
between ``edit``, ``construct``, ``oneshot`` and ``latent`` (one module each). A
representation holds the scenes of ``rows`` episodes and changes them with array operations
over rows: a single environment is a batch of one, and the environments of a
``DrivingLayoutVecEnv`` share one representation of ``num_envs`` rows, each reading and
stepping its own row, so that the arithmetic of a step exists once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from scenegym.scene.batch import COLUMNS, RoadBatch, SceneBatch, road_batch
from scenegym.scene.encoding import LaneGrid
from scenegym.scene.road import Road
from scenegym.scene.scene import Scene
from scenegym.scene.vehicles import Vehicles

__all__ = ["REPRESENTATIONS", "ColumnRepresentation", "PolicySpaces", "Representation"]

REPRESENTATIONS: tuple[str, ...] = ("edit", "construct", "oneshot", "latent")
"""How actions change a scene: one attribute per step, one placed vehicle per step, or the
whole scene (or its latent code) in one action."""
OBSERVATION_BOUND = 5.0
"""Observation values are clipped to +-5 (they are scaled to about [0, 1] first)."""
VEHICLE_DTYPES = {name: getattr(Vehicles.empty(), name).dtype for name in COLUMNS}
"""The dtype of each ``Vehicles`` column (lane and kind small integers, the rest float64)."""


class Representation:
    """The scenes of ``rows`` episodes and how actions change them.

    Subclasses (``EditRepresentation``, ``ConstructRepresentation``,
    ``OneshotRepresentation``, ``LatentRepresentation``) set ``action_space``, ``parts`` (the
    named observation spaces they fill) and ``table`` (None, or what each index of a
    ``Discrete`` action stands for, ``(actions, parts)``), and implement ``load``,
    ``apply``, ``batch``, ``counts`` and ``scene`` (and ``action_masks`` where
    ``masked``); ``observe`` and ``keep_check`` have defaults. ``rows`` arguments are
    ``(k,)`` integer arrays of row indices; None means every row.

    Args:
        grid: the ``LaneGrid`` observations are encoded with.
        max_vehicles: the most vehicles a scene holds.
        edit_budget: steps after which an episode is truncated.
        mean_size: ``(kinds, 2)`` mean length and width (m) of each vehicle kind.
        rows: how many episodes (scenes) it holds.
    """

    name: ClassVar[str] = ""
    keeps_vehicles: ClassVar[bool] = False
    """Does an episode start from the vehicles drawn with its road (else from the road)?"""
    masked: ClassVar[bool] = False
    """Does ``action_masks`` forbid some actions (for MaskablePPO)?"""

    def __init__(
        self,
        *,
        grid: LaneGrid,
        max_vehicles: int,
        edit_budget: int,
        mean_size: NDArray[np.float64],
        rows: int = 1,
    ) -> None:
        self.grid = grid
        self.max_vehicles = max_vehicles
        self.edit_budget = edit_budget
        self.mean_size = mean_size
        self.rows = rows
        self.every_row = np.arange(rows, dtype=np.int64)
        self.roads: list[Road | None] = [None] * rows
        self.road_batch: RoadBatch | None = None  # row i drives on road i
        self.steps = np.zeros(rows, dtype=np.int64)
        self.action_space: spaces.Space = spaces.Discrete(1)
        self.parts: dict[str, spaces.Box] = {}
        self.table: NDArray[np.int64] | None = None

    def settings(self) -> dict[str, Any]:
        """The keyword arguments this representation was made with, but ``rows``."""
        return {
            "grid": self.grid,
            "max_vehicles": self.max_vehicles,
            "edit_budget": self.edit_budget,
            "mean_size": self.mean_size,
        }

    def widened(self, rows: int) -> Representation:
        """A representation configured as this one, of ``rows`` rows (none started)."""
        return type(self)(**self.settings(), rows=rows)

    # ------------------------------------------------------------------ episodes
    def restart(
        self,
        rows: NDArray[np.int64],
        scenes: Sequence[Scene],
        rngs: Sequence[np.random.Generator] | None = None,
    ) -> None:
        """Start the episodes of ``rows`` from ``scenes``; a representation whose edits draw
        at random draws what the episode needs from ``rngs`` (one per row)."""
        rows = np.asarray(rows, dtype=np.int64)
        for scene in scenes:
            if len(scene.vehicles) > self.max_vehicles:
                raise ValueError(
                    f"the scene has {len(scene.vehicles)} vehicles; max_vehicles is "
                    f"{self.max_vehicles}"
                )
        for row, scene in zip(rows.tolist(), scenes):
            self.roads[row] = scene.road
        self._update_road_batch(rows)
        self.steps[rows] = 0
        self.load(rows, scenes)
        if rngs is not None:
            self.draw(rows, rngs)

    def draw(self, rows: NDArray[np.int64], rngs: Sequence[np.random.Generator]) -> None:
        """Draw the random numbers the episodes of ``rows`` use (none by default)."""

    def _update_road_batch(self, rows: NDArray[np.int64]) -> None:
        """Bring the road tables up to date after the roads of ``rows`` changed: made again
        when every row changed, else rewritten in place where the new roads fit."""
        if self.rows == 1:
            self.road_batch = road_batch(self.roads[0])  # cached: never rewritten in place
            return
        changed = [self.roads[row] for row in rows.tolist()]
        if (
            self.road_batch is None
            or rows.size == self.rows
            or not all(self.road_batch.fits(road) for road in changed)
        ):
            # Rows never started drive on a started row's road until they start.
            stand_in = changed[0]
            self.roads = [stand_in if road is None else road for road in self.roads]
            self.road_batch = RoadBatch(self.roads)
        else:
            self.road_batch.replace(rows.tolist(), changed)

    def load(self, rows: NDArray[np.int64], scenes: Sequence[Scene]) -> None:
        """Take the vehicles of ``scenes`` into ``rows`` (roads and steps are set)."""
        raise NotImplementedError

    def apply(
        self, actions: Any, rows: NDArray[np.int64] | None = None
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
        """Carry out one action per row (``actions`` stacked as the representation takes
        them, ``PolicySpaces.actions``); returns ``(terminated, truncated, terminal)`` of each
        row, ``terminal`` where the reward is the score itself, not its change."""
        raise NotImplementedError

    def batch(self, rows: NDArray[np.int64] | None = None) -> SceneBatch:
        """The current scenes of ``rows`` as a ``SceneBatch`` (scene ``j`` is row ``rows[j]``)."""
        raise NotImplementedError

    def counts(self, rows: NDArray[np.int64] | None = None) -> NDArray[np.int64]:
        """The vehicle count of each scene of ``rows``."""
        raise NotImplementedError

    def scene(self, row: int) -> Scene:
        """The current scene of ``row``."""
        raise NotImplementedError

    def observe(
        self, batch: SceneBatch, rows: NDArray[np.int64] | None = None
    ) -> dict[str, NDArray]:
        """The observation ``parts`` of the scenes of ``rows`` (``batch`` holds them), stacked:
        by default ``"grid"``, the whole lane grid of each."""
        grid = self.grid.encode_batch(batch, drop=True)[0]
        return {"grid": np.clip(grid, -OBSERVATION_BOUND, OBSERVATION_BOUND, out=grid)}

    def action_masks(self, row: int) -> NDArray[np.bool_]:
        """Which actions ``row`` allows now, where the representation is ``masked``."""
        raise NotImplementedError(f"the {self.name} representation has no action masks")

    def keep_check(self, kept: bool) -> None:
        """Keep the validity check of the scenes up to date from step to step (or stop doing
        so, where nothing is scored); representations that do not keep one ignore it."""


class ColumnRepresentation(Representation):
    """A representation whose scenes are held as one set of vehicle columns per row, changed
    row by row (``construct``, ``oneshot``, ``latent``: few steps, or Python per placement)."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.columns: list[dict[str, NDArray]] = [{} for _ in range(self.rows)]

    def load(self, rows: NDArray[np.int64], scenes: Sequence[Scene]) -> None:
        for row, scene in zip(rows.tolist(), scenes):
            self.columns[row] = {name: np.array(getattr(scene.vehicles, name)) for name in COLUMNS}

    def set_scene(self, row: int, scene: Scene) -> None:
        """Make the first ``max_vehicles`` vehicles of ``scene`` (on the road of ``row``) the
        vehicles of ``row``."""
        vehicles = scene.vehicles
        if len(vehicles) > self.max_vehicles:
            vehicles = vehicles.take(np.arange(self.max_vehicles))
        self.columns[row] = {name: np.array(getattr(vehicles, name)) for name in COLUMNS}

    def append(self, row: int, **values: float) -> None:
        """Add one vehicle to the scene of ``row`` (a value for every column)."""
        columns = self.columns[row]
        for name in COLUMNS:
            columns[name] = np.append(
                columns[name], np.array(values[name], dtype=columns[name].dtype)
            )

    def batch(self, rows: NDArray[np.int64] | None = None) -> SceneBatch:
        rows = self.every_row if rows is None else rows
        sizes = self.counts(rows)
        if rows.size == 1:
            columns = self.columns[int(rows[0])]
        else:
            columns = {
                name: np.concatenate([self.columns[row][name] for row in rows.tolist()])
                for name in COLUMNS
            }
        return SceneBatch(self.road_batch, road_of=rows, sizes=sizes, columns=columns)

    def counts(self, rows: NDArray[np.int64] | None = None) -> NDArray[np.int64]:
        rows = self.every_row if rows is None else rows
        return np.fromiter(
            (self.columns[row]["lane"].size for row in rows.tolist()), np.int64, rows.size
        )

    def scene(self, row: int) -> Scene:
        return Scene(self.roads[row], Vehicles.unchecked(self.columns[row]))


class PolicySpaces:
    """The observation and action spaces a policy sees of a representation's parts.

    As they are (a ``Dict`` of the named parts, the representation's own action space), or
    with ``flat`` one ``Box`` of the parts raveled and joined in the ``Dict``'s key order and
    one ``Discrete`` index for a ``MultiDiscrete`` action (its parts in C order).

    Args:
        parts: the named observation spaces (``Box``).
        actions: the representation's action space.
        table: what each index of a ``Discrete`` action space stands for, ``(n, parts)``,
            or None.
        flat: one ``Box`` and one ``Discrete`` instead of a ``Dict`` and a
            ``MultiDiscrete``.
    """

    def __init__(
        self,
        *,
        parts: dict[str, spaces.Box],
        actions: spaces.Space,
        table: NDArray[np.int64] | None,
        flat: bool,
    ) -> None:
        self.parts = spaces.Dict(parts)
        self.flat = flat
        self.table = table
        self.observation_space: spaces.Space = self.parts
        if flat:
            boxes = self.parts.spaces.values()
            self.observation_space = spaces.Box(
                np.concatenate([box.low.ravel() for box in boxes]),
                np.concatenate([box.high.ravel() for box in boxes]),
                dtype=np.float32,
            )
            if isinstance(actions, spaces.MultiDiscrete):
                nvec = actions.nvec.astype(np.int64)
                self.table = np.stack(np.unravel_index(np.arange(np.prod(nvec)), nvec), axis=-1)
                actions = spaces.Discrete(len(self.table))
        self.action_space = actions

    def observations(self, parts: dict[str, NDArray]) -> dict[str, NDArray] | NDArray:
        """Stacked observation parts as the observation space has them: the dict itself, or
        with ``flat`` one ``(n, size)`` array of the parts in order."""
        if not self.flat:
            return parts
        return np.concatenate(
            [parts[name].reshape(len(parts[name]), -1) for name in self.parts], axis=1
        )

    def observation(self, parts: dict[str, NDArray], i: int = 0) -> dict[str, NDArray] | NDArray:
        """Row ``i`` of stacked observation parts, as the observation space has it."""
        if not self.flat:
            return {name: values[i] for name, values in parts.items()}
        return self.observations({name: values[i : i + 1] for name, values in parts.items()})[0]

    def actions(self, actions: Any) -> Any:
        """Stacked actions as the representation takes them: with a ``table`` each
        ``Discrete`` index becomes the parts it stands for, ``(n, parts)``; otherwise
        ``actions`` unchanged."""
        if self.table is None:
            return actions
        index = np.asarray(actions).reshape(-1).astype(np.int64)
        size = len(self.table)
        if index.size and (index.min() < 0 or index.max() >= size):
            raise ValueError(f"actions must be in 0..{size - 1}, got {index.tolist()}")
        return self.table[index]
