"""What the CommonRoad bridge needs of commonroad-io, imported on first use so that
``import scenegym`` stays light, and the small helpers export and import share."""

from __future__ import annotations

import contextlib
import functools
import logging
import warnings
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np

from scenegym._io import safe_xml_parser

__all__ = ["Unrepresentable", "finite_number", "load_commonroad", "one_line", "quiet", "wrap_angle"]


class Unrepresentable(Exception):
    """A map (or part of one) that a scenegym road cannot describe; the message says why."""


def load_commonroad() -> SimpleNamespace:
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
        from commonroad.geometry.occupancy.occupancy_group import OccupancyGroup
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
        OccupancyGroup=OccupancyGroup,
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
def quiet() -> Iterator[None]:
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


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def wrap_angle(angle: Any) -> Any:
    """Wrap angles (rad) to [-pi, pi)."""
    return (np.asarray(angle, dtype=np.float64) + np.pi) % (2.0 * np.pi) - np.pi


def finite_number(value: Any) -> float | None:
    """A state value as a float: exact values as they are, intervals by their midpoint."""
    if value is None:
        return None
    if hasattr(value, "start") and hasattr(value, "end"):
        return 0.5 * (float(value.start) + float(value.end))
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def schema_problem(path: Any) -> str | None:
    """The first place where the CommonRoad 2020a file ``path`` breaks the schema that
    commonroad-io ships, or the 2018b file ``path`` lacks what the reader needs
    (``format_2018b_problem``), as ``line N: ...``; None when it keeps to them or is of
    another version. Entities are not expanded and nothing is fetched."""
    from lxml import etree

    try:
        document = etree.parse(str(path), safe_xml_parser())
    except (etree.XMLSyntaxError, OSError) as error:
        return f"not well-formed XML: {one_line(error)}"
    version = document.getroot().get("commonRoadVersion")
    if version == "2018b":
        return format_2018b_problem(document.getroot())
    if version != "2020a":
        return None
    schema = _commonroad_schema()
    if schema.validate(document):
        return None
    first = schema.error_log[0]
    message = first.message.replace("{http://www.w3.org/2001/XMLSchema}", "")
    return f"line {first.line}: {one_line(Exception(message))} (the CommonRoad 2020a schema)"


@functools.lru_cache(maxsize=1)
def _commonroad_schema():
    """The CommonRoad 2020a XML schema commonroad-io ships, parsed once."""
    from importlib import resources

    from lxml import etree

    files = resources.files("commonroad") / "common" / "xml_definition_files"
    with resources.as_file(files / "XML_commonRoad_XSD.xsd") as xsd:
        return etree.XMLSchema(etree.parse(str(xsd)))


_NUMBERS = frozenset({"x", "y", "exact", "intervalStart", "intervalEnd", "length", "width"})
_SHAPES = {"rectangle": ("length", "width"), "circle": ("radius",), "polygon": ("point",)}


def format_2018b_problem(root: Any) -> str | None:
    """The first place where a CommonRoad 2018b document (``root``: its lxml root) lacks
    what commonroad-io reads (commonroad-io ships no 2018b schema, so these checks stand in
    for one): ``benchmarkID`` and ``tags``, a positive ``timeStepSize``; numbers where
    numbers go; lanelets with a left and a right bound of two points or more; obstacles
    with a known role and type, a shape with its sizes, and an initial state with a
    position, an orientation and a time."""
    for name in ("benchmarkID", "tags"):
        if root.get(name) is None:
            return f"line {root.sourceline}: <commonRoad> has no {name} attribute (empty will do)"
    step = root.get("timeStepSize")
    if finite_number(step) is None or float(step) <= 0:
        return f"line {root.sourceline}: timeStepSize {step!r} is not a positive number"
    for node in root.iter():
        if node.tag in _NUMBERS and len(node) == 0 and finite_number(node.text) is None:
            return f"line {node.sourceline}: <{node.tag}> holds {node.text!r}, not a number"
    for part, check in (("lanelet", _lanelet_2018b_problem), ("obstacle", _obstacle_2018b_problem)):
        for node in root.findall(part):
            problem = check(node)
            if problem is not None:
                return f"line {node.sourceline}: {part} {node.get('id')} {problem}"
    return None


def _lanelet_2018b_problem(lanelet: Any) -> str | None:
    for side in ("leftBound", "rightBound"):
        bound = lanelet.find(side)
        points = [] if bound is None else bound.findall("point")
        if len(points) < 2:
            return f"has no <{side}> of two points or more"
        if any(point.find("x") is None or point.find("y") is None for point in points):
            return f"has a <point> of its <{side}> without <x> or <y>"
    return None


def _obstacle_2018b_problem(obstacle: Any) -> str | None:
    from commonroad.scenario.obstacle import ObstacleType

    role, kind = obstacle.findtext("role"), obstacle.findtext("type")
    if role not in ("static", "dynamic"):
        return f"has role {role!r}; expected static or dynamic"
    if kind not in {member.value for member in ObstacleType}:
        return f"has type {kind!r}; expected one of CommonRoad's obstacle types, such as car"
    shape = obstacle.find("shape")
    forms = [] if shape is None else [form for form in shape if form.tag in _SHAPES]
    if not forms:
        return "has no <shape> with a rectangle, circle or polygon"
    for form in forms:
        missing = [need for need in _SHAPES[form.tag] if form.find(need) is None]
        if missing:
            return f"has a <{form.tag}> without <{missing[0]}>"
    state = obstacle.find("initialState")
    if state is None:
        return "has no <initialState>"
    missing = [need for need in ("position", "orientation", "time") if state.find(need) is None]
    if missing:
        return f"has an <initialState> without <{missing[0]}>"
    return None
