"""The random highway scene space and its typed config."""

import numpy as np
import pytest

from scenegym.config import config_from_mapping, config_to_dict, load_config
from scenegym.scene import HighwaySceneSpace, HighwaySpaceConfig, Vehicles, is_valid


def test_same_seed_gives_the_same_scenes():
    space = HighwaySceneSpace()
    assert list(space.sample_many(5, seed=7)) == list(space.sample_many(5, seed=7))
    assert list(space.sample_many(5, seed=7)) != list(space.sample_many(5, seed=8))


def test_scene_i_does_not_depend_on_how_many_are_drawn():
    space = HighwaySceneSpace()
    assert list(space.sample_many(3, seed=2)) == list(space.sample_many(6, seed=2))[:3]


def test_samples_stay_within_the_configured_bounds():
    config = HighwaySpaceConfig(
        lanes=(3, 4),
        length=(200.0, 250.0),
        vehicles=(10, 12),
        max_curvature=0.002,
        ramp_probability=0.0,
    )
    for scene in HighwaySceneSpace(config).sample_many(40, seed=0):
        assert 3 <= scene.road.lane_count <= 4
        assert 200.0 - 1e-9 <= scene.road.length <= 250.0 + 1e-9
        assert 10 <= len(scene.vehicles) <= 12
        assert scene.road.max_curvature <= 0.002
        assert np.all(scene.vehicles.speed >= 0)


def test_ramps_appear_when_asked_for():
    config = HighwaySpaceConfig(lanes=(2, 2), ramp_probability=1.0)
    for scene in HighwaySceneSpace(config).sample_many(10, seed=0):
        assert scene.road.lane_count == 3
        assert scene.road.lane_lengths[-1] < scene.road.length


def test_random_sampler_is_sometimes_valid_and_sometimes_not():
    rate = np.mean([is_valid(s) for s in HighwaySceneSpace().sample_many(200, seed=0)])
    assert 0.0 < rate < 1.0


def test_sparse_space_is_mostly_valid():
    config = HighwaySpaceConfig(vehicles=(1, 3), lanes=(4, 5))
    rate = np.mean([is_valid(s) for s in HighwaySceneSpace(config).sample_many(100, seed=0)])
    assert rate > 0.8


def test_sample_requires_a_generator():
    with pytest.raises(TypeError, match="np.random.default_rng"):
        HighwaySceneSpace().sample(42)


def test_config_round_trips_through_a_mapping():
    config = HighwaySpaceConfig(
        lanes=(1, 2), kind_shares={"car": 1.0, "truck": 0.0, "motorcycle": 0.0, "bus": 0.0}
    )
    assert config_from_mapping(HighwaySpaceConfig, config_to_dict(config)) == config


def test_yaml_config_is_loaded_and_checked(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("lanes: [3, 3]\nkind_shares: {truck: 0.5}\n")
    config = load_config(HighwaySpaceConfig, path)
    assert config.lanes == (3, 3)
    assert config.kind_shares["truck"] == 0.5 and config.kind_shares["car"] == 0.8


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lane": [1, 2]}, r"unknown key 'lane'; did you mean 'lanes'\? allowed keys: "),
        ({"lanes": [0, 3]}, r"lanes\[0\] must be in \[1, 8\], got 0"),
        ({"lanes": [4, 2]}, r"lanes is a \(min, max\) range, got min 4 > max 2"),
        ({"lanes": 3}, r"lanes must be a list of 2 values"),
        ({"max_curvature": "big"}, r"max_curvature must be a number"),
        ({"kind_shares": {"tank": 1.0}}, r"kind_shares: unknown key 'tank'"),
        ({"kind_shares": {"car": -1.0}}, r"kind_shares.car must be in \[0, inf\]"),
    ],
)
def test_bad_config_values_name_their_key(data, message):
    with pytest.raises(ValueError, match=message):
        config_from_mapping(HighwaySpaceConfig, data, name="space")


def test_a_partial_fixed_key_mapping_in_python_is_completed_like_a_file():
    from scenegym.config import config_from_mapping

    in_python = HighwaySpaceConfig(sizes={"car": (4.0, 0.5, 1.85, 0.1)})
    from_file = config_from_mapping(HighwaySpaceConfig, {"sizes": {"car": [4.0, 0.5, 1.85, 0.1]}})
    assert in_python.sizes == from_file.sizes
    assert sorted(in_python.sizes) == ["bus", "car", "motorcycle", "truck"]
    scene = HighwaySceneSpace(in_python).sample(np.random.default_rng(0))  # every kind has a size
    assert len(scene.vehicles) > 0


def test_targets_set_the_road_and_the_scene_wide_numbers():
    from scenegym.scene import describe

    space = HighwaySceneSpace(HighwaySpaceConfig(vehicles=(0, 200)))
    targets = {
        "lane_count": 3,
        "max_curvature": 0.001,
        "density": 30.0,
        "mean_speed": 25.0,
        "std_speed": 1.0,
        "truck_share": 0.25,
    }
    described = [describe(space.sample(np.random.default_rng(i), targets)) for i in range(60)]
    assert all(d["lane_count"] == 3 for d in described)  # three main lanes, no ramp
    assert all(abs(d["max_curvature"] - 0.001) < 1e-12 for d in described)
    # The count is the density's on each road, so only rounding is left.
    assert all(abs(d["density"] - 30.0) < 1.0 for d in described)
    assert abs(np.mean([d["mean_speed"] for d in described]) - 25.0) < 0.2
    assert abs(np.mean([d["std_speed"] for d in described]) - 1.0) < 0.2
    assert abs(np.mean([d["truck_share"] for d in described]) - 0.25) < 0.05
    straight = describe(space.sample(np.random.default_rng(0), {"max_curvature": 0.0}))
    assert straight["max_curvature"] == 0.0
    counted = space.sample(np.random.default_rng(0), {"vehicle_count": 17})
    assert len(counted.vehicles) == 17


def test_targets_are_clipped_to_the_space_and_others_ignored():
    space = HighwaySceneSpace(HighwaySpaceConfig(lanes=(2, 4), vehicles=(5, 20)))
    rng = np.random.default_rng
    assert space.sample(rng(0), {"lane_count": 9}).road.lane_count == 4
    assert len(space.sample(rng(0), {"vehicle_count": 1000}).vehicles) == 20
    assert len(space.sample(rng(0), {"density": 0.0}).vehicles) == 5
    # Descriptors the space cannot set leave the draw as it is; no targets, no change.
    assert space.sample(rng(3), {"min_gap": 5.0}) == space.sample(rng(3), {})
    assert space.sample(rng(3), None) == space.sample(rng(3))


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({"density": "high"}, r"targets\['density'\] must be a number"),
        ({"mean_speed": float("nan")}, r"targets\['mean_speed'\] must be finite"),
        ([("density", 3.0)], "targets must be a mapping"),
    ],
)
def test_bad_targets_are_named(targets, message):
    with pytest.raises((TypeError, ValueError), match=message):
        HighwaySceneSpace().sample(np.random.default_rng(0), targets)


def test_even_placement_fills_lanes_by_length_and_spaces_vehicles_evenly():
    config = HighwaySpaceConfig(
        lanes=(3, 3),
        vehicles=(12, 12),
        ramp_probability=0.0,
        placement="even",
        placement_jitter=0.3,
    )
    for scene in HighwaySceneSpace(config).sample_many(20, seed=0):
        lanes = np.bincount(scene.vehicles.lane, minlength=3)
        assert lanes.tolist() == [4, 4, 4]  # equal lanes, equal shares
        for lane in range(3):
            s = np.sort(scene.vehicles.s[scene.vehicles.lane == lane])
            spacing = scene.road.length / 4
            # Neighbours stay between 1 - jitter and 1 + jitter spacings apart.
            assert np.all(np.abs(np.diff(s) - spacing) <= 0.3 * spacing + 1e-9)
    still = HighwaySpaceConfig(
        lanes=(2, 2), vehicles=(8, 8), ramp_probability=0.0, placement="even", placement_jitter=0
    )
    scene = HighwaySceneSpace(still).sample(np.random.default_rng(1))
    for lane in range(scene.road.lane_count):
        gaps = np.diff(np.sort(scene.vehicles.s[scene.vehicles.lane == lane]))
        assert np.allclose(gaps, gaps[0])


def test_following_placement_gives_faster_vehicles_longer_gaps():
    from scenegym.scene.space import FOLLOWING_GAP, FOLLOWING_HEADWAY

    still = HighwaySpaceConfig(
        lanes=(3, 3), vehicles=(15, 15), ramp_probability=0.0, placement="following"
    )
    still = config_from_mapping(HighwaySpaceConfig, {"placement_jitter": 0.0}, base=still)
    for scene in HighwaySceneSpace(still).sample_many(10, seed=0):
        v = scene.vehicles
        assert np.bincount(v.lane, minlength=3).tolist() == [5, 5, 5]
        for lane in range(3):
            order = np.argsort(v.s[v.lane == lane])
            s, speed, length = (x[v.lane == lane][order] for x in (v.s, v.speed, v.length))
            # The room to the next vehicle is in proportion to what a follower keeps.
            ratio = np.diff(s) / (length + FOLLOWING_GAP + speed * FOLLOWING_HEADWAY)[:-1]
            assert np.allclose(ratio, ratio[0])
            assert scene.road.lane_starts[lane] <= s[0] and s[-1] <= scene.road.lane_ends[lane]

    def gap_speed_correlation(placement):
        config = config_from_mapping(HighwaySpaceConfig, {"placement": placement}, base=still)
        config = config_from_mapping(HighwaySpaceConfig, {"placement_jitter": 0.4}, base=config)
        values = []
        for scene in HighwaySceneSpace(config).sample_many(40, seed=1):
            v = scene.vehicles
            for lane in range(3):
                order = np.argsort(v.s[v.lane == lane])
                s, speed = v.s[v.lane == lane][order], v.speed[v.lane == lane][order]
                values.append(np.corrcoef(np.diff(s), speed[:-1])[0, 1])
        return np.mean(values)

    assert gap_speed_correlation("following") > 0.3
    assert abs(gap_speed_correlation("even")) < 0.15


@pytest.mark.parametrize("placement", ["uniform", "even", "following"])
def test_vehicle_sets_are_drawn_at_once_each_following_the_targets(placement):
    from scenegym.scene import Scene, describe

    space = HighwaySceneSpace(HighwaySpaceConfig(placement=placement, vehicles=(0, 60)))
    targets = {"vehicle_count": 21, "mean_speed": 18.0, "std_speed": 2.5}
    targets.update(truck_share=0.2, lane_occupancy_spread=0.4)
    road = space.sample_road(np.random.default_rng(0), targets)
    # One set is sample_vehicles' draw from the same generator state.
    one = space.sample_vehicle_sets(road, np.random.default_rng(7), targets)
    alone = space.sample_vehicles(road, np.random.default_rng(7), targets)
    for name, values in one.items():
        assert np.array_equal(values[0], getattr(alone, name))
        assert values.dtype == getattr(alone, name).dtype
    sets = space.sample_vehicle_sets(road, np.random.default_rng(7), targets, count=6)
    assert all(values.shape == (6, 21) for values in sets.values())
    rows = [Vehicles.unchecked({name: v[i] for name, v in sets.items()}) for i in range(6)]
    for vehicles in rows:
        d = describe(Scene(road, vehicles))
        assert (d["vehicle_count"], d["truck_share"]) == (21, pytest.approx(4 / 21))
        assert (d["mean_speed"], d["std_speed"]) == (pytest.approx(18.0), pytest.approx(2.5))
        for lane in range(road.lane_count):
            s = vehicles.s[vehicles.lane == lane]
            assert np.all(s >= road.lane_starts[lane]) and np.all(s <= road.lane_ends[lane])
    assert len({vehicles.s.tobytes() for vehicles in rows}) == 6  # six different sets
    with pytest.raises(ValueError, match="count"):
        space.sample_vehicle_sets(road, np.random.default_rng(0), targets, count=0)
    with pytest.raises(ValueError, match="too large to represent"):
        space.sample_vehicles(road, np.random.default_rng(0), {"std_speed": 1e308})


def test_count_and_density_together_set_the_road_length():
    from scenegym.scene import describe

    space = HighwaySceneSpace(HighwaySpaceConfig(length=(100.0, 400.0), ramp_probability=0.0))
    targets = {"vehicle_count": 12, "density": 15.0, "lane_count": 4, "max_curvature": 0.0}
    scene = space.sample(np.random.default_rng(0), targets)
    assert scene.road.length == pytest.approx(200.0)  # 12 vehicles / (15 per km * 4 lanes)
    assert describe(scene)["density"] == pytest.approx(15.0)


def test_an_unknown_placement_is_named():
    with pytest.raises(ValueError, match="placement must be one of uniform, even, following"):
        config_from_mapping(HighwaySpaceConfig, {"placement": "rows"})


def test_a_lane_use_target_spreads_the_lanes_about_that_much():
    from scenegym.scene import describe

    config = HighwaySpaceConfig(lanes=(4, 4), vehicles=(24, 24), ramp_probability=0.0)

    def mean_spread(placement, wanted):
        space = HighwaySceneSpace(
            config_from_mapping(HighwaySpaceConfig, {"placement": placement}, base=config)
        )
        targets = {"lane_occupancy_spread": wanted}
        scenes = [space.sample(np.random.default_rng(i), targets) for i in range(80)]
        return np.mean([describe(scene)["lane_occupancy_spread"] for scene in scenes])

    # Evenly placed, the lanes are as uneven as asked; dropped at random, more uneven still.
    assert mean_spread("even", 0.0) < 0.01  # 6 vehicles in each lane (curves: lengths differ)
    assert 0.25 < mean_spread("even", 0.4) < 0.45  # four lanes spread a little less
    assert mean_spread("uniform", 0.4) > mean_spread("uniform", 0.0) + 0.1


def test_speed_and_truck_targets_are_met_exactly_by_each_scene():
    from scenegym.scene import describe

    space = HighwaySceneSpace(HighwaySpaceConfig(vehicles=(10, 30)))
    targets = {"vehicle_count": 20, "mean_speed": 24.0, "std_speed": 1.5, "truck_share": 0.15}
    for seed in range(10):
        d = describe(space.sample(np.random.default_rng(seed), targets))
        assert d["mean_speed"] == pytest.approx(24.0)
        assert d["std_speed"] == pytest.approx(1.5)
        assert d["truck_share"] == pytest.approx(0.15)  # 3 of 20
    # Only the mean asked for: the drawn spread is kept, moved onto the mean.
    one = describe(space.sample(np.random.default_rng(0), {"mean_speed": 10.0}))
    assert one["mean_speed"] == pytest.approx(10.0) and one["std_speed"] > 0.0


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"lanes": (1, 8), "lane_width": (1.0, 8.0), "max_curvature": 0.2, "straight_share": 0.0},
        {"length": (20.0, 40.0), "segments": (5, 20), "max_curvature": 0.2, "ramp_probability": 1},
        {"length": (4000.0, 5000.0), "speed_limit": (1.0, 60.0), "ramp_probability": 1.0},
    ],
)
def test_space_roads_pass_every_check_of_the_road_constructor(config):
    # The space builds its roads without the constructor's checks; they must hold anyway.
    from dataclasses import fields

    from scenegym.scene import Road

    space = HighwaySceneSpace(HighwaySpaceConfig(**config))
    rng = np.random.default_rng(5)
    targets = [None, {"lane_count": 3, "max_curvature": 0.2}, {"max_curvature": 0.0}]
    for i in range(300):
        road = space.sample_road(rng, targets[i % 3])
        checked = Road(**{f.name: getattr(road, f.name) for f in fields(Road)})
        assert checked == road
        assert not road.lane_widths.flags.writeable


def test_scenes_drawn_together_equal_those_drawn_alone():
    # Each scene draws from its own generator: drawn in a batch, with other scenes and
    # other targets beside it, it is the scene that generator gives alone.
    for placement in ("uniform", "even", "following"):
        space = HighwaySceneSpace(HighwaySpaceConfig(placement=placement, vehicles=(0, 30)))
        targets = [None, {"lane_count": 3, "max_curvature": 0.0}, {"density": 30.0}]
        targets += [{"truck_share": 0.3, "mean_speed": 20.0, "std_speed": 2.0}, {}]
        targets += [{"vehicle_count": 0}, {"lane_occupancy_spread": 0.5, "vehicle_count": 9}]
        rngs = [np.random.default_rng(seed) for seed in range(len(targets))]
        together = space.sample_scenes(rngs, targets)
        alone = [space.sample(np.random.default_rng(i), t) for i, t in enumerate(targets)]
        assert together == alone
        assert len(together[5].vehicles) == 0 and len(together[6].vehicles) == 9
        roads = [scene.road for scene in together]
        rngs = [np.random.default_rng(seed) for seed in range(len(targets))]
        sizes, columns = space.sample_vehicles_many(roads, rngs, targets, count=3)
        first = 0
        for i, (road, n) in enumerate(zip(roads, sizes.tolist())):
            sets = space.sample_vehicle_sets(road, np.random.default_rng(i), targets[i], 3)
            for name, values in sets.items():
                assert np.array_equal(columns[name][first : first + 3 * n], values.ravel())
            first += 3 * n
    with pytest.raises(ValueError, match="one generator per road"):
        space.sample_vehicles_many(roads, rngs[:2])
    with pytest.raises(TypeError, match="np.random.default_rng"):
        space.sample_scenes([np.random.default_rng(0), 7])


def test_random_scenes_follow_the_configured_distributions():
    config = HighwaySpaceConfig(lanes=(2, 4), segments=(1, 3), ramp_probability=0.25)
    scenes = list(HighwaySceneSpace(config).sample_many(3000, seed=21))
    main = np.array(
        [
            s.road.lane_count
            - (s.road.lane_starts[-1] > 0 or s.road.lane_ends[-1] < s.road.length - 1e-9)
            for s in scenes
        ]
    )
    assert np.allclose(np.bincount(main)[2:] / len(scenes), 1 / 3, atol=0.03)
    segments = np.bincount([s.road.segment_lengths.size for s in scenes])[1:] / len(scenes)
    assert np.allclose(segments, 1 / 3, atol=0.03)
    ramps = np.mean([s.road.lane_count > m for s, m in zip(scenes, main)])
    assert ramps == pytest.approx(0.25, abs=0.03)
    limits = np.array([s.road.speed_limit for s in scenes])
    assert limits.min() >= 22.2 and limits.max() < 36.1
    assert limits.mean() == pytest.approx((22.2 + 36.1) / 2, abs=0.4)
    counts = np.array([len(s.vehicles) for s in scenes])
    assert counts.min() == 5 and counts.max() == 40
    assert counts.mean() == pytest.approx(22.5, abs=0.5)
    kinds = np.concatenate([s.vehicles.kind for s in scenes])
    shares = np.bincount(kinds, minlength=4) / kinds.size
    assert np.allclose(shares, [0.8, 0.12, 0.04, 0.04], atol=0.01)
    # Uniform placement: a lane gets vehicles in proportion to its extent.
    extent = [s.road.lane_ends - s.road.lane_starts for s in scenes]
    first_lane = [np.mean(s.vehicles.lane == 0) for s in scenes]
    assert np.mean(first_lane) == pytest.approx(np.mean([e[0] / e.sum() for e in extent]), abs=0.01)
    cars = kinds == 0
    lengths = np.concatenate([s.vehicles.length for s in scenes])[cars]
    assert lengths.mean() == pytest.approx(4.6, abs=0.02)
    assert lengths.std() == pytest.approx(0.5, abs=0.02)
    # Speeds spread by speed_std around a flow speed of 0.2-1.1 times the limit.
    flows = np.array([s.vehicles.speed.mean() / s.road.speed_limit for s in scenes])
    assert flows.mean() == pytest.approx(0.65, abs=0.02)
    moving = [s.vehicles.speed for s in scenes if s.vehicles.speed.min() > 0]
    assert np.sqrt(np.mean([speed.var(ddof=1) for speed in moving])) == pytest.approx(3.0, rel=0.03)


@pytest.mark.parametrize(
    "config",
    [
        {"vehicles": (0, 0)},
        {"lanes": (1, 1), "segments": (1, 1), "ramp_probability": 1.0},
        {"placement": "even", "vehicles": (0, 3)},
        {"placement": "following", "vehicles": (0, 2), "lanes": (4, 4)},
        {"kind_shares": {"car": 0.0, "truck": 1.0, "motorcycle": 0.0, "bus": 0.0}},
        {"segments": (20, 20), "max_curvature": 0.2, "length": (20.0, 40.0), "straight_share": 1},
        {"vehicles": (500, 500), "placement": "following"},
    ],
)
def test_edge_spaces_draw_checked_scenes_together_or_alone(config):
    from dataclasses import fields

    from scenegym.scene import Road

    space = HighwaySceneSpace(HighwaySpaceConfig(**config))
    targets = [None, {"truck_share": 1.0}, {"vehicle_count": 0}, {"density": 1e6}]
    targets += [{"lane_count": 100, "max_curvature": 1.0}, {"mean_speed": -5.0}]
    targets += [{"lane_occupancy_spread": 3.0, "std_speed": 0.0}, {"max_curvature": 0.0}]
    together = space.sample_scenes([np.random.default_rng(i) for i in range(8)], targets)
    assert together == [space.sample(np.random.default_rng(i), t) for i, t in enumerate(targets)]
    for scene in together:
        road, vehicles = scene.road, scene.vehicles
        assert Road(**{f.name: getattr(road, f.name) for f in fields(Road)}) == road
        checked = Vehicles(**{f.name: getattr(vehicles, f.name) for f in fields(Vehicles)})
        assert checked == vehicles and np.all(vehicles.speed >= 0)
        lane = vehicles.lane
        assert np.all(road.lane_starts[lane] <= vehicles.s)
        assert np.all(vehicles.s <= road.lane_ends[lane])
