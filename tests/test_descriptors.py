"""Descriptors against values computed by hand."""

import pytest

from scenegym.scene import DESCRIPTORS, GAP_CAP, HEADWAY_CAP, Road, Scene, Vehicles, describe

ROAD = Road(
    segment_lengths=[400.0, 100.0],
    segment_curvatures=[0.0, 0.002],
    lane_widths=[3.5, 3.5, 3.5],
    lane_starts=[0.0, 0.0, 100.0],
    lane_ends=[500.0, 500.0, 400.0],
)
# Lane 0: cars at 100 m and 130 m, 4 m long: gap 26 m, follower at 13 m/s -> 2 s.
# Lane 1: a 12 m truck at 200 m and a car (4 m) 1 m behind its rear bumper at 10 m/s -> 0.1 s.
# Lane 2: one motorcycle.
VEHICLES = Vehicles.from_columns(
    lane=[0, 0, 1, 1, 2],
    s=[100.0, 130.0, 200.0, 200.0 - 6.0 - 1.0 - 2.0, 250.0],
    speed=[13.0, 15.0, 12.0, 10.0, 20.0],
    length=[4.0, 4.0, 12.0, 4.0, 2.0],
    width=[1.8, 1.8, 2.5, 1.8, 0.8],
    kind=["car", "car", "truck", "car", "motorcycle"],
)


@pytest.fixture
def descriptors():
    return describe(Scene(ROAD, VEHICLES))


def test_descriptor_names_and_units_are_listed(descriptors):
    assert list(descriptors) == list(DESCRIPTORS)


def test_density_is_vehicles_per_lane_kilometre(descriptors):
    # Lane lengths along their centres: the last 100 m curve left at k = 0.002, so lane 0
    # (centre 1.75 m right of the reference line) gains 0.35 m and lane 1 (5.25 m) 1.05 m.
    assert descriptors["density"] == pytest.approx(5 / (0.50035 + 0.50105 + 0.3))


def test_speed_statistics(descriptors):
    assert descriptors["mean_speed"] == pytest.approx(14.0)
    assert descriptors["std_speed"] == pytest.approx((0.2 * (1 + 1 + 4 + 16 + 36)) ** 0.5)


def test_time_headways_and_gaps(descriptors):
    assert descriptors["min_gap"] == pytest.approx(1.0)
    assert descriptors["min_time_headway"] == pytest.approx(0.1)
    assert descriptors["median_time_headway"] == pytest.approx((0.1 + 2.0) / 2)


def test_lane_occupancy_spread_is_the_coefficient_of_variation(descriptors):
    per_lane = [2 / 0.50035, 2 / 0.50105, 1 / 0.3]
    mean = sum(per_lane) / 3
    std = (sum((x - mean) ** 2 for x in per_lane) / 3) ** 0.5
    assert descriptors["lane_occupancy_spread"] == pytest.approx(std / mean)


def test_road_descriptors(descriptors):
    assert descriptors["truck_share"] == pytest.approx(0.2)
    assert descriptors["max_curvature"] == pytest.approx(0.002)
    assert descriptors["lane_count"] == 3.0
    assert descriptors["vehicle_count"] == 5.0


def test_without_followers_gaps_and_headways_take_their_caps():
    scene = Scene(ROAD, Vehicles.from_columns(lane=[0, 1], s=[50.0, 60.0], speed=[20.0, 20.0]))
    d = describe(scene)
    assert d["min_gap"] == GAP_CAP
    assert d["min_time_headway"] == d["median_time_headway"] == HEADWAY_CAP


def test_standing_queue_has_capped_headway_not_infinity():
    vehicles = Vehicles.from_columns(lane=[0, 0], s=[50.0, 57.0], speed=[0.0, 0.0])
    assert describe(Scene(ROAD, vehicles))["min_time_headway"] == HEADWAY_CAP


def test_overlap_shows_as_negative_gap_and_zero_headway():
    vehicles = Vehicles.from_columns(lane=[0, 0], s=[50.0, 52.0], speed=[10.0, 10.0])
    d = describe(Scene(ROAD, vehicles))
    assert d["min_gap"] == pytest.approx(-2.5)
    assert d["min_time_headway"] == 0.0


def test_empty_scene_has_finite_descriptors():
    d = describe(Scene(ROAD, Vehicles.empty()))
    assert d["density"] == 0.0 and d["mean_speed"] == 0.0 and d["truck_share"] == 0.0


def test_congested_scene_reads_as_congested(congested, free_flow):
    slow, fast = describe(congested), describe(free_flow)
    assert slow["mean_speed"] < 5.0 < 20.0 < fast["mean_speed"]
    assert 2.0 <= slow["min_gap"] <= 5.0
