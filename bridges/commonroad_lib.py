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
    commonroad-io ships (``line N: ...``), or None when it keeps to it, is of another version,
    or cannot be parsed at all. Entities are not expanded and nothing is fetched."""
    from lxml import etree

    try:
        document = etree.parse(str(path), safe_xml_parser())
    except (etree.XMLSyntaxError, OSError) as error:
        return f"not well-formed XML: {one_line(error)}"
    if document.getroot().get("commonRoadVersion") != "2020a":
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
