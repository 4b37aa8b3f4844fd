"""Datasets: COCO / YOLO / Parquet read back with the libraries users load them with, exact
boxes after augmentation, determinism across worker counts, kill-and-resume, bad input."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from scenegym.agents import PolicySource
from scenegym.cli import main
from scenegym.datasets.augment import AugmentConfig, augment, mask_boxes
from scenegym.datasets.dataset import DatasetConfig, PriorSource, ScenesFile, write_dataset
from scenegym.datasets.render import RenderConfig, render_many
from scenegym.scene import HighwaySceneSpace, Scene, read_scenes, write_scenes

AUGMENT = AugmentConfig(
    rotate=30, scale=(0.8, 1.3), crop=0.3, mirror=True, noise=6, brightness=20, contrast=0.3,
    rain=0.5, fog=0.5,
)  # fmt: skip


@pytest.fixture(scope="module")
def scenes_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("scenes") / "scenes.jsonl"
    write_scenes(path, list(HighwaySceneSpace().sample_many(40, 3)))
    return path


def _tight(mask: np.ndarray) -> list[float]:
    rows, cols = np.nonzero(mask)
    return [cols.min(), rows.min(), cols.max() + 1 - cols.min(), rows.max() + 1 - rows.min()]


@pytest.fixture(scope="module")
def augmented(scenes_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "aug"
    config = DatasetConfig(
        width=128, height=96, views=("road", "vehicle"), shard_size=16, augment=AUGMENT
    )
    manifest = write_dataset(ScenesFile(scenes_file), out, 40, 5, config)
    return out, manifest


def test_coco_loads_in_pycocotools_with_boxes_tight_around_masks(augmented):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    out, manifest = augmented
    coco = COCO(str(out / "annotations.json"))
    assert len(coco.getImgIds()) == manifest["counts"]["images"] == 80
    assert len(coco.getAnnIds()) == manifest["counts"]["labels"] > 200
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == [
        "car", "truck", "motorcycle", "bus",
    ]  # fmt: skip
    for image in coco.loadImgs(coco.getImgIds()):
        instance = cv2.imread(str(out / image["file_name"].replace("images/", "instance/")), -1)
        for annotation in coco.loadAnns(coco.getAnnIds(imgIds=image["id"])):
            mask = coco.annToMask(annotation)
            assert np.array_equal(mask, instance == annotation["vehicle"] + 1)
            assert annotation["bbox"] == _tight(mask)
            assert annotation["area"] == mask.sum()
    # The labels as detections score a perfect AP with the COCO evaluator.
    detections = [{**a, "score": 1.0} for a in coco.loadAnns(coco.getAnnIds())]
    evaluation = COCOeval(coco, coco.loadRes(detections), "segm")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_polygon_masks_fill_back_exactly_the_instance_masks(scenes_file, tmp_path):
    from pycocotools.coco import COCO

    for view in ("road", "vehicle"):
        config = DatasetConfig(width=256, height=128, views=(view,), masks="polygon")
        write_dataset(ScenesFile(scenes_file), tmp_path / view, 12, 0, config)
        coco = COCO(str(tmp_path / view / "annotations.json"))
        checked = 0
        for image in coco.dataset["images"]:
            instance = cv2.imread(str(tmp_path / view / "instance" / Path(image["file_name"]).name),
                                  cv2.IMREAD_UNCHANGED)  # fmt: skip
            for annotation in coco.imgToAnns[image["id"]]:
                mask = coco.annToMask(annotation).astype(bool)
                np.testing.assert_array_equal(mask, instance == annotation["vehicle"] + 1)
                assert mask.sum() == annotation["area"]
                checked += 1
        assert checked > 12


def test_coco_mask_text_escapes_the_backslash_of_rle_counts():
    # RLE counts are characters 48-111, which include the backslash; the annotation text is
    # formatted by hand, so it must escape it as JSON does.
    from pycocotools import mask as coco_mask

    from scenegym.datasets.augment import vehicle_pixels
    from scenegym.datasets.dataset import _coco_masks, _mask_stack

    instance = np.zeros((64, 64), dtype=np.uint16)
    instance[1:4, 22:27] = 1
    rows, cols, owners = vehicle_pixels(instance)
    (text,) = _coco_masks(_mask_stack(instance.shape, rows, cols, owners, np.ones(1, bool)), "rle")
    segmentation = json.loads(text)
    assert "\\" in segmentation["counts"]
    assert np.array_equal(coco_mask.decode(segmentation), instance == 1)


def test_yolo_labels_are_the_coco_boxes_normalised(augmented):
    from pycocotools.coco import COCO

    out, _ = augmented
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == {0: "car", 1: "truck", 2: "motorcycle", 3: "bus"}
    train = (out / data["train"]).read_text().split()
    val = (out / data["val"]).read_text().split()
    assert len(train) + len(val) == 80 and len(val) == 8  # 4 of 40 scenes, two views each
    coco = COCO(str(out / "annotations.json"))
    for image in coco.loadImgs(coco.getImgIds()):
        assert f"./{image['file_name']}" in train + val
        label = out / image["file_name"].replace("images/", "labels/").replace(".png", ".txt")
        rows = np.loadtxt(label, ndmin=2)
        boxes = [a["bbox"] for a in coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))]
        assert len(rows) == len(boxes)
        for row, (x, y, w, h) in zip(rows, boxes):
            W, H = image["width"], image["height"]
            assert row[1:] == pytest.approx(
                [(x + w / 2) / W, (y + h / 2) / H, w / W, h / H], abs=1e-6
            )


def test_parquet_holds_every_scene_its_descriptors_and_files(augmented, scenes_file):
    import pyarrow.parquet as pq

    out, _ = augmented
    table = pq.read_table(out / "scenes").to_pandas().sort_values("index")
    assert table["index"].tolist() == list(range(40))
    originals = read_scenes(scenes_file)
    assert table["scene"].map(json.loads).tolist() == [s.to_dict() for s in originals]
    assert {"vehicle_count", "density", "mean_speed", "valid", "image_road"} <= set(table)
    assert all((out / path).is_file() for path in table["image_road"])
    assert (table["vehicle_count"] == [len(s.vehicles) for s in originals]).all()


def test_parquet_parts_read_as_one_table_when_a_shard_has_no_picture_of_a_view(tmp_path):
    # A scene without vehicles has no vehicle view, so a one-scene shard of it has only nulls
    # in image_vehicle; its part must still have the string column of the other parts.
    scenes = list(HighwaySceneSpace().sample_many(2, 0))
    empty = scenes[0].to_dict()
    empty["vehicles"] = {k: [] if isinstance(v, list) else v for k, v in empty["vehicles"].items()}
    path = tmp_path / "scenes.jsonl"
    write_scenes(path, [Scene.from_dict(empty), scenes[1]])
    config = DatasetConfig(width=64, height=32, views=("road", "vehicle"), shard_size=1)
    write_dataset(ScenesFile(path), tmp_path / "out", 2, 0, config)
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "out" / "scenes").sort_by("index")
    assert table.schema.field("image_vehicle").type == pa.string()
    assert table.column("image_vehicle").to_pylist() == [None, "images/0000001-vehicle.png"]
    assert table.column("vehicles").to_pylist() == [0, len(scenes[1].vehicles)]
    assert table.column("valid").to_pylist()[0] is True
    assert table.column("scene_id").to_pylist() == [
        Scene.from_dict(empty).id,
        scenes[1].id,
    ]


def test_writing_a_dataset_does_not_import_pandas(scenes_file, tmp_path):
    # pyarrow's pa.array imports pandas, 0.27 s in every worker that only writes Parquet.
    code = (
        "import sys; from scenegym.datasets.dataset import DatasetConfig, ScenesFile, "
        f"write_dataset; write_dataset(ScenesFile({str(scenes_file)!r}), {str(tmp_path / 'o')!r}"
        ", 4, 0, DatasetConfig(width=32, height=32)); print('pandas' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_every_augmentation_keeps_boxes_the_tight_boxes_of_the_masks(scenes_file):
    scenes = read_scenes(scenes_file)[:10]
    renderings = render_many(scenes, RenderConfig(width=96, height=64))
    one_at_a_time = [
        AugmentConfig(rotate=45),
        AugmentConfig(scale=(0.5, 2.0)),
        AugmentConfig(crop=0.5),
        AugmentConfig(mirror=True),
        AugmentConfig(noise=20, brightness=40, contrast=0.5, rain=1.0, fog=1.0),
        AUGMENT,
    ]
    for config in one_at_a_time:
        for i, rendering in enumerate(renderings):
            changed = augment(rendering, config, np.random.default_rng(i))
            assert changed.rgb.shape == rendering.rgb.shape
            for vehicle in np.flatnonzero(changed.visible if config.geometric else []):
                mask = changed.instance == vehicle + 1
                x, y, w, h = _tight(mask)
                assert changed.boxes[vehicle].tolist() == [x, y, x + w, y + h]
            # Vehicle pixels keep their kind in the semantic map.
            drawn = changed.instance > 0
            kinds = changed.kinds[changed.instance[drawn].astype(int) - 1]
            assert np.array_equal(changed.semantic[drawn], kinds + 3)
            if not config.geometric:
                assert np.array_equal(changed.instance, rendering.instance)
                assert not np.array_equal(changed.rgb, rendering.rgb)
    boxes, visible = mask_boxes(np.zeros((4, 4), np.uint16), 2)
    assert not visible.any() and not boxes.any()


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "job.json"
    }


def test_augmented_masks_stay_centred_on_the_oriented_boxes_and_the_mirror_keeps_ego_up(
    scenes_file,
):
    one = read_scenes(scenes_file)[4].to_dict()
    one["vehicles"] = {k: v[:1] if isinstance(v, list) else v for k, v in one["vehicles"].items()}
    config = RenderConfig(width=64, height=64, view="vehicle", resolution=0.1)
    rendering = render_many([Scene.from_dict(one)], config)[0]
    assert rendering.oriented_boxes[0, 4] == pytest.approx(-np.pi / 2)  # ego points up
    gaps, angles = [], []
    for seed in range(40):
        config = AugmentConfig(rotate=30, scale=(0.8, 1.3), mirror=True)
        changed = augment(rendering, config, np.random.default_rng(seed), "vehicle")
        rows, cols = np.nonzero(changed.instance == 1)
        centre = changed.oriented_boxes[0, :2]
        gaps.append(np.hypot(cols.mean() + 0.5 - centre[0], rows.mean() + 0.5 - centre[1]))
        mirrored = augment(
            rendering, AugmentConfig(mirror=True), np.random.default_rng(seed), "vehicle"
        )
        angles.append(mirrored.oriented_boxes[0, 4])
        assert (mirrored.instance == 1).sum() == (rendering.instance == 1).sum()
    # The pictures move with the labels: pixel centres, not edges, go through OpenCV's map.
    assert np.mean(gaps) < 0.2 and np.max(gaps) < 0.5
    # Mirrored across the road's axis, which is vertical in the vehicle view: still up.
    np.testing.assert_allclose(angles, -np.pi / 2, atol=1e-9)


def test_the_same_seed_gives_byte_identical_files_whatever_the_worker_count(scenes_file, tmp_path):
    config = DatasetConfig(width=64, height=48, shard_size=7, augment=AugmentConfig(rotate=10))
    write_dataset(ScenesFile(scenes_file), tmp_path / "one", 40, 1, config, workers=1)
    write_dataset(ScenesFile(scenes_file), tmp_path / "two", 40, 1, config, workers=2)
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert len(one) > 40 * 4 and one == two
    other = write_dataset(ScenesFile(scenes_file), tmp_path / "seed2", 40, 2, config)
    assert other["sha256sums"] != json.loads(one["manifest.json"])["sha256sums"]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_killed_run_resumes_to_the_same_files(scenes_file, tmp_path, workers):
    command = [
        sys.executable, "-m", "scenegym", "dataset", str(scenes_file), "--n", "40",
        "--set", "shard_size=1", "--set", "width=128", "--set", "height=96",
        "--workers", str(workers),
    ]  # fmt: skip
    subprocess.run([*command, "--out", str(tmp_path / "whole")], check=True, capture_output=True)
    out = tmp_path / "killed"
    process = subprocess.Popen([*command, "--out", str(out)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    # Workers finish shards in any order: wait for any 4 of them.
    while len(list(out.glob("shards/0*.json"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "manifest.json").exists()
    done = len(list((out / "shards").glob("0*.json")))
    # One scene a shard, so that the kill lands while most shards are still to write even
    # when two workers write quickly.
    assert 4 <= done < 40
    subprocess.run([*command, "--out", str(out)], check=True, capture_output=True)
    assert _files(out) == _files(tmp_path / "whole")
    assert not list(out.rglob("*.tmp"))


def test_a_corrupt_scenes_file_fails_clearly_and_keeps_finished_shards(scenes_file, tmp_path):
    lines = scenes_file.read_text().splitlines()
    lines[20] = '{"road": "not a road"}'
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    config = DatasetConfig(width=64, height=48, shard_size=8)
    with pytest.raises(ValueError, match=r"bad\.jsonl, line 21: not a scene"):
        write_dataset(ScenesFile(bad), out, 40, 0, config)
    kept = {p.name: p.read_bytes() for p in (out / "shards").glob("0*.json")}
    assert sorted(kept) == ["00000.json", "00001.json"]
    with pytest.raises(ValueError, match=r"line 21"):
        write_dataset(ScenesFile(bad), out, 40, 0, config)
    assert {p.name: p.read_bytes() for p in (out / "shards").glob("0*.json")} == kept
    # A different job in that folder is refused, and nothing is touched.
    with pytest.raises(ValueError, match="holds a different dataset"):
        write_dataset(ScenesFile(scenes_file), out, 40, 0, config)
    assert {p.name: p.read_bytes() for p in (out / "shards").glob("0*.json")} == kept
    with pytest.raises(ValueError, match="holds 40 scenes; --n 41"):
        write_dataset(ScenesFile(scenes_file), tmp_path / "new", 41, 0, config)
    with pytest.raises(ValueError, match="does not exist"):
        write_dataset(ScenesFile(scenes_file), tmp_path / "no" / "such" / "folder", 4, 0, config)


def test_scene_lines_end_at_newlines_only_and_bad_bytes_name_their_line(scenes_file, tmp_path):
    # JSON may hold U+2028 raw in a string (json.dumps(ensure_ascii=False) writes it so):
    # the line is still one scene, as read_scenes reads it.
    lines = scenes_file.read_text().splitlines()[:4]
    with_context = json.loads(lines[1])
    with_context["context"] = {"note": "a\u2028b\u0085c"}
    lines[1] = json.dumps(with_context, ensure_ascii=False)
    odd = tmp_path / "odd.jsonl"
    odd.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(read_scenes(odd)) == 4
    config = DatasetConfig(width=32, height=32, formats=("parquet",))
    write_dataset(ScenesFile(odd), tmp_path / "out", 4, 0, config)
    import pyarrow.parquet as pq

    texts = pq.read_table(tmp_path / "out" / "scenes").sort_by("index").column("scene")
    assert json.loads(texts[1].as_py())["context"] == with_context["context"]
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(odd.read_bytes().replace(b'"road"', b'"\xffroad"', 3)[:])
    with pytest.raises(ValueError, match=r"broken\.jsonl, line 1: not a scene"):
        write_dataset(ScenesFile(broken), tmp_path / "out2", 4, 0, config)


def test_the_order_formats_are_given_in_does_not_make_another_dataset(scenes_file, tmp_path):
    argv = ["dataset", str(scenes_file), "--n", "3", "--out", str(tmp_path / "d"),
            "--set", "width=32", "--set", "height=32"]  # fmt: skip
    assert main([*argv, "--format", "coco", "yolo"]) == 0
    assert main([*argv, "--format", "yolo", "coco"]) == 0  # resumes: nothing left to write


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_output_folder_fails_clearly(scenes_file, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="cannot write into"):
            write_dataset(ScenesFile(scenes_file), locked / "out", 4, 0)
    finally:
        locked.chmod(0o700)


def test_a_write_failing_mid_run_is_named_and_keeps_finished_shards(scenes_file, tmp_path):
    config = DatasetConfig(width=32, height=16, shard_size=8, formats=("coco",), views=("road",))
    whole = tmp_path / "whole"
    write_dataset(ScenesFile(scenes_file), whole, 16, 0, config)
    # COCO alone: no empty labels/ (YOLO) or scenes/ (Parquet) folder to mislead a reader.
    assert not (whole / "labels").exists() and not (whole / "scenes").exists()
    out = tmp_path / "out"
    blocker = out / "images" / "0000010-road.png"

    def block(count):  # once shard 0 is done, a folder takes the place of a shard 1 file
        if count:
            (blocker / "inside").mkdir(parents=True)

    with pytest.raises(ValueError, match=r"cannot write .*0000010-road.png: .*rerun the same"):
        write_dataset(ScenesFile(scenes_file), out, 16, 0, config, on_scenes=block)
    assert sorted(p.name for p in (out / "shards").glob("0*.json")) == ["00000.json"]
    for name in ("images", "semantic", "instance"):  # shard 0's files are whole
        for path in sorted((out / name).glob("000000[0-7]-road.png")):
            assert path.read_bytes() == (whole / name / path.name).read_bytes()
    shutil.rmtree(blocker)
    write_dataset(ScenesFile(scenes_file), out, 16, 0, config)
    assert (out / "SHA256SUMS").read_text() == (whole / "SHA256SUMS").read_text()


def test_an_output_path_that_is_a_file_fails_clearly(scenes_file, tmp_path):
    target = tmp_path / "file"
    target.write_text("keep me")
    with pytest.raises(ValueError, match="is a file"):
        write_dataset(ScenesFile(scenes_file), target, 4, 0)
    assert target.read_text() == "keep me"


def test_cli_writes_a_dataset_from_a_prior_and_checks_its_arguments(tiny_prior, tmp_path, capsys):
    tiny_prior.save(tmp_path / "prior")
    tiny_prior = tmp_path / "prior"
    out = tmp_path / "prior-ds"
    assert main([
        "dataset", str(tiny_prior), "--n", "6", "--out", str(out), "--format", "coco",
        "--set", "width=64", "--set", "height=32",
    ]) == 0  # fmt: skip
    assert "COCO(" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"]["kind"] == "prior" and manifest["counts"]["scenes"] == 6
    assert not (out / "data.yaml").exists() and (out / "annotations.json").is_file()
    again = PriorSource(tiny_prior).scenes(0, 6, 0, 6)
    table = [json.loads(line) for line in (out / "shards" / "00000.json").read_text().splitlines()]
    assert len(table[0]["images"]) == len(again)
    assert (
        main(["dataset", str(tmp_path / "nothing"), "--n", "2", "--out", str(tmp_path / "x")]) == 2
    )
    assert "is not a run folder" in capsys.readouterr().err
    assert main(["dataset", str(tiny_prior), "--n", "2", "--out", str(tmp_path / "y"),
                 "--set", "views=[sky]"]) == 2  # fmt: skip
    assert "views must be a non-empty list" in capsys.readouterr().err


def test_cli_writes_a_dataset_from_a_trained_run_like_generate(tiny_run, tmp_path, capsys):
    from scenegym.agents.policy import GenerationPolicy

    out = tmp_path / "run-ds"
    argv = ["dataset", str(tiny_run), "--n", "5", "--seed", "3", "--out", str(out)]
    assert main([*argv, "--format", "parquet", "--set", "width=64", "--set", "height=32"]) == 0
    import pyarrow.parquet as pq

    table = pq.read_table(out / "scenes").to_pandas()
    expected = GenerationPolicy.load(tiny_run).sample(5, seed=3, invalid="repair")
    assert table["scene"].map(json.loads).tolist() == [s.to_dict() for s in expected.scenes]
    assert table["valid"].all()
    assert not (out / "annotations.json").exists() and not (out / "data.yaml").exists()
    assert main([*argv, "--target", "density=30"]) == 2
    assert "holds a different dataset" in capsys.readouterr().err
    # Shards smaller than generate's batches still hold generate's scenes: the batches are
    # rolled out whole and cut (a rollout's action noise depends on its batch).
    small = write_dataset(
        PolicySource(tiny_run), tmp_path / "small-shards", 5, 3,
        DatasetConfig(width=32, height=32, formats=("parquet",), shard_size=2),
    )  # fmt: skip
    assert small["shards"] == 3
    table = pq.read_table(tmp_path / "small-shards" / "scenes").sort_by("index")
    assert [json.loads(t) for t in table.column("scene").to_pylist()] == [
        s.to_dict() for s in expected.scenes
    ]
    with pytest.raises(ValueError, match="'report' or 'repair'"):
        PolicySource(tiny_run, invalid="resample")


def test_default_samples_show_cars_tens_of_pixels_long_and_the_manifest_says_so(
    scenes_file, tmp_path
):
    """The default is a vehicle-centred view at 0.125 m/px; the whole-road view of a 200 m
    road gives boxes a few pixels wide. The manifest's distribution is the COCO boxes'."""
    from pycocotools.coco import COCO

    sizes = {}
    for views in (("vehicle",), ("road",)):
        out = tmp_path / views[0]
        manifest = write_dataset(
            ScenesFile(scenes_file), out, 16, 0, DatasetConfig(views=views, formats=("coco",))
        )
        coco = COCO(str(out / "annotations.json"))
        boxes = np.array([a["bbox"][2:] for a in coco.loadAnns(coco.getAnnIds())])
        stated = manifest["box_pixels"]
        assert stated["boxes"] == len(boxes) > 0
        shorter = boxes.min(axis=1)
        assert stated["shorter_side"]["p50"] == pytest.approx(np.percentile(shorter, 50))
        assert stated["shorter_under_8"] == pytest.approx(np.mean(shorter < 8))
        sizes[views[0]] = (np.median(boxes[:, 0]), np.median(boxes[:, 1]))
    assert min(sizes["vehicle"]) >= 12 and max(sizes["vehicle"]) >= 30  # a car: 14 x 36 px
    assert min(sizes["road"]) < 4
