"""Scenes as OpenSCENARIO 1.x scenarios with their OpenDRIVE roads, written with the
``scenariogeneration`` library, checked against the official XML schemas, and read back.

A scene becomes two files side by side, ``<name>.xosc`` and ``<name>.xodr``:

- **OpenDRIVE road** (1.7 schema): one road whose reference line is the scene's (its
  straight and arc segments are ``line`` and ``arc`` geometries from the same origin), so
  OpenDRIVE's ``s`` is scenegym's station. scenegym's reference line is the carriageway's left
  edge, so every lane lies to its right: lane ``k`` is OpenDRIVE lane ``-(k + 1)``, driven in
  the reference line's direction (right-hand traffic). The road is cut into lane sections
  where lanes begin or end; a lane where it does not exist has width 0 and type ``none``, so
  lane ids stay the same along the road. Lines between lanes are broken, the edges solid;
  the speed limit is the road type's speed (``motorway``).
- **OpenSCENARIO scenario**: every vehicle an entity of its category (car, truck, bus,
  motorbike) with its length and width (heights: car 1.5 m, truck 3.5, bus 3.2, motorbike
  1.4), its reference point at the centre of its bounding box; at the start it is teleported
  to its ``LanePosition`` (road 0, its lane, station ``s``, offset ``d`` from the lane centre,
  heading relative to the lane) and given its speed.
- **storyboard** ``constant`` (the default): no manoeuvre; simulators drive each vehicle on
  along its lane at its speed (esmini's default controller does). ``critical``: the scene is
  rolled forward (``scenegym.scene.roll_out``, highway-env's IDM and MOBIL, up to 10 s) and
  the manoeuvres that make it critical are scripted at the times they happened, up to the
  first collision: every lane change (a cut-in: an absolute lane change over 2 s, starting a
  second before the vehicle's centre crossed into the new lane) and every vehicle's hard
  braking (from 3 m/s²: a speed change to the speed it braked down to, at its mean rate).
  The stop trigger ends the scenario after ``duration`` s.

``read_openscenario`` reads such a file pair back into a ``Scene`` (positions, speeds, sizes,
kinds and road): it reads what this module writes, and says so for files it cannot read.
``validate`` checks a file against the OpenSCENARIO (1.0 to 1.3) or OpenDRIVE 1.7 schema
that ``scenariogeneration`` installs. Creation dates are ``SOURCE_DATE_EPOCH`` where it is set,
so an export can be repeated byte for byte.
"""

from __future__ import annotations

import datetime
import functools
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from scenegym._io import atomic_write_bytes, safe_xml_parser, source_date
from scenegym.scene.road import Road
from scenegym.scene.rollout import roll_out
from scenegym.scene.scene import Scene
from scenegym.scene.vehicles import KINDS, Vehicles

__all__ = [
    "OPENSCENARIO_VERSIONS",
    "STORYBOARDS",
    "export_openscenario",
    "read_openscenario",
    "validate",
    "write_openscenario",
]

OPENSCENARIO_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
"""OpenSCENARIO versions written (and validated against their schemas)."""
STORYBOARDS = ("constant", "critical")
"""Storyboards a scene can be exported with (see the module notes)."""

CATEGORIES = {"car": "car", "truck": "truck", "bus": "bus", "motorcycle": "motorbike"}
"""OpenSCENARIO vehicle category of each scenegym kind."""
HEIGHTS = {"car": 1.5, "truck": 3.5, "bus": 3.2, "motorcycle": 1.4}
"""Height (m) written for each kind (scenes have no heights)."""
HARD_BRAKING = 3.0
"""Deceleration (m/s²) from which a rollout's braking is scripted in the critical storyboard."""
_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)


def _libraries():
    try:
        from scenariogeneration import xodr, xosc
    except ImportError as error:  # pragma: no cover - a dependency
        raise ImportError(
            f"OpenSCENARIO export needs scenariogeneration ({error}); "
            "install it with: pip install scenariogeneration"
        ) from None
    return xodr, xosc


# ---------------------------------------------------------------------- OpenDRIVE
def _sections(road: Road) -> list[float]:
    """Stations where a lane section starts: 0 and every lane start or end inside the road."""
    inner = np.concatenate([road.lane_starts, road.lane_ends])
    inside = inner[(inner > 1e-9) & (inner < road.length - 1e-9)]
    return [0.0, *np.unique(np.round(inside, 9)).tolist()]


def _opendrive(road: Road, name: str):
    xodr, _ = _libraries()
    x0, y0, h0 = road.origin
    plan = xodr.PlanView(float(x0), float(y0), float(h0))
    for length, curvature in zip(road.segment_lengths, road.segment_curvatures):
        if abs(curvature) < 1e-12:
            plan.add_geometry(xodr.Line(float(length)))
        else:
            plan.add_geometry(xodr.Arc(float(curvature), length=float(length)))
    lanes = xodr.Lanes()
    starts = _sections(road)
    ends = [*starts[1:], road.length]
    for k, (start, end) in enumerate(zip(starts, ends)):
        centre = xodr.Lane(lane_type=xodr.LaneType.none)
        centre.add_roadmark(xodr.RoadMark(xodr.RoadMarkType.solid))
        section = xodr.LaneSection(float(start), centre)
        present = road.lanes_at([(start + end) / 2.0])[:, 0]
        for lane in range(road.lane_count):
            exists = bool(present[lane])
            width = float(road.lane_widths[lane]) if exists else 0.0
            kind = xodr.LaneType.driving if exists else xodr.LaneType.none
            one = xodr.Lane(lane_type=kind, a=width)
            outer = lane == road.lane_count - 1 or not present[lane + 1]
            mark = xodr.RoadMarkType.solid if outer or not exists else xodr.RoadMarkType.broken
            one.add_roadmark(xodr.RoadMark(mark))
            if k > 0:
                one.add_link("predecessor", -(lane + 1))
            if k < len(starts) - 1:
                one.add_link("successor", -(lane + 1))
            section.add_right_lane(one)
        lanes.add_lanesection(section)
    built = xodr.Road(0, plan, lanes)
    built.add_type(xodr.RoadType.motorway, s=0.0, speed=float(road.speed_limit))
    document = xodr.OpenDrive(name, revMinor="7")
    document.add_road(built)
    document.adjust_startpoints()
    return document


# ---------------------------------------------------------------------- OpenSCENARIO
def _entity(xosc, name: str, kind: str, length: float, width: float):
    height = HEIGHTS[kind]
    box = xosc.BoundingBox(width, length, height, 0.0, 0.0, height / 2.0)
    front = xosc.Axle(0.5, 0.7, width * 0.85, 0.3 * length, 0.35)
    rear = xosc.Axle(0.0, 0.7, width * 0.85, -0.3 * length, 0.35)
    category = getattr(xosc.VehicleCategory, CATEGORIES[kind])
    return xosc.Vehicle(name, category, box, front, rear, 70.0, 10.0, 10.0)


def _critical_events(scene: Scene, horizon: float) -> list[dict[str, Any]]:
    """The manoeuvres of the scene's rollout up to its first collision (or the horizon; see
    the module notes): ``{"vehicle", "time", "lane", "duration"}`` for a lane change,
    ``{"vehicle", "time", "speed", "rate"}`` for a hard braking."""
    rollout = roll_out([scene], horizon=horizon)
    dt, lane, speed = rollout.dt, rollout.lane, rollout.speed
    crashes = rollout.crash_step[rollout.crash_step >= 0]
    until = int(crashes.min()) if crashes.size else rollout.steps
    events = []
    for i in range(lane.shape[1]):
        for step in np.flatnonzero(lane[1 : until + 1, i] != lane[:until, i]):
            # The centre crossed into the new lane at ``step + 1``; the change began earlier.
            began = max(int(step) + 1 - round(1.0 / dt), 0)
            events.append(
                {"vehicle": i, "time": began * dt, "lane": int(lane[step + 1, i]), "duration": 2.0}
            )
        braking = -np.diff(speed[: until + 1, i]) / dt
        hard = np.flatnonzero(braking >= HARD_BRAKING)
        if hard.size:
            first, last = int(hard[0]), int(hard[-1]) + 1
            rate = float(np.mean(braking[first:last]))
            events.append(
                {"vehicle": i, "time": first * dt, "speed": float(speed[last, i]), "rate": rate}
            )
    return sorted(events, key=lambda e: (e["time"], e["vehicle"]))


def _story(xosc, events: list[dict[str, Any]]):
    story = xosc.Story("critical")
    act = xosc.Act("manoeuvres", _time_trigger(xosc, "start", 0.0))
    for n, event in enumerate(events):
        name = f"vehicle{event['vehicle']}"
        if "lane" in event:
            dynamics = xosc.TransitionDynamics(
                xosc.DynamicsShapes.sinusoidal, xosc.DynamicsDimension.time, event["duration"]
            )
            action = xosc.AbsoluteLaneChangeAction(-(event["lane"] + 1), dynamics)
        else:
            dynamics = xosc.TransitionDynamics(
                xosc.DynamicsShapes.linear, xosc.DynamicsDimension.rate, event["rate"]
            )
            action = xosc.AbsoluteSpeedAction(event["speed"], dynamics)
        happening = xosc.Event(f"event{n}", xosc.Priority.parallel)
        happening.add_action(f"action{n}", action)
        happening.add_trigger(_time_trigger(xosc, f"at{n}", event["time"]))
        manoeuvre = xosc.Maneuver(f"manoeuvre{n}")
        manoeuvre.add_event(happening)
        group = xosc.ManeuverGroup(f"group{n}")
        group.add_actor(name)
        group.add_maneuver(manoeuvre)
        act.add_maneuver_group(group)
    story.add_act(act)
    return story


def _time_trigger(xosc, name: str, time: float):
    condition = xosc.SimulationTimeCondition(float(time), xosc.Rule.greaterThan)
    return xosc.ValueTrigger(name, 0.0, xosc.ConditionEdge.rising, condition)


def _scenario(scene: Scene, road_file: str, *, minor: int, storyboard: str, duration: float):
    _, xosc = _libraries()
    v = scene.vehicles
    entities = xosc.Entities()
    init = xosc.Init()
    for i in range(len(v)):
        name = f"vehicle{i}"
        kind = KINDS[int(v.kind[i])]
        entities.add_scenario_object(
            name, _entity(xosc, name, kind, float(v.length[i]), float(v.width[i]))
        )
        orientation = xosc.Orientation(
            h=float(v.heading[i]) % (2 * math.pi), reference=xosc.ReferenceContext.relative
        )
        position = xosc.LanePosition(
            float(v.s[i]), float(v.d[i]), -(int(v.lane[i]) + 1), 0, orientation
        )
        init.add_init_action(name, xosc.TeleportAction(position))
        step = xosc.TransitionDynamics(xosc.DynamicsShapes.step, xosc.DynamicsDimension.time, 0)
        init.add_init_action(name, xosc.AbsoluteSpeedAction(float(v.speed[i]), step))
    stop = _time_trigger(xosc, "end", duration)
    board = xosc.StoryBoard(init, _stop(xosc, stop))
    events = _critical_events(scene, min(duration, 10.0)) if storyboard == "critical" else []
    if events or minor == 0:  # OpenSCENARIO 1.0 asks for at least one story
        board.add_story(_story(xosc, events) if events else _empty_story(xosc))
    created = source_date() or _EPOCH
    return xosc.Scenario(
        f"scenegym scene {scene.id}",
        "scenegym",
        xosc.ParameterDeclarations(),
        entities,
        board,
        xosc.RoadNetwork(roadfile=road_file),
        xosc.Catalog(),
        osc_minor_version=minor,
        creation_date=created.replace(tzinfo=None),
    )


def _stop(xosc, trigger):
    group = xosc.ConditionGroup("stop")
    group.add_condition(trigger)
    stop = xosc.Trigger("stop")
    stop.add_conditiongroup(group)
    return stop


def _empty_story(xosc):
    story = xosc.Story("traffic")
    act = xosc.Act("drive on", _time_trigger(xosc, "start", 0.0))
    group = xosc.ManeuverGroup("none")
    maneuver = xosc.Maneuver("keep lane")
    event = xosc.Event("keep", xosc.Priority.parallel)
    dynamics = xosc.TransitionDynamics(xosc.DynamicsShapes.step, xosc.DynamicsDimension.time, 0)
    event.add_action("keep speed", xosc.RelativeSpeedAction(0.0, "vehicle0", dynamics))
    event.add_trigger(_time_trigger(xosc, "never", 1e9))
    maneuver.add_event(event)
    group.add_maneuver(maneuver)
    act.add_maneuver_group(group)
    story.add_act(act)
    return story


# ---------------------------------------------------------------------- writing
def _check_options(version: str, storyboard: str, duration: float) -> int:
    if version not in OPENSCENARIO_VERSIONS:
        raise ValueError(
            f"OpenSCENARIO version must be one of {', '.join(OPENSCENARIO_VERSIONS)}, "
            f"got {version!r}"
        )
    if storyboard not in STORYBOARDS:
        raise ValueError(f"storyboard must be one of {', '.join(STORYBOARDS)}, got {storyboard!r}")
    if not 0.0 < float(duration) <= 3600.0:
        raise ValueError(f"duration must be above 0 and at most 3600 s, got {duration}")
    return int(version.split(".")[1])


def write_openscenario(
    scene: Scene,
    path: str | os.PathLike,
    *,
    version: str = "1.2",
    storyboard: str = "constant",
    duration: float = 20.0,
) -> tuple[Path, Path]:
    """Write ``scene`` as the OpenSCENARIO file ``path`` (``.xosc``) and its OpenDRIVE road
    beside it (the same name, ``.xodr``), each atomically; returns both paths (see the
    module notes for ``storyboard``; ``duration``: s until the stop trigger).

    >>> import tempfile
    >>> from scenegym.scene import Road, Scene, Vehicles
    >>> cars = Vehicles.from_columns(lane=[0, 1], s=[50.0, 80.0], speed=[25.0, 22.0])
    >>> scene = Scene(Road.straight(length=300.0, lanes=2), cars)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     xosc, xodr = write_openscenario(scene, Path(folder) / "scene.xosc")
    ...     back = read_openscenario(xosc)
    ...     back.vehicles.s.tolist(), xodr.name
    ([50.0, 80.0], 'scene.xodr')
    """
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a Scene, got {type(scene).__name__}")
    minor = _check_options(version, storyboard, duration)
    path = Path(path)
    if path.suffix != ".xosc":
        raise ValueError(f"an OpenSCENARIO file ends in .xosc, got {path.name}")
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: folder {path.parent} does not exist")
    road_path = path.with_suffix(".xodr")
    document = _opendrive(scene.road, f"scenegym road of scene {scene.id}")
    scenario = _scenario(
        scene, road_path.name, minor=minor, storyboard=storyboard, duration=float(duration)
    )
    atomic_write_bytes(road_path, _pretty(document.get_element(), _road_date()))
    atomic_write_bytes(path, _pretty(scenario.get_element(), None))
    return path, road_path


def _road_date() -> str:
    return (source_date() or _EPOCH).strftime("%Y-%m-%dT%H:%M:%S")


def _pretty(element, date: str | None) -> bytes:
    """An ElementTree element as indented UTF-8 XML (the header's date set to ``date``)."""
    import xml.etree.ElementTree as ET

    if date is not None:
        header = element.find("header")
        if header is not None:
            header.set("date", date)
    ET.indent(element)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True) + b"\n"


def export_openscenario(
    scenes: Iterable[Scene],
    out_dir: str | os.PathLike,
    *,
    version: str = "1.2",
    storyboard: str = "constant",
    duration: float = 20.0,
) -> list[Path]:
    """Write each scene as ``<index>_<scene id>.xosc`` with its ``.xodr`` in ``out_dir``
    (created when missing; files of the same names are replaced); returns the ``.xosc``
    paths in scene order."""
    _check_options(version, storyboard, duration)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir {out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index, scene in enumerate(scenes):
        if not isinstance(scene, Scene):
            raise TypeError(f"scenes[{index}] must be a Scene, got {type(scene).__name__}")
        target = out_dir / f"{index:05d}_{scene.id}.xosc"
        path, _ = write_openscenario(
            scene, target, version=version, storyboard=storyboard, duration=duration
        )
        written.append(path)
    return written


# ---------------------------------------------------------------------- schemas
def _schema_folder() -> Path:
    """The folder of official schemas that ``scenariogeneration`` installs."""
    import importlib.metadata

    for file in importlib.metadata.files("scenariogeneration") or ():
        if file.name.endswith(".xsd") and file.parent.name == "schemas":
            return Path(file.locate()).parent
    raise FileNotFoundError("scenariogeneration's schema files are not installed")


def validate(path: str | os.PathLike) -> list[str]:
    """The schema errors of an OpenSCENARIO (``.xosc``, against the schema of its version)
    or OpenDRIVE (``.xodr``, 1.7) file; empty when it is valid."""
    path = Path(path)
    root = _parse(path)
    if path.suffix == ".xodr":
        schema = _schema_folder() / "opendrive_17_core.xsd"
    else:
        header = root.find("FileHeader")
        minor = header.get("revMinor") if header is not None else None
        names = {"0": "1_0", "1": "1_1", "2": "1_2", "3": "1_3_1"}
        if minor not in names:
            return [f"{path.name}: no OpenSCENARIO 1.0-1.3 file header"]
        schema = _schema_folder() / f"OpenSCENARIO_{names[minor]}.xsd"
    checker = _schema(str(schema))
    return [f"{path.name}: {error.reason} at {error.path}" for error in checker.iter_errors(root)]


@functools.lru_cache(maxsize=8)
def _schema(path: str):
    """The schema at ``path``, read once (an OpenSCENARIO schema takes a second to build)."""
    import xmlschema

    return xmlschema.XMLSchema(path)


def _parse(path: Path):
    """The root element of an XML file, parsed without entities or network access."""
    from lxml import etree

    try:
        return etree.parse(str(path), safe_xml_parser()).getroot()
    except (OSError, etree.XMLSyntaxError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None


# ---------------------------------------------------------------------- reading back
def read_openscenario(path: str | os.PathLike) -> Scene:
    """The scene of an OpenSCENARIO file written by ``write_openscenario`` (its road from
    the OpenDRIVE file it names): road, positions, headings, speeds, sizes and kinds.

    Raises:
        ValueError: naming the file and what it holds that this reader does not read.
    """
    path = Path(path)
    root = _parse(path)
    logic = root.find("RoadNetwork/LogicFile")
    if logic is None or not logic.get("filepath"):
        raise ValueError(f"{path}: no OpenDRIVE road (RoadNetwork/LogicFile) is named")
    road = _read_road(path.parent / logic.get("filepath"))
    kinds = {category: kind for kind, category in CATEGORIES.items()}
    columns: dict[str, list] = {key: [] for key in ("lane", "s", "d", "heading", "speed")}
    sizes: dict[str, list] = {"length": [], "width": [], "kind": []}
    order = []
    for item in root.iterfind("Entities/ScenarioObject"):
        vehicle = item.find("Vehicle")
        box = vehicle.find("BoundingBox/Dimensions") if vehicle is not None else None
        category = vehicle.get("vehicleCategory") if vehicle is not None else None
        if box is None or category not in kinds:
            raise ValueError(f"{path}: entity {item.get('name')} is no vehicle scenegym reads")
        order.append(item.get("name"))
        sizes["length"].append(float(box.get("length")))
        sizes["width"].append(float(box.get("width")))
        sizes["kind"].append(KINDS.index(kinds[category]))
    init = {name: {} for name in order}
    for private in root.iterfind("Storyboard/Init/Actions/Private"):
        name = private.get("entityRef")
        lane = private.find(".//TeleportAction/Position/LanePosition")
        speed = private.find(".//AbsoluteTargetSpeed")
        if lane is not None:
            init[name]["lane"] = lane
        if speed is not None:
            init[name]["speed"] = float(speed.get("value"))
    for name in order:
        lane = init[name].get("lane")
        if lane is None or "speed" not in init[name]:
            raise ValueError(f"{path}: vehicle {name} has no LanePosition or speed at the start")
        heading = lane.find("Orientation")
        angle = float(heading.get("h", 0.0)) if heading is not None else 0.0
        columns["lane"].append(-int(lane.get("laneId")) - 1)
        columns["s"].append(float(lane.get("s")))
        columns["d"].append(float(lane.get("offset", 0.0)))
        columns["heading"].append((angle + math.pi) % (2 * math.pi) - math.pi)
        columns["speed"].append(init[name]["speed"])
    vehicles = Vehicles.from_columns(**columns, **sizes) if order else Vehicles.empty()
    return Scene(road, vehicles, context={"source": path.name})


def _read_road(path: Path) -> Road:
    if not path.is_file():
        raise ValueError(f"the OpenDRIVE file {path} does not exist")
    root = _parse(path)
    roads = root.findall("road")
    if len(roads) != 1:
        raise ValueError(f"{path}: scenegym reads a road network of one road, got {len(roads)}")
    road = roads[0]
    lengths, curvatures, origin = [], [], None
    for geometry in road.iterfind("planView/geometry"):
        if origin is None:
            origin = tuple(float(geometry.get(key)) for key in ("x", "y", "hdg"))
        lengths.append(float(geometry.get("length")))
        arc = geometry.find("arc")
        if arc is None and geometry.find("line") is None:
            raise ValueError(f"{path}: only line and arc geometries are read")
        curvatures.append(float(arc.get("curvature")) if arc is not None else 0.0)
    sections = road.findall("lanes/laneSection")
    if not lengths or not sections:
        raise ValueError(f"{path}: the road has no geometry or no lane section")
    starts = [float(section.get("s")) for section in sections]
    total = float(sum(lengths))
    ends = [*starts[1:], total]
    widths: dict[int, float] = {}
    present: dict[int, list[tuple[float, float]]] = {}
    for section, start, end in zip(sections, starts, ends):
        for lane in section.iterfind("right/lane"):
            k = -int(lane.get("id")) - 1
            width = float(lane.find("width").get("a"))
            if width > 0 and lane.get("type") != "none":
                widths[k] = width
                present.setdefault(k, []).append((start, end))
    count = max(widths) + 1 if widths else 0
    if count == 0 or sorted(widths) != list(range(count)):
        raise ValueError(f"{path}: the road's right lanes are not lanes -1 to -n")
    speed = road.find("type/speed")
    return Road(
        segment_lengths=lengths,
        segment_curvatures=curvatures,
        lane_widths=[widths[k] for k in range(count)],
        lane_starts=[min(a for a, _ in present[k]) for k in range(count)],
        lane_ends=[max(b for _, b in present[k]) for k in range(count)],
        speed_limit=float(speed.get("max")) if speed is not None else 33.3,
        origin=origin,
    )
