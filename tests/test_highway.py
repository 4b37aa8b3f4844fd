"""The highway-env bridge, the naturalistic reference and the Drive-v0 environment."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import scenegym  # noqa: F401  (registers the environments)
from scenegym.bridges.highway import from_highway, highway_network, to_highway
from scenegym.bridges.reference import ReferenceConfig, naturalistic_reference
from scenegym.scene import Road, Scene, Vehicles, is_valid, vehicle_poses

SMALL = ReferenceConfig(
    lanes=(2, 3),
    road_length=700.0,
    window=(150.0, 200.0),
    warmup=4.0,
    snapshots_per_run=2,
    windows_per_snapshot=2,
    interval=1.0,
)


def test_scene_to_highway_and_back_keeps_every_vehicle(congested, free_flow):
    for scene in (congested, free_flow):
        highway_road, _, _ = to_highway(scene)
        back = from_highway(scene.road, highway_road)
        before = np.stack(vehicle_poses(scene.road, scene.vehicles))
        after = np.stack(vehicle_poses(back.road, back.vehicles))
        assert np.abs(before - after).max() < 1e-6
        assert np.array_equal(back.vehicles.lane, scene.vehicles.lane)
        assert np.allclose(back.vehicles.speed, scene.vehicles.speed)
        assert np.array_equal(back.vehicles.kind, scene.vehicles.kind)


def test_highway_vehicles_get_the_scene_size_and_diagonal(congested):
    _, _, vehicles = to_highway(congested)
    for vehicle, length, width in zip(
        vehicles, congested.vehicles.length, congested.vehicles.width
    ):
        assert vehicle.LENGTH == length and vehicle.WIDTH == width
        assert vehicle.diagonal == pytest.approx(np.hypot(length, width))


def test_highway_env_puts_each_vehicle_on_the_same_lane(congested, free_flow):
    for scene in (congested, free_flow):
        _, built, vehicles = to_highway(scene)
        for vehicle, lane, s in zip(vehicles, scene.vehicles.lane, scene.vehicles.s):
            assert vehicle.lane_index == built.lane_index(int(lane), float(s))


def test_highway_lanes_follow_the_road_on_curves():
    road = Road(
        segment_lengths=[80.0, 120.0], segment_curvatures=[0.0, -0.01], lane_widths=[3.5, 3.5, 3.5]
    )
    built = highway_network(road)
    for section, lanes in enumerate(built.lanes):
        for lane_id, lane in enumerate(lanes):
            highway_lane = built.network.get_lane((f"s{section}", f"s{section + 1}", lane_id))
            s = np.linspace(built.stations[section], built.stations[section + 1], 7)
            x, y, _ = road.frenet_to_cartesian(s, np.full(7, road.lane_centers[lane]))
            for px, py in zip(x, -y):
                _, lateral = highway_lane.local_coordinates(np.array([px, py]))
                assert abs(lateral) < 1e-6


def test_ramps_become_sections_with_their_own_lane_sets(congested):
    built = highway_network(congested.road)
    assert [len(lanes) for lanes in built.lanes] == [5, 6, 6, 5]


def test_reference_scenes_are_valid_and_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv("SCENEGYM_CACHE", str(tmp_path))
    scenes = naturalistic_reference(8, seed=3, config=SMALL, cache=False, workers=1)
    assert len(scenes) == 8
    assert all(is_valid(scene) for scene in scenes)
    assert sum(len(scene.vehicles) for scene in scenes) > 20
    again = naturalistic_reference(8, seed=3, config=SMALL, cache=False, workers=1)
    assert scenes == again
    assert naturalistic_reference(8, seed=4, config=SMALL, cache=False, workers=1) != scenes


def test_reference_is_cached_and_reloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("SCENEGYM_CACHE", str(tmp_path))
    first = naturalistic_reference(4, seed=0, config=SMALL, workers=1)
    [cached] = list((tmp_path / "reference").glob("naturalistic-*.jsonl"))
    assert len(cached.read_text().splitlines()) == 4
    assert naturalistic_reference(4, seed=0, config=SMALL, workers=1) == first


def test_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("SCENEGYM_CACHE", str(tmp_path))
    first = naturalistic_reference(4, seed=0, config=SMALL, workers=1)
    [cached] = list((tmp_path / "reference").glob("naturalistic-*.jsonl"))
    cached.write_text("{broken\n")
    assert naturalistic_reference(4, seed=0, config=SMALL, workers=1) == first


def test_reference_worker_count_does_not_change_scenes(tmp_path, monkeypatch):
    monkeypatch.setenv("SCENEGYM_CACHE", str(tmp_path))
    config = ReferenceConfig(**{**SMALL.__dict__, "snapshots_per_run": 1})
    one = naturalistic_reference(6, seed=1, config=config, cache=False, workers=1)
    two = naturalistic_reference(6, seed=1, config=config, cache=False, workers=2)
    assert one == two


def test_reference_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n must be"):
        naturalistic_reference(0)
    with pytest.raises(ValueError, match="seed must be"):
        naturalistic_reference(3, seed=-1)


def test_road_section_keeps_geometry():
    road = Road(
        segment_lengths=[100.0, 150.0],
        segment_curvatures=[0.0, 0.004],
        lane_widths=[3.5, 3.6],
        lane_starts=[0.0, 40.0],
        lane_ends=[250.0, 250.0],
    )
    part = road.section(60.0, 200.0)
    s = np.linspace(0.0, part.length, 11)
    for lane in range(2):
        offset = np.full(11, road.lane_centers[lane])
        assert np.allclose(
            np.stack(part.frenet_to_cartesian(s, offset)),
            np.stack(road.frenet_to_cartesian(s + 60.0, offset)),
            atol=1e-9,
        )
    assert part.lane_starts.tolist() == [0.0, 0.0]


def test_drive_env_passes_the_gymnasium_checker(free_flow):
    env = gym.make("scenegym/Drive-v0", scenes=[free_flow])
    check_env(env.unwrapped, skip_render_check=True)


def test_drive_env_starts_in_the_given_scene(congested):
    env = gym.make("scenegym/Drive-v0")
    _, info = env.reset(seed=0, options={"scene": congested, "ego": 4})
    unwrapped = env.unwrapped
    assert len(unwrapped.road.vehicles) == len(congested.vehicles)
    assert unwrapped.vehicle.LENGTH == congested.vehicles.length[4]
    assert unwrapped.vehicle.speed == pytest.approx(congested.vehicles.speed[4])
    back = from_highway(unwrapped.scene.road, unwrapped.road)
    assert np.allclose(back.vehicles.s, congested.vehicles.s)
    assert info["scene"] == congested.id


def test_drive_env_cycles_through_its_scenes(congested, free_flow):
    env = gym.make("scenegym/Drive-v0", scenes=[congested, free_flow])
    counts = []
    for _ in range(3):
        env.reset(seed=0)
        counts.append(len(env.unwrapped.road.vehicles))
    assert counts == [len(congested.vehicles), len(free_flow.vehicles), len(congested.vehicles)]


def test_drive_env_is_deterministic_for_a_seed(free_flow):
    def rollout():
        env = gym.make("scenegym/Drive-v0", scenes=[free_flow])
        obs, _ = env.reset(seed=5)
        trace = [obs]
        for action in [1, 3, 1, 0, 4]:
            obs, *_ = env.step(action)
            trace.append(obs)
        return np.array(trace)

    assert np.array_equal(rollout(), rollout())


def test_drive_env_without_scenes_explains_itself():
    env = gym.make("scenegym/Drive-v0")
    with pytest.raises(ValueError, match="no scene to start from"):
        env.reset()
    empty = Scene(Road.straight(length=100.0, lanes=2), Vehicles.empty())
    with pytest.raises(ValueError, match="at least one vehicle"):
        env.reset(options={"scene": empty})


def _episode(env, action, scene):
    _, info = env.reset(seed=0, options={"scene": scene})
    rewards, progress, done = [], [], False
    while not done:
        _, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        progress.append(info["rewards"]["progress_reward"])
        done = terminated or truncated
    return rewards, progress, info


def _free_road(speed: float = 25.0) -> Scene:
    return Scene(
        Road.straight(length=200.0, lanes=2),
        Vehicles.from_columns(lane=[1], s=[20.0], speed=[speed]),
    )


def test_drive_v1_progress_sums_to_one_on_arrival_and_crawling_earns_less():
    env = gym.make("scenegym/Drive-v1")
    rewards, progress, info = _episode(env, 1, _free_road())  # idle at 25 m/s
    assert info["arrived"] and not info["crashed"]
    assert sum(progress) == pytest.approx(1.0)
    assert sum(rewards) == pytest.approx(1.0)
    assert info["distance"] >= 180.0
    crawl, crawl_progress, crawl_info = _episode(env, 4, _free_road())  # slower, every step
    assert not crawl_info["arrived"] and env.unwrapped.time >= 40  # truncated
    assert 0.0 < sum(crawl) < sum(rewards)
    assert sum(crawl_progress) == pytest.approx(crawl_info["distance"] / 180.0, rel=0.05)


def test_drive_v1_charges_a_crash():
    stopped = Scene(
        Road.straight(length=300.0, lanes=1),
        Vehicles.from_columns(lane=[0, 0], s=[20.0, 60.0], speed=[30.0, 0.0]),
    )
    env = gym.make("scenegym/Drive-v1")
    rewards, progress, info = _episode(env, 3, stopped)  # faster into a stopped car
    assert info["crashed"] and not info["arrived"]
    assert rewards[-1] == pytest.approx(-1.0 + progress[-1])


def test_drive_v0_keeps_highway_envs_normalised_rewards():
    env = gym.make("scenegym/Drive-v0")
    rewards, _, info = _episode(env, 4, _free_road())
    assert all(0.0 <= reward <= 1.0 for reward in rewards)
    assert len(rewards) == 40 and not info["arrived"]


def test_drive_reports_starts_its_drivers_cannot_handle():
    road = Road.straight(length=300.0, lanes=2)
    # A follower closing at 20 m/s over a 10 m gap needs 20 m/s²; highway-env's IDM brakes 6.
    closing = Scene(
        road, Vehicles.from_columns(lane=[1, 0, 0], s=[5.0, 50.0, 64.5], speed=[20.0, 30.0, 10.0])
    )
    env = gym.make("scenegym/Drive-v1")
    _, info = env.reset(options={"scene": closing})
    assert info["drivable"] is False
    assert "must brake harder than 6 m/s²" in info["start_issues"][0]
    ego_closing = Scene(road, Vehicles.from_columns(lane=[0, 0], s=[5.0, 19.5], speed=[30.0, 10.0]))
    _, info = env.reset(options={"scene": ego_closing})
    assert not info["drivable"] and "the ego must brake" in info["start_issues"][0]
    overlap = Scene(road, Vehicles.from_columns(lane=[0, 0], s=[5.0, 7.0], speed=[20.0, 20.0]))
    _, info = env.reset(options={"scene": overlap})
    assert not info["drivable"] and info["start_issues"][0].startswith("overlap")
    _, info = env.reset(options={"scene": _free_road()})
    assert info["drivable"] and info["start_issues"] == []


def test_drive_takes_its_feed_before_its_scenes(congested, free_flow):
    env = gym.make("scenegym/Drive-v1", scenes=[congested])
    env.unwrapped.scene_feed.extend([free_flow, free_flow])
    seen = [env.reset(seed=0)[1]["scene"] for _ in range(3)]
    assert seen == [free_flow.id, free_flow.id, congested.id]


def test_drive_fast_settings_check_collisions_with_the_ego_only(congested):
    env = gym.make(
        "scenegym/Drive-v1", config={"simulation_frequency": 5, "traffic_collisions": False}
    )
    env.reset(options={"scene": congested})
    checks = [vehicle.check_collisions for vehicle in env.unwrapped.road.vehicles]
    assert checks.count(True) == 1 and env.unwrapped.vehicle.check_collisions


def _joint_scene() -> Scene:
    """A follower 40 m before a section joint (a curve starts at 100 m), its leader 25 m past."""
    road = Road(
        segment_lengths=[100.0, 200.0], segment_curvatures=[0.0, 0.002], lane_widths=[3.5, 3.5]
    )
    vehicles = Vehicles.from_columns(lane=[0, 1, 1], s=[5.0, 60.0, 125.0], speed=[5.0, 15.0, 3.0])
    return Scene(road, vehicles)


@pytest.mark.parametrize(
    "config", [{"indexed_road": True}, {"neighbour_vehicles_connected_lanes": True}]
)
def test_drive_traffic_sees_its_leader_across_a_section_joint(config):
    env = gym.make("scenegym/Drive-v1", config=config).unwrapped
    env.reset(seed=0, options={"scene": _joint_scene()})
    follower, leader = env.road.vehicles[1], env.road.vehicles[2]
    assert env.road.neighbour_vehicles(follower)[0] is leader


def test_drive_on_the_indexed_road_is_deterministic_and_keeps_the_scene(congested):
    def rollout():
        env = gym.make("scenegym/Drive-v1", config={"indexed_road": True})
        obs, _ = env.reset(seed=3, options={"scene": congested})
        back = from_highway(env.unwrapped.scene.road, env.unwrapped.road)
        trace = [obs]
        for action in [1, 3, 1, 0, 4, 1]:
            obs, *_ = env.step(action)
            trace.append(obs)
        return np.array(trace), back

    (first, back), (second, _) = rollout(), rollout()
    assert np.array_equal(first, second)
    assert np.allclose(back.vehicles.s, congested.vehicles.s)


def test_drive_on_the_indexed_road_runs_past_where_every_lane_ends():
    # Recorded roads can hold sections without lanes: before the first lane starts and after
    # the last one ends.
    road = Road(
        segment_lengths=[300.0],
        segment_curvatures=[0.0],
        lane_widths=[3.5, 3.5],
        lane_starts=[20.0, 20.0],
        lane_ends=[200.0, 200.0],
    )
    cars = Vehicles.from_columns(lane=[0, 1, 1], s=[40.0, 120.0, 180.0], speed=[20.0] * 3)
    env = gym.make("scenegym/Drive-v1", config={"indexed_road": True})
    env.reset(seed=0, options={"scene": Scene(road, cars)})
    for _ in range(6):
        *_, terminated, truncated, _ = env.step(1)
        if terminated or truncated:
            break
    assert all(vehicle.lane_index for vehicle in env.unwrapped.road.vehicles)
