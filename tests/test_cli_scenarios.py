"""The scenario commands end to end: reference, export to CommonRoad, import back."""

import json

import numpy as np

from scenegym.cli import main
from scenegym.scene import HighwaySceneSpace, read_scenes, vehicle_poses


def run(argv, capsys):
    try:
        status = main([str(a) for a in argv])
    except SystemExit as stop:  # argparse usage errors
        status = stop.code
    out, err = capsys.readouterr()
    return status, out, err


def test_export_then_import_round_trips_vehicles(tmp_path, capsys, congested, free_flow):
    from scenegym.scene import write_scenes

    scenes = tmp_path / "scenes.jsonl"
    write_scenes(scenes, [congested, free_flow])
    status, out, _ = run(["export", scenes, "--out", tmp_path / "xml"], capsys)
    assert status == 0, out
    assert len(list((tmp_path / "xml").glob("*.xml"))) == 2
    status, out, err = run(["import", tmp_path / "xml", "--out", tmp_path / "back.jsonl"], capsys)
    assert status == 0, err
    back = read_scenes(tmp_path / "back.jsonl")
    for before, after in zip([congested, free_flow], back):
        a = np.stack(vehicle_poses(before.road, before.vehicles))
        b = np.stack(vehicle_poses(after.road, after.vehicles))
        assert np.abs(a[:2] - b[:2]).max() < 0.01
        assert np.abs(a[2] - b[2]).max() < 0.01


def test_import_reports_skipped_files_and_keeps_the_good_ones(tmp_path, capsys, free_flow):
    from scenegym.bridges import write_commonroad

    folder = tmp_path / "recordings"
    folder.mkdir()
    write_commonroad(free_flow, folder / "good.xml")
    (folder / "broken.xml").write_text("<CommonRoad")
    status, _, err = run(["import", folder, "--out", tmp_path / "s.jsonl"], capsys)
    assert status == 0
    assert "skipped" in err and "broken.xml" in err
    assert len(read_scenes(tmp_path / "s.jsonl")) == 1


def test_import_of_nothing_usable_is_an_error(tmp_path, capsys):
    (tmp_path / "broken.xml").write_text("<CommonRoad")
    status, _, err = run(["import", tmp_path, "--out", tmp_path / "s.jsonl"], capsys)
    assert status == 2
    assert err.strip().splitlines()[-1].startswith("scenegym: error: no scenes imported")
    assert not (tmp_path / "s.jsonl").exists()


def test_import_rejects_a_bad_interval(tmp_path, capsys):
    status, _, err = run(["import", tmp_path, "--interval", "-1", "--out", "x.jsonl"], capsys)
    assert status == 2
    assert "--interval" in err


def test_reference_command_writes_valid_scenes(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SCENEGYM_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "ref.jsonl"
    argv = [
        "reference",
        "--n",
        4,
        "--seed",
        2,
        "--out",
        out,
        "--workers",
        1,
        "--set",
        "road_length=700",
        "--set",
        "warmup=4",
        "--set",
        "snapshots_per_run=2",
        "--set",
        "windows_per_snapshot=2",
        "--set",
        "lanes=[2,3]",
    ]
    status, stdout, err = run(argv, capsys)
    assert status == 0, err
    assert "a model, not a recording" in stdout
    scenes = read_scenes(out)
    assert len(scenes) == 4
    assert all(scene.context["source"].startswith("highway-env") for scene in scenes)
    first = out.read_bytes()
    assert run(argv, capsys)[0] == 0
    assert out.read_bytes() == first


def test_reference_rejects_an_unknown_config_key(tmp_path, capsys):
    status, _, err = run(["reference", "--out", tmp_path / "r.jsonl", "--set", "lane=3"], capsys)
    assert status == 2
    assert "unknown key 'lane'; did you mean 'lanes'?" in err


def test_import_removes_duplicates_and_writes_statistics(tmp_path, capsys, free_flow, congested):
    from scenegym.bridges import write_commonroad

    folder = tmp_path / "recordings"
    folder.mkdir()
    write_commonroad(free_flow, folder / "a.xml")
    write_commonroad(free_flow, folder / "b.xml")  # the same recording twice
    write_commonroad(congested, folder / "c.xml")
    status, out, err = run(["import", folder, "--out", tmp_path / "rec.jsonl"], capsys)
    assert status == 0, err
    assert "removed 1 duplicate scene(s)" in out
    assert len(read_scenes(tmp_path / "rec.jsonl")) == 2
    stats = json.loads((tmp_path / "rec.stats.json").read_text())
    assert stats["scenes"] == 2
    assert stats["vehicles"] == len(free_flow.vehicles) + len(congested.vehicles)
    assert stats["violations"] == dict.fromkeys(stats["violations"], 0)
    assert stats["vehicle_features"]["names"][0] == "speed"


def test_reference_statistics_flag_implausible_values(tmp_path):
    from scenegym.evaluation.summary import reference_statistics

    scenes = list(HighwaySceneSpace().sample_many(30, seed=0))
    stats = reference_statistics(scenes)
    assert stats["violations"]["overlap"] > 0
    assert len(stats["scene_features"]["mean"]) == len(stats["scene_features"]["names"])
