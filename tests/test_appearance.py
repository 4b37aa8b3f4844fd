"""Appearance models: trained on pairs the project makes (its own semantic maps, painted in a
palette of the test's), they learn the mapping; resume, bad pairs, bad model files, and
datasets painted by a model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from scenegym.cli import main
from scenegym.datasets.dataset import DatasetConfig, ScenesFile, write_dataset
from scenegym.datasets.render import PALETTE
from scenegym.generators.appearance import (
    AppearanceConfig,
    AppearanceModel,
    fit_appearance,
    read_pairs,
)
from scenegym.scene import HighwaySceneSpace, write_scenes

# Not the renderer's palette: a model that copied PALETTE would fail the tests.
TARGET = np.array(
    [[20, 20, 110], [200, 170, 90], [10, 10, 10], [240, 60, 200], [60, 230, 90], [255, 255, 0],
     [0, 200, 255]],
    dtype=np.uint8,
)  # fmt: skip
SMALL = {"depth": 3, "crop": 32, "width": 8, "checkpoint_every": 2, "held_out": 0.2}
SIZE = {"width": 64, "height": 64, "resolution": 0.3}


@pytest.fixture(scope="module")
def scenes_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("scenes") / "scenes.jsonl"
    write_scenes(path, list(HighwaySceneSpace().sample_many(40, 11)))
    return path


@pytest.fixture(scope="module")
def pairs(scenes_file, tmp_path_factory):
    """A pairs folder: the vehicle views of 40 scenes as scenegym writes them, their pictures
    repainted in ``TARGET``'s colours."""
    out = tmp_path_factory.mktemp("pairs") / "pairs"
    config = DatasetConfig(views=("vehicle",), formats=("coco",), **SIZE)
    write_dataset(ScenesFile(scenes_file), out, 40, 0, config)
    for path in sorted((out / "semantic").glob("*.png")):
        semantic = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        picture = cv2.cvtColor(TARGET[semantic], cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(out / "images" / path.name), picture)
    return out


@pytest.fixture(scope="module")
def model(pairs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("model") / "model"
    fit_appearance(pairs, folder, {**SMALL, "epochs": 60})
    return folder


def test_the_model_learns_the_pairs_mapping_and_its_loss_falls(pairs, model):
    fitted = AppearanceModel.load(model)
    history = fitted.info["history"]
    assert len(history) == 60
    first, last = history[0], history[-1]
    assert last["held_out_error"] < 0.3 * first["held_out_error"]
    assert last["train_l1"] < 0.3 * first["train_l1"]
    assert last["held_out_error"] < 10.0  # of 255, per channel
    # On the held-out maps nearly every pixel is nearest to its class's TARGET colour.
    data = read_pairs(pairs)
    held = [data.names.index(name) for name in fitted.info["held_out_pairs"]]
    assert held
    painted = fitted.translate([data.semantic[i] for i in held])
    hits = total = 0
    for i, picture in zip(held, painted):
        distance = np.abs(picture[:, :, None, :].astype(int) - TARGET[None, None]).sum(axis=-1)
        hits += int((distance.argmin(axis=-1) == data.semantic[i]).sum())
        total += data.semantic[i].size
    assert hits / total > 0.97
    # The renderer's own colours were not what it learned.
    assert np.abs(painted[0].astype(int) - PALETTE[data.semantic[held[0]]]).mean() > 40
    for name in ("weights.safetensors", "appearance.json", "training.png", "samples.png"):
        assert (model / name).is_file()


def test_translate_keeps_any_size_and_is_the_same_in_any_batch(model):
    fitted = AppearanceModel.load(model)
    rng = np.random.default_rng(0)
    maps = [rng.integers(0, 7, (37, 51)).astype(np.uint8), np.ones((16, 80), np.uint8)]
    out = fitted.translate([*maps, maps[0]], batch=1)
    assert [o.shape for o in out] == [(37, 51, 3), (16, 80, 3), (37, 51, 3)]
    assert np.array_equal(out[0], out[2])
    assert np.array_equal(fitted.translate(maps[:1] * 3, batch=3)[1], out[0])
    with pytest.raises(ValueError, match="ids outside 0-6"):
        fitted.translate([np.full((8, 8), 9, np.uint8)])


def test_a_resumed_fit_ends_with_the_weights_of_an_uninterrupted_one(pairs, tmp_path):
    config = {**SMALL, "epochs": 4}
    fit_appearance(pairs, tmp_path / "whole", config)

    def stop(epoch, row):
        if epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit_appearance(pairs, tmp_path / "cut", config, on_epoch=stop)
    assert json.loads((tmp_path / "cut" / "checkpoint.json").read_text())["epoch"] == 2
    fit_appearance(pairs, tmp_path / "cut", resume=True)
    a = (tmp_path / "whole" / "weights.safetensors").read_bytes()
    assert a == (tmp_path / "cut" / "weights.safetensors").read_bytes()
    with pytest.raises(ValueError, match="already holds an appearance model"):
        fit_appearance(pairs, tmp_path / "whole", config)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_fit_runs_on_its_torch_threads_and_gives_the_caller_its_own_back(
    threads, pairs, tmp_path
):
    import torch

    before, seen = torch.get_num_threads(), []
    config = {**SMALL, "epochs": 1, "torch_threads": threads}
    fit_appearance(
        pairs, tmp_path / "m", config, on_epoch=lambda *_: seen.append(torch.get_num_threads())
    )
    assert seen == [threads] and torch.get_num_threads() == before


def _copy_pairs(pairs: Path, out: Path, count: int = 4) -> Path:
    for sub in ("semantic", "images"):
        (out / sub).mkdir(parents=True)
        for path in sorted((pairs / sub).glob("*.png"))[:count]:
            shutil.copy(path, out / sub / path.name)
    return out


def test_bad_pairs_are_named_in_one_clear_error(pairs, tmp_path):
    bad = _copy_pairs(pairs, tmp_path / "a")
    name = sorted((bad / "semantic").glob("*.png"))[0].name
    shutil.rmtree(bad / "images")
    with pytest.raises(ValueError, match="has no images/ folder"):
        read_pairs(bad)
    bad = _copy_pairs(pairs, tmp_path / "b")
    cv2.imwrite(str(bad / "semantic" / name), np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(ValueError, match=f"{name} has 3 channels; a semantic map is one channel"):
        read_pairs(bad)
    cv2.imwrite(str(bad / "semantic" / name), np.full((64, 64), 12, np.uint8))
    with pytest.raises(ValueError, match=f"{name} holds class id 12"):
        read_pairs(bad)
    cv2.imwrite(str(bad / "semantic" / name), np.zeros((32, 64), np.uint8))
    with pytest.raises(ValueError, match="is 64x64 px but its semantic map .* is 64x32"):
        read_pairs(bad)
    (bad / "semantic" / name).write_bytes(b"not a png")
    with pytest.raises(ValueError, match=f"{name} is not a readable image"):
        read_pairs(bad)
    empty = tmp_path / "c"
    (empty / "semantic").mkdir(parents=True)
    (empty / "images").mkdir()
    with pytest.raises(ValueError, match="holds no pair"):
        read_pairs(empty)
    with pytest.raises(ValueError, match="pairs folder .*nowhere does not exist"):
        read_pairs(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="smaller than the training window crop=128"):
        fit_appearance(_copy_pairs(pairs, tmp_path / "d"), tmp_path / "m", {"depth": 3})
    with pytest.raises(ValueError, match="crop must be a multiple of 2 \\*\\* \\(depth \\+ 1\\)"):
        AppearanceConfig(crop=40, depth=3)


def test_damaged_model_files_give_one_clear_error(model, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(model, broken)
    (broken / "weights.safetensors").write_bytes(b"\0" * 10)
    with pytest.raises(ValueError, match="weights.safetensors is not a readable safetensors"):
        AppearanceModel.load(broken)
    shutil.copy(model / "weights.safetensors", broken / "weights.safetensors")
    meta = json.loads((model / "appearance.json").read_text())
    (broken / "appearance.json").write_text(json.dumps({**meta, "config": {"width": 9}}))
    with pytest.raises(ValueError, match="does not fit the network of its appearance.json config"):
        AppearanceModel.load(broken)
    (broken / "appearance.json").write_text(json.dumps({**meta, "classes": ["road"]}))
    with pytest.raises(ValueError, match="trained on the classes"):
        AppearanceModel.load(broken)
    (broken / "appearance.json").write_text("{")
    with pytest.raises(ValueError, match="appearance.json is not valid JSON"):
        AppearanceModel.load(broken)
    with pytest.raises(ValueError, match="is not a folder"):
        AppearanceModel.load(tmp_path / "nothing")
    (broken / "appearance.json").unlink()
    with pytest.raises(ValueError, match="is not an appearance model \\(it has no appearance.json"):
        AppearanceModel.load(broken)


def test_a_dataset_painted_by_the_model_keeps_its_labels(scenes_file, model, tmp_path, capsys):
    import torch

    args = ["dataset", str(scenes_file), "--n", "12", "--format", "coco"]
    args += ["--set", "views=[vehicle]", "--set", "shard_size=5"]
    args += [f"--set={key}={value}" for key, value in SIZE.items()]
    assert main([*args, "--out", str(tmp_path / "flat")]) == 0
    painted = [*args, "--appearance", str(model)]
    # The serial run starts from many torch threads (as on a many-core machine) and must still
    # paint the bytes of the workers, which run one thread each.
    threads = torch.get_num_threads()
    torch.set_num_threads(8)
    try:
        assert main([*painted, "--out", str(tmp_path / "one")]) == 0
        assert torch.get_num_threads() == 8
    finally:
        torch.set_num_threads(threads)
    assert main([*painted, "--out", str(tmp_path / "two"), "--workers", "2"]) == 0
    capsys.readouterr()
    flat, one, two = (tmp_path / name for name in ("flat", "one", "two"))
    assert (one / "SHA256SUMS").read_text() == (two / "SHA256SUMS").read_text()
    # Same masks and labels as the renderer's pictures; the picture is the model's colours.
    flat_coco = json.loads((flat / "annotations.json").read_text())
    one_coco = json.loads((one / "annotations.json").read_text())
    assert flat_coco["annotations"] == one_coco["annotations"]
    manifest = json.loads((one / "manifest.json").read_text())
    assert manifest["appearance"]["path"] == str(model)
    for image in one_coco["images"]:
        stem = Path(image["file_name"]).name
        semantic = cv2.imread(str(one / "semantic" / stem), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(semantic, cv2.imread(str(flat / "semantic" / stem), -1))
        picture = cv2.cvtColor(cv2.imread(str(one / "images" / stem)), cv2.COLOR_BGR2RGB)
        assert np.abs(picture.astype(int) - TARGET[semantic]).mean() < 12
    # Photometric augmentation changes the painted picture, not the labels.
    bright = [*painted, "--set", "augment.brightness=60", "--out", str(tmp_path / "bright")]
    assert main(bright) == 0
    stem = Path(one_coco["images"][0]["file_name"]).name
    a = cv2.imread(str(one / "images" / stem))
    b = cv2.imread(str(tmp_path / "bright" / "images" / stem))
    assert np.abs(a.astype(int) - b).mean() > 3
    bright_coco = json.loads((tmp_path / "bright" / "annotations.json").read_text())
    assert bright_coco["annotations"] == one_coco["annotations"]
    # A folder started with another model (or none) is refused.
    assert main([*args, "--out", str(one)]) == 2
    assert "holds a different dataset" in capsys.readouterr().err


def test_cli_fit_appearance_writes_and_resumes(pairs, tmp_path, capsys):
    out = tmp_path / "m"
    sets = [f"--set={k}={v}" for k, v in {**SMALL, "epochs": 2}.items()]
    assert main(["fit-appearance", str(pairs), "--out", str(out), *sets]) == 0
    text = capsys.readouterr().out
    assert "40 pairs in" in text and "held-out error" in text and "--appearance" in text
    assert main(["fit-appearance", "--resume", str(out)]) == 0
    assert main(["fit-appearance", str(pairs), "--out", str(out)]) == 2
    assert "already holds an appearance model" in capsys.readouterr().err
    assert main(["fit-appearance", "--resume", str(tmp_path / "none")]) == 2
    assert "no checkpoint.json" in capsys.readouterr().err
    assert main(["fit-appearance", "--out", str(tmp_path / "x")]) == 2
    assert "give the pairs folder" in capsys.readouterr().err
