"""Adversarial scenes: critical candidates and the scenes a driving agent crashes in."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from scenegym.agents.adversarial import (
    DriverJudge,
    adversarial_search,
    critical_candidates,
    judge_models,
)
from scenegym.agents.driving import drive_episodes, load_driver
from scenegym.envs.drive import start_report
from scenegym.scene import Road, Scene, Vehicles, criticality, is_valid, read_scenes
from tests.test_cli import assert_usage_error, run


@pytest.fixture(scope="module")
def candidates():
    return critical_candidates(8, target=0.8, seed=3)


def test_critical_candidates_are_critical_for_the_ego_valid_and_drivable(candidates):
    measures = criticality(candidates, focus="rearmost")
    assert (measures["criticality"] >= 0.8).all() and (measures["collision"] == 0).all()
    for scene in candidates:
        assert is_valid(scene)
        ego = int(scene.vehicles.s.argmin())
        assert start_report(scene, ego)["drivable"]


def test_the_search_keeps_exactly_the_scenes_the_driver_crashes_in(candidates):
    driver = load_driver("faster")
    found = adversarial_search(driver, candidates, rounds=1, keep=2, children=2, seed=1)
    first = found.rounds[0]
    assert first["tried"] == len(candidates) and found.tried >= len(candidates)
    assert len(found.scenes) == sum(row["crashes"] for row in found.rounds) > 0
    # Driven again from the same seed, every scene found is a crash.
    rows = drive_episodes(driver, [s for s in found.scenes if s.context["adversarial_round"] == 0])
    assert all(row["crash"] == 1.0 for row in rows)
    for scene in found.scenes:
        assert is_valid(scene) and scene.context["adversarial_round"] in (0, 1)
        if scene.context["adversarial_round"] == 1:
            assert scene.context["adversarial_parent"] in {c.id for c in candidates}
    with pytest.raises(ValueError, match="keep"):
        adversarial_search(driver, candidates, keep=0)


def test_adversarial_cli_writes_the_crash_scenes_and_refuses_bad_input(tmp_path, capsys):
    out = tmp_path / "adversarial.jsonl"
    status, printed, _ = run(
        ["adversarial", "faster", "--critical", "4", "--rounds", "0", "--out", str(out)], capsys
    )
    assert status == 0 and "round 0" in printed
    assert len(read_scenes(out)) == int(printed.split("round 0: ")[1].split()[0])
    for argv, message in (
        (["adversarial", "faster", "--out", str(out)], "--critical"),
        (["adversarial", "faster", "--critical", "2", "--target", "1.5", "--out", "x"], "target"),
        (["adversarial", "nobody", "--critical", "2", "--out", "x"], "nobody"),
    ):
        status, _, err = run(argv, capsys)
        assert message in assert_usage_error(status, err)


def test_a_driver_whose_model_does_not_fit_drive_gets_one_line(tmp_path, tiny_run, capsys):
    import shutil

    from scenegym.agents.student import train_curriculum

    folder = tmp_path / "driver"
    tiny = {"total_steps": 32, "n_envs": 1, "n_steps": 32, "batch_size": 32, "net_arch": [8]}
    train_curriculum({**tiny, "vec_env": "dummy", "checkpoint_every": 32}, folder)
    shutil.copy(tiny_run / "model.zip", folder / "model.zip")  # a generation policy's model
    argv = ["adversarial", str(folder), "--critical", "2", "--out", str(tmp_path / "x.jsonl")]
    status, _, err = run(argv, capsys)
    assert "space" in assert_usage_error(status, err)
    assert not (tmp_path / "x.jsonl").exists()


# ---------------------------------------------------------------- the adversarial reward term
def _one_lane(*vehicles: tuple[float, float]) -> Scene:
    """A 200 m one-lane road with vehicles at ``(s, speed)``; the first is the ego."""
    s, speed = zip(*vehicles)
    return Scene(
        Road.straight(length=200.0, lanes=1),
        Vehicles.from_columns(lane=[0] * len(s), s=list(s), speed=list(speed)),
    )


def test_the_judge_scores_crashes_near_crashes_and_undrivable_starts():
    free = _one_lane((20.0, 25.0))
    stopped = _one_lane((20.0, 25.0), (90.0, 0.0))  # "faster" runs into it
    slower = _one_lane((20.0, 25.0), (70.0, 20.0))  # "idle" closes on it, no crash
    boxed = _one_lane((20.0, 30.0), (28.0, 0.0))  # no driver could brake in time
    assert not start_report(boxed, 0)["drivable"]
    faster, idle = DriverJudge(source="faster"), DriverJudge(source="idle")
    assert faster.scores([free, stopped, boxed]).tolist() == [0.0, 1.0, 0.0]
    (ttc,) = (row["min_ttc"] for row in drive_episodes(idle.driver, [slower]))
    near = idle.scores([slower])[0]
    assert 0 < ttc < 5 and near == pytest.approx(0.5 * (1 - ttc / 5))
    # A judge travels to worker processes as its settings; the driver loads there again.
    copy = pickle.loads(pickle.dumps(idle))
    assert copy._driver is None and copy.scores([slower])[0] == near
    with pytest.raises(ValueError, match="near"):
        DriverJudge(source="idle", near=1.5)


class _Counting:
    """A judge that scores every scene 1 and keeps how many it was asked for, per call."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def scores(self, scenes):
        self.calls.append(len(scenes))
        return np.ones(len(scenes))


def test_the_adversarial_term_pays_once_an_episode_in_its_last_reward():
    import gymnasium as gym

    from scenegym.envs.vector import DrivingLayoutVecEnv

    judge = _Counting()
    kwargs = {
        "models": {"driver": judge},
        "reward": {"weights": {"validity": 1.0, "adversarial": 1.0}},
        "edit_budget": 3,
    }
    env = gym.make("scenegym/DrivingLayout-edit-v6", **kwargs)
    _, info = env.reset(seed=0)
    assert info["reward_terms"]["adversarial"] == 0.0
    for _ in range(3):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        ended = terminated or truncated
        assert info["reward_terms"]["adversarial"] == (1.0 if ended else 0.0)
    assert ended and judge.calls == [1]
    # Batched: the judge drives the finished scenes alone, all of them in one call.
    judge.calls.clear()
    vec = DrivingLayoutVecEnv(3, **{**gym.spec("scenegym/DrivingLayout-edit-v6").kwargs, **kwargs})
    vec.reset()
    for _ in range(3):
        vec.step(np.array([vec.action_space.sample() for _ in range(3)]))
    assert judge.calls == [3]
    with pytest.raises(ValueError, match="'driver' model"):
        gym.make("scenegym/DrivingLayout-edit-v6", reward=kwargs["reward"])
    env = gym.make("scenegym/DrivingLayout-edit-v6", **{**kwargs, "models": {"driver": "idle"}})
    env.reset(seed=0)
    env.step(env.action_space.sample())
    env.step(env.action_space.sample())
    with pytest.raises(ValueError, match="setting, not a judge"):
        env.step(env.action_space.sample())


def test_a_generator_trains_against_a_scripted_driver_end_to_end(tmp_path):
    """configs/adversarial.yaml's recipe on a tiny budget: the run trains, logs the term
    held out, and its scenes are scored by the driver again when loaded."""
    from scenegym.agents import GenerationPolicy, train
    from scenegym.config import read_mapping

    config = read_mapping(Path(__file__).parent.parent / "configs" / "adversarial.yaml")
    config["env_kwargs"].pop("realism")
    config["env_kwargs"]["reward"]["weights"]["realism"] = 0.0
    config |= {"total_steps": 192, "n_envs": 4, "n_steps": 48, "batch_size": 64}
    config |= {"eval_every": 192, "eval_episodes": 4, "checkpoint_every": 192}
    config["net_arch"] = [16]
    run = tmp_path / "adversarial"
    train(config, run)
    logged = (run / "logs" / "000" / "progress.csv").read_text().splitlines()[0].split(",")
    assert "eval/adversarial" in logged
    policy = GenerationPolicy.load(run)
    scenes = policy.sample(6, seed=1).scenes
    judge = judge_models({"driver": "idle"}, run)["driver"]
    _, terms = GenerationPolicy(
        model=policy.model, config=policy.config, run=run, models={"driver": judge}
    ).score(scenes)
    assert terms["adversarial"].tolist() == judge.scores(scenes).tolist()


@pytest.mark.parametrize(
    ("driver", "message"),
    [("nobody", "driver nobody: not a curriculum run folder"), ("{sorce: idle}", "sorce")],
)
def test_a_bad_driver_in_a_run_config_gets_one_line(driver, message, tmp_path, capsys):
    config = Path(__file__).parent.parent / "configs" / "adversarial.yaml"
    argv = ["train", "--config", str(config), "--out", str(tmp_path / "run")]
    status, _, err = run([*argv, "--set", f"env_kwargs.models.driver={driver}"], capsys)
    assert message in assert_usage_error(status, err)
    assert not (tmp_path / "run").exists()


def test_a_new_run_names_its_driver_run_by_its_absolute_path(tmp_path, monkeypatch):
    from scenegym.agents.inputs import bring_inputs
    from scenegym.agents.runs import TrainConfig

    (tmp_path / "runs" / "student").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    for driver, expected in (
        ("runs/student", str(tmp_path / "runs" / "student")),
        (
            {"source": "runs/student", "near": 0.3},
            {"source": str(tmp_path / "runs" / "student"), "near": 0.3},
        ),
        ("idle", "idle"),
    ):
        config = TrainConfig(env_kwargs={"models": {"driver": driver}})
        brought, _ = bring_inputs(config)
        assert brought.env_kwargs["models"]["driver"] == expected
