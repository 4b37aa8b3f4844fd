"""CommonRoad XML import and export: scenes to lanelet scenarios, recorded scenarios to scenes.

Export writes one scene as a CommonRoad 2020a XML file (lanelets, a speed-limit sign, one
dynamic obstacle per vehicle). Import rebuilds scenegym roads from the lanelets of multi-lane
carriageways (one road per driving direction) and takes snapshots of the obstacles. The
mapping and what is lost either way are described in ``docs/commonroad.md``.

commonroad-io is imported only inside these functions, so ``import scenegym`` stays light.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import tempfile
import warnings
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scenegym._checks import check_range
from scenegym.scene.geometry import vehicle_poses
from scenegym.scene.road import Road
from scenegym.scene.scene import Scene
from scenegym.scene.vehicles import KINDS, Vehicles

__all__ = [
    "CommonRoadImport",
    "export_commonroad",
    "import_commonroad",
    "read_commonroad",
    "write_commonroad",
]

_SAMPLE_STEP = 2.0
"""Largest spacing of lanelet boundary vertices along the reference line (m)."""
_DECIMALS = 6
"""Decimal places of every number in a written file (1 micrometre, 1 microradian)."""
_FIT_TOLERANCE = 0.02
"""Distance (m) of a boundary vertex from the fitted reference line above which the fit
tries shorter segments."""
_MIN_PIECE = 20.0
"""Shortest reference-line segment (m) the fit makes by halving a segment."""
_ROAD_EDGE_MARGIN = 0.5
"""How far (m) a vehicle centre may lie outside the outer lane edges and still be imported."""
_INTERSTATE_SPEED = 80.0 / 3.6
"""Speed limit (m/s) from which a multi-lane road is written as an interstate."""
_PLACEHOLDER_HORIZON = 30.0
"""Time window (s) of the goal of the placeholder planning problem."""
_CROSSING_AREA = 1.0
"""Overlap (m^2) above which two unrelated lanelets count as crossing."""

_KIND_TO_TYPE = {"car": "CAR", "truck": "TRUCK", "motorcycle": "MOTORCYCLE", "bus": "BUS"}
# Obstacle types read as vehicles; None means "decide by size".
_TYPE_TO_KIND = {
    "car": "car",
    "taxi": "car",
    "priorityVehicle": "car",
    "truck": "truck",
    "bus": "bus",
    "motorcycle": "motorcycle",
    "unknown": None,
    "parkedVehicle": None,
}
_TRUCK_LENGTH = 7.0
"""Length (m) above which a vehicle of unknown type is read as a truck."""
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


class _Unrepresentable(Exception):
    """A map (or part of one) that a scenegym road cannot describe; the message says why."""


# ---------------------------------------------------------------------------------- helpers
def _commonroad() -> SimpleNamespace:
    """The commonroad-io names this module uses, or an ImportError that says how to install."""
    try:
        from commonroad.common.common_lanelet import LaneletType, LineMarking
        from commonroad.common.common_scenario import ScenarioID
        from commonroad.common.file_reader import CommonRoadFileReader
        from commonroad.common.file_writer import CommonRoadFileWriter, OverwriteExistingFile
        from commonroad.common.util import FileFormat, Interval
        from commonroad.common.writer import file_writer_interface
        from commonroad.geometry.obstacle_shapes.circle_obstacle_shape import (
            CircleObstacleShape,
        )
        from commonroad.geometry.obstacle_shapes.polygon_obstacle_shape import (
            PolygonObstacleShape,
        )
        from commonroad.geometry.obstacle_shapes.rect_obstacle_shape import RectObstacleShape
        from commonroad.planning.goal import GoalRegion
        from commonroad.planning.planning_problem import PlanningProblem, PlanningProblemSet
        from commonroad.prediction.prediction import TrajectoryPrediction
        from commonroad.scenario.lanelet import Lanelet
        from commonroad.scenario.obstacle import DynamicObstacle, ObstacleType
        from commonroad.scenario.scenario import Scenario, Tag
        from commonroad.scenario.state import CustomState, ExtendedPMState, InitialState
        from commonroad.scenario.traffic_sign import (
            TrafficSign,
            TrafficSignElement,
            TrafficSignIDCountries,
            TrafficSignIDGermany,
        )
        from commonroad.scenario.trajectory import Trajectory
    except Exception as error:  # a missing or broken install fails in many ways
        raise ImportError(
            f"CommonRoad import and export need a working commonroad-io "
            f"({type(error).__name__}: {error}); install it with: "
            "pip install 'commonroad-io>=2023.1'"
        ) from None
    return SimpleNamespace(
        LaneletType=LaneletType,
        LineMarking=LineMarking,
        ScenarioID=ScenarioID,
        CommonRoadFileReader=CommonRoadFileReader,
        CommonRoadFileWriter=CommonRoadFileWriter,
        OverwriteExistingFile=OverwriteExistingFile,
        FileFormat=FileFormat,
        Interval=Interval,
        file_writer_interface=file_writer_interface,
        CircleObstacleShape=CircleObstacleShape,
        PolygonObstacleShape=PolygonObstacleShape,
        RectObstacleShape=RectObstacleShape,
        GoalRegion=GoalRegion,
        PlanningProblem=PlanningProblem,
        PlanningProblemSet=PlanningProblemSet,
        TrajectoryPrediction=TrajectoryPrediction,
        Lanelet=Lanelet,
        DynamicObstacle=DynamicObstacle,
        ObstacleType=ObstacleType,
        Scenario=Scenario,
        Tag=Tag,
        CustomState=CustomState,
        ExtendedPMState=ExtendedPMState,
        InitialState=InitialState,
        TrafficSign=TrafficSign,
        TrafficSignElement=TrafficSignElement,
        TrafficSignIDCountries=TrafficSignIDCountries,
        TrafficSignIDGermany=TrafficSignIDGermany,
        Trajectory=Trajectory,
    )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence commonroad-io's log messages and warnings (bad files are reported by us)."""
    logger = logging.getLogger("commonroad")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _wrap(angle: Any) -> Any:
    """Wrap angles (rad) to [-pi, pi)."""
    return (np.asarray(angle, dtype=np.float64) + np.pi) % (2.0 * np.pi) - np.pi


def _number(value: Any) -> float | None:
    """A state value as a float: exact values as they are, intervals by their midpoint."""
    if value is None:
        return None
    if hasattr(value, "start") and hasattr(value, "end"):
        return 0.5 * (float(value.start) + float(value.end))
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------- export
def _sections(road: Road) -> NDArray[np.float64]:
    """Section boundaries (m): segment joints and lane starts and ends, with both road ends."""
    joints = np.cumsum(road.segment_lengths)[:-1]
    knots = np.concatenate([[0.0, road.length], joints, road.lane_starts, road.lane_ends])
    knots = np.unique(np.clip(knots, 0.0, road.length))
    keep = np.concatenate([[True], np.diff(knots) > 1e-6])
    knots = knots[keep]
    knots[-1] = road.length
    return knots


def _scenario_id(cr: SimpleNamespace, scenario_id: str | None, default_name: str, map_id: int):
    if scenario_id is None:
        return cr.ScenarioID(
            country_id="ZAM",
            map_name=default_name,
            map_id=map_id,
            configuration_id=1,
            obstacle_behavior="T",
            prediction_id=1,
        )
    if not isinstance(scenario_id, str):
        raise TypeError(
            "scenario_id must be a CommonRoad benchmark id string, "
            f"got {type(scenario_id).__name__}"
        )
    if cr.ScenarioID.benchmark_id_pattern.fullmatch(scenario_id) is None:
        raise ValueError(
            f"scenario_id {scenario_id!r} is not a CommonRoad benchmark id; expected the form "
            "COUNTRY_MapName-1_1_T-1, for example 'ZAM_Scenegym-1_1_T-1'"
        )
    try:
        with _quiet():
            return cr.ScenarioID.from_benchmark_id(scenario_id, "2020a")
    except (ValueError, AssertionError) as error:
        raise ValueError(f"scenario_id {scenario_id!r}: {_one_line(error)}") from None


def _build_scenario(cr: SimpleNamespace, scene: Scene, scenario_id, time_step: float):
    """The commonroad-io Scenario and planning problems of one scene."""
    road, vehicles = scene.road, scene.vehicles
    scenario = cr.Scenario(dt=time_step, scenario_id=scenario_id)
    knots = _sections(road)
    n_sections, n_lanes = knots.size - 1, road.lane_count
    # A lane is in a section when it exists over the whole section (sections end at lane ends).
    middle = 0.5 * (knots[:-1] + knots[1:])
    present = road.lanes_at(middle).T  # (sections, lanes)
    ids: dict[tuple[int, int], int] = {}
    next_id = 1
    for k in range(n_sections):
        for lane in range(n_lanes):
            if present[k, lane]:
                ids[k, lane] = next_id
                next_id += 1

    k0 = min(k for k, _ in ids)  # the first section with lanes
    road_type = (
        cr.LaneletType.INTERSTATE
        if n_lanes > 1 and road.speed_limit >= _INTERSTATE_SPEED
        else cr.LaneletType.HIGHWAY
    )
    full = (road.lane_starts <= 1e-6) & (road.lane_ends >= road.length - 1e-6)
    boundaries = road.lane_boundaries
    lanelets = []
    for (k, lane), lanelet_id in ids.items():
        a, b = knots[k], knots[k + 1]
        s = np.linspace(a, b, max(2, math.ceil((b - a) / _SAMPLE_STEP - 1e-9) + 1))
        polylines = []
        for offset in (boundaries[lane], road.lane_centers[lane], boundaries[lane + 1]):
            x, y, _ = road.frenet_to_cartesian(s, np.full(s.size, offset))
            polylines.append(np.stack([x, y], axis=1))
        left_id, right_id = ids.get((k, lane - 1)), ids.get((k, lane + 1))
        predecessor, successor = ids.get((k - 1, lane)), ids.get((k + 1, lane))
        types = {road_type} | ({cr.LaneletType.MAIN_CARRIAGE_WAY} if full[lane] else set())
        dashed, solid = cr.LineMarking.DASHED, cr.LineMarking.SOLID
        lanelets.append(
            cr.Lanelet(
                left_vertices=polylines[0],
                center_vertices=polylines[1],
                right_vertices=polylines[2],
                lanelet_id=lanelet_id,
                predecessor=[] if predecessor is None else [predecessor],
                successor=[] if successor is None else [successor],
                adjacent_left=left_id,
                adjacent_left_same_direction=None if left_id is None else True,
                adjacent_right=right_id,
                adjacent_right_same_direction=None if right_id is None else True,
                line_marking_left_vertices=solid if left_id is None else dashed,
                line_marking_right_vertices=solid if right_id is None else dashed,
                lanelet_type=types,
            )
        )
    scenario.add_objects(lanelets)

    # The speed limit as a max-speed sign (value in m/s) at the right edge where lanes begin.
    # It is written with the German id 274, which the schema knows and commonroad-io reads as
    # the max-speed sign of every country that has one.
    country_signs = cr.TrafficSignIDCountries.get(scenario_id.country_id, cr.TrafficSignIDGermany)
    if hasattr(country_signs, "MAX_SPEED"):
        first = [ids[k0, lane] for lane in range(n_lanes) if (k0, lane) in ids]
        rightmost = max(lane for lane in range(n_lanes) if (k0, lane) in ids)
        x, y, _ = road.frenet_to_cartesian([knots[k0]], [boundaries[rightmost + 1]])
        sign = cr.TrafficSign(
            traffic_sign_id=next_id,
            traffic_sign_elements=[
                cr.TrafficSignElement(cr.TrafficSignIDGermany.MAX_SPEED, [repr(road.speed_limit)])
            ],
            first_occurrence=set(first),
            position=np.array([x[0], y[0]]),
        )
        scenario.add_objects(sign, set(ids.values()))
        next_id += 1

    # One dynamic obstacle per vehicle; the schema wants a trajectory with time steps >= 1, so
    # it holds one state a time step later at constant speed and heading.
    outside = np.flatnonzero((vehicles.lane < 0) | (vehicles.lane >= road.lane_count))
    if outside.size:  # vehicle_poses would put it on the nearest lane
        i = int(outside[0])
        raise ValueError(
            f"vehicle {i} is on lane {int(vehicles.lane[i])} of a road with lanes "
            f"0..{road.lane_count - 1}"
        )
    x, y, yaw = vehicle_poses(road, vehicles)
    yaw = _wrap(yaw)
    for i in range(len(vehicles)):
        length, width = float(vehicles.length[i]), float(vehicles.width[i])
        if not (length > 0 and width > 0):
            raise ValueError(
                f"vehicle {i} has length {length} m and width {width} m; CommonRoad needs both > 0"
            )
        speed = float(vehicles.speed[i])
        shape = cr.RectObstacleShape(width=width, length=length)
        position = np.array([x[i], y[i]])
        initial = cr.InitialState(
            time_step=0,
            position=position,
            orientation=float(yaw[i]),
            velocity=speed,
            acceleration=0.0,
            yaw_rate=0.0,
            slip_angle=0.0,
        )
        step = speed * time_step * np.array([math.cos(yaw[i]), math.sin(yaw[i])])
        later = cr.ExtendedPMState(
            time_step=1,
            position=position + step,
            velocity=speed,
            orientation=float(yaw[i]),
            acceleration=0.0,
        )
        prediction = cr.TrajectoryPrediction(cr.Trajectory(1, [later]), shape)
        kind = getattr(cr.ObstacleType, _KIND_TO_TYPE[KINDS[vehicles.kind[i]]])
        scenario.add_objects(cr.DynamicObstacle(next_id, kind, shape, initial, prediction))
        next_id += 1

    # The 2020a schema needs at least one planning problem: a placeholder ego standing at the
    # start of the leftmost lane, with only a time window as its goal.
    lane0 = min(lane for lane in range(n_lanes) if (k0, lane) in ids)
    px, py, heading = road.frenet_to_cartesian([knots[k0]], [road.lane_centers[lane0]])
    ego = cr.InitialState(
        time_step=0,
        position=np.array([px[0], py[0]]),
        orientation=float(_wrap(heading[0])),
        velocity=0.0,
        yaw_rate=0.0,
        slip_angle=0.0,
    )
    horizon = max(2, round(_PLACEHOLDER_HORIZON / time_step))
    goal = cr.GoalRegion([cr.CustomState(time_step=cr.Interval(1, horizon))])
    problems = cr.PlanningProblemSet([cr.PlanningProblem(next_id, ego, goal)])

    tags = {
        cr.Tag.INTERSTATE if road_type is cr.LaneletType.INTERSTATE else cr.Tag.HIGHWAY,
        cr.Tag.MULTI_LANE if n_lanes > 1 else cr.Tag.SINGLE_LANE,
        cr.Tag.NO_ONCOMING_TRAFFIC,
        cr.Tag.SPEED_LIMIT,
    }
    if not np.all(full):
        tags.add(cr.Tag.MERGING_LANES)
    return scenario, problems, tags


def write_commonroad(
    scene: Scene,
    path: str | os.PathLike,
    *,
    scenario_id: str | None = None,
    time_step: float = 0.1,
) -> Path:
    """Write one scene as a CommonRoad 2020a XML file, atomically; returns the path.

    The road becomes lanelets: the road is cut into sections at segment joints and at lane
    starts and ends, and every lane present in a section is one lanelet (boundary vertices at
    most 2 m apart along the reference line) with its neighbours (same direction), its
    predecessor and successor, dashed lines between lanes and solid edge lines. The speed
    limit is a max-speed traffic sign (value in m/s). Each vehicle is a dynamic obstacle with a
    rectangle shape and its world pose and speed at time step 0. An existing file is replaced
    without asking.

    Args:
        scene: the scene to write.
        path: the ``.xml`` file to write; its folder must exist.
        scenario_id: CommonRoad benchmark id (for example ``"DEU_A9-1_1_T-1"``; the country
            is an ISO 3166 three-letter code or ``ZAM``); default
            ``ZAM_Scenegym<scene id>-1_1_T-1``.
        time_step: the scenario's time step size (s), in [0.001, 10].

    >>> import tempfile
    >>> from scenegym.scene import Road, Scene, Vehicles
    >>> scene = Scene(Road.straight(length=100.0, lanes=2), Vehicles.empty())
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = write_commonroad(scene, Path(folder) / "scene.xml")
    ...     written.name, written.stat().st_size > 0
    ('scene.xml', True)
    """
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a Scene, got {type(scene).__name__}")
    time_step = _check_time_step(time_step)
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: folder {path.parent} does not exist")
    cr = _commonroad()
    sid = _scenario_id(cr, scenario_id, f"Scenegym{scene.id}", 1)
    return _write(cr, scene, path, sid, time_step)


def _check_time_step(time_step: Any) -> float:
    try:
        value = float(time_step)
    except (TypeError, ValueError):
        raise TypeError(f"time_step must be a number of seconds, got {time_step!r}") from None
    return check_range("time_step", value, 0.001, 10.0)


def _write(cr: SimpleNamespace, scene: Scene, path: Path, sid, time_step: float) -> Path:
    scenario, problems, tags = _build_scenario(cr, scene, sid, time_step)
    precision = cr.file_writer_interface.precision
    decimals = precision.decimals  # a process-wide setting of commonroad-io; restored below
    # commonroad-io writes to a file name it is given; a fresh name in a private folder beside
    # the target means it never finds a file to ask about, and the rename makes it atomic.
    folder = tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        temporary = Path(folder) / "scenario.xml"
        writer = cr.CommonRoadFileWriter(
            scenario,
            problems,
            author="scenegym",
            affiliation="scenegym",
            source=f"scenegym scene {scene.id}",
            tags=tags,
            decimal_precision=_DECIMALS,
            file_format=cr.FileFormat.XML,
        )
        from lxml import etree

        try:
            with _quiet():
                writer.write_to_file(str(temporary), cr.OverwriteExistingFile.ALWAYS)
        except etree.Error as error:  # lxml's own error for a failed write (a full disk)
            raise OSError(f"cannot write {path}: {error}") from None
        os.replace(temporary, path)
    finally:
        precision.decimals = decimals
        shutil.rmtree(folder, ignore_errors=True)
    return path


def export_commonroad(
    scenes: Iterable[Scene], out_dir: str | os.PathLike, *, time_step: float = 0.1
) -> list[Path]:
    """Write each scene as a CommonRoad XML file ``<index>_<scene id>.xml`` in ``out_dir``.

    The folder is created when missing; files of the same names are replaced. Returns the
    written paths in scene order. ``time_step`` (s) is the scenarios' time step size.
    """
    time_step = _check_time_step(time_step)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir {out_dir} exists and is not a folder")
    cr = _commonroad()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index, scene in enumerate(scenes):
        if not isinstance(scene, Scene):
            raise TypeError(f"scenes[{index}] must be a Scene, got {type(scene).__name__}")
        sid = _scenario_id(cr, None, f"Scenegym{scene.id}", index + 1)
        try:
            path = _write(cr, scene, out_dir / f"{index:05d}_{scene.id}.xml", sid, time_step)
        except ValueError as error:
            raise ValueError(f"scenes[{index}] (scene {scene.id}): {error}") from None
        written.append(path)
    return written


# ---------------------------------------------------------------------------------- import
@dataclass(frozen=True)
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
        ignored: states of obstacles that are no vehicle (pedestrians, bicycles, static
            structures, shapes without a size), counted the same way.
        times: the snapshot times (s).
    """

    path: Path
    scenes: list[Scene] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    dropped: int = 0
    ignored: int = 0
    times: list[float] = field(default_factory=list)


@dataclass
class _Carriageway:
    """One imported driving direction: its road and which lanelet is which lane."""

    index: int
    road: Road
    lanelet_lane: dict[int, int]
    polygons: dict[int, Any]


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
    cr = _commonroad()
    try:
        with _quiet():
            scenario, _ = cr.CommonRoadFileReader(filename_2020a=str(path)).open()
    except Exception as error:  # the reader fails on bad files with any exception type
        raise ValueError(
            f"{path}: not a readable CommonRoad XML file ({type(error).__name__}: "
            f"{_one_line(error)})"
        ) from None
    try:
        with _quiet():
            return _read_scenario(cr, scenario, path, interval)
    except _Unrepresentable as error:
        raise ValueError(f"{path}: {error}") from None
    except Exception as error:  # odd content the checks above did not foresee
        raise ValueError(
            f"{path}: cannot be imported ({type(error).__name__}: {_one_line(error)})"
        ) from None


def _read_scenario(cr, scenario, path: Path, interval: float | None) -> CommonRoadImport:
    skipped: list[str] = []
    network = scenario.lanelet_network
    lanelets = {
        lanelet.lanelet_id: lanelet
        for lanelet in network.lanelets
        if not {t.value for t in lanelet.lanelet_type} & _NOT_DRIVEN
    }
    if not lanelets:
        raise _Unrepresentable("the map has no lanelets for vehicles")
    if network.intersections:
        count = len(network.intersections)
        raise _Unrepresentable(
            f"the map has {count} intersection{'s' * (count != 1)} (a junction); scenegym "
            "reads carriageways without junctions"
        )
    _check_map(lanelets)
    carriageways = []
    for index, group in enumerate(_groups(lanelets)):
        label = f"carriageway {index} (lanelets {_id_list(group)})"
        try:
            carriageway, notes = _carriageway(cr, network, lanelets, group, index)
        except _Unrepresentable as error:
            skipped.append(f"{label}: {error}")
            continue
        carriageways.append(carriageway)
        skipped.extend(f"{label}: {note}" for note in notes)
    if not carriageways:
        raise _Unrepresentable("; ".join(skipped))

    dt = float(scenario.dt)
    obstacles = sorted(
        [*scenario.static_obstacles, *scenario.dynamic_obstacles], key=lambda o: o.obstacle_id
    )
    last = 0
    for obstacle in obstacles:
        if isinstance(obstacle, cr.DynamicObstacle):
            last = max(last, _last_step(obstacle))
    steps = [0]
    if interval is not None:
        stride = max(1, round(interval / dt))
        steps = list(range(0, last + 1, stride))
    dropped = ignored = 0
    scenes = []
    for step in steps:
        rows, not_vehicles = _vehicle_rows(cr, obstacles, step)
        ignored += not_vehicles
        assigned, outside = _assign(rows, carriageways)
        dropped += outside
        for carriageway, vehicles in zip(carriageways, assigned):
            context = {
                "source": "commonroad",
                "file": path.name,
                "scenario": str(scenario.scenario_id),
                "carriageway": carriageway.index,
                "time": round(step * dt, 9),
            }
            scenes.append(Scene(carriageway.road, vehicles, context))
    return CommonRoadImport(
        path=path,
        scenes=scenes,
        skipped=skipped,
        dropped=dropped,
        ignored=ignored,
        times=[round(step * dt, 9) for step in steps],
    )


def _id_list(ids: Iterable[int], limit: int = 6) -> str:
    ids = sorted(ids)
    text = ", ".join(str(i) for i in ids[:limit])
    return text + (f", ... ({len(ids)} in all)" if len(ids) > limit else "")


def _last_step(obstacle) -> int:
    last = int(obstacle.initial_state.time_step)
    prediction = obstacle.prediction
    trajectory = getattr(prediction, "trajectory", None)
    if trajectory is not None and trajectory.state_list:
        last = max(last, int(trajectory.state_list[-1].time_step))
    return last


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


def _check_map(lanelets) -> None:
    """Raise ``_Unrepresentable`` for junctions, crossing lanelets or no lane structure."""
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
                raise _Unrepresentable(
                    f"lanelet {lanelet_id} has {len(others[lanelet_id])} {word} "
                    f"({_id_list(others[lanelet_id])}) that are no neighbouring lanes (a junction)"
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
        raise _Unrepresentable(
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
            raise _Unrepresentable(f"lanelets {a} and {b} cross each other (a junction)")


def _polygon(lanelet):
    import shapely

    ring = np.concatenate([lanelet.left_vertices, lanelet.right_vertices[::-1]])
    polygon = shapely.Polygon(ring)
    return polygon if polygon.is_valid else shapely.make_valid(polygon)


def _groups(lanelets) -> list[list[int]]:
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
                    raise _Unrepresentable(
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


def _carriageway(cr, network, lanelets, group: list[int], index: int):
    """Build the road of one carriageway; returns it and notes on what was left out."""
    slots, pairs, left_out = _slots(lanelets, group)
    notes = []
    if left_out:
        notes.append(
            f"lanelets {_id_list(left_out)} have no lateral link to the other lanes and are "
            "left out"
        )
    n_lanes = max(slots.values()) + 1
    by_slot: dict[int, list[int]] = defaultdict(list)
    for lanelet_id, slot in slots.items():
        by_slot[slot].append(lanelet_id)
    missing = [s for s in range(n_lanes) if not by_slot[s]]
    if missing:
        raise _Unrepresentable(f"lane {missing[0]} has no lanelet")
    widths = np.empty(n_lanes)
    for slot in range(n_lanes):
        gaps = np.concatenate(
            [
                np.hypot(*(lanelets[i].left_vertices - lanelets[i].right_vertices).T)
                for i in by_slot[slot]
            ]
        )
        widths[slot] = float(gaps.mean())

    # The reference line follows the longest chain of one lane, shifted to the left edge, and
    # goes on along the others where they reach beyond its ends.
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
        raise _Unrepresentable("its lanes form a loop")
    # Lanes to the outside of a bend are longer, so take the leftmost chain that covers nearly
    # as much as the longest one.
    longest = max(item[0] for item in chains)
    _, negative_slot, spine = max(
        (item for item in chains if item[0] >= 0.9 * longest),
        key=lambda item: (item[1], item[0]),
    )
    spine_slot = -negative_slot
    edges = _left_edges(lanelets, spine, float(widths[:spine_slot].sum()))
    if not edges:
        raise _Unrepresentable(f"the lanelets of lane {spine_slot} have no left boundary")
    others = [
        _left_edges(lanelets, chain, float(widths[:-slot].sum()))
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
        raise _Unrepresentable(f"the fitted road is not valid ({_one_line(error)})") from None

    # Lanes exist where the centre lines of their lanelets lie in place.
    starts, ends = np.empty(n_lanes), np.empty(n_lanes)
    for slot in range(n_lanes):
        centre = np.concatenate([lanelets[i].center_vertices for i in by_slot[slot]])
        s, offset = road.cartesian_to_frenet(centre[:, 0], centre[:, 1])
        inside = (np.abs(offset - road.lane_centers[slot]) < 0.5 * widths[slot]) & (
            (s > -_FIT_TOLERANCE) & (s < road.length + _FIT_TOLERANCE)
        )
        if not inside.any():
            raise _Unrepresentable(f"lane {slot} never lies beside the other lanes")
        starts[slot] = max(0.0, float(s[inside].min()))
        ends[slot] = min(road.length, float(s[inside].max()))
        if ends[slot] - starts[slot] <= 1e-3:
            raise _Unrepresentable(f"lane {slot} has no length along the reference line")
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
        raise _Unrepresentable(f"the lanes do not fit the road ({_one_line(error)})") from None
    polygons = {i: _polygon(lanelets[i]) for i in slots}
    return _Carriageway(index=index, road=road, lanelet_lane=slots, polygons=polygons), notes


def _left_edges(lanelets, chain: list[int], shift: float) -> list[NDArray[np.float64]]:
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


def _project(points: NDArray[np.float64], point: NDArray[np.float64]) -> tuple[float, float]:
    """Station (m along ``points``) of the nearest point of the polyline to ``point``, and
    the distance to it."""
    a, chord = points[:-1], np.diff(points, axis=0)
    squared = np.maximum(np.sum(chord * chord, axis=1), 1e-18)
    t = np.clip(np.sum((point - a) * chord, axis=1) / squared, 0.0, 1.0)
    distance = np.hypot(*(a + t[:, None] * chord - point).T)
    k = int(np.argmin(distance))
    before = float(np.sum(np.sqrt(squared[:k])))
    return before + float(t[k] * np.sqrt(squared[k])), float(distance[k])


def _cut(pieces: list[NDArray[np.float64]], station: float, keep_before: bool):
    """The part of the joined ``pieces`` before (or after) ``station`` m, as pieces; stations
    run along ``np.concatenate(pieces)``, the chords between pieces included (as in
    ``_project``)."""
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
            station, distance = _project(points, edges[0][0])
            if distance < 0.5 * width and station > 1.0:
                edges = _cut(chain, station, keep_before=True) + edges
                grown = True
            station, distance = _project(points, edges[-1][-1])
            if distance < 0.5 * width and length - station > 1.0:
                edges = edges + _cut(chain, station, keep_before=False)
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
        raise _Unrepresentable("the left edge of the carriageway has fewer than two points")
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
    origin = (float(origin[0]), float(origin[1]), float(_wrap(origin[2])))
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
                value = _number(element.additional_values[0])
                if value is not None and value > 0:
                    limits.append(value)
    if not limits:
        return Road.__dataclass_fields__["speed_limit"].default
    return float(np.clip(min(limits), 1.0, 60.0))


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


def _vehicle_rows(cr, obstacles, step: int):
    """Per obstacle with a vehicle state at ``step``: x, y (m), yaw (rad, NaN if unknown),
    speed (m/s), length, width (m) and kind code; plus the count of other obstacle states."""
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
        if kind_name is None:
            kind_name = _kind_by_size(*size)
        yaw = _number(getattr(state, "orientation", None))
        speed = _number(getattr(state, "velocity", None))
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


def _assign(rows: NDArray[np.float64], carriageways: list[_Carriageway]):
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
        _, _, reference = road.reference_pose(s)
        frenet.append((s, offset, reference))
        relative = np.where(np.isnan(yaw), 0.0, _wrap(yaw - reference))
        along = (s >= 0.0) & (s <= road.length)
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
        heading = np.where(np.isnan(yaw[mine]), 0.0, _wrap(yaw[mine] - reference))
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
def _xml_files(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
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
        (states of obstacles that are no vehicle) and ``notes`` (parts of read files left
        out, with the reason).
    """
    interval = _check_interval(interval)
    files = _xml_files(paths)
    _commonroad()  # a missing commonroad-io is one error, not one skip per file
    scenes: list[Scene] = []
    summary: dict[str, Any] = {
        "files_read": 0,
        "files_skipped": [],
        "scenes": 0,
        "vehicles": 0,
        "vehicles_dropped": 0,
        "obstacles_ignored": 0,
        "notes": [],
    }
    for path in files:
        try:
            result = read_commonroad(path, interval=interval)
        except ValueError as error:
            summary["files_skipped"].append({"file": str(path), "reason": str(error)})
            continue
        summary["files_read"] += 1
        summary["vehicles_dropped"] += result.dropped
        summary["obstacles_ignored"] += result.ignored
        summary["notes"].extend(f"{path}: {note}" for note in result.skipped)
        scenes.extend(result.scenes)
    summary["scenes"] = len(scenes)
    summary["vehicles"] = sum(len(scene.vehicles) for scene in scenes)
    return scenes, summary
