"""Adversarial scenes: critical candidates and the scenes a driving agent crashes in."""

from __future__ import annotations

import pytest

from scenegym.agents.adversarial import adversarial_search, critical_candidates
from scenegym.agents.driving import drive_episodes, load_driver
from scenegym.envs.drive import start_report
from scenegym.scene import criticality, is_valid, read_scenes
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
