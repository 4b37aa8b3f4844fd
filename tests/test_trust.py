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
