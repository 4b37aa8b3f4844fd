"""The road: reference-line geometry, Frenet <-> Cartesian, lanes that begin and end."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenegym.scene import Road

roads = st.builds(
    lambda lengths, curvatures, heading: Road(
        segment_lengths=lengths,
        segment_curvatures=curvatures[: len(lengths)],
        lane_widths=[3.5, 3.6, 3.7],
        origin=(10.0, -5.0, heading),
    ),
    st.lists(st.floats(20.0, 200.0), min_size=1, max_size=4),
    st.lists(st.floats(-0.01, 0.01), min_size=4, max_size=4),
    st.floats(-np.pi, np.pi),
)


@settings(max_examples=60, deadline=None)
@given(road=roads, fraction=st.floats(0.0, 1.0), offset=st.floats(-10.5, 0.0))
def test_frenet_to_cartesian_and_back_is_identity(road, fraction, offset):
    s = fraction * road.length
    x, y, _ = road.frenet_to_cartesian([s], [offset])
    s_back, offset_back = road.cartesian_to_frenet(x, y)
    assert s_back[0] == pytest.approx(s, abs=1e-6)
    assert offset_back[0] == pytest.approx(offset, abs=1e-6)


def test_straight_road_maps_stations_along_its_heading():
    road = Road(
        segment_lengths=[100.0],
        segment_curvatures=[0.0],
        lane_widths=[3.5],
        origin=(1.0, 2.0, np.pi / 2),
    )
    x, y, heading = road.frenet_to_cartesian([40.0], [-2.0])
    assert (x[0], y[0], heading[0]) == pytest.approx((3.0, 42.0, np.pi / 2))


def test_quarter_circle_ends_where_geometry_says():
    radius = 100.0
    road = Road(
        segment_lengths=[np.pi / 2 * radius], segment_curvatures=[1 / radius], lane_widths=[3.5]
    )
    x, y, heading = road.reference_pose(road.length)
    assert (float(x), float(y), float(heading)) == pytest.approx((radius, radius, np.pi / 2))


def test_segments_join_without_a_kink():
    road = Road(segment_lengths=[50.0, 80.0], segment_curvatures=[0.02, -0.01], lane_widths=[3.5])
    before = road.reference_pose(50.0 - 1e-9)
    after = road.reference_pose(50.0 + 1e-9)
    assert np.allclose(before, after, atol=1e-6)


def test_vectorised_conversion_handles_many_points():
    road = Road(
        segment_lengths=[60.0, 60.0], segment_curvatures=[0.0, 0.015], lane_widths=[3.5] * 4
    )
    s = np.linspace(0.0, road.length, 1000)
    offset = np.linspace(-14.0, 0.0, 1000)
    x, y, _ = road.frenet_to_cartesian(s, offset)
    s_back, offset_back = road.cartesian_to_frenet(x, y)
    assert np.allclose(s_back, s, atol=1e-6) and np.allclose(offset_back, offset, atol=1e-6)


def test_lanes_are_counted_from_the_left_edge():
    road = Road.straight(length=100.0, lanes=3, lane_width=3.5)
    assert road.lane_centers.tolist() == [-1.75, -5.25, -8.75]
    assert road.lane_boundaries.tolist() == [0.0, -3.5, -7.0, -10.5]


def test_an_auxiliary_lane_exists_only_between_its_ends():
    road = Road(
        segment_lengths=[300.0],
        segment_curvatures=[0.0],
        lane_widths=[3.5, 3.5],
        lane_starts=[0.0, 80.0],
        lane_ends=[300.0, 220.0],
    )
    exists = road.lanes_at([50.0, 150.0, 250.0])
    assert exists[0].tolist() == [True, True, True]
    assert exists[1].tolist() == [False, True, False]
    assert road.lane_lengths.tolist() == [300.0, 140.0]


def test_markings_are_solid_at_edges_and_dashed_between_lanes():
    road = Road(
        segment_lengths=[200.0],
        segment_curvatures=[0.0],
        lane_widths=[3.5, 3.5, 3.5],
        lane_starts=[0.0, 0.0, 100.0],
    )
    solid, dashes = road.markings
    dash_y = np.unique(np.round(dashes[..., 1], 6))
    assert set(dash_y.tolist()) == {-3.5, -7.0}
    solid_y = sorted({round(float(line[0, 1]), 6) for line in solid})
    assert solid_y == [-10.5, -7.0, 0.0]  # outer edges, and lane 1's edge before the ramp


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"segment_lengths": [-5.0]}, "segment_lengths"),
        ({"segment_curvatures": [0.0, 0.1]}, "one value per segment"),
        ({"lane_widths": [0.2]}, "lane_widths"),
        ({"lane_widths": []}, "at least one lane"),
        ({"lane_ends": [500.0]}, "start < end"),
        ({"speed_limit": "fast"}, "speed_limit"),
        ({"segment_curvatures": [float("nan")]}, "finite"),
    ],
)
def test_bad_road_values_are_rejected_with_the_field_name(changes, message):
    args = {"segment_lengths": [100.0], "segment_curvatures": [0.0], "lane_widths": [3.5]}
    with pytest.raises((ValueError, TypeError), match=message):
        Road(**{**args, **changes})


def test_road_arrays_are_read_only():
    road = Road.straight(length=100.0, lanes=2)
    with pytest.raises(ValueError, match="read-only"):
        road.lane_widths[0] = 1.0
