"""Rolling scenes forward (``scene.rollout``) against highway-env's own simulation, and the
criticality measures on scenes with known answers (``scene.safety``)."""

from __future__ import annotations

import numpy as np
import pytest

from scenegym.agents.teachers import drivable
from scenegym.scene import (
    HighwaySceneSpace,
    Road,
    Scene,
    Vehicles,
    criticality,
    roll_out,
    snapshot_measures,
)
from scenegym.scene.batch import SceneBatch
from scenegym.scene.rollout import DriverModel, Rollout
from scenegym.scene.safety import TTC_CAP, rollout_measures

FREQUENCY, HORIZON = 15, 5.0
STEPS = int(FREQUENCY * HORIZON)


def _highway_run(scene: Scene) -> tuple[np.ndarray, dict[int, int]]:
    """highway-env's IDM/MOBIL traffic on the scene: world positions (scenegym's y up) at
    every step and the step each vehicle first crashed."""
    from highway_env.vehicle.behavior import IDMVehicle

    from scenegym.bridges.highway import to_highway

    road, _, vehicles = to_highway(scene, vehicle_class=IDMVehicle)
    road.neighbour_vehicles_connected_lanes = True
    positions = [np.array([v.position for v in vehicles])]
    crashed: dict[int, int] = {}
    for step in range(1, STEPS + 1):
        road.act()
        road.step(1.0 / FREQUENCY)
        positions.append(np.array([v.position for v in vehicles]))
        for k, vehicle in enumerate(vehicles):
            if vehicle.crashed:
                crashed.setdefault(k, step)
    positions = np.array(positions)
    positions[..., 1] *= -1.0
    return positions, crashed


def _first(crashes: dict[int, int]) -> tuple[int | None, tuple[int, ...]]:
    """The step of the first collision and the vehicles in it."""
    if not crashes:
        return None, ()
    step = min(crashes.values())
    return step, tuple(sorted(k for k, s in crashes.items() if s == step))


@pytest.fixture(scope="module")
def traffic_scenes() -> list[Scene]:
    """Drivable scenes of the random space whose lanes all span the road (highway-env's
    search across section joints pairs lanes by position, wrong where lanes begin or end)."""
    scenes = []
    for scene in HighwaySceneSpace().sample_many(200, 7):
        road = scene.road
        if (road.lane_starts <= 0).all() and (road.lane_ends >= road.length).all():
            kept = drivable(scene)
            if kept is not None:
                scenes.append(kept)
        if len(scenes) == 24:
            break
    return scenes


def _compare(scenes: list[Scene]) -> tuple[list[float], int, int]:
    """Largest position gap (m) per collision-free scene, collision-free scenes, and scenes
    whose first collision (step and vehicles) is the same in both."""
    rollout = roll_out(scenes, horizon=HORIZON, frequency=FREQUENCY)
    worlds = [rollout.world(step) for step in range(STEPS + 1)]
    gaps, same = [], 0
    for k, scene in enumerate(scenes):
        at = slice(rollout.batch.first[k], rollout.batch.first[k] + len(scene.vehicles))
        positions, crashed = _highway_run(scene)
        mine = {j: int(c) for j, c in enumerate(rollout.crash_step[at]) if c >= 0}
        same += _first(mine) == _first(crashed)
        if not mine and not crashed:
            gap = max(
                float(np.max(np.hypot(x[at] - p[:, 0], y[at] - p[:, 1])))
                for (x, y, _), p in zip(worlds, positions)
            )
            gaps.append(gap)
    return gaps, len(gaps), same


def test_the_rollout_drives_as_highway_env_does(traffic_scenes):
    gaps, free, same = _compare(traffic_scenes)
    assert same == len(traffic_scenes)  # the same first collision (step and vehicles)
    assert free >= len(traffic_scenes) // 2
    # Straight and curved roads: within 1 m over 5 s in at least 90 % of the scenes.
    assert np.mean(np.array(gaps) <= 1.0) >= 0.9
    assert np.median(gaps) <= 0.2


def test_on_straight_roads_the_rollout_is_highway_env_to_the_millimetre(traffic_scenes):
    straight = []
    for scene in traffic_scenes[:12]:
        road = scene.road
        flat = Road(
            segment_lengths=[road.length],
            segment_curvatures=[0.0],
            lane_widths=road.lane_widths,
            speed_limit=road.speed_limit,
        )
        straight.append(scene.replace(road=flat))
    gaps, free, same = _compare(straight)
    assert same == len(straight) and free >= 6
    assert max(gaps) <= 1e-3


def test_a_batch_rolls_out_as_its_scenes_one_by_one(traffic_scenes):
    scenes = traffic_scenes[:5]
    together = roll_out(scenes, horizon=2.0)
    for k, scene in enumerate(scenes):
        alone = roll_out([scene], horizon=2.0)
        at = slice(together.batch.first[k], together.batch.first[k] + len(scene.vehicles))
        np.testing.assert_allclose(together.s[:, at], alone.s, atol=1e-9)
        np.testing.assert_array_equal(together.crash_step[at], alone.crash_step)
    first = together.scene_at(0)
    assert [s.vehicles.s.tolist() for s in first] == [s.vehicles.s.tolist() for s in scenes]


def _pair(gap: float, closing: float, *, lanes: int = 1) -> Scene:
    """A follower at 30 m/s and its leader ``gap`` m ahead, ``closing`` m/s slower."""
    cars = Vehicles.from_columns(
        lane=[0, 0], s=[100.0, 100.0 + 4.5 + gap], speed=[30.0, 30.0 - closing]
    )
    return Scene(Road.straight(length=600.0, lanes=lanes), cars)


def test_time_to_collision_headway_and_drac_have_their_known_values():
    measures = snapshot_measures([_pair(20.0, 10.0), _pair(20.0, -5.0)])
    assert measures["min_ttc"].tolist() == [2.0, TTC_CAP]  # 20 m closing at 10 m/s
    assert measures["min_headway"].tolist() == pytest.approx([20 / 30, 20 / 30])
    assert measures["max_drac"].tolist() == pytest.approx([100 / 40, 0.0])


def test_criticality_grows_as_the_gap_shrinks_and_a_crash_is_one():
    scenes = [_pair(gap, 10.0) for gap in (60.0, 30.0, 15.0, 3.0)]
    result = criticality(scenes)
    values = result["criticality"]
    assert np.all(np.diff(values) > 0) and np.all((values >= 0) & (values <= 1))
    assert result["collision"].tolist() == [0, 0, 0, 1] and values[-1] == 1.0
    assert 0 < result["collision_time"][-1] < 1.0
    calm = criticality([_pair(80.0, -3.0)])
    assert calm["criticality"][0] == 0.0 and calm["min_ttc"][0] == TTC_CAP


def test_post_encroachment_time_of_a_scripted_cut_in():
    """A car enters lane 0 at step 10 with its rear at 97.75 m; the car behind it there
    drives at 20 m/s with its front 20 m back: it gets there 1 s later."""
    road = Road.straight(length=600.0, lanes=2)
    cars = Vehicles.from_columns(lane=[1, 0], s=[100.0, 80.0], speed=[25.0, 20.0])
    scene = Scene(road, cars)
    dt, steps = 0.1, 30
    t = np.arange(steps + 1) * dt
    cutter = 100.0 + 25.0 * (t - 1.0)  # at 100 m when it enters the lane (step 10)
    follower = 77.75 - 2.25 + 20.0 * (t - 1.0)  # its front at 77.75 m at step 10
    lane = np.zeros((steps + 1, 2), dtype=np.int64)
    lane[:10, 0] = 1
    offset = SceneBatch.of([scene]).roads.lane_centre[0, lane]
    rollout = Rollout(
        scenes=(scene,),
        dt=dt,
        scene_of=np.zeros(2, dtype=np.int64),
        s=np.stack([cutter, follower], axis=1),
        offset=offset,
        heading=np.zeros((steps + 1, 2)),
        speed=np.tile([25.0, 20.0], (steps + 1, 1)),
        lane=lane,
        crash_step=np.full(2, -1),
        collisions=np.zeros((0, 3), dtype=np.int64),
        batch=SceneBatch.of([scene]),
    )
    assert rollout_measures(rollout)["min_pet"][0] == pytest.approx(1.0)


def test_a_lane_change_in_the_rollout_has_a_post_encroachment_time():
    road = Road.straight(length=600.0, lanes=2)
    cars = Vehicles.from_columns(
        lane=[0, 1, 1], s=[50.0, 100.0, 140.0], speed=[22.0, 28.0, 15.0], length=[4.5, 4.5, 12]
    )
    result = criticality([Scene(road, cars)])
    assert 0.0 < result["min_pet"][0] < TTC_CAP


def test_bumper_gap_traffic_keeps_its_distance_and_never_reverses():
    queue = Vehicles.from_columns(
        lane=[0, 0], s=[100.0, 140.0], speed=[10.0, 0.0], length=[4.5, 12.0]
    )
    scene = Scene(Road.straight(length=400.0, lanes=1), queue)
    rollout = roll_out([scene], horizon=15.0, model=DriverModel(bumper_gap=3.0))
    assert rollout.speed.min() >= 0.0 and (rollout.crash_step < 0).all()
    gap = rollout.s[-1, 1] - rollout.s[-1, 0] - (4.5 + 12.0) / 2
    assert 2.5 < gap < 4.0 and rollout.speed[-1, 0] < 0.1  # stopped at the jam gap


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"horizon": 0.0}, "horizon"), ({"frequency": 0.5}, "frequency")],
)
def test_bad_rollout_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        roll_out([_pair(20.0, 0.0)], **kwargs)


def test_scenes_without_vehicles_are_not_critical():
    empty = Scene(Road.straight(length=100.0, lanes=2), Vehicles.empty())
    result = criticality([empty, _pair(20.0, 10.0), empty])
    assert result["criticality"][0] == result["criticality"][2] == 0.0
    assert result["criticality"][1] > 0.0


def test_criticality_is_a_descriptor_where_it_is_named(traffic_scenes):
    from scenegym.scene import describe, describe_many

    scenes = traffic_scenes[:6]
    named = describe_many(scenes, names=["criticality"])
    np.testing.assert_allclose(named["criticality"], criticality(scenes)["criticality"])
    assert "criticality" not in describe_many(scenes)  # it costs a rollout: only when named
    assert describe(scenes[0], names=["criticality"])["criticality"] == named["criticality"][0]
    with pytest.raises(ValueError, match="unknown descriptor 'danger'"):
        describe_many(scenes, names=["danger"])


def test_criticality_is_a_goal_and_a_reward_term_of_the_generation_env():
    import gymnasium as gym

    import scenegym  # noqa: F401
    from scenegym.rewards import GoalSpec
    from scenegym.scene import describe

    env = gym.make(
        "scenegym/DrivingLayout-edit-v6",
        goal={"ranges": {"criticality": [0.0, 1.0]}},
        reward={"weights": {"validity": 1.0, "goal": 1.0, "criticality": 0.5}},
        edit_budget=4,
    )
    env.reset(seed=3)
    for _ in range(3):
        _, _, _, _, info = env.step(env.action_space.sample())
    scene = env.unwrapped.scene
    value = describe(scene, names=["criticality"])["criticality"]
    assert info["reward_terms"]["criticality"] == pytest.approx(value)
    target = env.unwrapped.targets["criticality"]
    assert info["reward_terms"]["goal"] == pytest.approx(1.0 - min(1.0, abs(value - target)))
    env.close()
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        GoalSpec(ranges={"criticality": [0.0, 1.5]})


def test_a_criticality_target_is_honoured_better_than_random_after_a_tiny_run(tmp_path):
    """configs/critical.yaml's recipe on a tiny budget: goal starts (the nearest to the
    target of 32 drawn scenes) and a few edits follow the target; the random space does not."""
    from scenegym.agents import GenerationPolicy, train
    from scenegym.scene import HighwaySpaceConfig, describe_many

    space = {"placement": "following", "vehicles": [8, 20], "lanes": [2, 3]}
    config = {
        "env": "scenegym/DrivingLayout-edit-v6",
        "env_kwargs": {
            "space": space,
            "start": "goal",
            "start_candidates": 32,
            "goal": {"ranges": {"criticality": [0.0, 1.0]}},
            "reward": {"weights": {"validity": 1.0, "goal": 2.0, "realism": 0.0}},
            "edit_budget": 4,
        },
        "total_steps": 256,
        "n_envs": 4,
        "vec_env": "batched",
        "n_steps": 64,
        "batch_size": 64,
        "checkpoint_every": 256,
        "eval_every": 256,
        "net_arch": [16],
    }
    train(config, tmp_path / "critical")
    policy = GenerationPolicy.load(tmp_path / "critical")
    random_space = HighwaySceneSpace(
        HighwaySpaceConfig(placement="following", vehicles=(8, 20), lanes=(2, 3))
    )
    drawn = describe_many(list(random_space.sample_many(100, seed=1)), names=["criticality"])
    learned, random = [], []
    for target in (0.1, 0.9):
        scenes = policy.sample(16, targets={"criticality": target}, seed=7).scenes
        value = describe_many(scenes, names=["criticality"])["criticality"]
        learned.append(np.abs(value - target).mean())
        random.append(np.abs(drawn["criticality"] - target).mean())
    assert np.mean(learned) < 0.7 * np.mean(random)


def test_focus_on_the_ego_counts_only_what_involves_the_rearmost_vehicle():
    road = Road.straight(length=400.0, lanes=2)
    # The rearmost car drives calmly in lane 1 while a pair closes in ahead in lane 0.
    away = Vehicles.from_columns(lane=[1, 0, 0], s=[20.0, 100.0, 124.5], speed=[20.0, 30.0, 20.0])
    # The rearmost car is the follower of that pair.
    behind = Vehicles.from_columns(
        lane=[0, 0, 1], s=[100.0, 124.5, 200.0], speed=[30.0, 20.0, 20.0]
    )
    scenes = [Scene(road, away), Scene(road, behind)]
    everyone = criticality(scenes)["criticality"]
    ego = criticality(scenes, focus="rearmost")["criticality"]
    assert everyone[0] == everyone[1] > 0.5
    assert ego[0] == 0.0 and ego[1] == everyone[1]
    with pytest.raises(ValueError, match="focus"):
        criticality(scenes, focus="front")


def test_commonroad_export_writes_the_traffic_driving_on(tmp_path):
    from scenegym.bridges import read_commonroad, write_commonroad

    cars = Vehicles.from_columns(
        lane=[0, 0, 1], s=[50.0, 90.0, 70.0], speed=[28.0, 20.0, 24.0], length=[4.5, 12.0, 4.5]
    )
    scene = Scene(Road.straight(length=500.0, lanes=2), cars)
    path = write_commonroad(scene, tmp_path / "moving.xml", time_step=0.1, horizon=3.0)
    recorded = read_commonroad(path, interval=1.0).scenes  # t = 0, 1, 2, 3 s
    rollout = roll_out([scene], horizon=3.0, frequency=10.0)
    assert len(recorded) == 4
    for second, back in enumerate(recorded):
        expected = rollout.scene_at(10 * second)[0].vehicles
        order = np.argsort(back.vehicles.s)
        np.testing.assert_allclose(back.vehicles.s[order], np.sort(expected.s), atol=1e-3)
        np.testing.assert_allclose(
            back.vehicles.speed[order], expected.speed[np.argsort(expected.s)], atol=1e-3
        )
    with pytest.raises(ValueError, match="time_step"):
        write_commonroad(scene, tmp_path / "coarse.xml", time_step=2.0, horizon=4.0)


def test_a_criticality_target_outside_zero_to_one_gets_one_line(tiny_run, tmp_path, capsys):
    from tests.test_cli import assert_usage_error, run

    argv = ["generate", str(tiny_run), "--n", "2", "--target", "criticality=1.5"]
    status, _, err = run([*argv, "--out", str(tmp_path / "x.jsonl")], capsys)
    assert "criticality=1.5 is outside [0, 1]" in assert_usage_error(status, err)


def test_each_recorded_lane_is_the_lane_of_that_steps_position():
    road = Road.straight(length=600.0, lanes=2)
    cars = Vehicles.from_columns(
        lane=[0, 1, 1], s=[50.0, 100.0, 140.0], speed=[22.0, 28.0, 15.0], length=[4.5, 4.5, 12]
    )
    rollout = roll_out([Scene(road, cars)], horizon=5.0)
    changed = (rollout.lane[1:] != rollout.lane[:-1]).any()
    nearest = np.abs(rollout.offset[..., None] - road.lane_centers).argmin(axis=-1)
    assert changed and (rollout.lane == nearest).all()


@pytest.mark.slow
def test_snapshot_measures_agree_with_commonroad_crime_on_straight_roads(tmp_path):
    """commonroad-crime cannot be installed beside scenegym (its pins clash), so it gets a
    Python of its own: ``SCENEGYM_CRIME_PYTHON``, or a virtual environment made here (needs
    PyPI). On straight roads both measure along the same lane: gaps agree to crime's
    rounding, TTCs but where a heading is not the lane's (benchmarks/crime_check.py;
    docs/BENCHMARKS.md says where and why they differ)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    python = os.environ.get("SCENEGYM_CRIME_PYTHON")
    if not python:
        venv = tmp_path / "crime"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "--quiet", "commonroad-crime==0.4.5"]
        subprocess.run(pip, check=True)
        python = str(venv / "bin" / "python")
    script = Path(__file__).parent.parent / "benchmarks" / "crime_check.py"
    argv = [
        sys.executable,
        str(script),
        "--crime-python",
        python,
        "--n",
        "12",
        "--roads",
        "straight",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(done.stdout)
    measured = result["pairs"] - result["crime_failed"]
    assert result["pairs"] > 20 and result["crime_failed"] <= 0.2 * result["pairs"]
    assert result["gap_agree"] == measured  # every gap, to crime's rounding
    # TTCs differ only where a vehicle's heading is not its lane's: crime projects the speed
    # onto the lanelet (v cos(heading)), scenegym takes it as it is (BENCHMARKS.md).
    assert result["ttc_agree"] >= 0.85 * result["closing_pairs"]
    assert result["worst_ttc_error_s"] < 0.05
