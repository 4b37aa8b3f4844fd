"""Tests of the ``scenegym`` command line: its commands, its files and its error messages."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from scenegym.cli import main
from scenegym.datasets import RenderConfig, render
from scenegym.datasets.render import PALETTE, SEMANTIC_CLASSES
from scenegym.scene import (
    DESCRIPTORS,
    MEASURES,
    HighwaySceneSpace,
    Scene,
    read_scenes,
    write_scenes,
)

ERROR_LINE = re.compile(r"^scenegym( [a-z]+)?: error: \S")


# ---------------------------------------------------------------------- helpers
def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run the command line in-process: exit status, stdout, stderr."""
    try:
        status = main([str(a) for a in argv])
    except SystemExit as stop:
        status = stop.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_usage_error(status: int, err: str) -> str:
    """A user mistake: exit status 2 and one ``scenegym...: error:`` line, no traceback."""
    assert status == 2
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert ERROR_LINE.match(lines[0]), lines[0]
    return lines[0]


def sample(capsys, out: Path, *options) -> None:
    status, _, err = run(["sample", "--out", out, *options], capsys)
    assert status == 0, err


@pytest.fixture
def scenes_file(tmp_path, capsys) -> Path:
    path = tmp_path / "scenes.jsonl"
    sample(capsys, path, "--n", 4, "--seed", 1, "--set", "vehicles=[2,6]")
    return path


def all_files(folder: Path) -> list[Path]:
    return [Path(root) / name for root, _, names in os.walk(folder) for name in names]


# ---------------------------------------------------------------------- sample
def test_sample_writes_the_requested_number_of_readable_scenes(tmp_path, capsys):
    out = tmp_path / "x.jsonl"
    status, stdout, _ = run(["sample", "--n", 5, "--seed", 3, "--out", out], capsys)
    assert status == 0
    scenes = read_scenes(out)
    assert len(scenes) == 5
    assert all(isinstance(scene, Scene) for scene in scenes)
    assert "5 scenes" in stdout


def test_sample_writes_the_scenes_of_the_space_for_that_seed(tmp_path, capsys):
    out = tmp_path / "x.jsonl"
    sample(capsys, out, "--n", 3, "--seed", 3)
    assert read_scenes(out) == list(HighwaySceneSpace().sample_many(3, seed=3))


def test_sample_with_the_same_seed_writes_the_same_bytes(tmp_path, capsys):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    sample(capsys, first, "--n", 5, "--seed", 3)
    sample(capsys, second, "--n", 5, "--seed", 3)
    assert first.read_bytes() == second.read_bytes()


def test_sample_with_another_seed_writes_other_scenes(tmp_path, capsys):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    sample(capsys, first, "--n", 5, "--seed", 3)
    sample(capsys, second, "--n", 5, "--seed", 4)
    assert first.read_bytes() != second.read_bytes()


def test_sample_set_overrides_the_vehicle_count(tmp_path, capsys):
    out = tmp_path / "x.jsonl"
    sample(capsys, out, "--n", 5, "--set", "vehicles=[3,3]")
    assert [len(scene.vehicles) for scene in read_scenes(out)] == [3] * 5


def test_sample_reads_a_yaml_config(tmp_path, capsys):
    config = tmp_path / "space.yaml"
    config.write_text("lanes: [3, 3]\nvehicles: [6, 6]\nramp_probability: 0.0\n")
    out = tmp_path / "x.jsonl"
    sample(capsys, out, "--n", 4, "--config", config)
    scenes = read_scenes(out)
    assert [scene.road.lane_count for scene in scenes] == [3] * 4
    assert [len(scene.vehicles) for scene in scenes] == [6] * 4


def test_sample_reads_a_toml_config(tmp_path, capsys):
    config = tmp_path / "space.toml"
    config.write_text("lanes = [1, 1]\nvehicles = [2, 2]\nramp_probability = 0.0\n")
    out = tmp_path / "x.jsonl"
    sample(capsys, out, "--n", 4, "--config", config)
    scenes = read_scenes(out)
    assert [scene.road.lane_count for scene in scenes] == [1] * 4
    assert [len(scene.vehicles) for scene in scenes] == [2] * 4


def test_sample_set_wins_over_the_config_file(tmp_path, capsys):
    config = tmp_path / "space.yaml"
    config.write_text("vehicles: [6, 6]\n")
    out = tmp_path / "x.jsonl"
    sample(capsys, out, "--n", 3, "--config", config, "--set", "vehicles=[4,4]")
    assert [len(scene.vehicles) for scene in read_scenes(out)] == [4] * 3


def test_sample_keeps_every_set_under_one_mapping(tmp_path, capsys):
    out = tmp_path / "x.jsonl"
    zero_shares = ["kind_shares.car=0", "kind_shares.motorcycle=0", "kind_shares.bus=0"]
    options = [item for text in zero_shares for item in ("--set", text)]
    sample(capsys, out, "--n", 3, "--set", "vehicles=[10,10]", *options)
    kinds = Counter(k for scene in read_scenes(out) for k in scene.vehicles.kind_names)
    assert set(kinds) == {"truck"}


def test_sample_accepts_the_largest_allowed_curvature(tmp_path, capsys):
    out = tmp_path / "x.jsonl"
    status, _, err = run(["sample", "--n", 5, "--out", out, "--set", "max_curvature=0.2"], capsys)
    assert status == 0, err


# ---------------------------------------------------------------------- render
def test_render_writes_one_file_per_scene_in_each_folder(scenes_file, tmp_path, capsys):
    out = tmp_path / "render"
    status, _, err = run(["render", scenes_file, "--out", out], capsys)
    assert status == 0, err
    expected = {
        "images": ["000000.png", "000001.png", "000002.png", "000003.png"],
        "semantic": ["000000.png", "000001.png", "000002.png", "000003.png"],
        "instance": ["000000.png", "000001.png", "000002.png", "000003.png"],
        "labels": ["000000.json", "000001.json", "000002.json", "000003.json"],
    }
    assert {folder: sorted(p.name for p in (out / folder).iterdir()) for folder in expected} == (
        expected
    )


def test_render_pngs_have_the_requested_shape_and_type(scenes_file, tmp_path, capsys):
    out = tmp_path / "render"
    run(["render", scenes_file, "--out", out, "--width", 96, "--height", 48], capsys)
    image = cv2.imread(str(out / "images" / "000000.png"), cv2.IMREAD_UNCHANGED)
    semantic = cv2.imread(str(out / "semantic" / "000000.png"), cv2.IMREAD_UNCHANGED)
    instance = cv2.imread(str(out / "instance" / "000000.png"), cv2.IMREAD_UNCHANGED)
    assert (image.shape, image.dtype) == ((48, 96, 3), np.uint8)
    assert (semantic.shape, semantic.dtype) == ((48, 96), np.uint8)
    assert (instance.shape, instance.dtype) == ((48, 96), np.uint16)


def test_render_files_hold_the_rendering_of_each_scene(scenes_file, tmp_path, capsys):
    out = tmp_path / "render"
    run(["render", scenes_file, "--out", out, "--width", 96, "--height", 48], capsys)
    config = RenderConfig(width=96, height=48)
    for index, scene in enumerate(read_scenes(scenes_file)):
        expected = render(scene, config)
        stem = f"{index:06d}.png"
        semantic = cv2.imread(str(out / "semantic" / stem), cv2.IMREAD_UNCHANGED)
        instance = cv2.imread(str(out / "instance" / stem), cv2.IMREAD_UNCHANGED)
        bgr = cv2.imread(str(out / "images" / stem), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(semantic, expected.semantic)
        np.testing.assert_array_equal(instance, expected.instance)
        np.testing.assert_array_equal(bgr[..., ::-1], expected.rgb)


def test_render_labels_name_the_scene_and_box_its_vehicles(scenes_file, tmp_path, capsys):
    out = tmp_path / "render"
    run(["render", scenes_file, "--out", out], capsys)
    for index, scene in enumerate(read_scenes(scenes_file)):
        labels = json.loads((out / "labels" / f"{index:06d}.json").read_text())
        assert labels["scene"] == scene.id
        assert labels["index"] == index
        assert labels["objects"]
        for obj in labels["objects"]:
            assert len(obj["box"]) == 4
            assert obj["box"][0] <= obj["box"][2]
            assert obj["box"][1] <= obj["box"][3]
            assert 0 <= obj["vehicle"] < len(scene.vehicles)


def test_render_vehicle_view_follows_the_chosen_ego(scenes_file, tmp_path, capsys):
    out = tmp_path / "render"
    options = ["--view", "vehicle", "--ego", 1, "--width", 64, "--height", 64]
    status, _, err = run(["render", scenes_file, "--out", out, *options], capsys)
    assert status == 0, err
    labels = json.loads((out / "labels" / "000000.json").read_text())
    (ego,) = [obj for obj in labels["objects"] if obj["vehicle"] == 1]
    assert ego["oriented_box"][:2] == pytest.approx([32.0, 32.0], abs=1e-3)


# ---------------------------------------------------------------------- describe
def test_describe_prints_every_descriptor_and_the_validity_rate(scenes_file, capsys):
    status, stdout, err = run(["describe", scenes_file], capsys)
    assert status == 0, err
    for name in DESCRIPTORS:
        assert name in stdout
    assert "validity rate" in stdout


def test_describe_writes_the_summary_as_json(scenes_file, tmp_path, capsys):
    summary = tmp_path / "out.json"
    status, _, err = run(["describe", scenes_file, "--json", summary], capsys)
    assert status == 0, err
    data = json.loads(summary.read_text())
    assert data["scenes"] == 4
    assert 0.0 <= data["validity_rate"] <= 1.0
    assert list(data["descriptors"]) == [*DESCRIPTORS, "criticality"]
    assert 0.0 <= data["safety"]["collision_share"] <= 1.0
    assert set(data["safety"]["measures"]) == set(MEASURES)


# ---------------------------------------------------------------------- quickstart
def test_quickstart_writes_scenes_renderings_summary_and_contact_sheet(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("SCENEGYM_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "quick"
    argv = ["quickstart", "--out", out, "--n", 12, "--reference-n", 40, "--train-steps", 64]
    status, stdout, err = run(argv, capsys)
    assert status == 0, err
    assert len(read_scenes(out / "scenes.jsonl")) == 12
    for folder in ("images", "semantic", "instance", "labels"):
        assert len(list((out / "render" / folder).iterdir())) == 12
    assert json.loads((out / "describe.json").read_text())["scenes"] == 12
    sheet = cv2.imread(str(out / "contact_sheet.png"), cv2.IMREAD_UNCHANGED)
    assert sheet is not None
    assert sheet.ndim == 3
    assert "validity rate" in stdout
    assert len(read_scenes(out / "reference.jsonl")) == 40
    held = read_scenes(out / "reference_held_out.jsonl")
    every = {scene.context["recording"] for scene in read_scenes(out / "reference.jsonl")}
    held_runs = {scene.context["recording"] for scene in held}
    assert len(held_runs) == len(every) // 2  # simulated runs, whole: half of them
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert set(metrics["generators"]) == {"generated", "random sampler", "VAE prior"}
    assert metrics["generators"]["generated"]["fsd_floor"] >= 0
    assert (out / "prior" / "weights.safetensors").is_file()
    assert "FSD" in stdout
    assert metrics["generators"]["random sampler"]["c2st_auc"] > 0.5
    assert (out / "evaluation" / "report.md").is_file()
    assert len(read_scenes(out / "generated.jsonl")) == 12
    from pycocotools.coco import COCO

    coco = COCO(str(out / "dataset" / "annotations.json"))
    assert len(coco.getImgIds()) == 12
    assert f"COCO('{out}/dataset/annotations.json')" in stdout
    assert (out / "run" / "model.zip").is_file() and (out / "run" / "realism.json").is_file()
    # The policy learns from one half of the reference and is judged against the other.
    config = json.loads((out / "run" / "config.json").read_text())
    assert config["env"] == "scenegym/DrivingLayout-edit-v6"
    assert config["env_kwargs"]["start"] == "goal"
    assert config["env_kwargs"]["space"]["placement"] == "even"
    fit = read_scenes(out / "reference_fit.jsonl")
    held_out = read_scenes(out / "reference_held_out.jsonl")
    # Starting scenes may hold as few and as many vehicles as the training half does.
    counts = [len(scene.vehicles) for scene in fit]
    assert config["env_kwargs"]["space"]["vehicles"] == [min(counts), max(40, max(counts))]
    assert config["env_kwargs"]["max_vehicles"] == max(40, max(counts))
    assert config["env_kwargs"]["start_candidates"] == 16
    assert {s.id for s in fit}.isdisjoint({s.id for s in held_out})
    assert metrics["generators"]["generated"]["reference_scenes"] == len(held)


# ---------------------------------------------------------------------- the installed script
def scenegym_script() -> str:
    beside = Path(sys.executable).parent / "scenegym"
    if beside.exists():
        return str(beside)
    found = shutil.which("scenegym")
    if found is None:
        pytest.fail("the scenegym console script is not installed")
    return found


def test_the_installed_scenegym_script_samples_scenes(tmp_path):
    out = tmp_path / "x.jsonl"
    result = subprocess.run(
        [scenegym_script(), "sample", "--n", "2", "--seed", "5", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert read_scenes(out) == list(HighwaySceneSpace().sample_many(2, seed=5))


# ---------------------------------------------------------------------- bad inputs
def test_a_missing_scenes_file_is_a_usage_error(tmp_path, capsys):
    missing = tmp_path / "missing.jsonl"
    status, _, err = run(["render", missing, "--out", tmp_path / "r"], capsys)
    assert "missing.jsonl" in assert_usage_error(status, err)


def test_describe_of_a_missing_scenes_file_is_a_usage_error(tmp_path, capsys):
    status, _, err = run(["describe", tmp_path / "missing.jsonl"], capsys)
    assert "does not exist" in assert_usage_error(status, err)


def test_a_malformed_json_line_is_a_usage_error_naming_the_line(scenes_file, tmp_path, capsys):
    lines = scenes_file.read_text().splitlines()
    lines[1] = lines[1][:40]
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines) + "\n")
    status, _, err = run(["describe", broken], capsys)
    assert "line 2" in assert_usage_error(status, err)


def test_a_scene_with_an_unknown_key_is_a_usage_error_naming_the_key(tmp_path, capsys):
    scene = next(HighwaySceneSpace().sample_many(1, seed=0))
    data = {**scene.to_dict(), "weather": "rain"}
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(data) + "\n")
    status, _, err = run(["render", path, "--out", tmp_path / "r"], capsys)
    message = assert_usage_error(status, err)
    assert "line 1" in message
    assert "'weather'" in message


def test_an_unknown_option_is_a_usage_error(tmp_path, capsys):
    status, _, err = run(["sample", "--out", tmp_path / "x.jsonl", "--bogus"], capsys)
    assert "--bogus" in assert_usage_error(status, err)


def test_an_unknown_command_is_a_usage_error(capsys):
    status, _, err = run(["paint"], capsys)
    assert "paint" in assert_usage_error(status, err)


def test_zero_scenes_is_a_usage_error(tmp_path, capsys):
    status, _, err = run(["sample", "--n", 0, "--out", tmp_path / "x.jsonl"], capsys)
    assert "--n" in assert_usage_error(status, err)


def test_a_negative_seed_is_a_usage_error(tmp_path, capsys):
    status, _, err = run(["sample", "--seed", -1, "--out", tmp_path / "x.jsonl"], capsys)
    assert "--seed" in assert_usage_error(status, err)


def test_an_out_of_range_set_is_a_usage_error_naming_the_key(tmp_path, capsys):
    argv = ["sample", "--out", tmp_path / "x.jsonl", "--set", "lanes=[0,3]"]
    status, _, err = run(argv, capsys)
    assert "lanes" in assert_usage_error(status, err)


def test_an_unknown_set_key_is_a_usage_error_naming_the_key(tmp_path, capsys):
    argv = ["sample", "--out", tmp_path / "x.jsonl", "--set", "nonsense=1"]
    status, _, err = run(argv, capsys)
    assert "'nonsense'" in assert_usage_error(status, err)


def test_a_set_range_with_min_above_max_is_a_usage_error(tmp_path, capsys):
    argv = ["sample", "--out", tmp_path / "x.jsonl", "--set", "vehicles=[30,10]"]
    status, _, err = run(argv, capsys)
    assert "vehicles" in assert_usage_error(status, err)


def test_a_set_without_equals_sign_is_a_usage_error(tmp_path, capsys):
    argv = ["sample", "--out", tmp_path / "x.jsonl", "--set", "vehicles"]
    status, _, err = run(argv, capsys)
    assert "KEY=VALUE" in assert_usage_error(status, err)


def test_a_yaml_config_with_an_unknown_key_is_a_usage_error_naming_it(tmp_path, capsys):
    config = tmp_path / "space.yaml"
    config.write_text("lanes: [2, 3]\nlane_colour: red\n")
    argv = ["sample", "--out", tmp_path / "x.jsonl", "--config", config]
    status, _, err = run(argv, capsys)
    assert "'lane_colour'" in assert_usage_error(status, err)


def test_an_invalid_yaml_config_is_a_usage_error(tmp_path, capsys):
    config = tmp_path / "space.yaml"
    config.write_text("lanes: [2, 3\nvehicles: {\n")
    argv = ["sample", "--out", tmp_path / "x.jsonl", "--config", config]
    status, _, err = run(argv, capsys)
    assert "YAML" in assert_usage_error(status, err)
    assert "(line 2, column" in err  # where the YAML breaks


def test_yaml_numbers_in_exponent_form_are_numbers(tmp_path):
    from scenegym.agents.training import TrainConfig
    from scenegym.config import load_config

    config = tmp_path / "train.yaml"
    config.write_text("learning_rate: 3e-4\ntotal_steps: 1000\n")
    assert load_config(TrainConfig, config).learning_rate == 3e-4  # PyYAML alone: '3e-4'


def test_a_set_mistake_is_blamed_on_the_set_not_the_config_file(tmp_path, capsys):
    config = tmp_path / "space.yaml"
    config.write_text("lanes: [2, 3]\n")
    for override, named in (("lanez=[2,3]", "did you mean 'lanes'"), ("lanes=[0,3]", "lanes")):
        argv = ["sample", "--out", tmp_path / "x.jsonl", "--config", config, "--set", override]
        status, _, err = run(argv, capsys)
        message = assert_usage_error(status, err)
        assert "error: --set: " in message and named in message, message
        assert "space.yaml" not in message


def test_a_folder_given_as_config_file_says_it_is_a_folder(tmp_path, capsys):
    argv = ["sample", "--out", tmp_path / "x.jsonl", "--config", tmp_path]
    status, _, err = run(argv, capsys)
    assert "is a folder" in assert_usage_error(status, err)


def test_a_missing_config_file_is_a_usage_error(tmp_path, capsys):
    argv = ["sample", "--out", tmp_path / "x.jsonl", "--config", tmp_path / "none.yaml"]
    status, _, err = run(argv, capsys)
    assert "none.yaml" in assert_usage_error(status, err)


def test_sample_out_in_a_missing_folder_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "no" / "such" / "x.jsonl"
    status, _, err = run(["sample", "--n", 2, "--out", out], capsys)
    assert "does not exist" in assert_usage_error(status, err)
    assert not out.parent.exists()


def test_describe_json_in_a_missing_folder_is_a_usage_error(scenes_file, tmp_path, capsys):
    summary = tmp_path / "no" / "out.json"
    status, _, err = run(["describe", scenes_file, "--json", summary], capsys)
    assert "does not exist" in assert_usage_error(status, err)


def test_describe_of_a_folder_says_it_is_a_folder(tmp_path, capsys):
    status, _, err = run(["describe", tmp_path], capsys)
    assert "is a folder; give the .jsonl file" in assert_usage_error(status, err)


def test_an_ego_beyond_the_vehicles_of_a_scene_is_a_usage_error(scenes_file, tmp_path, capsys):
    argv = ["render", scenes_file, "--out", tmp_path / "r", "--view", "vehicle", "--ego", 99]
    status, _, err = run(argv, capsys)
    assert "--ego" in assert_usage_error(status, err)


def test_a_bad_render_width_is_a_usage_error(scenes_file, tmp_path, capsys):
    argv = ["render", scenes_file, "--out", tmp_path / "r", "--width", 4]
    status, _, err = run(argv, capsys)
    assert "width" in assert_usage_error(status, err)


# ---------------------------------------------------------------------- nothing half-written
def test_a_failed_sample_leaves_no_output_file(tmp_path, capsys):
    out = tmp_path / "x.jsonl"
    status, _, _ = run(["sample", "--out", out, "--set", "lanes=[0,3]"], capsys)
    assert status == 2
    assert all_files(tmp_path) == []


def test_a_failed_sample_leaves_an_existing_file_unchanged(tmp_path, capsys):
    out = tmp_path / "existing.jsonl"
    out.write_text("old content\n")
    status, _, _ = run(["sample", "--out", out, "--set", "lanes=[0,3]"], capsys)
    assert status == 2
    assert out.read_text() == "old content\n"


def test_sampling_that_fails_midway_leaves_an_existing_file_unchanged(
    tmp_path, capsys, monkeypatch
):
    out = tmp_path / "existing.jsonl"
    out.write_text("old content\n")
    real_sample_many = HighwaySceneSpace.sample_many

    def sample_then_fail(self, n, seed):
        scenes = real_sample_many(self, n, seed)
        yield next(scenes)
        yield next(scenes)
        raise ValueError("sampling broke on the third scene")

    monkeypatch.setattr(HighwaySceneSpace, "sample_many", sample_then_fail)
    status, _, err = run(["sample", "--n", 5, "--out", out], capsys)
    assert "third scene" in assert_usage_error(status, err)
    assert out.read_text() == "old content\n"
    assert [p.name for p in all_files(tmp_path)] == ["existing.jsonl"]


def test_render_stopped_by_a_malformed_line_leaves_no_output(scenes_file, tmp_path, capsys):
    lines = scenes_file.read_text().splitlines()
    lines[2] = "{not json"
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines) + "\n")
    out = tmp_path / "render"
    status, _, err = run(["render", broken, "--out", out], capsys)
    assert "line 3" in assert_usage_error(status, err)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([scenes_file.name, "broken.jsonl"])


def test_render_failure_keeps_an_earlier_output_folder(scenes_file, tmp_path, capsys):
    out = tmp_path / "render"
    assert run(["render", scenes_file, "--out", out], capsys)[0] == 0
    before = sorted(p.relative_to(out) for p in all_files(out))
    broken = tmp_path / "broken.jsonl"
    broken.write_text(scenes_file.read_text().splitlines()[0] + "\n{not json\n")
    status, _, err = run(["render", broken, "--out", out, "--overwrite"], capsys)
    assert "line 2" in assert_usage_error(status, err)
    assert sorted(p.relative_to(out) for p in all_files(out)) == before


def test_render_refuses_a_non_empty_folder_without_overwrite(scenes_file, tmp_path, capsys):
    out = tmp_path / "render"
    assert run(["render", scenes_file, "--out", out], capsys)[0] == 0
    status, _, err = run(["render", scenes_file, "--out", out], capsys)
    assert "--overwrite" in assert_usage_error(status, err)


def test_render_overwrite_leaves_no_stale_files(scenes_file, tmp_path, capsys):
    out = tmp_path / "render"
    assert run(["render", scenes_file, "--out", out], capsys)[0] == 0
    one = tmp_path / "one.jsonl"
    one.write_text(scenes_file.read_text().splitlines()[0] + "\n")
    assert run(["render", one, "--out", out, "--overwrite"], capsys)[0] == 0
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["000000.json"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_binary_scenes_file_is_named_in_the_error(tmp_path, capsys):
    binary = tmp_path / "scenes.jsonl.gz"
    binary.write_bytes(b"\x1f\x8b\x08\x00\xff\xfe")
    status, _, err = run(["describe", binary], capsys)
    message = assert_usage_error(status, err)
    assert "scenes.jsonl.gz line 1" in message and "UTF-8" in message


def test_progress_bars_show_done_total_rate_and_time_left():
    import io

    from rich.console import Console
    from rich.progress import Progress

    from scenegym.cli._common import progress_columns

    now = [0.0]
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    columns = progress_columns()
    with Progress(*columns, console=console, get_time=lambda: now[0], auto_refresh=False) as bar:
        task = bar.add_task("writing dataset", total=1000)
        for _ in range(4):  # 50 items a second for 4 seconds
            now[0] += 1.0
            bar.advance(task, 50)
        bar.refresh()
    last = out.getvalue().split("\r")[-1]
    assert "writing dataset" in last
    assert "200/1000 50.0/s 0:00:16" in last  # 800 left at 50/s


def test_every_option_says_what_it_does_and_help_shows_the_defaults(capsys):
    import argparse

    from scenegym.cli import build_parser

    (commands,) = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        for action in command._actions:
            assert action.help, f"scenegym {name} {action.option_strings or action.dest}"
    status, printed, _ = run(["dataset", "--help"], capsys)
    assert status == 0
    assert "parallel workers (default: 1)" in " ".join(printed.split())
    assert "(default: all)" in printed and "(default: None)" not in printed


def test_render_draws_one_scene_large_by_its_id(tmp_path, capsys):
    scenes = list(HighwaySceneSpace().sample_many(3, 4))
    path = tmp_path / "scenes.jsonl"
    write_scenes(path, scenes)
    wanted = scenes[1].id
    argv = ["render", path, "--scene", wanted[:6], "--width", 800, "--height", 120]
    status, _, _ = run([*argv, "--out", tmp_path / "one"], capsys)
    assert status == 0
    (image,) = sorted((tmp_path / "one" / "images").glob("*.png"))
    assert cv2.imread(str(image)).shape == (120, 800, 3)
    (labels,) = sorted((tmp_path / "one" / "labels").glob("*.json"))
    assert json.loads(labels.read_text())["scene"] == wanted
    status, _, err = run(["render", path, "--scene", "zz", "--out", tmp_path / "x"], capsys)
    assert "--scene zz: no scene" in assert_usage_error(status, err)


def test_a_contact_sheet_crops_to_the_roads_and_has_a_legend():
    from scenegym.datasets.files import contact_sheet

    scenes = list(HighwaySceneSpace().sample_many(4, 2))
    sheet = contact_sheet(scenes)
    assert sheet.shape[1] == 2 * 768 and sheet.shape[0] < 2 * (200 + 18) + 26
    legend = sheet[-26:]
    car = PALETTE[SEMANTIC_CLASSES.index("car")]
    assert (legend == car).all(axis=2).sum() > 100  # the car swatch
