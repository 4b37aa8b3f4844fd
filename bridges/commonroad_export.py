"""CommonRoad XML export: a scene as a CommonRoad 2020a lanelet scenario (lanelets, a
speed-limit sign, one dynamic obstacle per vehicle); see ``docs/commonroad.md``."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scenegym._checks import check_range
from scenegym._io import safe_xml_parser, source_date
from scenegym.bridges.commonroad_lib import load_commonroad, one_line, quiet, wrap_angle
from scenegym.scene.geometry import vehicle_poses
from scenegym.scene.road import Road
from scenegym.scene.rollout import roll_out
from scenegym.scene.scene import Scene
from scenegym.scene.vehicles import KINDS

__all__ = ["export_commonroad", "write_commonroad"]


_SAMPLE_STEP = 2.0
"""Largest spacing of lanelet boundary vertices along the reference line (m)."""


_DECIMALS = 6
"""Decimal places of every number in a written file (1 micrometre, 1 microradian)."""


_INTERSTATE_SPEED = 80.0 / 3.6
"""Speed limit (m/s) from which a multi-lane road is written as an interstate."""


_EGO_LENGTH = 4.5
"""Length (m) of the planning problem's ego: it starts with its rear at the road's start."""

_GOAL_PACE = (0.5, 1.2)
"""The goal's time window: from the time to the road's end at 1.2 times the speed limit to
the time at half the ego's starting speed (``_GOAL_SLOWEST_SPEED`` at least)."""

_GOAL_SLOWEST_SPEED = 2.0
"""Slowest average speed (m/s) the goal's time window allows, for an ego starting in a
queue."""


_KIND_TO_TYPE = {"car": "CAR", "truck": "TRUCK", "motorcycle": "MOTORCYCLE", "bus": "BUS"}


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
        with quiet():
            return cr.ScenarioID.from_benchmark_id(scenario_id, "2020a")
    except (ValueError, AssertionError) as error:
        raise ValueError(f"scenario_id {scenario_id!r}: {one_line(error)}") from None


def _build_scenario(
    cr: SimpleNamespace, scene: Scene, scenario_id, time_step: float, horizon: float
):
    """The commonroad-io Scenario, planning problems and tags of one scene."""
    road = scene.road
    scenario = cr.Scenario(dt=time_step, scenario_id=scenario_id)
    knots = _sections(road)
    ids = _lanelet_ids(road, knots)
    road_type = (
        cr.LaneletType.INTERSTATE
        if road.lane_count > 1 and road.speed_limit >= _INTERSTATE_SPEED
        else cr.LaneletType.HIGHWAY
    )
    full = (road.lane_starts <= 1e-6) & (road.lane_ends >= road.length - 1e-6)
    scenario.add_objects(_lanelets(cr, road, knots, ids, road_type, full))
    next_id = len(ids) + 1
    next_id = _add_speed_sign(cr, scenario, scenario_id, road, knots, ids, next_id)
    next_id = _add_obstacles(cr, scenario, scene, (time_step, horizon), next_id)
    problems = _ego_problem(cr, scenario, scene, (knots, ids), time_step, next_id)
    tags = {
        cr.Tag.INTERSTATE if road_type is cr.LaneletType.INTERSTATE else cr.Tag.HIGHWAY,
        cr.Tag.MULTI_LANE if road.lane_count > 1 else cr.Tag.SINGLE_LANE,
        cr.Tag.NO_ONCOMING_TRAFFIC,
        cr.Tag.SPEED_LIMIT,
    }
    if not np.all(full):
        tags.add(cr.Tag.MERGING_LANES)
    return scenario, problems, tags


def _lanelet_ids(road: Road, knots: NDArray[np.float64]) -> dict[tuple[int, int], int]:
    """``{(section, lane): lanelet id}``, ids from 1 in section-then-lane order. A lane is in a
    section when it exists over the whole section (sections end at lane ends)."""
    middle = 0.5 * (knots[:-1] + knots[1:])
    present = road.lanes_at(middle).T  # (sections, lanes)
    ids: dict[tuple[int, int], int] = {}
    for k in range(knots.size - 1):
        for lane in range(road.lane_count):
            if present[k, lane]:
                ids[k, lane] = len(ids) + 1
    return ids


def _lanelets(cr: SimpleNamespace, road: Road, knots, ids, road_type, full) -> list:
    """One commonroad-io Lanelet per ``ids`` entry, linked to its neighbours."""
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
    return lanelets


def _add_speed_sign(cr, scenario, scenario_id, road: Road, knots, ids, next_id: int) -> int:
    """Add the speed limit as a max-speed sign (value in m/s) at the right edge where lanes
    begin; returns the next free id. It is written with the German id 274, which the schema
    knows and commonroad-io reads as the max-speed sign of every country that has one."""
    country_signs = cr.TrafficSignIDCountries.get(scenario_id.country_id, cr.TrafficSignIDGermany)
    if not hasattr(country_signs, "MAX_SPEED"):
        return next_id
    k0 = min(k for k, _ in ids)  # the first section with lanes
    first = [ids[k0, lane] for lane in range(road.lane_count) if (k0, lane) in ids]
    rightmost = max(lane for lane in range(road.lane_count) if (k0, lane) in ids)
    x, y, _ = road.frenet_to_cartesian([knots[k0]], [road.lane_boundaries[rightmost + 1]])
    sign = cr.TrafficSign(
        traffic_sign_id=next_id,
        traffic_sign_elements=[
            cr.TrafficSignElement(cr.TrafficSignIDGermany.MAX_SPEED, [repr(road.speed_limit)])
        ],
        first_occurrence=set(first),
        position=np.array([x[0], y[0]]),
    )
    scenario.add_objects(sign, set(ids.values()))
    return next_id + 1


def _add_obstacles(cr, scenario, scene: Scene, timing: tuple[float, float], next_id: int) -> int:
    """Add one dynamic obstacle per vehicle; returns the next free id. ``timing``: the time
    step and the horizon (s). The schema wants a trajectory with time steps >= 1: with no
    horizon it holds one state a time step later at constant speed and heading, else the
    vehicle's states over the horizon as the scene's traffic drives on (``roll_out``)."""
    time_step, horizon = timing
    road, vehicles = scene.road, scene.vehicles
    outside = np.flatnonzero((vehicles.lane < 0) | (vehicles.lane >= road.lane_count))
    if outside.size:  # vehicle_poses would put it on the nearest lane
        i = int(outside[0])
        raise ValueError(
            f"vehicle {i} is on lane {int(vehicles.lane[i])} of a road with lanes "
            f"0..{road.lane_count - 1}"
        )
    x, y, yaw = vehicle_poses(road, vehicles)
    yaw = wrap_angle(yaw)
    moved = None
    if horizon > 0 and len(vehicles):
        rollout = roll_out([scene], horizon=horizon, frequency=1.0 / time_step)
        moved = (rollout, [rollout.world(k) for k in range(rollout.steps + 1)])
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
        states = [later] if moved is None else _rolled_states(cr, moved, i)
        prediction = cr.TrajectoryPrediction(cr.Trajectory(1, states), shape)
        kind = getattr(cr.ObstacleType, _KIND_TO_TYPE[KINDS[vehicles.kind[i]]])
        scenario.add_objects(cr.DynamicObstacle(next_id, kind, shape, initial, prediction))
        next_id += 1
    return next_id


def _rolled_states(cr, moved: tuple, i: int) -> list:
    """Vehicle ``i``'s states at time steps 1 to the end of the rollout."""
    rollout, worlds = moved
    speed = rollout.speed[:, i]
    return [
        cr.ExtendedPMState(
            time_step=k,
            position=np.array([worlds[k][0][i], worlds[k][1][i]]),
            velocity=float(speed[k]),
            orientation=float(wrap_angle(worlds[k][2][i])),
            acceleration=float((speed[k] - speed[k - 1]) / rollout.dt),
        )
        for k in range(1, rollout.steps + 1)
    ]


def _ego_problem(cr, scenario, scene: Scene, sections, time_step: float, problem_id: int):
    """The planning problem of an ego that enters the scene's road behind its traffic: at
    the road's start, on the lane with the most room before its first vehicle, at that
    vehicle's speed (the speed limit on an empty lane), heading down the road; its goal is
    to reach the lanelets of the road's last section within a time window around the time
    the traffic's pace takes (``_GOAL_PACE``). The ego is not one of the obstacles, so the
    scene's vehicles stay as they were (and scenegym's import, which ignores planning
    problems, gives the scene back)."""
    road, vehicles = scene.road, scene.vehicles
    _, ids = sections
    first = min(k for k, _ in ids)
    lanes = [lane for lane in range(road.lane_count) if (first, lane) in ids]
    room, speed = {}, {}
    for lane in lanes:
        ahead = np.flatnonzero(vehicles.lane == lane)
        if ahead.size:
            k = ahead[np.argmin(vehicles.s[ahead])]
            room[lane] = float(vehicles.s[k] - vehicles.length[k] / 2)
            speed[lane] = float(vehicles.speed[k])
        else:
            room[lane], speed[lane] = road.length, road.speed_limit
    lane = max(lanes, key=lambda candidate: (room[candidate], -candidate))
    start = min(_EGO_LENGTH / 2, road.length / 2)
    v0 = float(np.clip(speed[lane], 0.0, road.speed_limit))
    px, py, heading = road.frenet_to_cartesian([start], [road.lane_centers[lane]])
    ego = cr.InitialState(
        time_step=0,
        position=np.array([px[0], py[0]]),
        orientation=float(wrap_angle(heading[0])),
        velocity=v0,
        yaw_rate=0.0,
        slip_angle=0.0,
    )
    last = max(k for k, _ in ids)
    goal_lanelets = [ids[k, lane] for k, lane in ids if k == last]
    distance = road.length - start
    fastest = distance / (road.speed_limit * _GOAL_PACE[1])
    slowest = distance / max(_GOAL_PACE[0] * max(v0, 1.0), _GOAL_SLOWEST_SPEED)
    window = cr.Interval(max(1, round(fastest / time_step)), max(2, round(slowest / time_step)))
    network = scenario.lanelet_network
    area = cr.OccupancyGroup(tuple(network.find_lanelet_by_id(i).polygon for i in goal_lanelets))
    goal = cr.GoalRegion(
        [cr.CustomState(time_step=window, position=area)],
        lanelets_of_goal_position={0: goal_lanelets},
    )
    return cr.PlanningProblemSet([cr.PlanningProblem(problem_id, ego, goal)])


def write_commonroad(
    scene: Scene,
    path: str | os.PathLike,
    *,
    scenario_id: str | None = None,
    time_step: float = 0.1,
    horizon: float = 0.0,
) -> Path:
    """Write one scene as a CommonRoad 2020a XML file, atomically; returns the path.

    The road becomes lanelets: the road is cut into sections at segment joints and at lane
    starts and ends, and every lane present in a section is one lanelet (boundary vertices at
    most 2 m apart along the reference line) with its neighbours (same direction), its
    predecessor and successor, dashed lines between lanes and solid edge lines. The speed
    limit is a max-speed traffic sign (value in m/s). Each vehicle is a dynamic obstacle with a
    rectangle shape and its world pose and speed at time step 0; with ``horizon`` (s), its
    trajectory over that time as the scene's traffic drives on (highway-env's IDM and MOBIL,
    ``scenegym.scene.roll_out``, one state per time step), else one state a step later at
    constant speed. An existing file is replaced without asking.

    Args:
        scene: the scene to write.
        path: the ``.xml`` file to write; its folder must exist.
        scenario_id: CommonRoad benchmark id (for example ``"DEU_A9-1_1_T-1"``; the country
            is an ISO 3166 three-letter code or ``ZAM``); default
            ``ZAM_Scenegym<scene id>-1_1_T-1``.
        time_step: the scenario's time step size (s), in [0.001, 10] (with a horizon, in
            [0.01, 1]).
        horizon: seconds of traffic written as trajectories, in [0, 60].

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
    time_step, horizon = _check_time_step(time_step), _check_horizon(horizon, time_step)
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: folder {path.parent} does not exist")
    cr = load_commonroad()
    sid = _scenario_id(cr, scenario_id, f"Scenegym{scene.id}", 1)
    return _write(cr, scene, path, sid, (time_step, horizon))


def _check_time_step(time_step: Any) -> float:
    try:
        value = float(time_step)
    except (TypeError, ValueError):
        raise TypeError(f"time_step must be a number of seconds, got {time_step!r}") from None
    return check_range("time_step", value, 0.001, 10.0)


def _check_horizon(horizon: Any, time_step: float) -> float:
    try:
        value = float(horizon)
    except (TypeError, ValueError):
        raise TypeError(f"horizon must be a number of seconds, got {horizon!r}") from None
    check_range("horizon", value, 0.0, 60.0)
    if value > 0 and not 0.01 <= time_step <= 1.0:
        raise ValueError(f"a horizon needs a time_step from 0.01 to 1 s, got {time_step}")
    return value


def _write(cr: SimpleNamespace, scene: Scene, path: Path, sid, timing: tuple) -> Path:
    time_step, horizon = timing
    scenario, problems, tags = _build_scenario(cr, scene, sid, time_step, horizon)
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
            with quiet():
                writer.write_to_file(str(temporary), cr.OverwriteExistingFile.ALWAYS)
            _sort_set_members(temporary)
        except etree.Error as error:  # lxml's own error for a failed write (a full disk)
            raise OSError(f"cannot write {path}: {error}") from None
        os.replace(temporary, path)
    finally:
        precision.decimals = decimals
        shutil.rmtree(folder, ignore_errors=True)
    return path


def _sort_set_members(path: Path) -> None:
    """Put what commonroad-io keeps in Python sets (each lanelet's types, the scenario's tags)
    in sorted order: it writes them in hash order, which changes from process to process, and
    the same scene should give the same file. Only names and texts are swapped between
    elements, so the layout of the file stays as commonroad-io wrote it."""
    from lxml import etree

    data = path.read_bytes()
    root = etree.fromstring(data, safe_xml_parser())
    for tags in root.iter("scenarioTags"):
        names = sorted(child.tag for child in tags)
        for child, name in zip(tags, names):
            child.tag = name
    for lanelet in root.iter("lanelet"):
        types = [child for child in lanelet if child.tag == "laneletType"]
        for child, text in zip(types, sorted(child.text or "" for child in types)):
            child.text = text
    date = source_date()
    if date is not None:
        root.set("date", date.strftime("%Y-%m-%d"))
    text = etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")
    path.write_bytes(text + (b"\n" if data.endswith(b"\n") else b""))


def export_commonroad(
    scenes: Iterable[Scene],
    out_dir: str | os.PathLike,
    *,
    time_step: float = 0.1,
    horizon: float = 0.0,
) -> list[Path]:
    """Write each scene as a CommonRoad XML file ``<index>_<scene id>.xml`` in ``out_dir``.

    The folder is created when missing; files of the same names are replaced. Returns the
    written paths in scene order. ``time_step`` (s) is the scenarios' time step size;
    ``horizon`` (s) writes the traffic's trajectories (see ``write_commonroad``).
    """
    time_step, horizon = _check_time_step(time_step), _check_horizon(horizon, time_step)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir {out_dir} exists and is not a folder")
    cr = load_commonroad()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index, scene in enumerate(scenes):
        if not isinstance(scene, Scene):
            raise TypeError(f"scenes[{index}] must be a Scene, got {type(scene).__name__}")
        sid = _scenario_id(cr, None, f"Scenegym{scene.id}", index + 1)
        try:
            target = out_dir / f"{index:05d}_{scene.id}.xml"
            path = _write(cr, scene, target, sid, (time_step, horizon))
        except ValueError as error:
            raise ValueError(f"scenes[{index}] (scene {scene.id}): {error}") from None
        written.append(path)
    return written
