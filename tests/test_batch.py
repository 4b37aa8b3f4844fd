"""Batched computations agree with one scene at a time and with independent brute force."""

import numpy as np
import pytest
from shapely.geometry import Polygon

from scenegym.evaluation.metrics import scene_vehicle_features, vehicle_features
from scenegym.rewards.realism import VehicleRealism
from scenegym.scene import HighwaySceneSpace, HighwaySpaceConfig, Road, Scene, Vehicles
from scenegym.scene.batch import RoadBatch, SceneBatch
from scenegym.scene.descriptors import describe, describe_many, leader_follower_gaps
from scenegym.scene.encoding import LaneGrid
from scenegym.scene.geometry import vehicle_corners
from scenegym.scene.validity import (
    RULES,
    overlapping_pairs,
    violation_counts,
    violation_counts_many,
)
from tests.conftest import congested_freeway, free_flow_curve


@pytest.fixture(scope="module")
def scenes() -> list[Scene]:
    """Random scenes (most invalid: overlaps, off-road, odd sizes), curved roads with ramps,
    recorded-like scenes, one empty scene and one with a single vehicle."""
    space = HighwaySceneSpace(
        HighwaySpaceConfig(
            ramp_probability=0.5, max_curvature=0.02, vehicles=(0, 40), lateral_std=0.8
        )
    )
    sampled = list(space.sample_many(150, seed=3))
    road = Road.straight(length=100.0, lanes=2)
    lonely = Scene(road, Vehicles.from_columns(lane=[1], s=[50.0], speed=[10.0]))
    return [*sampled, congested_freeway(), free_flow_curve(), Scene(road, Vehicles.empty()), lonely]


def test_violation_counts_of_many_scenes_equal_one_by_one(scenes):
    many = violation_counts_many(scenes)
    one = np.array([[violation_counts(scene)[rule] for rule in RULES] for scene in scenes])
    np.testing.assert_array_equal(many, one)
    assert many[:, RULES.index("overlap")].sum() > 50  # the sample does exercise overlaps
    assert many[:, RULES.index("off_road")].sum() > 0


def test_overlapping_pairs_match_polygon_intersection(scenes):
    checked = 0
    for scene in scenes[:60]:
        corners = vehicle_corners(scene.road, scene.vehicles)
        polygons = [Polygon(c) for c in corners]
        expected = {
            (i, j)
            for i in range(len(polygons))
            for j in range(i + 1, len(polygons))
            if polygons[i].intersection(polygons[j]).area > 1e-6
        }
        assert {tuple(p) for p in overlapping_pairs(corners).tolist()} == expected
        checked += len(expected)
    assert checked > 20


def test_descriptors_of_many_scenes_equal_one_by_one(scenes):
    many = describe_many(scenes)
    for i, scene in enumerate(scenes):
        one = describe(scene)
        for name, value in one.items():
            assert many[name][i] == pytest.approx(value, rel=1e-12, abs=1e-12), (i, name)


def test_descriptors_match_plain_numpy_statistics(scenes):
    for scene in scenes[:40] + scenes[-4:]:
        v = scene.vehicles
        follower, _, gap = leader_follower_gaps(scene)
        with np.errstate(divide="ignore", invalid="ignore"):
            headway = np.where(
                gap <= 0, 0.0, np.minimum(gap / np.maximum(v.speed[follower], 0), 10)
            )
        d = describe(scene)
        if len(v) > 1:
            assert d["std_speed"] == pytest.approx(np.std(v.speed))
        if headway.size:
            assert d["median_time_headway"] == pytest.approx(np.median(headway))
            assert d["min_gap"] == pytest.approx(min(gap.min(), 200.0))
        lanes = np.bincount(
            np.clip(v.lane, 0, scene.road.lane_count - 1), minlength=scene.road.lane_count
        )
        per_lane = lanes / (scene.road.lane_lengths / 1000.0)
        expected = per_lane.std() / per_lane.mean() if per_lane.mean() > 0 else 0.0
        assert d["lane_occupancy_spread"] == pytest.approx(expected)


def test_vehicle_features_and_realism_of_many_equal_one_by_one(scenes):
    pooled = vehicle_features(scenes)
    np.testing.assert_allclose(
        pooled, np.concatenate([scene_vehicle_features(scene) for scene in scenes])
    )
    model = VehicleRealism.fit(scenes[-4:-2] * 5, components=2)
    np.testing.assert_allclose(
        model.scores(scenes), [model.score(scene) for scene in scenes], atol=1e-12
    )


def test_lane_grids_of_many_equal_one_by_one(scenes):
    grid = LaneGrid()
    many, dropped = grid.encode_many(scenes, drop=True, return_dropped=True)
    for i, scene in enumerate(scenes):
        one, lost = grid.encode(scene, drop=True, return_dropped=True)
        np.testing.assert_array_equal(many[i], one)
        assert dropped[i] == lost


def test_scenes_sharing_a_road_share_its_tables(congested):
    moved = congested.replace(vehicles=congested.vehicles.take(np.arange(10)))
    batch = SceneBatch.of([congested, moved, congested])
    assert len(batch.roads.roads) == 1
    counts = violation_counts_many([congested, moved, congested])
    assert counts.sum() == 0


def test_replaced_road_rows_equal_fresh_tables(scenes):
    roads = [scene.road for scene in scenes[:5]]
    batch = RoadBatch(roads)
    newcomers = [s.road for s in scenes[5:] if batch.fits(s.road)][:2]
    batch.replace([2, 4], newcomers)
    fresh = RoadBatch([*roads[:2], newcomers[0], roads[3], newcomers[1]])
    for name in ("lane_start", "lane_end", "lane_centre", "segment_pose", "lane_scale"):
        np.testing.assert_array_equal(getattr(batch, name), getattr(fresh, name))
    assert batch.roads[2] is newcomers[0] and batch.roads[4] is newcomers[1]
    with pytest.raises(ValueError, match="more lanes or segments"):
        RoadBatch([Road.straight(length=50.0, lanes=1)]).replace(
            [0], [Road.straight(length=50.0, lanes=3)]
        )


def test_road_tables_equal_each_roads_own_geometry(scenes):
    # The tables of many roads are built at once; each row must hold its road's own numbers.
    roads = [scene.road for scene in scenes]
    batch = RoadBatch(roads)
    for r, road in enumerate(roads):
        n, m = road.lane_count, road.segment_lengths.size
        assert (batch.lane_count[r], batch.segment_count[r]) == (n, m)
        assert batch.length[r] == pytest.approx(road.length, rel=1e-15)
        assert batch.max_curvature[r] == road.max_curvature
        np.testing.assert_array_equal(batch.lane_centre[r, :n], road.lane_centers)
        np.testing.assert_array_equal(batch.left_edge[r, :n], road.lane_boundaries[:-1])
        np.testing.assert_array_equal(batch.right_edge[r, :n], road.lane_boundaries[1:])
        np.testing.assert_allclose(batch.lane_km[r, :n], road.lane_lengths / 1000.0, rtol=1e-13)
        assert batch.total_lane_km[r] == pytest.approx(road.lane_lengths.sum() / 1000.0)
        np.testing.assert_allclose(batch.segment_pose[r, :m], road.segment_poses, atol=1e-9)
        np.testing.assert_allclose(
            batch.lane_segment_start[r, :n, :m], road._lane_segment_starts, rtol=1e-13
        )
        # Stations along every lane land where the road itself puts them.
        s = np.linspace(0.0, road.length, 7)
        x, y, h = batch.reference(np.full(7, r), s)
        want = road.reference_pose(s)
        np.testing.assert_allclose(np.stack([x, y, h]), np.stack(want), atol=1e-9)
    assert len({road.lane_count for road in roads}) > 1  # rows padded to the most lanes


def test_violations_of_some_vehicles_equal_those_of_the_whole_batch():
    from scenegym.scene.batch import SceneBatch
    from scenegym.scene.space import HighwaySceneSpace, HighwaySpaceConfig
    from scenegym.scene.validity import DEFAULT_RULES

    # Crowded scenes drawn independently along the lanes: many overlaps and some off-road.
    space = HighwaySceneSpace(
        HighwaySpaceConfig(vehicles=(0, 60), lateral_std=1.5, heading_std=0.4)
    )
    scenes = list(space.sample_many(80, seed=2))
    per_vehicle = SceneBatch.of(scenes).violations(DEFAULT_RULES)[1]
    assert (per_vehicle > 1).any() and (per_vehicle == 0).any()
    rng = np.random.default_rng(1)
    picked = rng.choice(per_vehicle.size, size=150, replace=False)
    # A batch not checked as a whole checks the picked vehicles alone...
    batch = SceneBatch.of(scenes)
    np.testing.assert_array_equal(batch.violations_of(DEFAULT_RULES, picked), per_vehicle[picked])
    np.testing.assert_array_equal(
        batch.violations_of(DEFAULT_RULES, np.arange(batch.lane.size)), per_vehicle
    )
    assert batch._violations is None
    assert batch.violations_of(DEFAULT_RULES, np.zeros(0, dtype=np.int64)).size == 0
    # ...and one already checked (a scored step) reads the same counts from that check.
    batch.violations(DEFAULT_RULES)
    np.testing.assert_array_equal(batch.violations_of(DEFAULT_RULES, picked), per_vehicle[picked])
