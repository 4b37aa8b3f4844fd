"""The generation environment (edit representation) and the reward specification."""

import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import scenegym
from scenegym.envs import (
    COMPACT_ACTIONS,
    COMPACT_CHANNELS,
    CONSTRUCT_GAPS,
    CONSTRUCT_SPEEDS,
    EDIT_OPERATIONS,
    DrivingLayoutEnv,
    EditRepresentation,
)
from scenegym.rewards import GoalSpec, RewardSpec, goal_score, validity_score
from scenegym.scene import Road, Scene, Vehicles, is_valid
from scenegym.scene.encoding import CHANNELS

GENERATION_IDS = [env_id for env_id in gym.registry if env_id.startswith("scenegym/DrivingLayout")]


def test_every_generation_id_is_registered_and_versioned():
    assert "scenegym/DrivingLayout-edit-v0" in GENERATION_IDS
    assert all(re.search(r"-v\d+$", env_id) for env_id in GENERATION_IDS)
    assert "scenegym/DrivingLayout-edit-v1" in GENERATION_IDS
    assert "scenegym/DrivingLayout-latent-v0" in GENERATION_IDS
    assert gym.spec("scenegym/DrivingLayout-edit-v2").kwargs["realign"] is True
    v3 = gym.make("scenegym/DrivingLayout-edit-v3").unwrapped
    assert isinstance(v3.representation, EditRepresentation)
    assert v3.representation.realign and v3.representation.window == 4
    assert v3.observation_space["grid"].shape == (12, 6, 4)
    v4 = gym.make("scenegym/DrivingLayout-edit-v4").unwrapped
    assert v4.representation.realign and v4.representation.window == 4 and v4.spaces.flat
    assert v4.observation_space.shape == (307,) and v4.action_space.n == 88
    v5 = gym.make("scenegym/DrivingLayout-edit-v5").unwrapped
    assert v5.representation.realign and v5.representation.window == 4
    assert v5.spaces.flat and v5.representation.compact
    assert v5.observation_space.shape == (79,) and v5.action_space.n == len(COMPACT_ACTIONS)
    assert scenegym is not None


@pytest.mark.parametrize("env_id", GENERATION_IDS)
def test_registered_environments_pass_the_gymnasium_checker(env_id, tiny_prior):
    extra = {"decoder": tiny_prior} if "-latent-" in env_id else {}
    env = gym.make(env_id, goal={"ranges": {"density": [5.0, 60.0]}}, **extra)
    check_env(env.unwrapped, skip_render_check=True)


def test_the_compact_view_and_actions_are_a_part_of_the_full_ones():
    """edit-v5's episodes are edit-v4's with the same edits: its observation holds the
    compact channels of the lanes beside the cursor vehicle's, and each action is one of
    v4's."""
    goal = {"ranges": {"density": [5.0, 60.0], "mean_speed": [10.0, 30.0]}}
    v4 = gym.make("scenegym/DrivingLayout-edit-v4", goal=goal).unwrapped
    v5 = gym.make("scenegym/DrivingLayout-edit-v5", goal=goal).unwrapped
    channels = [CHANNELS.index(name) for name in COMPACT_CHANNELS]
    rows, window = v4.grid.lanes, v4.representation.window
    k = 19 + 4  # cursor features, then the goal's targets and current values

    def check(full, compact):
        assert np.array_equal(full[:k], compact[:k])
        lane = int(np.argmax(full[:rows])) if full[rows + 1] else 0  # the one-hot, if any
        grid = full[k:].reshape(len(CHANNELS), rows, window)[channels]
        padded = np.concatenate([np.zeros_like(grid[:, :1]), grid, np.zeros_like(grid[:, :1])], 1)
        assert np.array_equal(
            compact[k:].reshape(len(channels), 3, window), padded[:, lane : lane + 3]
        )

    full, _ = v4.reset(seed=5)
    compact, _ = v5.reset(seed=5)
    check(full, compact)
    rng = np.random.default_rng(0)
    lanes_seen = set()
    for action in rng.integers(0, len(COMPACT_ACTIONS), 60):
        operation, level = COMPACT_ACTIONS[action]
        full, reward4, _, truncated4, _ = v4.step(operation * 11 + level)
        compact, reward5, _, truncated5, _ = v5.step(action)
        assert reward4 == reward5 and truncated4 == truncated5
        check(full, compact)
        lanes_seen.add(int(np.argmax(full[:rows])))
        if truncated4:
            full, _ = v4.reset()
            compact, _ = v5.reset()
    assert v4.scene == v5.scene
    assert {0, 1} <= lanes_seen  # the edge lane (zero rows beyond) and an inner one were seen
    operations = {operation for operation, _ in COMPACT_ACTIONS}
    assert operations == {
        EDIT_OPERATIONS.index(name) for name in ("lane", "move", "speed", "kind", "remove", "add")
    }
    with pytest.raises(ValueError, match="actions must be in 0..31"):
        v5.step(32)


def test_compact_needs_cursor_edits_that_realign():
    with pytest.raises(ValueError, match="compact=True .* select='cursor'"):
        DrivingLayoutEnv(compact=True, realign=True)
    with pytest.raises(ValueError, match="compact=True .* realign=True"):
        DrivingLayoutEnv(select="cursor", compact=True)
    with pytest.raises(TypeError, match="compact must be True or False"):
        DrivingLayoutEnv(select="cursor", compact=1)


def test_same_seed_same_episode():
    def rollout():
        env = DrivingLayoutEnv(goal={"ranges": {"mean_speed": [10.0, 30.0]}})
        obs, _ = env.reset(seed=3)
        env.action_space.seed(3)
        trace = [obs["grid"].copy()]
        rewards = []
        for _ in range(20):
            obs, reward, _, _, _ = env.step(env.action_space.sample())
            trace.append(obs["grid"].copy())
            rewards.append(reward)
        return np.array(trace), rewards, env.scene

    a, b = rollout(), rollout()
    assert np.array_equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]


def test_step_rewards_sum_to_the_score_change():
    env = DrivingLayoutEnv()
    _, info = env.reset(seed=0)
    start = info["score"]
    total = 0.0
    env.action_space.seed(0)
    for _ in range(30):
        _, reward, _, _, info = env.step(env.action_space.sample())
        total += reward
    assert total == pytest.approx(info["score"] - start)
    assert set(info["reward_terms"]) == {
        "validity",
        "realism",
        "scene_realism",
        "prior_realism",
        "goal",
    }


def test_the_edit_budget_truncates_the_episode():
    env = DrivingLayoutEnv(edit_budget=5)
    env.reset(seed=0)
    flags = [env.step(env.action_space.sample())[3] for _ in range(5)]
    assert flags == [False] * 4 + [True]


def one_car_env():
    road = Road.straight(length=200.0, lanes=3)
    scene = Scene(road, Vehicles.from_columns(lane=[1], s=[100.0], speed=[20.0]))
    env = DrivingLayoutEnv()
    env.reset(seed=0, options={"scene": scene})
    return env


@pytest.mark.parametrize(
    ("operation", "level", "column", "expected"),
    [
        ("lane", 2, "lane", 2),
        ("move", 7, "s", 104.0),
        ("offset", 10, "d", 1.0),
        ("heading", 0, "heading", -0.15),
        ("kind", 1, "kind", 1),
    ],
)
def test_each_edit_changes_what_it_says(operation, level, column, expected):
    env = one_car_env()
    env.step([0, EDIT_OPERATIONS.index(operation), level])
    assert getattr(env.scene.vehicles, column)[0] == pytest.approx(expected)


def test_add_fills_the_largest_gap_and_remove_deletes():
    env = one_car_env()
    env.step([0, EDIT_OPERATIONS.index("add"), 1])
    vehicles = env.scene.vehicles
    assert len(vehicles) == 2 and vehicles.s[1] == pytest.approx(50.0)  # first of two equal gaps
    env.step([0, EDIT_OPERATIONS.index("remove"), 0])
    assert len(env.scene.vehicles) == 1


def test_removing_an_overlapping_vehicle_is_rewarded():
    road = Road.straight(length=200.0, lanes=2)
    scene = Scene(road, Vehicles.from_columns(lane=[0, 0], s=[100.0, 102.0], speed=[20, 20]))
    env = DrivingLayoutEnv()
    _, info = env.reset(seed=0, options={"scene": scene})
    assert not info["valid"]
    _, reward, _, _, info = env.step([1, EDIT_OPERATIONS.index("remove"), 0])
    assert reward > 0 and info["valid"] and is_valid(env.scene)


def test_validity_score_counts_violations_per_vehicle():
    road = Road.straight(length=200.0, lanes=2)
    good = Scene(road, Vehicles.from_columns(lane=[0, 1], s=[50.0, 50.0], speed=[20, 20]))
    bad = Scene(road, Vehicles.from_columns(lane=[0, 0], s=[50.0, 52.0], speed=[20, 90]))
    assert validity_score(good) == 1.0
    assert validity_score(bad) == pytest.approx(0.0)  # 1 overlap + 1 speed for 2 vehicles


def test_goal_score_is_one_on_target_and_falls_with_the_error():
    goal = GoalSpec(ranges={"density": (0.0, 100.0)})
    assert goal_score({"density": 40.0}, {"density": 40.0}, goal) == 1.0
    assert goal_score({"density": 50.0}, {"density": 40.0}, goal) == pytest.approx(0.9)
    assert goal_score({"density": 400.0}, {"density": 40.0}, goal) == 0.0


def test_explicit_targets_replace_sampled_ones():
    env = DrivingLayoutEnv(goal={"ranges": {"mean_speed": [10.0, 30.0]}})
    obs, info = env.reset(seed=0, options={"targets": {"mean_speed": 25.0}})
    assert info["targets"] == {"mean_speed": 25.0}
    assert obs["goal"][0] == pytest.approx(0.75)
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['target'\]"):
        env.reset(seed=0, options={"target": {"mean_speed": 25.0}})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"representation": "paint"}, "representation 'paint'"),
        ({"reward": {"weights": {"beauty": 1.0}}}, "unknown term 'beauty'"),
        ({"reward": {"weights": {"realism": 1.0}}}, "no realism model"),
        ({"goal": {"ranges": {"happiness": [0, 1]}}}, "unknown descriptor 'happiness'"),
        ({"space": {"lanes": [2, 9]}}, r"space.lanes\[1\] must be in"),
        ({"space": {"length": [100.0, 900.0]}}, "grid covers"),
        ({"space": {"vehicles": [5, 60]}}, "max_vehicles"),
        ({"goal": 5}, "goal must be GoalSpec or a mapping, got int 5"),
        ({"reward": [1.0]}, "reward must be RewardSpec or a mapping, got list"),
        ({"grid": 5}, "grid must be LaneGrid, got int"),
        ({"space": "small"}, "space must be HighwaySpaceConfig or a mapping, got str"),
    ],
)
def test_bad_arguments_name_what_is_wrong(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        DrivingLayoutEnv(**kwargs)


def test_reward_spec_rejects_out_of_range_weights():
    with pytest.raises(ValueError, match=r"weights.validity must be in \[0, 100\]"):
        RewardSpec(weights={"validity": -1.0})


def test_oneshot_builds_the_whole_scene_in_one_terminal_step():
    env = gym.make("scenegym/DrivingLayout-oneshot-v0").unwrapped
    _, info = env.reset(seed=0)
    assert info["vehicles"] == 0
    action = -np.ones(env.action_space.shape, dtype=np.float32)
    action[0, 1, 10] = 1.0  # one vehicle: lane 1, cell 10
    action[4, 1, 10] = 0.0  # speed 20 m/s
    _, reward, terminated, truncated, info = env.step(action)
    assert terminated and not truncated
    vehicles = env.scene.vehicles
    assert len(vehicles) == 1 and vehicles.lane[0] == 1
    assert 40.0 <= vehicles.s[0] < 44.0 and vehicles.speed[0] == pytest.approx(20.0)
    assert reward == pytest.approx(info["score"])


def test_construct_places_vehicles_lane_by_lane_and_masks_what_cannot_fit():
    env = gym.make("scenegym/DrivingLayout-construct-v0").unwrapped
    road = Road.straight(length=30.0, lanes=2)
    env.reset(seed=0, options={"scene": Scene(road, Vehicles.empty())})
    per_gap = len(CONSTRUCT_SPEEDS) * 4
    mask = env.action_masks()
    assert mask[0] and mask[-1] and mask[-2]  # a 2 m gap car, next lane, stop
    assert not mask[(len(CONSTRUCT_GAPS) - 1) * per_gap]  # a 70 m gap leaves a 30 m road
    env.step(3 * 4 + 0)  # gap 2 m, the fourth speed (0.6 x the limit), a car
    vehicles = env.scene.vehicles
    assert len(vehicles) == 1 and vehicles.lane[0] == 0
    assert vehicles.s[0] == pytest.approx(2.0 + vehicles.length[0] / 2)
    env.step(len(env.action_masks()) - 2)  # next lane
    env.step(0)
    assert env.scene.vehicles.lane.tolist() == [0, 1]
    _, _, terminated, _, info = env.step(len(env.action_masks()) - 1)  # stop
    assert terminated and info["valid"]


def test_construct_trains_with_maskable_ppo(tmp_path):
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.logger import Logger

    env = gym.make("scenegym/DrivingLayout-construct-v0", edit_budget=12).unwrapped
    model = MaskablePPO(
        "MultiInputPolicy",
        env,
        n_steps=64,
        batch_size=32,
        seed=0,
        policy_kwargs={"net_arch": [16, 16]},
        device="cpu",
    )
    model.set_logger(Logger(folder=None, output_formats=[]))  # no folder in the temp dir
    model.learn(128)
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, action_masks=env.action_masks())
    assert env.action_masks()[int(action)]


def _current(env):
    """The vehicle under the edit cursor (-1 without one)."""
    return int(env.representation.current[env.row])


def _cursor_env(scene):
    env = DrivingLayoutEnv(select="cursor", edit_budget=50)
    observation, _ = env.reset(seed=0, options={"scene": scene})
    return env, observation


def test_the_edit_cursor_visits_vehicles_in_lane_then_station_order(free_flow):
    scene = free_flow
    v = scene.vehicles
    env, _ = _cursor_env(scene)
    order = np.lexsort((v.s, v.lane))
    visited = [_current(env)]
    for _ in range(len(v)):
        env.step([EDIT_OPERATIONS.index("offset"), 5])  # offset 0: changes nothing here
        visited.append(_current(env))
    assert visited == [*order.tolist(), order[0]]  # all in order, then around again


def test_the_cursor_observation_is_centred_on_the_cursor_vehicle(free_flow):
    env, observation = _cursor_env(free_flow)
    i = _current(env)
    lane = int(free_flow.vehicles.lane[i])
    rows, window = env.grid.lanes, env.representation.window
    assert observation["grid"].shape == (12, rows, window)
    assert observation["cursor"][:rows].tolist() == [float(r == lane) for r in range(rows)]
    assert observation["cursor"][rows + 1] == 1.0  # there is a vehicle under the cursor
    assert observation["grid"][1, lane, window // 2] == 1.0  # occupied: the centre cell
    speed = observation["grid"][5, lane, window // 2] * 40.0
    assert speed == pytest.approx(free_flow.vehicles.speed[i], abs=1e-4)


def test_a_cursor_edit_changes_the_vehicle_under_the_cursor(free_flow):
    env, _ = _cursor_env(free_flow)
    i = _current(env)
    env.step([EDIT_OPERATIONS.index("speed"), 0])
    assert env.scene.vehicles.speed[i] == 0.0
    others = np.arange(len(free_flow.vehicles)) != i
    np.testing.assert_array_equal(
        env.scene.vehicles.speed[others], free_flow.vehicles.speed[others]
    )


def test_the_cursor_sees_its_vehicle_violations(congested):
    bad = congested.replace(
        vehicles=Vehicles.from_columns(lane=[0, 0], s=[50.0, 52.0], speed=[10.0, 10.0])
    )
    env, observation = _cursor_env(bad)
    rows = env.grid.lanes
    assert observation["cursor"][rows + 11] > 0  # named in an overlap
    env.step([EDIT_OPERATIONS.index("remove"), 0])
    assert len(env.scene.vehicles) == 1 and is_valid(env.scene)


def test_an_empty_scene_has_no_cursor_vehicle_and_add_still_works(congested):
    empty = congested.replace(vehicles=Vehicles.empty())
    env, observation = _cursor_env(empty)
    assert _current(env) == -1 and observation["cursor"][env.grid.lanes + 1] == 0.0
    env.step([EDIT_OPERATIONS.index("add"), 0])
    assert len(env.scene.vehicles) == 1 and _current(env) == 0


def test_select_must_be_known():
    with pytest.raises(ValueError, match="select must be one of index, cursor"):
        DrivingLayoutEnv(select="random")


def test_goal_targets_can_be_drawn_from_reference_scenes(tmp_path, congested, free_flow):
    from scenegym.scene import describe, write_scenes

    path = tmp_path / "reference.jsonl"
    write_scenes(path, [congested, free_flow])
    goal = GoalSpec(
        ranges={"density": (0.0, 200.0), "mean_speed": (0.0, 40.0)}, reference=str(path)
    )
    wanted = {(describe(s)["density"], describe(s)["mean_speed"]) for s in (congested, free_flow)}
    rng = np.random.default_rng(0)
    drawn = {tuple(goal.sample(rng).values()) for _ in range(20)}
    assert drawn == wanted  # both scenes' descriptors, nothing else
    env = DrivingLayoutEnv(goal=goal)
    _, info = env.reset(seed=1)
    assert tuple(info["targets"].values()) in wanted


def test_many_targets_from_a_reference_take_every_scene_once_before_repeating(tmp_path):
    from scenegym.scene import HighwaySceneSpace, describe, write_scenes

    scenes = list(HighwaySceneSpace().sample_many(5, seed=3))
    path = tmp_path / "reference.jsonl"
    write_scenes(path, scenes)
    goal = GoalSpec(ranges={"density": (0.0, 200.0)}, reference=str(path))
    densities = sorted(describe(scene)["density"] for scene in scenes)
    drawn = [t["density"] for t in goal.sample_many(12, np.random.default_rng(0))]
    assert sorted(drawn[:5]) == densities and sorted(drawn[5:10]) == densities
    assert set(drawn[10:]) <= set(densities) and len(set(drawn[10:])) == 2
    assert drawn == [t["density"] for t in goal.sample_many(12, np.random.default_rng(0))]
    assert goal.sample_many(0, np.random.default_rng(0)) == []
    with pytest.raises(ValueError, match="n must be"):
        goal.sample_many(-1, np.random.default_rng(0))
    uniform = GoalSpec(ranges={"density": (10.0, 20.0)}).sample_many(50, np.random.default_rng(1))
    values = np.array([t["density"] for t in uniform])
    assert len(uniform) == 50 and values.min() >= 10.0 and values.max() <= 20.0


def test_more_start_candidates_start_nearer_the_targets():
    from scenegym.rewards.spec import goal_score
    from scenegym.scene import describe

    ranges = {"density": [5.0, 40.0], "min_gap": [0.0, 60.0], "median_time_headway": [0.0, 6.0]}
    goal = GoalSpec(ranges=ranges)
    space = {"placement": "even", "vehicles": [2, 40]}
    scores = {}
    for candidates in (1, 8):
        env = DrivingLayoutEnv(goal=goal, start="goal", start_candidates=candidates, space=space)
        scores[candidates] = []
        for seed in range(20):
            targets = env.reset(seed=seed)[1]["targets"]
            scores[candidates].append(goal_score(describe(env.scene), targets, goal))
    assert np.mean(scores[8]) > np.mean(scores[1]) + 0.02
    # One candidate is the space's own scene for the targets, as before the argument existed.
    env = DrivingLayoutEnv(goal=goal, start="goal", space=space)
    targets = env.reset(seed=4)[1]["targets"]
    rng = np.random.default_rng(4)
    GoalSpec(ranges=ranges).sample(rng)  # the targets come first from the same generator
    assert env.scene == env.space.sample(rng, targets)
    with pytest.raises(ValueError, match="start_candidates must be"):
        DrivingLayoutEnv(goal=goal, start="goal", start_candidates=0)


def test_a_relative_goal_reference_is_read_inside_the_run_folder(tmp_path):
    from scenegym.agents.training import TrainConfig, env_kwargs

    config = TrainConfig(
        env_kwargs={"goal": {"ranges": {"density": [0, 50]}, "reference": "r.jsonl"}}
    )
    assert env_kwargs(config, tmp_path)["goal"]["reference"] == str(tmp_path / "r.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ValueError, match="holds no scenes"):
        GoalSpec(ranges={"density": (0.0, 50.0)}, reference=str(empty)).sample(
            np.random.default_rng(0)
        )


def test_the_cursor_visits_vehicles_at_the_same_place_and_follows_moves(congested):
    road = congested.road
    # Two vehicles at the same place and a third further on.
    twins = Vehicles.from_columns(lane=[0, 0, 0], s=[50.0, 50.0, 120.0], speed=[10.0] * 3)
    env, _ = _cursor_env(Scene(road, twins))
    visited = [_current(env)]
    for _ in range(5):
        env.step([EDIT_OPERATIONS.index("speed"), 5])
        visited.append(_current(env))
    assert visited == [0, 1, 2, 0, 1, 2]
    env, _ = _cursor_env(Scene(road, twins))
    env.step([EDIT_OPERATIONS.index("move"), 10])  # vehicle 0 to 60 m, ahead of its twin
    assert _current(env) == 1
    env.step([EDIT_OPERATIONS.index("move"), 0])  # vehicle 1 back to 40 m
    assert _current(env) == 0  # vehicle 0, at 60 m, is the next along the road
    env, _ = _cursor_env(Scene(road, twins))
    env.step([EDIT_OPERATIONS.index("remove"), 0])  # vehicle 0 goes; its twin is next
    assert _current(env) == 0 and len(env.scene.vehicles) == 2
    assert env.scene.vehicles.s[0] == 50.0
    env.step([EDIT_OPERATIONS.index("remove"), 0])  # the twin goes; the last one is next
    assert _current(env) == 0 and env.scene.vehicles.s[0] == 120.0


def test_a_goal_reference_without_ranges_is_a_clear_error():
    with pytest.raises(ValueError, match="goal.reference needs goal.ranges"):
        GoalSpec(reference="reference.jsonl")


def test_a_goal_start_draws_the_starting_scene_from_the_targets():
    from scenegym.scene import describe

    goal = {"ranges": {"density": [5.0, 40.0], "mean_speed": [10.0, 30.0], "min_gap": [0, 50]}}
    env = DrivingLayoutEnv(goal=goal, start="goal", space={"vehicles": [0, 40]})
    for seed, (density, speed) in enumerate([(8.0, 12.0), (20.0, 25.0), (35.0, 18.0)]):
        env.reset(seed=seed, options={"targets": {"density": density, "mean_speed": speed}})
        d = describe(env.scene)
        assert abs(d["density"] - density) < 1.5  # the count rounded on the road drawn
        assert abs(d["mean_speed"] - speed) < 3.0  # speeds spread around the target
    # Targets drawn at reset shape the start too, and a seed still fixes the episode.
    first = env.reset(seed=5)[1]["targets"]
    assert abs(describe(env.scene)["density"] - first["density"]) < 1.5
    scene = env.scene
    env.reset(seed=5)
    assert env.scene == scene
    # The default start ignores the targets.
    plain = DrivingLayoutEnv(goal=goal, space={"vehicles": [0, 40]})
    errors = []
    for seed in range(10):
        plain.reset(seed=seed, options={"targets": {"density": 8.0}})
        errors.append(abs(describe(plain.scene)["density"] - 8.0))
    assert max(errors) > 5.0


def test_a_goal_start_needs_a_goal_and_start_must_be_known():
    with pytest.raises(ValueError, match="start='goal' draws the starting scene"):
        DrivingLayoutEnv(start="goal")
    with pytest.raises(ValueError, match="start must be one of space, goal"):
        DrivingLayoutEnv(start="reference")


def test_a_realigning_edit_repairs_the_vehicle_in_place():
    road = Road.straight(length=200.0, lanes=3)
    askew = Vehicles.from_columns(
        lane=[1], s=[100.0], d=[0.7], heading=[0.1], speed=[20.0], length=[9.0], width=[1.2]
    )
    env = DrivingLayoutEnv(select="cursor", realign=True)
    env.reset(seed=0, options={"scene": Scene(road, askew)})
    env.step(np.array([EDIT_OPERATIONS.index("kind"), 2]))  # any level: the kind stays
    car = env.scene.vehicles
    assert (car.kind[0], car.length[0], car.width[0]) == (0, 4.6, 1.85)  # a car of mean size
    assert (car.d[0], car.heading[0]) == (0.0, 0.0)
    assert (car.lane[0], car.s[0], car.speed[0]) == (1, 100.0, 20.0)  # where it was
    plain = DrivingLayoutEnv(select="cursor")
    plain.reset(seed=0, options={"scene": Scene(road, askew)})
    plain.step(np.array([EDIT_OPERATIONS.index("kind"), 2]))
    moto = plain.scene.vehicles
    assert (moto.kind[0], moto.length[0], moto.d[0], moto.heading[0]) == (2, 2.2, 0.7, 0.1)
    with pytest.raises(TypeError, match="realign must be True or False"):
        DrivingLayoutEnv(realign="yes")


def test_a_goal_start_shapes_the_road_of_construct_episodes():
    goal = {"ranges": {"lane_count": [2, 4], "max_curvature": [0.0, 0.002]}}
    env = DrivingLayoutEnv(representation="construct", goal=goal, start="goal")
    for lanes, curvature in ((2, 0.0), (3, 0.001), (4, 0.002)):
        targets = {"lane_count": lanes, "max_curvature": curvature}
        env.reset(seed=lanes, options={"targets": targets})
        assert env.road.lane_count == lanes
        assert env.road.max_curvature == pytest.approx(curvature)
        assert len(env.scene.vehicles) == 0  # construct places them itself
