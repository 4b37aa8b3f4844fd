"""The lane-grid encoding of scenes: shape, channels, round trips, and what it cannot hold."""

import numpy as np
import pytest

from scenegym.scene import (
    KINDS,
    HighwaySceneSpace,
    HighwaySpaceConfig,
    Road,
    Scene,
    Vehicles,
    is_valid,
    kind_code,
    validate,
)
from scenegym.scene.encoding import CHANNELS, LaneGrid

GRID = LaneGrid()
FLOAT_COLUMNS = ("d", "heading", "speed", "length", "width")


def assert_same_vehicles(decoded: Vehicles, original: Vehicles) -> None:
    """Equal up to order (decode orders by lane, then station) and float32 rounding."""
    want = original.take(np.lexsort((original.s, original.lane)))
    assert np.array_equal(decoded.lane, want.lane)
    assert np.array_equal(decoded.kind, want.kind)
    np.testing.assert_allclose(decoded.s, want.s, rtol=0, atol=1e-6)
    for name in FLOAT_COLUMNS:
        np.testing.assert_allclose(
            getattr(decoded, name), getattr(want, name), rtol=2**-23, atol=0, err_msg=name
        )


def scene_of(road: Road, **columns) -> Scene:
    return Scene(road, Vehicles.from_columns(**columns))


# ---------------------------------------------------------------- layout
def test_one_hot_kind_channels_follow_the_vehicle_kinds():
    assert CHANNELS[-len(KINDS) :] == KINDS


def test_shape_and_length_follow_the_grid_config():
    grid = LaneGrid(lanes=4, cells=50, cell_length=2.5)
    assert grid.shape == (len(CHANNELS), 4, 50)
    assert grid.length == 125.0
    assert GRID.shape == (12, 6, 96)
    assert GRID.length == 384.0


@pytest.mark.parametrize(
    ("config", "name"),
    [
        ({"cells": 0}, "cells"),
        ({"lanes": 0}, "lanes"),
        ({"cell_length": 0.0}, "cell_length"),
        ({"cells": 2.5}, "cells"),
    ],
)
def test_out_of_range_grid_config_is_rejected_naming_the_field(config, name):
    with pytest.raises(ValueError, match=rf"LaneGrid\.{name}"):
        LaneGrid(**config)


# ---------------------------------------------------------------- round trips
def test_valid_random_scenes_survive_a_round_trip():
    space = HighwaySceneSpace(HighwaySpaceConfig(lanes=(2, 5), length=(150, 350)))
    checked = 0
    for scene in space.sample_many(300, seed=11):
        if not is_valid(scene) or GRID.collisions(scene):
            continue
        decoded = GRID.decode(GRID.encode(scene), scene.road)
        assert decoded.road is scene.road
        assert_same_vehicles(decoded.vehicles, scene.vehicles)
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("fixture", ["congested", "free_flow"])
def test_hand_written_freeway_scenes_survive_a_round_trip(fixture, request):
    scene = request.getfixturevalue(fixture)
    grid, dropped = GRID.encode(scene, return_dropped=True)
    assert dropped == 0
    decoded = GRID.decode(grid, scene.road)
    assert decoded.road is scene.road
    assert_same_vehicles(decoded.vehicles, scene.vehicles)


def test_decode_orders_vehicles_by_lane_then_station():
    road = Road.straight(length=300.0, lanes=3)
    scene = scene_of(road, lane=[2, 0, 2, 0], s=[50.0, 90.0, 10.0, 30.0])
    decoded = GRID.decode(GRID.encode(scene), road).vehicles
    assert decoded.lane.tolist() == [0, 0, 2, 2]
    assert decoded.s.tolist() == [30.0, 90.0, 10.0, 50.0]


def test_station_just_below_a_cell_boundary_stays_in_its_cell():
    road = Road.straight(length=400.0, lanes=2)
    s = [np.nextafter(8.0, 0.0), np.nextafter(GRID.length, 0.0)]
    grid = GRID.encode(scene_of(road, lane=[0, 1], s=s))
    offsets = grid[CHANNELS.index("s_offset")]
    assert grid[CHANNELS.index("occupied"), 0, 1] == 1.0
    assert grid[CHANNELS.index("occupied"), 1, GRID.cells - 1] == 1.0
    assert offsets.max() < 1.0
    decoded = GRID.decode(grid, road).vehicles
    np.testing.assert_allclose(decoded.s, s, rtol=0, atol=1e-6)
    assert np.all(decoded.s < [8.0, GRID.length])


# ---------------------------------------------------------------- channels
def test_lane_channel_marks_an_auxiliary_lane_only_where_it_exists(congested):
    lane = GRID.encode(congested)[CHANNELS.index("lane")]
    # 280 m road: cell 69 (276-280 m) has its centre on the road, cell 70 does not.
    assert np.all(lane[:5, :70] == 1.0) and np.all(lane[:5, 70:] == 0.0)
    # Auxiliary lane 5 runs from 60 to 240 m: cells 15 (centre 62 m) to 59 (centre 238 m).
    assert np.flatnonzero(lane[5]).tolist() == list(range(15, 60))


def test_lane_channel_marks_an_on_ramp_only_where_it_exists_and_no_missing_lanes(free_flow):
    lane = GRID.encode(free_flow)[CHANNELS.index("lane")]
    # On-ramp lane 3 runs from 0 to 140 m: cells 0 to 34 (centre 138 m).
    assert np.flatnonzero(lane[3]).tolist() == list(range(35))
    assert np.all(lane[4:] == 0.0)  # the road has 4 lanes, the grid 6 rows


def test_vehicle_channels_hold_normalised_values_and_zero_in_empty_cells():
    road = Road.straight(length=300.0, lanes=3)
    scene = scene_of(
        road,
        lane=[1],
        s=[41.0],
        d=[0.4],
        heading=[-0.06],
        speed=[30.0],
        length=[12.0],
        width=[2.55],
        kind=[kind_code("bus")],
    )
    grid = GRID.encode(scene)
    cell = grid[1:, 1, 10]  # 41 m lies in cell 10 (40-44 m), a quarter in
    expected = [1.0, 0.25, 0.2, -0.1, 0.75, 0.6, 0.85, 0.0, 0.0, 0.0, 1.0]
    np.testing.assert_allclose(cell, expected, rtol=1e-6)
    vehicle_channels = grid[1:].copy()
    vehicle_channels[:, 1, 10] = 0.0
    assert not vehicle_channels.any()


# ---------------------------------------------------------------- what the grid cannot hold
def test_vehicles_outside_the_grid_raise_naming_how_many_and_why():
    road = Road.straight(length=500.0, lanes=8)
    scene = scene_of(road, lane=[0, 6, 1, 2], s=[10.0, 20.0, 400.0, -1.0])
    with pytest.raises(ValueError, match=r"3 vehicle\(s\)") as error:
        GRID.encode(scene)
    message = str(error.value)
    assert "1 in a lane outside the grid's rows 0..5" in message
    assert "2 with a station outside the grid's [0, 384) m" in message
    assert "drop=True" in message


def test_drop_leaves_out_vehicles_outside_the_grid_and_counts_them():
    road = Road.straight(length=500.0, lanes=8)
    scene = scene_of(road, lane=[0, 6, 1, 2], s=[10.0, 20.0, 400.0, -1.0])
    grid, dropped = GRID.encode(scene, drop=True, return_dropped=True)
    assert dropped == 3
    decoded = GRID.decode(grid, road).vehicles
    assert decoded.lane.tolist() == [0] and decoded.s.tolist() == [10.0]
    assert GRID.collisions(scene) == 0


def test_later_vehicle_wins_a_shared_cell_and_the_loss_is_reported():
    road = Road.straight(length=300.0, lanes=3)
    # A 4.5 m car and a 1.5 m motorcycle 0.3 m apart: valid, and both centres in 8-12 m.
    columns = {
        "lane": [1, 1],
        "s": [8.2, 11.5],
        "length": [4.5, 1.5],
        "width": [1.8, 0.8],
        "kind": [kind_code("car"), kind_code("motorcycle")],
    }
    scene = scene_of(road, **columns)
    assert validate(scene) == []
    grid, dropped = GRID.encode(scene, return_dropped=True)
    assert dropped == 1
    assert GRID.collisions(scene) == 1
    assert GRID.decode(grid, road).vehicles.kind_names == ("motorcycle",)
    reversed_scene = Scene(road, scene.vehicles.take([1, 0]))
    assert GRID.decode(GRID.encode(reversed_scene), road).vehicles.kind_names == ("car",)


def test_valid_cars_side_by_side_in_one_lane_share_a_cell():
    road = Road.straight(length=300.0, lanes=3, lane_width=3.5)
    scene = scene_of(road, lane=[1, 1], s=[50.0, 50.0], d=[0.95, -0.95], width=[1.8, 1.8])
    assert validate(scene) == []
    assert GRID.collisions(scene) == 1


# ---------------------------------------------------------------- batches
def test_encode_many_equals_stacked_encode():
    scenes = list(HighwaySceneSpace().sample_many(20, seed=3))
    scenes.append(Scene(scenes[0].road, Vehicles.empty()))
    grids, dropped = GRID.encode_many(scenes, drop=True, return_dropped=True)
    assert grids.shape == (21, *GRID.shape) and grids.dtype == np.float32
    one_by_one = [GRID.encode(scene, drop=True, return_dropped=True) for scene in scenes]
    assert np.array_equal(grids, np.stack([grid for grid, _ in one_by_one]))
    assert dropped.tolist() == [count for _, count in one_by_one]
    assert GRID.encode_many([]).shape == (0, *GRID.shape)


def test_encode_many_names_the_scene_it_cannot_encode():
    road = Road.straight(length=300.0, lanes=2)
    scenes = [scene_of(road, lane=[0], s=[5.0]), scene_of(road, lane=[1], s=[390.0])]
    with pytest.raises(ValueError, match=r"scenes\[1\] has 1 vehicle\(s\)"):
        GRID.encode_many(scenes)


# ---------------------------------------------------------------- decode of any grid
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_decode_of_noise_always_builds_a_scene(dtype, free_flow):
    road = free_flow.road  # 4 lanes: rows 4 and 5 of the grid have no lane to go to
    rng = np.random.default_rng(5)
    info = np.finfo(dtype)
    for scale in (0.5, 1.0, 10.0, 1e4):
        for _ in range(20):
            noise = rng.normal(0.0, scale, GRID.shape) + 0.5
            noise = np.clip(noise, info.min, info.max).astype(dtype)  # float16 tops at 65504
            scene, dropped = GRID.decode(noise, road, return_dropped=True)
            vehicles = scene.vehicles
            assert dropped == int(np.count_nonzero(noise[1, 4:] > 0.5))
            assert len(vehicles) == int(np.count_nonzero(noise[1, :4] > 0.5))
            assert np.all(vehicles.lane < road.lane_count)
            assert np.all((vehicles.s >= 0.0) & (vehicles.s < GRID.length))
            assert np.all(vehicles.speed >= 0.0) and np.all(np.abs(vehicles.heading) <= np.pi)
            assert np.all(vehicles.length >= 0.3) and np.all(vehicles.width >= 0.3)
            assert isinstance(validate(scene), list)
            assert Scene.from_json(scene.to_json()) == scene


def test_decode_keeps_vehicles_where_the_road_lane_does_not_exist(congested):
    grid = np.zeros(GRID.shape, dtype=np.float32)
    grid[1, 5, 5] = 1.0  # the auxiliary lane 5 starts at 60 m; cell 5 is 20-24 m
    grid[[6, 7, 8]] = np.array([0.225, 0.6, 1.0])[:, None, None]  # a 4.5 x 1.8 m car
    scene = GRID.decode(grid, congested.road)
    assert scene.vehicles.lane.tolist() == [5]
    assert "lane" in {violation.rule for violation in validate(scene)}


def test_decode_is_deterministic_on_kind_ties():
    grid = np.zeros(GRID.shape)
    grid[1, 0, 0] = 1.0
    grid[8:, 0, 0] = 0.5  # every kind equally likely: the first wins
    assert GRID.decode(grid, Road.straight(length=100.0, lanes=1)).vehicles.kind_names == ("car",)


def test_decode_of_a_wrong_shape_grid_names_the_expected_shape():
    road = Road.straight(length=100.0, lanes=2)
    with pytest.raises(ValueError, match=r"shape \(12, 6, 96\).*got \(12, 6, 95\)"):
        GRID.decode(np.zeros((12, 6, 95), dtype=np.float32), road)


def test_decode_of_a_batch_says_to_decode_each_grid():
    road = Road.straight(length=100.0, lanes=2)
    with pytest.raises(ValueError, match=r"decode each grid\[i\]"):
        GRID.decode(np.zeros((3, *GRID.shape), dtype=np.float32), road)


def test_decode_rejects_non_finite_and_non_float_grids():
    road = Road.straight(length=100.0, lanes=2)
    grid = np.zeros(GRID.shape, dtype=np.float32)
    grid[5, 1, 7] = np.nan
    with pytest.raises(ValueError, match="channel 'speed' at lane 1, cell 7"):
        GRID.decode(grid, road)
    with pytest.raises(TypeError, match="float array"):
        GRID.decode(np.zeros(GRID.shape, dtype=np.int64), road)
    with pytest.raises(TypeError, match="road must be a Road"):
        GRID.decode(np.zeros(GRID.shape), "road")


# ---------------------------------------------------------------- determinism
def test_encode_is_deterministic(congested):
    first = GRID.encode(congested)
    assert GRID.encode(congested).tobytes() == first.tobytes()
    assert GRID.encode(Scene.from_json(congested.to_json())).tobytes() == first.tobytes()


def test_encode_rejects_what_is_not_a_scene():
    with pytest.raises(TypeError, match="scene must be a Scene"):
        GRID.encode("scene")
    with pytest.raises(TypeError, match=r"scenes\[0\] must be a Scene"):
        GRID.encode_many(["scene"])


def test_windows_equal_slices_of_the_whole_grids():
    from scenegym.scene.batch import SceneBatch
    from scenegym.scene.space import HighwaySceneSpace, HighwaySpaceConfig

    # A grid shorter than the roads and fewer rows than some roads' lanes: vehicles fall
    # outside it; crowded lanes put several vehicles in one cell.
    grid = LaneGrid(lanes=3, cells=40, cell_length=5.0)
    space = HighwaySceneSpace(HighwaySpaceConfig(lanes=(2, 4), length=(150.0, 300.0)))
    scenes = list(space.sample_many(60, seed=4))
    batch = SceneBatch.of(scenes)
    whole = grid.encode_batch(batch, drop=True)[0]
    rng = np.random.default_rng(0)
    for width in (1, 7, 16):
        first = rng.integers(-width, grid.cells + 2, batch.count)
        windows = grid.encode_windows(batch, first, width)
        assert windows.shape == (batch.count, len(CHANNELS), grid.lanes, width)
        for i in range(batch.count):
            for j in range(width):
                cell = first[i] + j
                expected = whole[i, :, :, cell] if 0 <= cell < grid.cells else 0.0
                np.testing.assert_array_equal(windows[i, :, :, j], expected)
    with pytest.raises(ValueError, match="one cell per scene"):
        grid.encode_windows(batch, np.zeros(3, dtype=np.int64), 4)
