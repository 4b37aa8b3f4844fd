"""The benchmark scripts run and print their JSON (tiny settings; the numbers are not checked)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _run(script: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_env_speed_reports_every_environment_and_its_peers():
    result = _run("env_speed.py", "--steps", "20", "--repeats", "1", "--num-envs", "4")
    for key in ("steps_per_s", "vector_steps_per_s"):
        assert "scenegym/DrivingLayout-edit-v1" in result[key]
    assert result["cartpole_steps_per_s"] > 0
    assert result["cartpole_sb3_dummy_vec_env_steps_per_s"] > 0
    assert isinstance(result["meets_target_vector_env"], bool)


def test_train_speed_compares_with_cartpole():
    args = ("--steps", "256", "--n-envs", "2", "--ceiling", "--repeat", "3", "--phases")
    result = _run("train_speed.py", *args)
    assert result["scenegym_edit_steps_per_s"] > 0 and result["cartpole_steps_per_s"] > 0
    assert result["settings"]["n_envs"] == 2
    rounds = result["rounds"]
    assert len(rounds) == 3
    for one in rounds:
        # Both rates are rounded to 0.1 steps/s, which moves a ratio of slow runs by a percent.
        assert one["ceiling_ratio"] == pytest.approx(one["free_env"] / one["cartpole"], rel=0.01)
        assert set(one["phases"]) == {"scenegym_edit", "cartpole", "free_env"}
        for side, rate in (("scenegym_edit", one["scenegym_edit"]), ("cartpole", one["cartpole"])):
            times = one["phases"][side]
            assert 0 < times["env_s"] <= times["collect_s"]
            # Collecting and updating are most of a run's time, never more than all of it.
            # (rates are rounded to 0.1 steps/s, phases to 1 ms)
            assert 0 < times["collect_s"] + times["update_s"] <= 256 / (rate - 0.05) + 0.002
    assert result["ratio"] == sorted(one["ratio"] for one in rounds)[1]
    assert result["ceiling_ratio"] == sorted(one["ceiling_ratio"] for one in rounds)[1]


def test_sample_speed_runs_on_a_given_run(tiny_run):
    args = ["--run", str(tiny_run), "--n", "16", "--batch", "8", "--repeat", "2", "--workers", "2"]
    result = _run("sample_speed.py", *args)
    assert result["policy_valid_scenes_per_s"] >= 0 and 0 <= result["policy_validity_rate"] <= 1
    assert (result["settings"]["repeat"], result["settings"]["workers"]) == (2, 2)


def test_dataset_speed_compares_with_matplotlib_and_reports_memory():
    result = _run(
        "dataset_speed.py", "--n", "40", "--peer-n", "5", "--appearance-n", "10", "--memory", "20"
    )
    assert result["scenegym_2_workers_samples_per_s"] > 0 and result["ratio_2_workers"] > 0
    assert result["scenegym_appearance_2_workers_samples_per_s"] > 0
    assert result["memory_20"]["worker_peak_mb"] > 0


def test_appearance_speed_fits_and_paints_on_the_cpu():
    result = _run(
        "appearance_speed.py", "--n", "6", "--epochs", "1", "--devices", "cpu", "--paint", "8"
    )
    assert result["cpu"]["fit_s"] > 0 and result["cpu"]["paint_per_s"] > 0
    assert result["pairs"] == 6


def test_contention_trains_each_setting_alone_and_under_load():
    result = _run("contention.py", "--steps", "2048", "--load", "1", "--repeat", "1")
    settings = result["settings"]
    assert settings["scenegym"]["torch_threads"] == 1
    assert set(settings) == {"scenegym", "torch default"}
    for setting in settings.values():
        assert setting["steps_per_s_alone"] > 0 and setting["steps_per_s_loaded"] > 0
        assert len(setting["rounds"]["alone"]) == len(setting["rounds"]["loaded"]) == 1


def test_curriculum_compares_teachers_and_scripted_drivers(tmp_path):
    from scenegym.agents.teachers import drivable
    from scenegym.scene import HighwaySceneSpace, write_scenes

    scenes = [s for s in map(drivable, HighwaySceneSpace().sample_many(40, 5)) if s is not None]
    reference = [
        s.replace(context={"recording": f"run {i % 4}"}) for i, s in enumerate(scenes[:24])
    ]
    write_scenes(tmp_path / "reference.jsonl", reference)
    result = _run(
        "curriculum.py",
        *("--reference", str(tmp_path / "reference.jsonl"), "--teachers", "random,replay"),
        *("--budget", "64", "--seeds", "1", "--tests", "2", "--curve", "1"),
        *("--curve-tests", "2", "--workers", "1", "--out", str(tmp_path / "out")),
    )
    drivers = [row["driver"] for row in result["test_sets"]["dense"]["drivers"]]
    assert drivers == ["random", "replay", "idle", "slower", "faster"]
    assert set(result["curve"]) == {"random", "replay"}
    assert 0.0 <= result["teacher_share"]["random"] < 1.0


def test_rollout_speed_compares_with_highway_env_on_the_same_scenes():
    args = ("--batches", "1", "4", "--agreement", "4", "--repeats", "1", "--horizon", "1")
    result = _run("rollout_speed.py", *args)
    assert [case["scenes"] for case in result["cases"]] == [1, 4]
    for case in result["cases"]:
        assert case["ratio"] == pytest.approx(
            case["scenegym_vehicle_steps_per_s"] / case["highway_env_vehicle_steps_per_s"],
            rel=0.01,
        )
    assert 0 <= result["agreement"]["same_first_collision"] <= 4


def test_scenic_peer_judges_scenegym_generators_alike(tiny_run):
    # Scenic needs its own Python (it pulls opencv-python); here only scenegym's side runs.
    result = _run("scenic_peer.py", "--n", "4", "--run", str(tiny_run), "--road", "curved")
    generators = result["generators"]
    assert set(generators) == {"scenegym random", "scenegym critical", "scenegym policy"}
    assert generators["scenegym critical"]["hit_rate"] == 1.0
    for one in generators.values():
        assert one["scenes"] == 4 and 0.0 <= one["validity_rate"] <= 1.0


def test_adversarial_compares_test_sets_and_training_with_adversarial_scenes(tmp_path):
    args = ("--drivers", "faster", "--tests", "3", "--candidates", "3", "--budget", "64")
    args += ("--n-envs", "1")
    result = _run("adversarial.py", *args, "--out", str(tmp_path))
    assert set(result["test_sets"]) == {"ordinary", "critical", "adversarial"}
    assert set(result["training"]) == {"ordinary only", "with adversarial"}
    for summary in result["test_sets"].values():
        assert 0.0 <= summary["crash"] <= 1.0


def test_ray_backend_writes_the_same_files_as_the_pool():
    result = _run("ray_backend.py", "--n", "16", "--shard-size", "8", "--repeats", "1")
    assert result["same_files"] is True and result["ray_s"] > 0 and result["pool_s"] > 0
