"""Fixes from review: lane-centre distances, folding roads, non-finite and wrapping numbers,
file modes, lazy seeding, checked configs, vehicle sizes, immutability, lane reasons."""

import json
import math
import os
import stat
import tracemalloc

import numpy as np
import pytest

from scenegym._checks import as_int_array, check_range
from scenegym._io import _umask, atomic_write_text
from scenegym.bridges.reference import ReferenceConfig
from scenegym.config import check_config, config_from_mapping
from scenegym.scene import (
    HighwaySceneSpace,
    HighwaySpaceConfig,
    Road,
    Scene,
    Vehicles,
    describe,
    iter_scenes,
    validate,
)
from scenegym.scene.descriptors import leader_follower_gaps
from scenegym.scene.validity import violation_counts

QUARTER = math.pi / 2.0 * 100.0
"""Length (m) of a quarter circle of radius 100 m (curvature 0.01 1/m)."""


def quarter_circle(curvature: float) -> Road:
    """A quarter circle of radius 100 m with two 4 m lanes: centres 2 m and 6 m right of the
    reference line (the left edge)."""
    return Road(segment_lengths=[QUARTER], segment_curvatures=[curvature], lane_widths=[4.0, 4.0])


# ---------------------------------------------------------------- 1. distances along the lane
def test_lane_lengths_on_a_left_quarter_circle_grow_with_the_radius():
    # Turning left, the centre of curvature is on the left: lane centres run at radius 102
    # and 106 m.
    road = quarter_circle(0.01)
    assert road.lane_lengths == pytest.approx([math.pi / 2 * 102.0, math.pi / 2 * 106.0])


def test_lane_lengths_on_a_right_quarter_circle_shrink_with_the_radius():
    road = quarter_circle(-0.01)
    assert road.lane_lengths == pytest.approx([math.pi / 2 * 98.0, math.pi / 2 * 94.0])


def test_lane_distance_between_stations_scales_with_the_lane_radius():
    road = quarter_circle(0.01)
    # 30 m of reference line at radius 100 m is 0.3 rad: 0.3 * 106 m along lane 1.
    assert road.lane_distance(1, 10.0, 40.0) == pytest.approx(31.8)
    assert road.lane_distance(1, 40.0, 10.0) == pytest.approx(-31.8)
    assert road.lane_distance([0, 1], 0.0, [30.0, 60.0]) == pytest.approx([30.6, 63.6])


def test_lane_distance_sums_the_segments_it_crosses():
    road = Road(
        segment_lengths=[50.0, 40.0, 60.0],
        segment_curvatures=[0.0, 0.01, -0.02],
        lane_widths=[3.0, 4.0],
    )
    # Lane 1's centre is 5 m right: 10 m straight, 40 m * 1.05 on the left curve, 20 m * 0.9
    # on the right curve.
    assert road.lane_distance(1, 40.0, 110.0) == pytest.approx(10.0 + 42.0 + 18.0)


def test_lane_distance_matches_the_length_of_the_drawn_lane_centre():
    road = Road(
        segment_lengths=[40.0, 70.0, 50.0],
        segment_curvatures=[0.015, -0.02, 0.0],
        lane_widths=[3.5, 3.5, 3.75],
    )
    s = np.linspace(5.0, 150.0, 20001)
    for lane in range(road.lane_count):
        x, y, _ = road.frenet_to_cartesian(s, np.full(s.size, road.lane_centers[lane]))
        drawn = np.hypot(np.diff(x), np.diff(y)).sum()
        assert road.lane_distance(lane, 5.0, 150.0) == pytest.approx(drawn, rel=1e-6)


def test_lane_distance_rejects_a_lane_that_is_not_on_the_road():
    with pytest.raises(ValueError, match=r"lane must be in \[0, 1\]"):
        quarter_circle(0.01).lane_distance(2, 0.0, 10.0)


def test_gap_on_a_curve_is_measured_along_the_lane():
    road = quarter_circle(0.01)
    cars = Vehicles.from_columns(lane=[1, 1], s=[10.0, 40.0], speed=[10.0, 10.0], length=[4, 4])
    _, _, gap = leader_follower_gaps(Scene(road, cars))
    assert gap == pytest.approx([31.8 - 4.0])
    descriptors = describe(Scene(road, cars))
    assert descriptors["min_gap"] == pytest.approx(27.8)
    assert descriptors["min_time_headway"] == pytest.approx(2.78)


def test_gap_inside_a_right_curve_is_shorter_than_the_station_difference():
    road = quarter_circle(-0.01)
    cars = Vehicles.from_columns(lane=[1, 1], s=[10.0, 40.0], speed=[10.0, 10.0], length=[4, 4])
    assert describe(Scene(road, cars))["min_gap"] == pytest.approx(30.0 * 0.94 - 4.0)


def test_density_on_a_curve_counts_lane_kilometres_along_the_lanes():
    road = quarter_circle(0.01)
    cars = Vehicles.from_columns(lane=[0, 1, 1], s=[20.0, 50.0, 120.0])
    lane_km = math.pi / 2 * (102.0 + 106.0) / 1000.0
    assert describe(Scene(road, cars))["density"] == pytest.approx(3 / lane_km)


# ---------------------------------------------------------------- 2. folding right turns
def test_a_right_turn_tighter_than_the_carriageway_is_rejected():
    with pytest.raises(ValueError, match=r"segment 0 .*radius 10\.00 m.*width 17\.50 m"):
        Road(segment_lengths=[30.0], segment_curvatures=[-0.1], lane_widths=[3.5] * 5)


def test_the_fold_check_names_the_segment_that_folds():
    with pytest.raises(ValueError, match=r"segment 1 turns right with radius 12\.50 m"):
        Road(segment_lengths=[30.0, 30.0], segment_curvatures=[0.1, -0.08], lane_widths=[4.0] * 3)


def test_a_left_turn_of_the_same_radius_is_accepted():
    road = Road(segment_lengths=[30.0], segment_curvatures=[0.1], lane_widths=[3.5] * 5)
    assert road.lane_count == 5


def test_sampled_roads_never_turn_right_tighter_than_twice_their_width():
    config = HighwaySpaceConfig(
        lanes=(8, 8),
        lane_width=(8.0, 8.0),
        length=(20.0, 30.0),
        segments=(1, 1),
        max_curvature=0.2,
        straight_share=0.0,
        vehicles=(0, 0),
    )
    space = HighwaySceneSpace(config)
    for scene in space.sample_many(100, seed=0):
        road = scene.road
        width = road.lane_widths.sum()
        assert np.all(-road.segment_curvatures * width <= 0.5 + 1e-12)


def test_default_space_turns_left_and_right_alike():
    # The right-turn bound only bites beyond the default max_curvature, so default roads
    # turn right as often and as sharply as left, up to the configured largest curvature.
    curvatures = np.concatenate(
        [scene.road.segment_curvatures for scene in HighwaySceneSpace().sample_many(2000, 3)]
    )
    turning = curvatures[curvatures != 0.0]
    assert 0.4 < turning.size / curvatures.size < 0.6  # straight_share 0.5
    assert np.abs(turning).max() <= 0.004
    assert abs(np.mean(turning > 0) - 0.5) < 0.05
    assert np.quantile(-turning[turning < 0], 0.9) == pytest.approx(
        np.quantile(turning[turning > 0], 0.9), rel=0.1
    )


# ---------------------------------------------------------------- 3. non-finite numbers
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_check_range_rejects_non_finite_numbers(value):
    with pytest.raises(ValueError, match="x must be a finite number"):
        check_range("x", value, 0.0, 1.0)
    with pytest.raises(ValueError, match="x must be a finite number"):
        check_range("x", value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_config_values_must_be_finite(value):
    with pytest.raises(ValueError, match="speed_std must be a finite number"):
        config_from_mapping(HighwaySpaceConfig, {"speed_std": value})
    with pytest.raises(ValueError, match=r"kind_shares.car must be a finite number"):
        config_from_mapping(HighwaySpaceConfig, {"kind_shares": {"car": value}})


def test_an_infinite_kind_share_built_in_python_is_rejected():
    shares = {"car": math.inf, "truck": 0.1, "motorcycle": 0.0, "bus": 0.0}
    with pytest.raises(ValueError, match=r"kind_shares.car must be a finite number, got inf"):
        HighwaySpaceConfig(kind_shares=shares)


def test_a_nan_speed_limit_is_rejected():
    with pytest.raises(ValueError, match="road.speed_limit must be a finite number"):
        Road.straight(length=100.0, lanes=1, speed_limit=math.nan)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_scene_context_must_be_finite(value):
    with pytest.raises(ValueError, match=r"scene.context\['w'\] must be a finite number"):
        Scene(Road.straight(length=100.0, lanes=1), Vehicles.empty(), context={"w": value})


NUMERIC_FIELDS = [
    ("road", "segment_lengths", 0),
    ("road", "segment_curvatures", 0),
    ("road", "lane_widths", 0),
    ("road", "lane_starts", 0),
    ("road", "lane_ends", 0),
    ("road", "speed_limit", None),
    ("road", "origin", 2),
    ("vehicles", "lane", 0),
    ("vehicles", "s", 0),
    ("vehicles", "d", 0),
    ("vehicles", "heading", 0),
    ("vehicles", "speed", 0),
    ("vehicles", "length", 0),
    ("vehicles", "width", 0),
    ("context", "wetness", None),
]


def scene_line_with(part: str, key: str, index, literal: str) -> str:
    """A valid scene line with one numeric field replaced by the JSON text ``literal``."""
    scene = Scene(
        Road.straight(length=100.0, lanes=2),
        Vehicles.from_columns(lane=[0], s=[50.0], speed=[10.0]),
        context={"wetness": 0.5},
    )
    data = scene.to_dict()
    if index is None:
        data[part][key] = "@@"
    else:
        data[part][key][index] = "@@"
    return json.dumps(data).replace('"@@"', literal)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
@pytest.mark.parametrize(("part", "key", "index"), NUMERIC_FIELDS)
def test_a_non_finite_number_in_a_scenes_file_names_the_file_and_line(
    tmp_path, part, key, index, literal
):
    good = scene_line_with("context", "wetness", None, "0.25")
    path = tmp_path / "scenes.jsonl"
    path.write_text(good + "\n" + scene_line_with(part, key, index, literal) + "\n")
    with pytest.raises(ValueError, match=r"scenes.jsonl line 2: "):
        list(iter_scenes(path))


def test_scene_from_json_rejects_nan():
    line = scene_line_with("road", "speed_limit", None, "NaN")
    with pytest.raises(ValueError, match="NaN is not a finite number"):
        Scene.from_json(line)


# ---------------------------------------------------------------- 4. integer columns
@pytest.mark.parametrize("lane", [40000, -40000, 1e300, 10**30])
def test_a_lane_index_beyond_int16_is_rejected_not_wrapped(lane):
    with pytest.raises(ValueError, match=r"vehicles.lane must be in \[-32768, 32767\]"):
        Vehicles.from_columns(lane=[0, lane], s=[1.0, 2.0])


def test_integer_columns_name_the_allowed_range_of_their_dtype():
    with pytest.raises(ValueError, match=r"codes must be in \[-128, 127\] \(int8\), got 300"):
        as_int_array("codes", [1, 300], dtype=np.int8)
    assert as_int_array("codes", [-128.0, 127.0], dtype=np.int8).tolist() == [-128, 127]


def test_infinite_lane_index_is_not_a_whole_number():
    with pytest.raises(TypeError, match="vehicles.lane must be whole numbers"):
        Vehicles.from_columns(lane=[math.inf], s=[1.0])


# ---------------------------------------------------------------- 5. file modes
@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_file_gets_the_mode_of_an_ordinary_open(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        assert _umask() == umask
        atomic_write_text(tmp_path / "out.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "out.txt").st_mode) == expected


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    os.chmod(path, 0o640)
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


# ---------------------------------------------------------------- 6. lazy seeding
def test_sample_many_gives_the_scenes_of_spawned_seeds():
    space = HighwaySceneSpace()
    children = np.random.SeedSequence(7).spawn(6)
    before = [space.sample(np.random.default_rng(child)).to_json() for child in children]
    assert [scene.to_json() for scene in space.sample_many(6, seed=7)] == before


def test_sample_many_does_not_allocate_seeds_up_front():
    scenes = HighwaySceneSpace().sample_many(200_000, seed=0)
    tracemalloc.start()
    try:
        next(scenes)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000


# ---------------------------------------------------------------- 7. configs built in Python
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lanes": (5, 2)}, r"HighwaySpaceConfig.lanes is a \(min, max\) range, got min 5 > max 2"),
        ({"vehicles": (-3, 2)}, r"HighwaySpaceConfig.vehicles\[0\] must be in \[0, 500\], got -3"),
        ({"lanes": 3}, r"HighwaySpaceConfig.lanes must be a list of 2 values, got 3"),
        ({"length": (5, 5)}, r"HighwaySpaceConfig.length\[0\] must be in \[20, 5000\]"),
        ({"max_curvature": "big"}, r"HighwaySpaceConfig.max_curvature must be a number"),
        ({"kind_shares": {"tank": 1.0}}, r"HighwaySpaceConfig.kind_shares: unknown key 'tank'"),
        ({"lanes": (2.5, 3)}, r"HighwaySpaceConfig.lanes\[0\] must be a whole number"),
    ],
)
def test_a_space_config_built_in_python_is_checked(changes, message):
    with pytest.raises(ValueError, match=message):
        HighwaySpaceConfig(**changes)


def test_a_space_config_accepts_numpy_numbers():
    config = HighwaySpaceConfig(lanes=(np.int64(2), np.int64(3)), max_curvature=np.float64(0.01))
    check_config(config)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lanes": (5, 2)}, r"ReferenceConfig.lanes is a \(min, max\) range"),
        ({"step": 0.0}, r"ReferenceConfig.step must be in \[0.02, 0.5\], got 0.0"),
        ({"windows_per_snapshot": 2.0}, r"ReferenceConfig.windows_per_snapshot must be a whole"),
    ],
)
def test_a_reference_config_built_in_python_is_checked(changes, message):
    with pytest.raises(ValueError, match=message):
        ReferenceConfig(**changes)


def test_a_space_needs_a_config_object_not_a_mapping():
    with pytest.raises(TypeError, match=r"config must be a HighwaySpaceConfig, got dict"):
        HighwaySceneSpace(config={"lanes": (2, 3)})


# ---------------------------------------------------------------- 8. sizes of real vehicles
@pytest.mark.parametrize(
    ("kind", "length", "width"),
    [
        ("car", 6.9, 2.0),  # a long-wheelbase van
        ("truck", 25.25, 2.55),  # an EU long truck
        ("bus", 6.5, 2.05),  # a midibus
        ("bus", 12.0, 2.55),
    ],
)
def test_real_vehicle_sizes_are_valid(kind, length, width):
    road = Road.straight(length=100.0, lanes=1)
    vehicles = Vehicles.from_columns(
        lane=[0], s=[50.0], speed=[10.0], length=[length], width=[width], kind=[kind]
    )
    assert violation_counts(Scene(road, vehicles))["size"] == 0


# ---------------------------------------------------------------- 10. immutability
@pytest.mark.parametrize("name", ["lane_centers", "lane_boundaries", "lane_lengths"])
def test_cached_road_arrays_are_read_only(name):
    road = Road.straight(length=100.0, lanes=3)
    array = getattr(road, name)
    assert not array.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        array[0] = 1.0


def test_contexts_that_serialise_differently_are_not_equal():
    road = Road.straight(length=100.0, lanes=1)
    scenes = [Scene(road, Vehicles.empty(), context={"w": value}) for value in (1, 1.0, True)]
    for i, a in enumerate(scenes):
        for j, b in enumerate(scenes):
            assert (a == b) == (i == j) == (a.id == b.id)
    assert Scene(road, Vehicles.empty(), context={"w": 1.0}) == scenes[1]


# ---------------------------------------------------------------- 11. lane reasons
def lane_reasons(**columns) -> list[str]:
    road = Road(
        segment_lengths=[200.0],
        segment_curvatures=[0.0],
        lane_widths=[3.5, 3.5],
        lane_starts=[0.0, 0.0],
        lane_ends=[200.0, 100.0],
    )
    scene = Scene(road, Vehicles.from_columns(**columns))
    return [v.reason for v in validate(scene) if v.rule == "lane"]


def test_a_lane_index_off_the_road_has_its_own_reason():
    assert lane_reasons(lane=[5], s=[50.0]) == ["lane 5 is not on the road, which has lanes 0 to 1"]


def test_a_lane_that_has_ended_has_its_own_reason():
    assert lane_reasons(lane=[1], s=[150.0]) == [
        "lane 1 does not exist at s=150.0 m (it runs from 0.0 to 100.0 m)"
    ]


def test_a_centre_outside_its_lane_has_its_own_reason():
    assert lane_reasons(lane=[0], s=[50.0], d=[2.5]) == [
        "centre d=2.50 m from the lane centre is outside lane 0 "
        "(half width 1.75 m, tolerance 0.05 m)"
    ]
