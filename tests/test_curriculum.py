"""Curriculum teachers, the curriculum trainer and driving agents judged on test scenes."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from scenegym.agents.bandit import GoalTeacher, arms_from_grid, learning_progress
from scenegym.agents.curriculum import CurriculumConfig, build_teacher, curriculum_checkpoint
from scenegym.agents.driving import (
    drivable_tests,
    drive_episodes,
    load_driver,
    summarise_driver,
)
from scenegym.agents.replay import EditedReplay, PrioritisedReplay, edit_scene, replay_weights
from scenegym.agents.student import train_curriculum
from scenegym.agents.teachers import (
    Episode,
    RandomTeacher,
    ReplayTeacher,
    curriculum_info,
    drivable,
)
from scenegym.scene import HighwaySceneSpace, Road, Scene, Vehicles, read_scenes, write_scenes
from tests.test_cli import assert_usage_error, run

TINY = {"total_steps": 64, "n_envs": 1, "n_steps": 32, "batch_size": 32, "net_arch": [8]}
TINY["checkpoint_every"] = 32


@pytest.fixture(scope="module")
def scenes_file(tmp_path_factory) -> Path:
    """Drivable scenes of the random space, for replay and test sets."""
    scenes = [s for s in map(drivable, HighwaySceneSpace().sample_many(40, 3)) if s is not None]
    path = tmp_path_factory.mktemp("scenes") / "scenes.jsonl"
    write_scenes(path, scenes)
    return path


def _teachers(scenes_file):
    return {
        "random": lambda: RandomTeacher(seed=4),
        "replay": lambda: ReplayTeacher(scenes_file, seed=4),
        "mix": lambda: ReplayTeacher(scenes_file, seed=4, mix=0.5, fresh=RandomTeacher(seed=5)),
        "plr": lambda: PrioritisedReplay(RandomTeacher(seed=5), seed=4, min_fill=2),
        "accel": lambda: EditedReplay(RandomTeacher(seed=5), seed=4, min_fill=2),
        "goal": lambda: GoalTeacher(
            [RandomTeacher(seed=5 + k, targets={"density": d}) for k, d in enumerate([10, 40])],
            [{"density": 10.0}, {"density": 40.0}],
            seed=4,
            min_tries=1,
        ),
    }


def _play(teacher, rounds: int, offset: int = 0) -> list[str]:
    """Propose and answer ``rounds`` scenes with a made-up student; the proposed ids."""
    ids = []
    for k in range(rounds):
        scene = teacher.propose()
        ids.append(scene.id)
        ret = ((k + offset) % 5) / 5.0
        teacher.update([Episode(scene=scene.id, ret=ret, crashed=ret < 0.3, arrived=ret > 0.7)])
    return ids


@pytest.mark.parametrize("name", ["random", "replay", "mix", "plr", "accel", "goal"])
def test_a_teacher_repeats_its_curriculum_and_round_trips_its_state(name, scenes_file):
    make = _teachers(scenes_file)[name]
    first, second = make(), make()
    assert _play(first, 12) == _play(second, 12)  # same seed, same scene sequence
    saved = json.loads(json.dumps(first.state()))  # plain JSON
    resumed = make()
    resumed.load_state(saved)
    assert _play(resumed, 10, offset=12) == _play(first, 10, offset=12)


def test_proposed_scenes_are_drivable_and_say_where_they_came_from(scenes_file):
    teacher = _teachers(scenes_file)["goal"]()
    for _ in range(4):
        scene = teacher.propose()
        assert drivable(scene) is not None
        info = curriculum_info(scene)
        assert info["teacher"] == "goal" and info["targets"] in (
            {"density": 10.0},
            {"density": 40.0},
        )
        assert info["stage"] == [{"density": 10.0}, {"density": 40.0}].index(info["targets"])


def test_plr_replays_by_rank_and_staleness():
    by_score = replay_weights([0.1, 0.9, 0.5], [5, 5, 5], 5, temperature=0.3, staleness=0.0)
    assert by_score.argmax() == 1 and by_score.argmin() == 0
    assert by_score.sum() == pytest.approx(1.0)
    by_age = replay_weights([0.5, 0.5, 0.5], [0, 9, 5], 10, temperature=0.3, staleness=1.0)
    assert by_age.tolist() == pytest.approx([10 / 16, 1 / 16, 5 / 16])


def test_plr_keeps_the_highest_regret_scenes_when_full():
    teacher = PrioritisedReplay(
        RandomTeacher(seed=1), seed=0, buffer_size=3, min_fill=3, replay_share=0.0
    )
    returns = [0.9, 0.1, 0.5, 0.8, -1.0]  # regrets 0.1, 0.9, 0.5, 0.2, 2.0
    for ret in returns:
        scene = teacher.propose()
        teacher.update([Episode(scene=scene.id, ret=ret, crashed=ret < 0, arrived=ret > 0.7)])
    assert sorted(entry["score"] for entry in teacher.buffer) == pytest.approx([0.5, 0.9, 2.0])


def test_plr_replays_from_its_buffer_once_filled():
    teacher = PrioritisedReplay(RandomTeacher(seed=1), seed=0, min_fill=2, replay_share=1.0)
    _play(teacher, 2)
    replayed = teacher.propose()
    assert curriculum_info(replayed)["replay"] is True
    assert curriculum_info(replayed)["difficulty"] in [e["score"] for e in teacher.buffer]


def test_accel_edits_keep_scenes_drivable_and_count_generations():
    scene = drivable(HighwaySceneSpace().sample(np.random.default_rng(2)))
    edited = edit_scene(scene, np.random.default_rng(0), edits=6)
    assert edited != scene
    teacher = EditedReplay(RandomTeacher(seed=1), seed=0, replay_share=0.0, edit_share=1.0)
    _play(teacher, 1)
    child = teacher.propose()
    assert curriculum_info(child)["stage"] == 1 and drivable(child) is not None


def test_the_bandit_picks_the_target_with_the_most_learning_progress():
    arms = arms_from_grid({"density": [10, 25, 40]})
    assert arms == [{"density": 10.0}, {"density": 25.0}, {"density": 40.0}]
    streams = [RandomTeacher(seed=k, targets=arm) for k, arm in enumerate(arms)]
    teacher = GoalTeacher(streams, arms, seed=0, window=10, explore=0.1, min_tries=2)
    skill = [0.0, 0.0, 0.0]
    for _ in range(60):
        scene = teacher.propose()
        arm = curriculum_info(scene)["stage"]
        if arm == 1:  # a synthetic student that learns on the middle arm only
            skill[1] = min(1.0, skill[1] + 0.05)
        teacher.update([Episode(scene=scene.id, ret=skill[arm], crashed=False, arrived=False)])
    assert teacher.picks[1] > teacher.picks[0] + teacher.picks[2]
    assert learning_progress([0, 0, 1, 1], 4) == 1.0 and learning_progress([1], 4) == 0.0


def _tiny_run(tmp_path: Path, name: str, **config) -> Path:
    run = tmp_path / name
    train_curriculum({**TINY, "vec_env": "dummy", **config}, run)
    return run


@pytest.mark.parametrize(
    "config",
    [
        {"teacher": "random"},
        {"teacher": "replay"},
        {"teacher": "plr", "score": "value_loss", "teacher_options": {"min_fill": 2}},
        {"teacher": "accel", "teacher_options": {"min_fill": 2}},
        {"teacher": "goal", "targets": {"density": [10, 30]}},
        {"teacher": "random", "algorithm": "DQN", "train_freq": 1},
    ],
    ids=lambda c: c["teacher"] + ("-dqn" if "algorithm" in c else ""),
)
def test_every_teacher_trains_a_student_end_to_end(config, tmp_path, scenes_file):
    if config["teacher"] == "replay":
        config = {**config, "scenes": str(scenes_file)}
    run = _tiny_run(tmp_path, "run", **config)
    met = read_scenes(run / "scenes.jsonl")
    assert [curriculum_info(s)["order"] for s in met] == list(range(len(met)))
    assert {curriculum_info(s)["teacher"] for s in met} == {config["teacher"]}
    with open(run / "episodes.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {int(r["order"]) for r in rows} <= set(range(len(met)))
    assert all(float(r["return"]) <= 1.0 + 1e-9 for r in rows)
    assert (run / "model.zip").is_file() and curriculum_checkpoint(run) is not None
    driver = load_driver(run)  # loads without unpickling
    assert driver.name == config["teacher"]
    assert len(drive_episodes(driver, met[:2])) == 2


def test_the_generator_teacher_trains_on_a_generation_runs_scenes(tmp_path, tiny_run):
    run = _tiny_run(tmp_path, "run", teacher="generator", generator=str(tiny_run))
    assert read_scenes(run / "scenes.jsonl")


def test_a_killed_run_resumes_the_same_curriculum(tmp_path):
    run = tmp_path / "run"
    config = {**TINY, "vec_env": "dummy", "total_steps": 1000, "checkpoint_every": 64}
    config["teacher"] = "plr"
    config["teacher_options"] = {"min_fill": 2}
    code = (
        "import json, sys\n"
        "from scenegym.agents.student import train_curriculum\n"
        "train_curriculum(json.loads(sys.argv[1]), sys.argv[2])\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, json.dumps(config), str(run)])
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(run.glob("checkpoints/teacher_*.json"))) < 2:
        time.sleep(0.2)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    steps, _, teacher_file = curriculum_checkpoint(run)
    saved = json.loads(teacher_file.read_text())
    # What the teacher, continued from the checkpoint, proposes next is what the resumed run
    # feeds: the student met those scenes right after the cut.
    teacher = build_teacher(CurriculumConfig.from_mapping(config))
    teacher.load_state(saved["teacher"])
    expected = [teacher.propose().id for _ in range(2)]
    train_curriculum(None, run, resume=True)
    met = read_scenes(run / "scenes.jsonl")
    orders = [curriculum_info(s)["order"] for s in met]
    assert orders == list(range(len(met)))
    after = [_as_fed(scene).id for scene in met[saved["order"] : saved["order"] + 2]]
    assert after == expected
    assert (run / "model.zip").is_file()
    with open(run / "episodes.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert max(int(r["env_step"]) for r in rows) >= steps


def _as_fed(scene: Scene) -> Scene:
    """A met scene as the teacher proposed it (without the trainer's order and step)."""
    dropped = ("curriculum_order", "curriculum_step")
    return scene.replace(context={k: v for k, v in scene.context.items() if k not in dropped})


def test_scripted_drivers_and_their_intervals():
    road = Road.straight(length=200.0, lanes=1)
    free = Scene(road, Vehicles.from_columns(lane=[0], s=[20.0], speed=[25.0]))
    stopped = Scene(road, Vehicles.from_columns(lane=[0, 0], s=[20.0, 90.0], speed=[25.0, 0.0]))
    idle, faster = load_driver("idle"), load_driver("faster")
    assert [row["success"] for row in drive_episodes(idle, [free])] == [1.0]
    assert [row["crash"] for row in drive_episodes(faster, [stopped])] == [1.0]
    summary = summarise_driver(
        "x",
        {
            0: [{"success": 1.0, "crash": 0.0, "speed": 20.0, "distance": 180.0}] * 8
            + [{"success": 0.0, "crash": 1.0, "speed": 10.0, "distance": 40.0}] * 2
        },
    )
    assert summary.values["success"] == pytest.approx(0.8)
    assert summary.intervals["success"] == pytest.approx((0.490, 0.943), abs=1e-3)
    seeds = summarise_driver(
        "x",
        {
            0: [{"success": 1.0, "crash": 0.0, "speed": 20.0, "distance": 1.0}],
            1: [{"success": 0.0, "crash": 1.0, "speed": 10.0, "distance": 1.0}],
        },
    )
    assert seeds.seeds == 2 and seeds.intervals["success"] == (0.0, 1.0)  # clipped rates
    assert seeds.intervals["speed"][0] < 10.0 < 20.0 < seeds.intervals["speed"][1]
    overlap = Scene(road, Vehicles.from_columns(lane=[0, 0], s=[20.0, 22.0], speed=[20.0, 20.0]))
    kept, reasons = drivable_tests([free, overlap])
    assert kept == [free] and reasons[0].startswith("overlap")


def test_evaluate_driver_compares_trained_and_scripted_drivers(tmp_path, capsys, scenes_file):
    trained = _tiny_run(tmp_path, "random")
    out = tmp_path / "drivers.json"
    status, printed, _ = run(
        [
            "evaluate-driver",
            trained,
            "idle",
            "slower",
            "--scenes",
            scenes_file,
            "--n",
            "3",
            "--json",
            out,
        ],
        capsys,
    )
    assert status == 0, printed
    results = json.loads(out.read_text())["test_sets"][str(scenes_file)]
    assert results["scenes"] == 3
    assert [row["driver"] for row in results["drivers"]] == ["random", "idle", "slower"]
    assert all(row["episodes"] == 3 for row in results["drivers"])
    assert "success" in printed and "crash" in printed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["curriculum", "--set", "teacher=teacher", "--out", "R"], "teacher"),
        (
            [
                "curriculum",
                "--set",
                "teacher=generator",
                "--set",
                "generator=missing",
                "--out",
                "R",
            ],
            "missing",
        ),
        (
            ["curriculum", "--set", "teacher=replay", "--set", "scenes=EMPTY", "--out", "R"],
            "empty.jsonl",
        ),
        (
            [
                "curriculum",
                "--set",
                "teacher=plr",
                "--set",
                "teacher_options={edits: 2}",
                "--out",
                "R",
            ],
            "edits",
        ),
        (
            ["curriculum", "--set", "algorithm=DQN", "--set", "score=value_loss", "--out", "R"],
            "value_loss",
        ),
        (["curriculum", "--resume", "NOWHERE"], "nowhere"),
        (["evaluate-driver", "idle", "--scenes", "EMPTY"], "empty.jsonl"),
        (["evaluate-driver", "nobody", "--scenes", "SCENES"], "nobody"),
    ],
    ids=["teacher", "generator", "no-scenes", "option", "dqn-values", "resume", "tests", "driver"],
)
def test_bad_curriculum_input_gets_one_clear_line(argv, message, tmp_path, capsys, scenes_file):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    names = {
        "EMPTY": empty,
        "R": tmp_path / "R",
        "NOWHERE": tmp_path / "nowhere",
        "SCENES": scenes_file,
    }
    status, _, err = run([str(names.get(a, a)).replace("EMPTY", str(empty)) for a in argv], capsys)
    line = assert_usage_error(status, err)
    assert message in line
    assert not (tmp_path / "R").exists()  # nothing left behind


def test_a_trained_curriculum_run_is_a_dataset_in_the_order_met(tmp_path):
    import pyarrow.parquet as pq

    from scenegym.datasets import DatasetConfig, write_dataset

    run = _tiny_run(tmp_path, "run", teacher="plr", teacher_options={"min_fill": 2})
    met = read_scenes(run / "scenes.jsonl")
    config = DatasetConfig(width=64, height=32, shard_size=4, formats=("parquet",))
    write_dataset(run, tmp_path / "data", min(len(met), 6), 0, config)
    table = pq.read_table(sorted((tmp_path / "data").rglob("*.parquet"))[0]).to_pandas()
    assert table["order"].tolist() == sorted(table["order"].tolist())
    assert set(table["teacher"]) == {"plr"} and "difficulty" in table and "stage" in table


@pytest.mark.parametrize(
    "path",
    sorted((Path(__file__).parent.parent / "configs").glob("curriculum-*.yaml")),
    ids=lambda p: p.stem,
)
def test_every_example_config_is_a_valid_curriculum_config(path):
    from scenegym.config import load_config

    config = load_config(CurriculumConfig, path)
    assert config.teacher == path.stem.removeprefix("curriculum-").removeprefix("robust-")


def test_replay_mixes_in_the_share_of_fresh_scenes_it_is_asked_for(scenes_file):
    teacher = ReplayTeacher(scenes_file, seed=0, mix=0.5, fresh=RandomTeacher(seed=1))
    stages = [curriculum_info(teacher.propose())["stage"] for _ in range(200)]
    assert 0.4 < np.mean(stages) < 0.6
    replayed = {s.id for s in read_scenes(scenes_file)}
    pure = ReplayTeacher(scenes_file, seed=0)
    from scenegym.agents.teachers import without_curriculum

    assert all(without_curriculum(pure.propose()).id in replayed for _ in range(10))


def test_two_replays_of_one_scene_are_two_proposals_with_their_own_results():
    teacher = PrioritisedReplay(RandomTeacher(seed=1), seed=0, min_fill=1, replay_share=1.0)
    _play(teacher, 1)
    first, second = teacher.propose(), teacher.propose()
    assert without_curriculum_id(first) == without_curriculum_id(second) and first != second
    teacher.update([Episode(scene=first.id, ret=1.0, crashed=False, arrived=True)])
    teacher.update([Episode(scene=second.id, ret=0.2, crashed=False, arrived=False)])
    assert teacher.buffer[0]["score"] == pytest.approx(0.8)  # the later result counts


def without_curriculum_id(scene: Scene) -> str:
    from scenegym.agents.teachers import without_curriculum

    return without_curriculum(scene).id


def test_equal_scores_get_equal_replay_weight_and_bad_settings_are_refused():
    weights = replay_weights([0.0, 0.0, 0.0], [0, 0, 0], 0, temperature=0.3, staleness=0.3)
    assert weights.tolist() == pytest.approx([1 / 3] * 3)
    with pytest.raises(ValueError, match="temperature"):
        PrioritisedReplay(RandomTeacher(), temperature=0.0)
    with pytest.raises(ValueError, match="min_fill"):
        PrioritisedReplay(RandomTeacher(), buffer_size=4, min_fill=8)
    with pytest.raises(ValueError, match="list of numbers"):
        arms_from_grid({"density": "40"})


def test_drivers_of_one_config_are_seeds_and_others_keep_their_own_label(tmp_path):
    from scenegym.agents.driving import driver_labels

    a = _tiny_run(tmp_path, "a")
    b = _tiny_run(tmp_path, "b", seed=1)
    c = _tiny_run(tmp_path, "c", learning_rate=1e-3)
    drivers = [load_driver(p) for p in (a, b, c)] + [load_driver("idle")]
    assert driver_labels(drivers) == ["random (a)", "random (a)", "random (c)", "idle"]
    with pytest.raises(ValueError, match="given twice"):
        driver_labels([load_driver(a), load_driver(a)])


def test_a_start_at_the_end_of_the_road_is_not_a_drive():
    from scenegym.envs.drive import start_report

    road = Road.straight(length=100.0, lanes=1)
    late = Scene(road, Vehicles.from_columns(lane=[0], s=[95.0], speed=[20.0]))
    report = start_report(late, 0)
    assert not report["drivable"] and "before the end of the road" in report["start_issues"][0]
    rates = summarise_driver(
        "x", {k: [{"success": 1.0, "crash": 0.0, "speed": 1.0, "distance": 1.0}] for k in range(3)}
    )
    assert rates.intervals["success"][1] <= 1.0


def test_the_kept_rollout_buffer_draws_minibatches_from_kept_steps_only():
    from gymnasium import spaces

    from scenegym.agents.robust import KeptRolloutBuffer

    buffer = KeptRolloutBuffer(
        6, spaces.Box(-1e9, 1e9, (1,)), spaces.Discrete(2), device="cpu", n_envs=2
    )
    for step in range(6):  # each observation says its step and env: 10 * step + env
        obs = np.array([[10.0 * step], [10.0 * step + 1]], dtype=np.float32)
        value = __import__("torch").zeros(2)
        buffer.add(obs, np.zeros((2, 1)), np.zeros(2), np.zeros(2), value, value)
    buffer.compute_returns_and_advantage(last_values=value, dones=np.zeros(2))
    buffer.keep[:] = False
    buffer.keep[[1, 4], 0] = True  # env 0 at steps 1 and 4
    buffer.keep[2, 1] = True  # env 1 at step 2
    seen = sorted(
        float(o) for batch in buffer.get(2) for o in batch.observations.numpy().reshape(-1)
    )
    assert seen == [10.0, 21.0, 40.0]
    buffer.reset()
    assert buffer.kept() == 12


def _kept_steps(run: Path) -> list[float]:
    """The logged ``train/kept_steps`` of a run (SB3 logs a rollout's update with the next)."""
    with open(next((run / "logs").glob("*/progress.csv"))) as handle:
        rows = list(csv.DictReader(handle))
    return [float(r["train/kept_steps"]) for r in rows if r.get("train/kept_steps")]


def test_robust_plr_trains_only_on_replayed_scenes(tmp_path):
    from stable_baselines3.common.vec_env import DummyVecEnv

    from scenegym.agents.robust import ReplayOnlyPPO
    from scenegym.agents.student import load_student, make_drive_env, student_model

    options = {"robust": True, "min_fill": 100, "buffer_size": 100}  # never replays
    config = {**TINY, "teacher": "plr", "teacher_options": options}
    run = _tiny_run(tmp_path, "never", **config)
    parsed = CurriculumConfig.from_mapping({**config, "vec_env": "dummy"})
    env = DummyVecEnv([make_drive_env(parsed.drive, 0)])
    fresh = student_model(parsed, env).policy.state_dict()
    trained = load_student(parsed, run / "model.zip", env=env)
    assert isinstance(trained, ReplayOnlyPPO)
    for name, weights in trained.policy.state_dict().items():  # no update happened
        assert np.array_equal(weights.numpy(), fresh[name].numpy()), name
    assert set(_kept_steps(run)) == {0.0}

    options = {"robust": True, "min_fill": 2, "replay_share": 0.9}
    config = {**config, "teacher_options": options, "total_steps": 128}
    run = _tiny_run(tmp_path, "replays", **config)
    trained = load_student(parsed, run / "model.zip", env=env)
    moved = any(
        not np.array_equal(w.numpy(), fresh[n].numpy())
        for n, w in trained.policy.state_dict().items()
    )
    kept = _kept_steps(run)
    replayed = [curriculum_info(s)["replay"] for s in read_scenes(run / "scenes.jsonl")]
    assert any(replayed) and not all(replayed)
    assert moved and max(kept) > 0  # logged with a lag of one rollout
    env.close()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"teacher": "plr", "algorithm": "DQN", "teacher_options": {"robust": True}}, "PPO"),
        ({"teacher": "plr", "teacher_options": {"robust": "yes"}}, "true or false"),
        ({"teacher": "random", "teacher_options": {"robust": True}}, "robust"),
    ],
)
def test_robust_replay_settings_are_checked(config, message):
    with pytest.raises(ValueError, match=message):
        build_teacher(CurriculumConfig.from_mapping(config))
