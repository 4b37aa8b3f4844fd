"""Trust: opening a shared run runs none of its code, no output destroys an input, and a
resume that cannot continue changes nothing."""

import base64
import hashlib
import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest

from scenegym._io import output_locks
from scenegym.agents.loading import load_model, pickled_fields
from scenegym.agents.policy import GenerationPolicy
from scenegym.agents.runs import TrainConfig
from scenegym.agents.training import latest_checkpoint, train
from scenegym.cli import main
from scenegym.config import config_from_mapping
from scenegym.scene import HighwaySceneSpace, write_scenes

TINY = {
    "env_kwargs": {"edit_budget": 8},
    "total_steps": 256,
    "n_envs": 2,
    "n_steps": 64,
    "batch_size": 64,
    "checkpoint_every": 128,
    "net_arch": [16, 16],
    "eval_every": 512,
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "tiny"
    train(TINY, folder)
    return folder


class _Payload:
    """Unpickled, it creates the file ``marker``: what a crafted model.zip could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _craft(model: Path, marker: Path, field: str) -> None:
    """Put the payload into ``field`` of ``model``'s data, as SB3 writes a pickled field."""
    with zipfile.ZipFile(model) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(members["data"])
    data[field] = {
        ":type:": "<class 'object'>",
        ":serialized:": base64.b64encode(pickle.dumps(_Payload(marker))).decode(),
    }
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(model, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def _copy(run: Path, to: Path) -> Path:
    import shutil

    shutil.copytree(run, to)
    return to


def _files(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_crafted_payload_runs_when_sb3_unpickles_it(run, tmp_path):
    # The payload is live: SB3's own load, without the fields rebuilt, runs it.
    from stable_baselines3 import PPO

    marker = tmp_path / "ran"
    model = _copy(run, tmp_path / "r") / "model.zip"
    _craft(model, marker, "observation_space")
    with pytest.raises(ValueError, match="not a Gymnasium space"):  # the payload's None
        PPO.load(model, device="cpu")
    assert marker.exists()


@pytest.mark.parametrize("field", ["observation_space", "policy_class", "lr_schedule"])
def test_loading_a_run_unpickles_none_of_its_fields(run, tmp_path, capsys, field):
    marker = tmp_path / "ran"
    shared = _copy(run, tmp_path / "shared")
    for model in [shared / "model.zip", *(shared / "checkpoints").glob("*.zip")]:
        _craft(model, marker, field)
    assert field in pickled_fields(shared / "model.zip")
    with GenerationPolicy.load(shared) as policy:
        assert len(policy.sample(2, seed=0).scenes) == 2
    out = tmp_path / "g.jsonl"
    assert main(["generate", str(shared), "--n", "2", "--out", str(out)]) == 0
    assert out.is_file()
    # --resume loads the newest checkpoint, crafted too
    (shared / "model.zip").unlink()
    train(None, shared, resume=True)
    assert not marker.exists()


def test_a_model_with_a_pickled_field_scenegym_does_not_rebuild_is_refused(run, tmp_path, capsys):
    marker = tmp_path / "ran"
    shared = _copy(run, tmp_path / "shared")
    _craft(shared / "model.zip", marker, "evil")
    with pytest.raises(ValueError, match="pickled fields scenegym does not load \\(evil\\)"):
        GenerationPolicy.load(shared)
    assert main(["generate", str(shared), "--n", "2", "--out", str(tmp_path / "g.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unpickling them could run code" in err
    assert main(["dataset", str(shared), "--n", "2", "--out", str(tmp_path / "d")]) == 2
    assert "pickled fields" in capsys.readouterr().err
    # a resume over checkpoints that all carry it stops and changes nothing
    for checkpoint in (shared / "checkpoints").glob("*.zip"):
        _craft(checkpoint, marker, "evil")
    (shared / "model.zip").unlink()
    before = _files(shared)
    with (
        pytest.warns(UserWarning, match="skipping unreadable checkpoint"),
        pytest.raises(ValueError, match="none of its 2 saved models loads"),
    ):
        train(None, shared, resume=True)
    assert _files(shared) == before
    assert not marker.exists()


def test_load_model_reads_bytes_and_names_a_damaged_file(run, tmp_path):
    config = config_from_mapping(TrainConfig, TINY)
    with GenerationPolicy.load(run) as policy:
        spaces = {"observation_space": policy.model.observation_space}
        spaces["action_space"] = policy.model.action_space
    model = load_model(config, (run / "model.zip").read_bytes(), **spaces)
    assert model.num_timesteps == 256
    broken = tmp_path / "model.zip"
    broken.write_bytes((run / "model.zip").read_bytes()[:300])
    with pytest.raises(ValueError, match=f"cannot load the model {broken}: it is not a readable"):
        load_model(config, broken, **spaces)


# ------------------------------------------------------------------ resume changes nothing
def test_a_resume_that_cannot_continue_stops_and_touches_nothing(run, tmp_path, capsys):
    edited = _copy(run, tmp_path / "edited")
    (edited / "model.zip").unlink()
    config = json.loads((edited / "config.json").read_text())
    config["net_arch"] = [32, 32]  # no checkpoint fits the edited config
    (edited / "config.json").write_text(json.dumps(config))
    before = _files(edited)
    with pytest.warns(UserWarning, match="skipping unreadable checkpoint"):
        assert main(["train", "--resume", str(edited)]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "none of its 2 saved models loads" in err
    assert _files(edited) == before

    cut = _copy(run, tmp_path / "cut")
    (cut / "model.zip").unlink()
    for checkpoint in (cut / "checkpoints").glob("*.zip"):
        checkpoint.write_bytes(checkpoint.read_bytes()[:2000])
    before = _files(cut)
    with (
        pytest.warns(UserWarning, match="skipping unreadable checkpoint"),
        pytest.raises(ValueError, match="none of its 2 saved models loads"),
    ):
        train(None, cut, resume=True)
    assert _files(cut) == before

    bare = _copy(run, tmp_path / "bare")
    (bare / "model.zip").unlink()
    for checkpoint in (bare / "checkpoints").glob("*.zip"):
        checkpoint.unlink()
    before = _files(bare)
    with pytest.raises(ValueError, match="has no checkpoint yet"):
        train(None, bare, resume=True)
    assert _files(bare) == before


def test_lengthening_a_run_whose_models_do_not_load_changes_nothing(run, tmp_path, capsys):
    damaged = _copy(run, tmp_path / "damaged")
    for model in [damaged / "model.zip", *(damaged / "checkpoints").glob("*.zip")]:
        _craft(model, tmp_path / "ran", "evil")
    before = _files(damaged)
    with pytest.warns(UserWarning, match="skipping unreadable checkpoint"):
        status = main(["train", "--resume", str(damaged), "--set", "total_steps=512"])
    assert status == 2
    assert _files(damaged) == before
    assert latest_checkpoint(damaged).name == "model_256_steps.zip"


# ------------------------------------------------------------------ outputs spare inputs
@pytest.fixture
def scenes_file(tmp_path):
    path = tmp_path / "t.jsonl"
    write_scenes(path, list(HighwaySceneSpace().sample_many(3, 0)))
    return path


def _refused(argv, capsys, *kept: Path) -> str:
    before = {path: path.read_bytes() for path in kept}
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert {path: path.read_bytes() for path in kept} == before
    return err


def test_an_output_that_is_an_input_file_is_refused(scenes_file, tmp_path, capsys):
    err = _refused(["describe", scenes_file, "--json", scenes_file], capsys, scenes_file)
    assert f"--json {scenes_file} is the input {scenes_file}" in err
    link = tmp_path / "link.jsonl"
    link.symlink_to(scenes_file)
    hard = tmp_path / "hard.jsonl"
    os.link(scenes_file, hard)
    _refused(["describe", link, "--json", scenes_file], capsys, scenes_file)
    _refused(["describe", scenes_file, "--json", hard], capsys, scenes_file)
    _refused(["render", scenes_file, "--out", tmp_path, "--overwrite"], capsys, scenes_file)
    # an output beside the input is fine
    assert main(["describe", str(scenes_file), "--json", str(tmp_path / "s.json")]) == 0


def test_import_does_not_replace_the_recording_it_reads(scenes_file, tmp_path, capsys):
    from scenegym.bridges import write_commonroad
    from scenegym.scene import read_scenes

    xml = write_commonroad(read_scenes(scenes_file)[0], tmp_path / "scene.xml")
    _refused(["import", xml, "--out", xml], capsys, xml)


def test_outputs_inside_an_input_run_or_prior_folder_are_refused(run, tmp_path, capsys):
    shared = _copy(run, tmp_path / "shared")
    err = _refused(
        ["generate", shared, "--n", 2, "--out", shared / "model.zip"], capsys, shared / "model.zip"
    )
    assert "lies inside the input" in err
    _refused(["generate", shared, "--n", 2, "--out", shared / "new.jsonl"], capsys)
    assert not (shared / "new.jsonl").exists()


def test_import_writes_beside_the_recordings_of_a_folder_but_not_over_one(tmp_path, capsys):
    from scenegym.bridges import write_commonroad

    scene = next(iter(HighwaySceneSpace().sample_many(1, 0)))
    (tmp_path / "recordings").mkdir()
    xml = write_commonroad(scene, tmp_path / "recordings" / "one.xml")
    _refused(["import", tmp_path / "recordings", "--out", xml], capsys, xml)
    assert main(["import", str(xml.parent), "--out", str(xml.parent / "s.jsonl")]) == 0


# ------------------------------------------------------------------ bad values: one clear line
def _scene_dict(tmp_path) -> dict:
    scene = next(iter(HighwaySceneSpace().sample_many(1, 0)))
    return json.loads(scene.to_json())


def _broken(data: dict, where: str, value) -> dict:
    """``data`` with the value at ``where`` ("vehicles.speed.0") replaced."""
    data = json.loads(json.dumps(data))
    *path, last = where.split(".")
    holder = data
    for key in path:
        holder = holder[int(key)] if key.isdigit() else holder[key]
    holder[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        ("vehicles.speed.0", True, "vehicles.speed must be numbers, got a boolean"),
        ("vehicles.d.1", None, "vehicles.d must be numbers, got null at index 1"),
        ("vehicles.length.0", -4.5, "vehicles.length[0] is -4.5 m, which no vehicle has"),
        ("vehicles.width.0", 0.0, "vehicles.width[0] is 0 m"),
        ("vehicles.speed.0", 1e300, "vehicles.speed[0] is 1e+300 m/s"),
        ("vehicles.s.0", 1e12, "vehicles.s[0] is 1e+12 m"),
        ("road.segment_lengths", [1e9], "a road is at most 10000 m long"),
        ("road.segment_lengths", [5.0] * 20_000, "at most 1000 segments"),
        ("road.origin", [1e300, 0.0, 0.0], "lies outside any map"),
        ("road.speed_limit", True, "road.speed_limit must be a number"),
    ],
)
def test_physically_impossible_values_are_refused_in_one_line(
    tmp_path, capsys, where, value, message
):
    data = _broken(_scene_dict(tmp_path), where, value)
    if where == "road.segment_lengths":
        data["road"]["segment_curvatures"] = [0.0] * len(value)
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(data) + "\n")
    for argv in (["describe", path], ["render", path, "--out", tmp_path / "r"]):
        assert main([str(a) for a in argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "line 1" in err and message in err, err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_deeply_nested_json_is_one_line_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"road": ' + "[" * 200_000 + "]" * 200_000 + "}\n")
    assert main(["describe", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 1: JSON nested too deeply" in err


def test_values_that_break_rules_stay_valid_input(tmp_path):
    from scenegym.scene import Scene, is_valid

    data = _broken(_scene_dict(tmp_path), "vehicles.length.0", 14.0)  # a 14 m car
    scene = Scene.from_dict(data)
    assert not is_valid(scene)


def test_seeds_and_batch_sizes_out_of_range_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:  # argparse stops on a bad argument
        main(["sample", "--n", "2", "--seed", str(10**21), "--out", str(tmp_path / "x")])
    assert stop.value.code == 2
    assert "expected a seed from 0 to 4294967295" in capsys.readouterr().err
    with pytest.raises(ValueError, match="seed must be in \\[0, 4.29497e\\+09\\]"):
        config_from_mapping(TrainConfig, {"seed": 2**40})
    with pytest.raises(ValueError, match="batch_size 512 is more than one rollout holds"):
        config_from_mapping(TrainConfig, {"batch_size": 512, "n_steps": 64, "n_envs": 2})


def test_a_recording_with_no_time_step_is_skipped_with_its_reason(tmp_path, capsys):
    from scenegym.bridges import write_commonroad

    scene = next(iter(HighwaySceneSpace().sample_many(1, 0)))
    xml = write_commonroad(scene, tmp_path / "scene.xml")
    text = xml.read_text()
    assert 'timeStepSize="0.1"' in text
    xml.write_text(text.replace('timeStepSize="0.1"', 'timeStepSize="0"'))
    argv = ["import", str(xml), "--interval", "1", "--out", str(tmp_path / "s.jsonl")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "timeStepSize is 0; it must be a positive number" in err
    assert "Traceback" not in err and not (tmp_path / "s.jsonl").exists()


def test_a_dataset_resumes_from_another_working_directory(tmp_path, monkeypatch, capsys):
    scenes = tmp_path / "data" / "scenes.jsonl"
    scenes.parent.mkdir()
    write_scenes(scenes, list(HighwaySceneSpace().sample_many(6, 0)))
    options = ["--n", "6", "--set", "shard_size=2", "--set", "width=32", "--set", "height=32"]
    monkeypatch.chdir(tmp_path / "data")
    assert main(["dataset", "scenes.jsonl", "--out", "../ds", *options]) == 0
    whole = _files(tmp_path / "ds")
    (tmp_path / "ds" / "manifest.json").unlink()
    for shard in sorted((tmp_path / "ds" / "shards").glob("0*.json"))[1:]:
        shard.unlink()  # as a kill after the first shard leaves it
    monkeypatch.chdir(tmp_path)
    assert main(["dataset", str(scenes.resolve()), "--out", "ds", *options]) == 0
    capsys.readouterr()
    resumed = _files(tmp_path / "ds")
    # the same files; the manifest names the source as this run typed it
    assert resumed.keys() == whole.keys()
    differ = sorted(name for name in whole if whole[name] != resumed[name])
    assert differ == ["manifest.json"], differ


def test_library_versions_do_not_depend_on_what_was_imported():
    import subprocess
    import sys

    code = (
        "import sys, json\n"
        "if sys.argv[1] == 'imported': import pycocotools.mask\n"
        "from scenegym._versions import versions\n"
        "print(json.dumps(versions('pycocotools')))"
    )
    found = [
        json.loads(subprocess.run([sys.executable, "-c", code, how], capture_output=True,
                                  text=True, check=True).stdout)
        for how in ("imported", "not")
    ]  # fmt: skip
    assert found[0] == found[1]
    assert found[0]["pycocotools"] != "unknown"


def test_ctrl_c_with_worker_processes_prints_one_line(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    scenes = tmp_path / "many.jsonl"
    write_scenes(scenes, list(HighwaySceneSpace().sample_many(2000, 0)))
    out = tmp_path / "ds"
    command = [
        sys.executable, "-m", "scenegym", "dataset", str(scenes), "--n", "2000",
        "--workers", "2", "--out", str(out), "--set", "shard_size=4",
        "--set", "width=512", "--set", "height=512",
    ]  # fmt: skip
    # Ctrl-C in a terminal reaches the whole process group: the command and its workers.
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "shards").glob("0*.json"))) < 4:
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGINT)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    assert err == "scenegym: interrupted; files already written are complete\n"


# ------------------------------------------------------------------ one writer per output
def test_a_second_writer_of_an_output_is_refused_and_a_killed_ones_lock_is_not(tmp_path, capsys):
    import signal
    import subprocess
    import sys
    import time

    reference = tmp_path / "ref.jsonl"
    write_scenes(reference, list(HighwaySceneSpace().sample_many(40, 0)))
    out = tmp_path / "prior"
    command = [
        sys.executable, "-m", "scenegym", "fit-prior", "--reference", str(reference),
        "--out", str(out), "--set", "epochs=100000", "--set", "checkpoint_every=1",
    ]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lock = tmp_path / ".prior.lock"
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "checkpoint.json").exists():
        time.sleep(0.05)
    assert lock.read_text() == f"pid {child.pid}"
    second = ["fit-prior", "--reference", str(reference), "--out", str(out), "--set", "seed=1"]
    assert main(second) == 2
    err = capsys.readouterr().err
    assert f"{out} is being written by another scenegym process (pid {child.pid})" in err
    assert main(["fit-prior", "--resume", str(out)]) == 2
    assert "being written by another" in capsys.readouterr().err
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert lock.exists()  # left by the killed process, and not held
    with output_locks([out]):  # the killed process's lock does not block
        assert lock.read_text() == f"pid {os.getpid()}"
    assert not lock.exists()


def test_training_runs_torch_with_the_configured_threads_and_restores_the_callers(tmp_path):
    import torch

    from scenegym.agents.callbacks import RewardTermsCallback

    seen = []
    original = RewardTermsCallback._on_step

    def spy(self):
        seen.append(torch.get_num_threads())
        return original(self)

    before = torch.get_num_threads()
    torch.set_num_threads(2)  # the caller's count, which training must not keep
    RewardTermsCallback._on_step = spy
    try:
        train({**TINY, "total_steps": 64, "torch_threads": 1}, tmp_path / "one")
        assert torch.get_num_threads() == 2
    finally:
        RewardTermsCallback._on_step = original
        torch.set_num_threads(before)
    assert seen and set(seen) == {1}
    assert config_from_mapping(TrainConfig, {}).torch_threads == 1


def test_a_bit_flipped_file_in_a_finished_shard_is_written_again(tmp_path, capsys):
    scenes = tmp_path / "s.jsonl"
    write_scenes(scenes, list(HighwaySceneSpace().sample_many(4, 0)))
    out = tmp_path / "ds"
    argv = ["dataset", str(scenes), "--n", "4", "--out", str(out), "--set", "shard_size=2"]
    assert main([*argv, "--set", "width=32", "--set", "height=32"]) == 0
    whole = _files(out)
    image = sorted((out / "images").rglob("*.png"))[0]
    data = bytearray(image.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, the size unchanged
    image.write_bytes(bytes(data))
    assert main([*argv, "--set", "width=32", "--set", "height=32"]) == 0
    capsys.readouterr()
    assert _files(out) == whole


def test_prior_weights_changed_since_they_were_written_are_refused(tmp_path):
    from scenegym.generators.prior import ScenePrior, fit_prior

    reference = list(HighwaySceneSpace().sample_many(20, 0))
    prior = fit_prior(reference, tmp_path / "p", {"epochs": 1, "batch_size": 8})
    assert json.loads((tmp_path / "p" / "prior.json").read_text())["weights_sha256"]
    ScenePrior.load(tmp_path / "p")
    weights = tmp_path / "p" / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x01  # a bit of a weight: safetensors itself would load it
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="its SHA-256 differs from the recorded one"):
        ScenePrior.load(tmp_path / "p")
    # saved again, it records its own hash (not the one it was loaded with)
    prior.save(tmp_path / "q")
    assert ScenePrior.load(tmp_path / "q").config == prior.config


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (r"<leftBound>.*?</leftBound>", "Expected is ( leftBound )"),
        (r"<initialState>.*?</initialState>", "Expected is ( initialState )"),
        (r' benchmarkID="[^"]*"', "The attribute 'benchmarkID' is required but missing"),
        (r' commonRoadVersion="[^"]*"', "Supported versions"),
    ],
)
def test_a_recording_the_reader_rejects_is_skipped_with_what_is_wrong(
    scenes_file, tmp_path, capsys, pattern, message
):
    import re

    from scenegym.bridges import write_commonroad
    from scenegym.scene import read_scenes

    xml = write_commonroad(read_scenes(scenes_file)[0], tmp_path / "scene.xml")
    xml.write_text(re.sub(pattern, "", xml.read_text(), count=1, flags=re.S))
    assert main(["import", str(xml), "--out", str(tmp_path / "s.jsonl")]) == 2
    err = capsys.readouterr().err
    assert message in err and "NoneType" not in err and "<CommonRoadFileReader" not in err, err


def test_a_prior_fit_runs_torch_with_the_configured_threads_and_restores_the_callers(tmp_path):
    import torch

    from scenegym.generators.prior import PriorConfig, fit_prior

    seen = []
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # the caller's count, which the fit must not keep
    try:
        reference = list(HighwaySceneSpace().sample_many(20, 0))
        config = {"epochs": 2, "batch_size": 8, "torch_threads": 1}
        fit_prior(reference, tmp_path / "p", config, on_epoch=lambda *_: seen.append(
            torch.get_num_threads()))  # fmt: skip
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 1]
    assert PriorConfig().torch_threads == 1


def test_source_date_epoch_fixes_the_date_inside_exported_files(scenes_file, tmp_path, monkeypatch):
    from scenegym.bridges import write_commonroad
    from scenegym.scene import read_scenes

    scene = read_scenes(scenes_file)[0]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14
    first = write_commonroad(scene, tmp_path / "a.xml").read_bytes()
    assert b'date="2023-11-14"' in first
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000001")
    assert write_commonroad(scene, tmp_path / "b.xml").read_bytes() == first
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH must be whole seconds"):
        write_commonroad(scene, tmp_path / "c.xml")


def test_python_callers_take_the_output_lock_too(tmp_path):
    import subprocess
    import sys

    from scenegym.agents import train
    from scenegym.datasets import write_dataset

    out = tmp_path / "data"
    holder = (
        "import sys, time\n"
        "from scenegym._io import output_locks\n"
        "with output_locks([sys.argv[1]]):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", holder, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "held"
        scenes = tmp_path / "scenes.jsonl"
        write_scenes(scenes, list(HighwaySceneSpace().sample_many(4, 0)))
        with pytest.raises(
            ValueError, match=f"being written by another scenegym process \\(pid {child.pid}\\)"
        ):
            write_dataset(scenes, out, 4)
        with pytest.raises(ValueError, match="being written by another"):
            train({"total_steps": 64}, out)
        assert not out.exists()  # nothing written
    finally:
        child.kill()
        child.wait()
    with output_locks([out]), output_locks([out]):  # held by this process: no second lock
        assert (tmp_path / ".data.lock").read_text() == f"pid {os.getpid()}"
