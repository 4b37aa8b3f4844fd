"""CommonRoad XML import and export: scenes to lanelet scenarios, recorded scenarios to scenes.

Export writes one scene as a CommonRoad 2020a XML file (lanelets, a speed-limit sign, one
dynamic obstacle per vehicle). Import rebuilds scenegym roads from the lanelets of multi-lane
carriageways (one road per driving direction) and takes snapshots of the obstacles. The
mapping and what is lost either way are described in ``docs/commonroad.md``.

This module reads recordings; ``commonroad_export`` writes scenes, ``commonroad_lanelets``
turns lanelet maps into roads. commonroad-io is imported on first use
(``commonroad_lib``), so ``import scenegym`` stays light.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scenegym.bridges.commonroad_export import export_commonroad, write_commonroad
from scenegym.bridges.commonroad_lanelets import (
    Carriageway,
    build_carriageway,
    check_map,
    id_list,
    lanelet_groups,
)
from scenegym.bridges.commonroad_lib import (
    Unrepresentable,
    finite_number,
    load_commonroad,
    one_line,
    quiet,
    schema_problem,
    wrap_angle,
)
from scenegym.scene.scene import Scene
from scenegym.scene.vehicles import KINDS, Vehicles

__all__ = [
    "CommonRoadImport",
    "commonroad_files",
    "export_commonroad",
    "import_commonroad",
    "read_commonroad",
    "write_commonroad",
]


_ROAD_EDGE_MARGIN = 0.5
"""How far (m) a vehicle centre may lie outside the outer lane edges and still be imported."""
_ROAD_END_MARGIN = 0.25
"""How far (m) a vehicle centre may lie before the road's start or past its end and still be
imported (at the end itself)."""


# Obstacle types read as vehicles; None means "decide by size". Bicycles are two-wheelers
# like motorcycles (the kind scenegym has for both; their sizes lie inside its bounds).
_TYPE_TO_KIND = {
    "car": "car",
    "taxi": "car",
    "priorityVehicle": "car",
    "truck": "truck",
    "bus": "bus",
    "motorcycle": "motorcycle",
    "bicycle": "motorcycle",
    "unknown": None,
    "parkedVehicle": None,
}


_TRUCK_LENGTH = 7.0
"""Length (m) above which a vehicle of unknown type is read as a truck: the longest cars
(crew-cab long-bed pickups, long-wheelbase vans) end at 7 m (``ValidityRules``)."""


_MOTORCYCLE_LENGTH, _MOTORCYCLE_WIDTH = 3.0, 1.2
"""Largest length and width (m) of a vehicle of unknown type read as a motorcycle."""


_NOT_DRIVEN = {
    "sidewalk",
    "crosswalk",
    "bicycleLane",
    "border",
    "parking",
    "restricted_area",
    "busStop",
}
"""Lanelet types that are no lane for motor vehicles; import leaves them out."""


@dataclass(frozen=True, kw_only=True)
class CommonRoadImport:
    """What ``read_commonroad`` made of one file.

    Attributes:
        path: the file read.
        scenes: one scene per carriageway (driving direction) per snapshot time, in time
            order; ``scene.context`` holds ``source``, ``file``, ``scenario``,
            ``carriageway`` (index) and ``time`` (s).
        skipped: one line per part of the file left out (a carriageway that cannot be
            represented, lanelets without lateral links), with the reason.
        dropped: vehicle states left out because they lie outside every imported carriageway
            (or drive against it), counted once per obstacle per snapshot.
        ignored: states of obstacles that are no vehicle (pedestrians, static structures,
            shapes without a size), counted the same way.
        times: the snapshot times (s).
        reassigned: obstacles typed ``car`` read as another kind by their size, which
            happens where the file types every vehicle ``car`` (as converted recordings
            such as NGSIM's do): longer than 7 m is a truck, at most 3.0 x 1.2 m a
            motorcycle.
    """

    path: Path
    scenes: list[Scene] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    dropped: int = 0
    ignored: int = 0
    times: list[float] = field(default_factory=list)
    reassigned: int = 0


def _check_interval(interval: Any) -> float | None:
    if interval is None:
        return None
    try:
        value = float(interval)
    except (TypeError, ValueError):
        raise TypeError(f"interval must be a number of seconds or None, got {interval!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
    return value


def read_commonroad(path: str | os.PathLike, *, interval: float | None = None) -> CommonRoadImport:
    """Read a CommonRoad XML file into scenes: one per driving direction per snapshot.

    Lanelets are grouped into carriageways by driving direction, same-direction adjacency and
    succession; lanes are counted from the left through adjacency. The reference line is fitted
    to the left edge of the carriageway as a chain of straight and circular segments (aiming at
    2 cm from the boundary vertices), lane widths are the mean boundary distances, and lanes
    exist where their lanelets lie in place. Obstacles become vehicles on the lane whose
    lanelet contains their centre (else the nearest lane), with station, offset and heading
    taken relative to the fitted road.

    Args:
        path: a CommonRoad XML file (format 2018b or 2020a).
        interval: time between snapshots (s), rounded to whole time steps of the scenario
            (at least one). Snapshots start at time 0 and go on while any obstacle has a
            state. ``None`` takes time 0 only.

    Raises:
        ValueError: one line naming the file when it is not a readable CommonRoad file or its
            map cannot be represented (junctions, crossing lanelets, no lane structure).
    """
    interval = _check_interval(interval)
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file (expected a CommonRoad .xml file)")
    cr = load_commonroad()
    try:
        with quiet():
            scenario, _ = cr.CommonRoadFileReader(filename_2020a=str(path)).open()
    except Exception as error:  # the reader fails on bad files with any exception type
        raise ValueError(
            f"{path}: not a readable CommonRoad XML file ({_why(path, error)})"
        ) from None
    try:
        with quiet():
            return _read_scenario(cr, scenario, path, interval)
    except Unrepresentable as error:
        raise ValueError(f"{path}: {error}") from None
    except Exception as error:  # odd content the checks above did not foresee
        raise ValueError(
            f"{path}: cannot be imported ({type(error).__name__}: {one_line(error)})"
        ) from None


def _why(path: Path, error: BaseException) -> str:
    """What is wrong with a file commonroad-io could not read: for a 2020a file, the first
    place where it breaks the CommonRoad schema (a missing element or attribute, a value of
    the wrong type), else the reader's own message without its internal prefix."""
    problem = schema_problem(path)
    if problem is not None:
        return problem
    text = one_line(error)
    if text.startswith("<") and ">: " in text:  # "<CommonRoadFileReader/_read_header>: ..."
        text = text.split(">: ", 1)[1]
    return f"{type(error).__name__}: {text}" if not isinstance(error, AssertionError) else text


def _read_scenario(cr, scenario, path: Path, interval: float | None) -> CommonRoadImport:
    skipped: list[str] = []
    network = scenario.lanelet_network
    lanelets = {
        lanelet.lanelet_id: lanelet
        for lanelet in network.lanelets
        if not {t.value for t in lanelet.lanelet_type} & _NOT_DRIVEN
    }
    if not lanelets:
        raise Unrepresentable("the map has no lanelets for vehicles")
    if network.intersections:
        count = len(network.intersections)
        raise Unrepresentable(
            f"the map has {count} intersection{'s' * (count != 1)} (a junction); scenegym "
            "reads carriageways without junctions"
        )
    check_map(lanelets)
    carriageways = []
    for index, group in enumerate(lanelet_groups(lanelets)):
        label = f"carriageway {index} (lanelets {id_list(group)})"
        try:
            carriageway, notes = build_carriageway(cr, network, lanelets, group, index)
        except Unrepresentable as error:
            skipped.append(f"{label}: {error}")
            continue
        carriageways.append(carriageway)
        skipped.extend(f"{label}: {note}" for note in notes)
    if not carriageways:
        raise Unrepresentable("; ".join(skipped))

    dt = float(scenario.dt)
    if not (math.isfinite(dt) and dt > 0):
        raise Unrepresentable(f"its timeStepSize is {dt:g}; it must be a positive number (s)")
    obstacles = sorted(
        [*scenario.static_obstacles, *scenario.dynamic_obstacles], key=lambda o: o.obstacle_id
    )
    last = 0
    for obstacle in obstacles:
        if isinstance(obstacle, cr.DynamicObstacle):
            last = max(last, _last_step(obstacle))
    # A file that types every vehicle "car" says nothing about kinds: read them by size.
    types = {o.obstacle_type.value for o in obstacles} & set(_TYPE_TO_KIND)
    by_size = types == {"car"}
    reassigned: set[int] = set()
    steps = [0]
    if interval is not None:
        stride = max(1, round(interval / dt))
        steps = list(range(0, last + 1, stride))
    dropped = ignored = 0
    scenes = []
    for step in steps:
        rows, not_vehicles = _vehicle_rows(cr, obstacles, step, by_size, reassigned)
        ignored += not_vehicles
        assigned, outside = _assign(rows, carriageways)
        dropped += outside
        for carriageway, vehicles in zip(carriageways, assigned):
            context = {
                "source": "commonroad",
                "file": path.name,
                "scenario": str(scenario.scenario_id),
                "recording": str(scenario.scenario_id),
                "carriageway": carriageway.index,
                "time": round(step * dt, 9),
            }
            scenes.append(Scene(carriageway.road, vehicles, context=context))
    return CommonRoadImport(
        path=path,
        scenes=scenes,
        skipped=skipped,
        dropped=dropped,
        ignored=ignored,
        times=[round(step * dt, 9) for step in steps],
        reassigned=len(reassigned),
    )


def _last_step(obstacle) -> int:
    last = int(obstacle.initial_state.time_step)
    prediction = obstacle.prediction
    trajectory = getattr(prediction, "trajectory", None)
    if trajectory is not None and trajectory.state_list:
        last = max(last, int(trajectory.state_list[-1].time_step))
    return last


# -- the obstacles ------------------------------------------------------------------------
def _size(cr, shape) -> tuple[float, float] | None:
    """Length and width (m) of an obstacle shape, or None for shapes without a size."""
    if isinstance(shape, cr.RectObstacleShape):
        return float(shape.length), float(shape.width)
    if isinstance(shape, cr.CircleObstacleShape):
        return 2.0 * float(shape.radius), 2.0 * float(shape.radius)
    if isinstance(shape, cr.PolygonObstacleShape):
        vertices = np.asarray(shape.vertices, dtype=np.float64)
        extent = vertices.max(axis=0) - vertices.min(axis=0)
        return float(extent[0]), float(extent[1])
    dims = getattr(shape, "truck_dims", None)
    if dims is not None:
        return float(dims.length), float(dims.width)
    return None


def _kind_by_size(length: float, width: float) -> str:
    """The kind of a vehicle of unknown type, from its length and width (m)."""
    if length > _TRUCK_LENGTH:
        return "truck"
    if length <= _MOTORCYCLE_LENGTH and width <= _MOTORCYCLE_WIDTH:
        return "motorcycle"
    return "car"


def _vehicle_rows(cr, obstacles, step: int, by_size: bool, reassigned: set[int]):
    """Per obstacle with a vehicle state at ``step``: x, y (m), yaw (rad, NaN if unknown),
    speed (m/s), length, width (m) and kind code; plus the count of other obstacle states.
    ``by_size``: every kind is read from the size; the ids of obstacles whose kind differs
    from their type are added to ``reassigned``."""
    rows = []
    not_vehicles = 0
    for obstacle in obstacles:
        try:
            state = obstacle.state_at_time(step)
        except Exception:  # set-based predictions and odd states have no single state
            state = None
        if state is None:
            continue
        type_name = obstacle.obstacle_type.value
        size = _size(cr, obstacle.obstacle_shape)
        position = getattr(state, "position", None)
        if type_name not in _TYPE_TO_KIND or size is None or not isinstance(position, np.ndarray):
            not_vehicles += 1
            continue
        kind_name = _TYPE_TO_KIND[type_name]
        if kind_name is None or by_size:
            kind_name = _kind_by_size(*size)
            if by_size and kind_name != "car":
                reassigned.add(int(obstacle.obstacle_id))
        yaw = finite_number(getattr(state, "orientation", None))
        speed = finite_number(getattr(state, "velocity", None))
        rows.append(
            (
                float(position[0]),
                float(position[1]),
                math.nan if yaw is None else yaw,
                0.0 if speed is None else speed,
                size[0],
                size[1],
                KINDS.index(kind_name),
            )
        )
    return np.array(rows, dtype=np.float64).reshape(-1, 7), not_vehicles


def _assign(rows: NDArray[np.float64], carriageways: list[Carriageway]):
    """Split vehicle rows among the carriageways; returns their Vehicles and the count left out.

    A vehicle goes to the lane whose lanelet contains its centre, when that lane exists at its
    station and the centre lies in it (give or take ``_ROAD_EDGE_MARGIN``); otherwise to the
    nearest lane existing at its station, when the centre is at most ``_ROAD_EDGE_MARGIN``
    outside the outer lane edges and it drives the carriageway's way.
    """
    import shapely

    n = rows.shape[0]
    x, y, yaw = rows[:, 0], rows[:, 1], rows[:, 2]
    best_cost = np.full(n, np.inf)
    choice = np.full(n, -1)
    lanes = np.zeros((len(carriageways), n), dtype=np.int64)
    frenet = []
    for c, carriageway in enumerate(carriageways):
        road = carriageway.road
        s, offset = road.cartesian_to_frenet(x, y)
        # A centre on the road's first or last edge (s = 0 or its length, where scenegym
        # places vehicles at the ends) lands a few centimetres outside the fitted road.
        along = (s >= -_ROAD_END_MARGIN) & (s <= road.length + _ROAD_END_MARGIN)
        s = np.clip(s, 0.0, road.length)
        _, _, reference = road.reference_pose(s)
        frenet.append((s, offset, reference))
        relative = np.where(np.isnan(yaw), 0.0, wrap_angle(yaw - reference))
        exists = road.lanes_at(s)  # (lanes, n)
        contained = np.full(n, -1)
        for lanelet_id, polygon in carriageway.polygons.items():
            hit = shapely.intersects_xy(polygon, x, y) & (contained < 0)
            contained[hit] = carriageway.lanelet_lane[lanelet_id]
        lane_index = np.clip(contained, 0, road.lane_count - 1)
        distance = np.abs(offset - road.lane_centers[lane_index])
        good = (
            (contained >= 0)
            & along
            & exists[lane_index, np.arange(n)]
            & (distance <= 0.5 * road.lane_widths[lane_index] + _ROAD_EDGE_MARGIN)
        )
        # Nearest existing lane, for centres outside the lanelets or outside their lane.
        nearest = road.nearest_lane(s, offset)
        left_edge = np.where(exists, road.lane_boundaries[:-1, None], -np.inf).max(axis=0)
        right_edge = np.where(exists, road.lane_boundaries[1:, None], np.inf).min(axis=0)
        outside = np.maximum(0.0, np.maximum(offset - left_edge, right_edge - offset))
        fallback = (
            ~good
            & along
            & exists.any(axis=0)
            & (outside <= _ROAD_EDGE_MARGIN)
            & (np.abs(relative) < np.pi / 2)
        )
        lane = np.where(good, lane_index, nearest)
        # Prefer containment, then the carriageway the vehicle drives along, then nearness.
        cost = np.where(good, distance + np.where(np.abs(relative) < np.pi / 2, 0.0, 100.0), np.inf)
        cost = np.where(fallback, 1000.0 + outside, cost)
        better = cost < best_cost
        best_cost[better] = cost[better]
        choice[better] = c
        lanes[c] = lane
    assigned = []
    for c, carriageway in enumerate(carriageways):
        road = carriageway.road
        mine = np.flatnonzero(choice == c)
        s, offset, reference = (values[mine] for values in frenet[c])
        lane = lanes[c, mine]
        heading = np.where(np.isnan(yaw[mine]), 0.0, wrap_angle(yaw[mine] - reference))
        assigned.append(
            Vehicles(
                lane=lane,
                s=s,
                d=offset - road.lane_centers[lane],
                heading=heading,
                speed=rows[mine, 3],
                length=rows[mine, 4],
                width=rows[mine, 5],
                kind=rows[mine, 6].astype(np.int8),
            )
        )
    return assigned, int(np.sum(choice < 0))


# -- many files ---------------------------------------------------------------------------
def commonroad_files(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """The CommonRoad files ``import_commonroad`` reads from ``paths``: each file given, and
    every ``.xml`` file below each folder given (sorted), without repeats. ``ValueError`` for
    a path that does not exist or when no file is found."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[Path] = []
    for item in paths:
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"paths must be files or folders, got {type(item).__name__}")
        path = Path(item)
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".xml")
            )
        elif path.is_file():
            files.append(path)
        else:
            raise ValueError(f"paths: {path} does not exist (expected a .xml file or a folder)")
    unique = list(dict.fromkeys(files))
    if not unique:
        raise ValueError("paths: no CommonRoad .xml files found in " + ", ".join(map(str, paths)))
    return unique


def import_commonroad(
    paths: str | os.PathLike | Iterable[str | os.PathLike], *, interval: float | None = None
) -> tuple[list[Scene], dict[str, Any]]:
    """Read CommonRoad XML files and folders into scenes, skipping files that cannot be read.

    Folders are searched recursively for ``*.xml`` files, in sorted order. Each file goes
    through ``read_commonroad`` (see there for ``interval``, s); a file it rejects is listed
    with the reason instead of stopping the import.

    Returns:
        The scenes of all files in order, and a JSON-ready summary: ``files_read``,
        ``files_skipped`` (``{"file", "reason"}`` each), ``scenes``, ``vehicles``,
        ``vehicles_dropped`` (vehicle states outside the carriageways), ``obstacles_ignored``
        (states of obstacles that are no vehicle), ``kinds_by_size`` (obstacles typed ``car``
        read as another kind by their size, see ``CommonRoadImport.reassigned``) and
        ``notes`` (parts of read files left out, with the reason).
    """
    interval = _check_interval(interval)
    files = commonroad_files(paths)
    load_commonroad()  # a missing commonroad-io is one error, not one skip per file
    scenes: list[Scene] = []
    summary: dict[str, Any] = {
        "files_read": 0,
        "files_skipped": [],
        "scenes": 0,
        "vehicles": 0,
        "vehicles_dropped": 0,
        "obstacles_ignored": 0,
        "kinds_by_size": 0,
        "notes": [],
    }
    for path in files:
        try:
            result = read_commonroad(path, interval=interval)
        except ValueError as error:
            reason = str(error).removeprefix(f"{path}: ")  # the file is named beside it
            summary["files_skipped"].append({"file": str(path), "reason": reason})
            continue
        summary["files_read"] += 1
        summary["vehicles_dropped"] += result.dropped
        summary["obstacles_ignored"] += result.ignored
        summary["kinds_by_size"] += result.reassigned
        summary["notes"].extend(f"{path}: {note}" for note in result.skipped)
        scenes.extend(result.scenes)
    summary["scenes"] = len(scenes)
    summary["vehicles"] = sum(len(scene.vehicles) for scene in scenes)
    return scenes, summary
