"""CommonRoad XML export and import, checked with real files written and read by commonroad-io."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from commonroad.common.common_lanelet import LaneletType
from commonroad.common.common_scenario import ScenarioID
from commonroad.common.file_reader import CommonRoadFileReader
from commonroad.common.file_writer import CommonRoadFileWriter, OverwriteExistingFile
from commonroad.common.util import FileFormat
from commonroad.geometry.obstacle_shapes.rect_obstacle_shape import RectObstacleShape
from commonroad.planning.planning_problem import PlanningProblemSet
from commonroad.prediction.prediction import TrajectoryPrediction
from commonroad.scenario.intersection import IncomingGroup, Intersection
from commonroad.scenario.lanelet import Lanelet
from commonroad.scenario.obstacle import DynamicObstacle, ObstacleType
from commonroad.scenario.scenario import Scenario, Tag
from commonroad.scenario.state import ExtendedPMState, InitialState
from commonroad.scenario.trajectory import Trajectory

from scenegym.bridges.commonroad import (
    export_commonroad,
    import_commonroad,
    read_commonroad,
    write_commonroad,
)
from scenegym.scene import (
    Road,
    Scene,
    Vehicles,
    validate,
    vehicle_poses,
    violation_counts,
    write_scenes,
)


def _round_trip(scene: Scene, tmp_path: Path) -> Scene:
    path = write_commonroad(scene, tmp_path / "scene.xml")
    result = read_commonroad(path)
    assert result.skipped == [] and result.dropped == 0 and len(result.scenes) == 1
    return result.scenes[0]


def _angle(a, b):
    return np.abs((np.asarray(a) - np.asarray(b) + np.pi) % (2 * np.pi) - np.pi)


# ------------------------------------------------------------------------------ round trip
@pytest.mark.parametrize("name", ["congested", "free_flow"])
def test_round_trip_keeps_the_road(name, request, tmp_path):
    scene = request.getfixturevalue(name)
    back = _round_trip(scene, tmp_path).road
    road = scene.road
    assert back.lane_count == road.lane_count
    np.testing.assert_allclose(back.lane_widths, road.lane_widths, atol=0.01)
    np.testing.assert_allclose(back.lane_starts, road.lane_starts, atol=0.5)
    np.testing.assert_allclose(back.lane_ends, road.lane_ends, atol=0.5)
    assert back.speed_limit == pytest.approx(road.speed_limit)
    # The fitted reference line runs along the original one.
    stations = road.stations(2.0)
    x, y, _ = road.frenet_to_cartesian(stations, np.zeros(stations.size))
    _, offset = back.cartesian_to_frenet(x, y)
    assert np.max(np.abs(offset)) < 0.01


@pytest.mark.parametrize("name", ["congested", "free_flow"])
def test_round_trip_keeps_every_vehicle(name, request, tmp_path):
    scene = request.getfixturevalue(name)
    back = _round_trip(scene, tmp_path)
    x0, y0, h0 = vehicle_poses(scene.road, scene.vehicles)
    x1, y1, h1 = vehicle_poses(back.road, back.vehicles)
    assert len(back.vehicles) == len(scene.vehicles)
    assert np.max(np.hypot(x1 - x0, y1 - y0)) < 0.01
    assert np.max(_angle(h1, h0)) < 0.01
    np.testing.assert_array_equal(back.vehicles.lane, scene.vehicles.lane)
    np.testing.assert_array_equal(back.vehicles.kind, scene.vehicles.kind)
    for column in ("speed", "length", "width"):
        np.testing.assert_allclose(
            getattr(back.vehicles, column), getattr(scene.vehicles, column), atol=1e-6
        )


def test_round_trip_works_when_the_leftmost_lane_begins_later(tmp_path):
    road = Road(
        segment_lengths=[100.0, 150.0, 60.0],
        segment_curvatures=[0.004, -0.01, 0.0],
        lane_widths=[3.5, 3.6, 3.7],
        lane_starts=[50.0, 0.0, 0.0],
        lane_ends=[200.0, 310.0, 250.0],
        speed_limit=20.0,
        origin=(10.0, 20.0, -2.0),
    )
    vehicles = Vehicles.from_columns(lane=[0, 1, 2], s=[60.0, 10.0, 240.0], speed=[10, 0, 5])
    back = _round_trip(Scene(road, vehicles), tmp_path)
    np.testing.assert_allclose(back.road.lane_starts, road.lane_starts, atol=0.5)
    np.testing.assert_allclose(back.road.lane_ends, road.lane_ends, atol=0.5)
    x0, y0, _ = vehicle_poses(road, vehicles)
    x1, y1, _ = vehicle_poses(back.road, back.vehicles)
    assert np.max(np.hypot(x1 - x0, y1 - y0)) < 0.01
    assert back.vehicles.lane.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("starts", "ends"),
    [
        ([0.0, 120.0], [200.0, 310.0]),  # the left lane ends, the right one begins later
        ([140.0, 0.0, 60.0], [310.0, 180.0, 250.0]),  # the middle lane ends first
        ([0.0, 0.0, 100.0], [200.0, 200.0, 310.0]),  # two lanes end, one goes on
    ],
)
def test_round_trip_works_when_no_lane_runs_the_whole_length(starts, ends, tmp_path):
    road = Road(
        segment_lengths=[100.0, 150.0, 60.0],
        segment_curvatures=[0.004, -0.01, 0.0],
        lane_widths=[3.5, 3.6, 3.7][: len(starts)],
        lane_starts=starts,
        lane_ends=ends,
        speed_limit=20.0,
        origin=(10.0, 20.0, -2.0),
    )
    lanes = list(range(len(starts)))
    vehicles = Vehicles.from_columns(  # one vehicle near each end of every lane
        lane=lanes * 2,
        s=[start + 8.0 for start in starts] + [end - 8.0 for end in ends],
        speed=[10.0] * (2 * len(starts)),
    )
    back = _round_trip(Scene(road, vehicles), tmp_path)
    assert back.road.length == pytest.approx(road.length, abs=0.5)
    np.testing.assert_allclose(back.road.lane_starts, road.lane_starts, atol=0.5)
    np.testing.assert_allclose(back.road.lane_ends, road.lane_ends, atol=0.5)
    assert len(back.vehicles) == len(vehicles)
    x0, y0, _ = vehicle_poses(road, vehicles)
    x1, y1, _ = vehicle_poses(back.road, back.vehicles)
    before = np.lexsort((vehicles.s, vehicles.lane))  # both in the order of lane, then station
    after = np.lexsort((back.vehicles.s, back.vehicles.lane))
    assert np.max(np.hypot(x1[after] - x0[before], y1[after] - y0[before])) < 0.01
    assert back.vehicles.lane[after].tolist() == vehicles.lane[before].tolist()


def test_reference_pieces_are_cut_where_they_were_projected_across_gaps():
    from scenegym.bridges.commonroad_lanelets import cut_pieces as _cut
    from scenegym.bridges.commonroad_lanelets import project_on_polyline as _project

    # Lanelet boundaries that do not quite meet: 0.5 m apart at the joint.
    pieces = [np.array([[0.0, 0.0], [10.0, 0.0]]), np.array([[10.5, 0.0], [20.0, 0.0]])]
    station, distance = _project(np.concatenate(pieces), np.array([15.0, 0.2]))
    assert station == pytest.approx(15.0) and distance == pytest.approx(0.2)
    before = _cut(pieces, station, keep_before=True)
    after = _cut(pieces, station, keep_before=False)
    np.testing.assert_allclose(before[-1][-1], [15.0, 0.0])
    np.testing.assert_allclose(after[0][0], [15.0, 0.0])
    assert len(before) == 2 and len(after) == 1


def test_repeated_boundary_vertices_do_not_bend_the_shifted_edge():
    from types import SimpleNamespace

    from scenegym.bridges.commonroad_lanelets import left_edges as _left_edges

    lanelet = SimpleNamespace(left_vertices=np.array([[0, 0], [0, 10], [0, 10], [0, 20.0]]))
    (edge,) = _left_edges({7: lanelet}, [7], 3.5)
    np.testing.assert_allclose(edge, [[-3.5, 0], [-3.5, 10], [-3.5, 20]], atol=1e-9)


@pytest.mark.parametrize("name", ["congested", "free_flow"])
def test_written_file_passes_the_commonroad_schema(name, request, tmp_path):
    path = write_commonroad(request.getfixturevalue(name), tmp_path / "scene.xml")
    assert CommonRoadFileWriter.check_validity_of_commonroad_file(path.read_bytes())


def test_written_file_is_read_by_commonroad_io(congested, tmp_path):
    path = write_commonroad(congested, tmp_path / "scene.xml", scenario_id="DEU_Jam-1_1_T-1")
    scenario, _ = CommonRoadFileReader(str(path)).open()
    assert len(scenario.dynamic_obstacles) == len(congested.vehicles)
    types = {o.obstacle_type.value for o in scenario.dynamic_obstacles}
    assert types == {"car", "truck", "bus", "motorcycle"}
    assert str(scenario.scenario_id) == "DEU_Jam-1_1_T-1"
    assert len(scenario.lanelet_network.traffic_signs) == 1


def test_a_one_lane_road_of_several_segments_round_trips(tmp_path):
    # Exported as a chain of lanelets joined by successor links only, without neighbours.
    road = Road(
        segment_lengths=[80.0, 60.0, 90.0],
        segment_curvatures=[0.0, 1.0 / 400.0, -1.0 / 600.0],
        lane_widths=[3.6],
    )
    vehicles = Vehicles.from_columns(lane=[0, 0], s=[30.0, 170.0], speed=[20.0, 25.0])
    back = _round_trip(Scene(road, vehicles), tmp_path)
    assert back.road.lane_count == 1
    assert back.road.length == pytest.approx(road.length, abs=0.5)
    np.testing.assert_allclose(back.vehicles.s, vehicles.s, atol=0.01)


def test_export_names_the_scene_of_a_vehicle_it_cannot_write(congested, tmp_path):
    columns = {name: getattr(congested.vehicles, name).copy() for name in ("lane", "s")}
    columns["lane"][3] = congested.road.lane_count + 2
    off_road = Scene(congested.road, Vehicles.from_columns(**columns))
    with pytest.raises(ValueError, match=r"scenes\[1\] .*vehicle 3 is on lane 8 of a road"):
        export_commonroad([congested, off_road], tmp_path / "out")


def test_export_command_names_the_file_line_of_a_scene_it_cannot_write(congested, tmp_path, capsys):
    from scenegym.cli import main

    columns = {name: getattr(congested.vehicles, name).copy() for name in ("lane", "s")}
    columns["lane"][3] = congested.road.lane_count + 2
    off_road = Scene(congested.road, Vehicles.from_columns(**columns))
    scenes = tmp_path / "scenes.jsonl"
    scenes.write_text(f"{congested.to_json()}\n\n{off_road.to_json()}\n")
    assert main(["export", str(scenes), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{scenes} line 3: scenes[1] (scene {off_road.id}): vehicle 3 is on lane 8" in err


def test_a_failed_write_is_an_os_error_and_keeps_the_earlier_file(congested, monkeypatch, tmp_path):
    from lxml import etree

    path = write_commonroad(congested, tmp_path / "scene.xml")
    before = path.read_bytes()

    def full_disk(self, *args, **kwargs):
        raise etree.SerialisationError("IO_ENOSPC")

    monkeypatch.setattr(CommonRoadFileWriter, "write_to_file", full_disk)
    with pytest.raises(OSError, match="cannot write .*scene.xml: IO_ENOSPC"):
        write_commonroad(congested, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.xml"]


def test_a_bad_scenario_id_is_rejected(congested, tmp_path):
    with pytest.raises(ValueError, match="scenario_id"):
        write_commonroad(congested, tmp_path / "scene.xml", scenario_id="not an id")


# ------------------------------------------------------------------------------ export
def test_export_writes_one_valid_file_per_scene(congested, free_flow, tmp_path):
    paths = export_commonroad([congested, free_flow], tmp_path / "out")
    assert [p.name for p in paths] == [f"00000_{congested.id}.xml", f"00001_{free_flow.id}.xml"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.name for p in paths]
    for path in paths:
        assert CommonRoadFileWriter.check_validity_of_commonroad_file(path.read_bytes())


def test_writing_over_a_file_never_prompts(congested, free_flow, tmp_path, monkeypatch):
    def no_input(*_):
        raise AssertionError("the writer asked for input")

    monkeypatch.setattr("builtins.input", no_input)
    target = tmp_path / "scene.xml"
    write_commonroad(congested, target)
    write_commonroad(free_flow, target)
    assert [p.name for p in tmp_path.iterdir()] == ["scene.xml"]
    assert read_commonroad(target).scenes[0].road.lane_count == free_flow.road.lane_count


def test_the_same_scene_gives_the_same_file_in_any_process(congested, tmp_path):
    # commonroad-io keeps lanelet types and scenario tags in sets, whose order follows the
    # process's string hash seed; the file must not.
    scenes = tmp_path / "scene.jsonl"
    write_scenes(scenes, [congested])
    written = []
    for hash_seed in ("1", "2", "3"):
        out = tmp_path / f"out-{hash_seed}"
        subprocess.run(
            [sys.executable, "-m", "scenegym", "export", str(scenes), "--out", str(out)],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            check=True,
            capture_output=True,
        )
        (file,) = out.glob("*.xml")
        written.append(file.read_bytes())
    assert written[0] == written[1] == written[2]
    assert b"<laneletType>" in written[0]


def test_a_failed_write_leaves_the_old_file(congested, free_flow, tmp_path, monkeypatch):
    target = tmp_path / "scene.xml"
    write_commonroad(congested, target)
    before = target.read_bytes()

    def broken(self, filename, *args, **kwargs):
        Path(filename).write_text("<commonRoad")
        raise OSError("disk full")

    monkeypatch.setattr(CommonRoadFileWriter, "write_to_file", broken)
    with pytest.raises(OSError, match="disk full"):
        write_commonroad(free_flow, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["scene.xml"]


# ------------------------------------------------------------------------------ import
# The road bends as y = A x^2 + B x^3: its curvature changes from 4e-4 to -1.3e-4 1/m.
_A, _B = 2e-4, -4e-7
_W = 3.5  # lane width (m)
_DT = 0.1  # time step (s)


def _curve(x, q):
    """Points at lateral offset ``q`` (m, left of +x positive) from the curve at ``x`` (m)."""
    x = np.asarray(x, dtype=np.float64)
    slope = 2 * _A * x + 3 * _B * x**2
    norm = np.hypot(1.0, slope)
    q = np.broadcast_to(np.asarray(q, dtype=np.float64), x.shape)
    return np.stack([x - q * slope / norm, _A * x**2 + _B * x**3 + q / norm], axis=1)


def _heading(x, backwards=False):
    x = np.asarray(x, dtype=np.float64)
    heading = np.arctan(2 * _A * x + 3 * _B * x**2)
    return heading + np.pi if backwards else heading


def _lanelet(lanelet_id, x, left_q, right_q, **relations):
    left, right = _curve(x, left_q), _curve(x, right_q)
    return Lanelet(
        left_vertices=left,
        center_vertices=0.5 * (left + right),
        right_vertices=right,
        lanelet_id=lanelet_id,
        lanelet_type={LaneletType.HIGHWAY},
        **relations,
    )


def _xs(a, b):
    return np.linspace(a, b, int(np.ceil(abs(b - a) / 2.5)) + 1)


def _vehicle(obstacle_id, kind, size, x0, q, speed, last_step, backwards=False):
    """A vehicle moving along the curve at offset ``q`` with ``speed`` (m/s) in x."""
    length, width = size
    shape = RectObstacleShape(width=width, length=length)
    direction = -1.0 if backwards else 1.0

    def state(step, cls, **extra):
        x = x0 + direction * speed * step * _DT
        return cls(
            time_step=step,
            position=_curve([x], [q])[0],
            orientation=float(_heading(x, backwards)),
            velocity=speed,
            acceleration=0.0,
            **extra,
        )

    initial = state(0, InitialState, yaw_rate=0.0, slip_angle=0.0)
    states = [state(step, ExtendedPMState) for step in range(1, last_step + 1)]
    prediction = TrajectoryPrediction(Trajectory(1, states), shape)
    return DynamicObstacle(obstacle_id, kind, shape, initial, prediction)


def _recorded_scenario(path: Path) -> Path:
    """Both directions of a bending 3-lane freeway over 220 m in x, split into sections, with
    an on-ramp that approaches from the right and runs beside lane 2 from x = 60 to 130 m,
    and 3 s of vehicle trajectories; built and written with commonroad-io only."""
    scenario = Scenario(_DT, ScenarioID(country_id="DEU", map_name="Recorded", map_id=1))
    lanelets = []
    # Eastbound (+x): lanes 0..2 right of the median at q = 0; ids 1xy = section x, lane y.
    east = [(0.0, 60.0), (60.0, 130.0), (130.0, 220.0)]
    for k, (a, b) in enumerate(east):
        for lane in range(3):
            relations = {}
            if lane > 0:
                relations |= {"adjacent_left": 100 + 10 * k + lane - 1}
                relations |= {"adjacent_left_same_direction": True}
            if lane < 2 or k == 1:
                right = 100 + 10 * k + lane + 1 if lane < 2 else 301
                relations |= {"adjacent_right": right, "adjacent_right_same_direction": True}
            if lane == 0:  # the opposite carriageway beyond the median
                relations |= {
                    "adjacent_left": 200 + 10 * (2 - k),
                    "adjacent_left_same_direction": False,
                }
            relations["predecessor"] = [100 + 10 * (k - 1) + lane] if k > 0 else []
            relations["successor"] = [100 + 10 * (k + 1) + lane] if k < 2 else []
            if k == 2 and lane == 2:
                relations["predecessor"].append(301)  # the ramp merges here
            x = _xs(a, b)
            lanelets.append(
                _lanelet(100 + 10 * k + lane, x, -_W * lane, -_W * (lane + 1), **relations)
            )
    # The on-ramp: 300 approaches from the right (no neighbour), 301 runs beside lane 2.
    x = _xs(20.0, 60.0)
    drift = -8.0 * ((60.0 - x) / 40.0) ** 2
    lanelets.append(_lanelet(300, x, -3 * _W + drift, -4 * _W + drift, successor=[301]))
    lanelets.append(
        _lanelet(
            301,
            _xs(60.0, 130.0),
            -3 * _W,
            -4 * _W,
            predecessor=[300],
            successor=[122],
            adjacent_left=112,
            adjacent_left_same_direction=True,
        )
    )
    # Westbound (-x): lanes 0..2 left of +x from q = 1 m, split at other places.
    west = [(220.0, 150.0), (150.0, 80.0), (80.0, 0.0)]
    for k, (a, b) in enumerate(west):
        for lane in range(3):
            relations = {}
            if lane > 0:
                relations |= {"adjacent_left": 200 + 10 * k + lane - 1}
                relations |= {"adjacent_left_same_direction": True}
            if lane < 2:
                relations |= {"adjacent_right": 200 + 10 * k + lane + 1}
                relations |= {"adjacent_right_same_direction": True}
            if lane == 0:
                relations |= {
                    "adjacent_left": 100 + 10 * (2 - k),
                    "adjacent_left_same_direction": False,
                }
            relations["predecessor"] = [200 + 10 * (k - 1) + lane] if k > 0 else []
            relations["successor"] = [200 + 10 * (k + 1) + lane] if k < 2 else []
            x = _xs(a, b)
            q_left, q_right = 1.0 + _W * lane, 1.0 + _W * (lane + 1)
            lanelets.append(_lanelet(200 + 10 * k + lane, x, q_left, q_right, **relations))
    scenario.add_objects(lanelets)

    car, truck, bus, bike = (4.5, 1.8), (12.0, 2.5), (12.0, 2.55), (2.2, 0.8)
    centre = [-_W * (lane + 0.5) for lane in range(4)]
    west_centre = [1.0 + _W * (lane + 0.5) for lane in range(3)]
    obstacles = [
        _vehicle(1001, ObstacleType.CAR, car, 20.0, centre[0], 25.0, 30),
        _vehicle(1002, ObstacleType.TRUCK, truck, 40.0, centre[1], 20.0, 30),
        _vehicle(1003, ObstacleType.CAR, car, 100.0, centre[2], 22.0, 30),
        _vehicle(1004, ObstacleType.CAR, car, 70.0, centre[3], 15.0, 30),  # on the ramp
        # Far out on the approach, off the carriageway: dropped.
        _vehicle(1005, ObstacleType.CAR, car, 25.0, centre[3] - 8 * (35 / 40) ** 2, 2.0, 30),
        _vehicle(1006, ObstacleType.CAR, car, 150.0, centre[1], 30.0, 15),  # leaves at 1.5 s
        _vehicle(1007, ObstacleType.BICYCLE, bike, 200.0, centre[0], 5.0, 30),  # two-wheeler
        _vehicle(2001, ObstacleType.CAR, car, 200.0, west_centre[0], 28.0, 30, True),
        _vehicle(2002, ObstacleType.BUS, bus, 120.0, west_centre[2], 18.0, 30, True),
        # Runs off the mapped road after 2.4 s: dropped at 3 s.
        _vehicle(2003, ObstacleType.MOTORCYCLE, bike, 60.0, west_centre[1], 25.0, 30, True),
    ]
    scenario.add_objects(obstacles)
    writer = CommonRoadFileWriter(
        scenario,
        PlanningProblemSet(),
        author="test",
        affiliation="test",
        source="hand-built",
        tags={Tag.HIGHWAY},
        file_format=FileFormat.XML,
    )
    writer.write_to_file(str(path), OverwriteExistingFile.ALWAYS)
    return path


def test_recorded_scenario_gives_one_scene_per_direction_per_snapshot(tmp_path):
    result = read_commonroad(_recorded_scenario(tmp_path / "recorded.xml"), interval=1.0)
    assert result.times == [0.0, 1.0, 2.0, 3.0]
    assert [s.context["carriageway"] for s in result.scenes] == [0, 1] * 4
    assert [len(s.vehicles) for s in result.scenes] == [6, 3, 6, 3, 5, 3, 5, 2]
    # The car far out on the ramp approach at every snapshot, the motorcycle past the road end.
    assert result.dropped == 4 + 1
    assert result.ignored == 0
    assert result.skipped == []
    # The bicycle is read as a two-wheeler; the file types its vehicles, so none is re-read.
    assert result.scenes[0].vehicles.kind_names.count("motorcycle") == 1
    assert result.reassigned == 0
    assert {s.context["recording"] for s in result.scenes} == {result.scenes[0].context["scenario"]}


def test_recorded_scenario_scenes_are_valid(tmp_path):
    result = read_commonroad(_recorded_scenario(tmp_path / "recorded.xml"), interval=1.0)
    for scene in result.scenes:
        assert [str(v) for v in validate(scene)] == []


def test_recorded_scenario_roads_follow_the_lanelets(tmp_path):
    path = _recorded_scenario(tmp_path / "recorded.xml")
    east, west = read_commonroad(path).scenes
    assert (east.road.lane_count, west.road.lane_count) == (4, 3)
    np.testing.assert_allclose(east.road.lane_widths, _W, atol=0.01)
    # The ramp lane exists from where its lanelet comes beside lane 2 to x = 130 m.
    assert 35.0 < east.road.lane_starts[3] < 50.0
    assert east.road.lane_ends[3] == pytest.approx(130.0, abs=1.0)
    # The reference lines stay within a few cm of the left edges.
    x = _xs(0.0, 220.0)
    for road, q in ((east.road, 0.0), (west.road, 1.0)):
        edge = _curve(x, q)
        _, offset = road.cartesian_to_frenet(edge[:, 0], edge[:, 1])
        assert np.max(np.abs(offset)) < 0.03
    assert east.vehicles.lane.tolist() == [0, 1, 2, 3, 1, 0]  # the last: the bicycle
    assert west.vehicles.kind_names == ("car", "bus", "motorcycle")


def _intersection(path: Path, *, fork: bool = True, marked: bool = False) -> Path:
    """Two lanes meet a crossing road: lanelet 1 goes on straight (and with ``fork`` also
    turns off), and lanelet 5 crosses the straight one; ``marked`` adds an intersection."""
    scenario = Scenario(_DT, ScenarioID(country_id="DEU", map_name="Junction", map_id=1))

    def straight(lanelet_id, start, end, width=_W, **relations):
        start, end = np.asarray(start, float), np.asarray(end, float)
        direction = (end - start) / np.linalg.norm(end - start)
        normal = np.array([-direction[1], direction[0]])
        t = np.linspace(0.0, 1.0, 5)[:, None]
        centre = start + t * (end - start)
        return Lanelet(
            centre + normal * width / 2,
            centre,
            centre - normal * width / 2,
            lanelet_id,
            lanelet_type={LaneletType.URBAN},
            **relations,
        )

    lanelets = [
        straight(
            1,
            (-40, -1.75),
            (-10, -1.75),
            successor=[2, 3] if fork else [2],
            adjacent_right=4,
            adjacent_right_same_direction=True,
        ),
        straight(2, (-10, -1.75), (10, -1.75), predecessor=[1]),
        straight(4, (-40, -5.25), (-10, -5.25), adjacent_left=1, adjacent_left_same_direction=True),
        straight(5, (1.75, -20), (1.75, 20)),
    ]
    if fork:
        lanelets.append(straight(3, (-10, -1.75), (5, -20), predecessor=[1]))
    scenario.add_objects(lanelets)
    if marked:
        scenario.add_objects(Intersection(10, [IncomingGroup(11, {1}, outgoing_straight={2})]))
    writer = CommonRoadFileWriter(
        scenario,
        PlanningProblemSet(),
        "test",
        "test",
        "hand-built",
        {Tag.INTERSECTION},
        file_format=FileFormat.XML,
    )
    writer.write_to_file(str(path), OverwriteExistingFile.ALWAYS)
    return path


@pytest.mark.parametrize(
    ("fork", "marked", "reason"),
    [(False, True, "1 intersection"), (True, False, "2 successors"), (False, False, "cross")],
)
def test_an_intersection_is_skipped_with_a_reason(fork, marked, reason, tmp_path):
    path = _intersection(tmp_path / "junction.xml", fork=fork, marked=marked)
    with pytest.raises(ValueError, match="junction") as error:
        read_commonroad(path)
    assert str(path) in str(error.value) and reason in str(error.value)
    scenes, summary = import_commonroad([path])
    assert scenes == []
    assert summary["files_skipped"][0]["file"] == str(path)
    assert "junction" in summary["files_skipped"][0]["reason"]


def test_a_malformed_file_is_skipped_with_a_reason_naming_it(tmp_path):
    path = tmp_path / "broken.xml"
    path.write_text("<?xml version='1.0'?>\n<commonRoad benchmarkID='x'><lanelet id='1'>")
    scenes, summary = import_commonroad(path)
    assert scenes == [] and summary["files_read"] == 0
    (skip,) = summary["files_skipped"]
    assert skip["file"] == str(path) and str(path) not in skip["reason"]
    assert "not a readable CommonRoad XML file" in skip["reason"]
    assert "\n" not in skip["reason"]


_FORMAT_2018B = """<?xml version="1.0" encoding="UTF-8"?>
<commonRoad timeStepSize="0.1" commonRoadVersion="2018b" benchmarkID="X_Y-1_1_T-1" tags="">
  <lanelet id="1">
    <leftBound><point><x>0</x><y>3.5</y></point><point><x>200</x><y>3.5</y></point></leftBound>
    <rightBound><point><x>0</x><y>0</y></point><point><x>200</x><y>0</y></point></rightBound>
  </lanelet>
  <obstacle id="2">
    <role>dynamic</role>
    <type>car</type>
    <shape><rectangle><length>4.5</length><width>1.8</width></rectangle></shape>
    <initialState>
      <position><point><x>20</x><y>1.75</y></point></position>
      <orientation><exact>0</exact></orientation>
      <time><exact>0</exact></time>
      <velocity><exact>25</exact></velocity>
    </initialState>
  </obstacle>
</commonRoad>
"""


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("<type>car</type>", "<type>spaceship</type>", "line 7: obstacle 2 has type 'spaceship'"),
        ("<role>dynamic</role>", "", "obstacle 2 has role None; expected static or dynamic"),
        ("<length>4.5</length>", "", "obstacle 2 has a <rectangle> without <length>"),
        ('timeStepSize="0.1"', 'timeStepSize="abc"', "timeStepSize 'abc' is not a positive"),
        ("<x>200</x><y>0</y>", "<x>far</x><y>0</y>", "line 5: <x> holds 'far', not a number"),
        ("<point><x>200</x><y>0</y></point></rightBound>", "</rightBound>", "two points"),
        (' tags=""', "", "line 2: <commonRoad> has no tags attribute"),
    ],
)
def test_a_broken_2018b_file_is_skipped_with_what_is_wrong(old, new, reason, tmp_path):
    """commonroad-io ships no 2018b schema; its reader fails on these with its internals."""
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_text(_FORMAT_2018B)
    assert len(read_commonroad(good).scenes[0].vehicles) == 1
    assert old in _FORMAT_2018B
    bad.write_text(_FORMAT_2018B.replace(old, new, 1))
    scenes, summary = import_commonroad([bad])
    assert scenes == [] and reason in summary["files_skipped"][0]["reason"]


def test_a_folder_of_mixed_files_imports_the_good_ones(free_flow, tmp_path):
    folder = tmp_path / "data"
    (folder / "nested").mkdir(parents=True)
    write_commonroad(free_flow, folder / "nested" / "good.xml")
    _intersection(folder / "junction.xml")
    (folder / "broken.xml").write_text("not xml at all")
    (folder / "notes.txt").write_text("ignored")
    scenes, summary = import_commonroad([folder], interval=None)
    assert len(scenes) == 1 and scenes[0].context["file"] == "good.xml"
    assert summary["files_read"] == 1
    assert sorted(Path(s["file"]).name for s in summary["files_skipped"]) == [
        "broken.xml",
        "junction.xml",
    ]
    assert summary["scenes"] == 1
    assert summary["vehicles"] == len(free_flow.vehicles)
    assert summary["vehicles_dropped"] == 0


def test_a_missing_path_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        import_commonroad([tmp_path / "nope.xml"])


def test_a_bad_interval_is_an_error(congested, tmp_path):
    path = write_commonroad(congested, tmp_path / "scene.xml")
    with pytest.raises(ValueError, match="interval"):
        read_commonroad(path, interval=0.0)


# ------------------------------------------------------------------------------ dependency
def test_importing_scenegym_does_not_import_commonroad():
    code = (
        "import sys, scenegym, scenegym.envs, scenegym.bridges.commonroad; "
        "print(any(m == 'commonroad' or m.startswith('commonroad.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_missing_commonroad_io_says_how_to_install(congested, tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "commonroad" or m.startswith("commonroad.")]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules fails the import
    with pytest.raises(ImportError, match="pip install"):
        write_commonroad(congested, tmp_path / "scene.xml")


@pytest.mark.parametrize(
    "curvatures", [(0.0, 0.0, 0.0), (0.0, 0.004, -0.003), (0.002, -0.0045, 0.0)]
)
def test_vehicles_at_the_ends_of_the_road_come_back(curvatures, tmp_path):
    """scenegym places vehicles at s = 0 and at the road's length (a bus centred on the first
    edge); the fitted road of the export must keep them, on their lanes, rule for rule."""
    road = Road(
        segment_lengths=[80.0, 60.0, 80.0],
        segment_curvatures=list(curvatures),
        lane_widths=[3.5, 3.4, 3.6, 3.5, 3.3],
    )
    end = road.length
    scene = Scene(
        road,
        Vehicles.from_columns(
            lane=[0, 4, 2, 1, 3, 4],
            s=[0.0, 0.0, 0.0, end, end, end],
            d=[0.1, -0.3, 0.0, 0.4, -0.2, 0.0],
            speed=[25.0, 22.0, 20.0, 30.0, 27.0, 24.0],
            length=[4.5, 4.8, 12.0, 4.4, 5.0, 4.6],
            width=[1.8, 1.9, 2.5, 1.8, 1.9, 1.8],
            kind=["car", "car", "bus", "car", "car", "car"],
        ),
    )
    path = write_commonroad(scene, tmp_path / "ends.xml")
    back = read_commonroad(path)
    assert back.dropped == 0
    (again,) = back.scenes
    order = np.lexsort((scene.vehicles.lane, scene.vehicles.s))
    returned = np.lexsort((again.vehicles.lane, again.vehicles.s))
    assert again.vehicles.lane[returned].tolist() == scene.vehicles.lane[order].tolist()
    np.testing.assert_allclose(again.vehicles.s[returned], scene.vehicles.s[order], atol=0.05)
    assert violation_counts(again) == violation_counts(scene)


def test_the_planning_problem_is_an_ego_entering_behind_the_traffic(tmp_path):
    road = Road.straight(length=200.0, lanes=3)
    vehicles = Vehicles.from_columns(
        lane=[0, 1, 2, 1], s=[10.0, 60.0, 30.0, 150.0], speed=[20.0, 25.0, 22.0, 27.0]
    )
    path = write_commonroad(Scene(road, vehicles), tmp_path / "ego.xml")
    scenario, problems = CommonRoadFileReader(str(path)).open()
    (problem,) = problems.planning_problem_dict.values()
    start = problem.initial_state
    # Lane 1 has the most room before its first vehicle (60 m): the ego enters there, at
    # that vehicle's speed, heading down the road.
    s, offset = road.cartesian_to_frenet(
        np.array([start.position[0]]), np.array([start.position[1]])
    )
    assert s[0] < 5 and abs(offset[0] - road.lane_centers[1]) < 1e-6
    assert start.velocity == pytest.approx(25.0) and abs(start.orientation) < 1e-9
    goal = problem.goal
    last = {
        lanelet.lanelet_id
        for lanelet in scenario.lanelet_network.lanelets
        if lanelet.successor == []
    }
    assert set(goal.lanelets_of_goal_position[0]) == last
    window = goal.state_list[0].time_step
    seconds = 195.0 / 25.0 / scenario.dt
    assert window.start < seconds < window.end
    # The ego is no obstacle: the scene comes back whole.
    assert len(read_commonroad(path).scenes[0].vehicles) == 4
