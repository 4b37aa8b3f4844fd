"""Datasets from a curriculum run: its scenes in the order the student met them, with the
teacher's record of each (stage, difficulty, order, step, teacher, replay, targets) in COCO and
Parquet, read back with pycocotools, pyarrow and pandas; determinism, resuming, bad runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scenegym.cli import main
from scenegym.datasets import CurriculumSource, DatasetConfig, write_dataset
from scenegym.datasets.dataset import write_shard
from scenegym.datasets.sources import open_source
from scenegym.scene import HighwaySceneSpace, Scene, read_scenes, write_scenes

CONFIG = {"teacher": "bandit", "seed": 3, "total_steps": 4096}
SMALL = ["--set", "width=64", "--set", "height=32"]


def _records(count: int) -> list[dict]:
    """The teacher's record of each scene: stages 0-2, every third scene unscored, scene 5
    a replay of scene 1."""
    return [
        {
            "order": k,
            "step": 100 * k,
            "teacher": "bandit",
            "stage": k % 3,
            "difficulty": None if k % 3 == 2 else round(0.1 * k + 0.05, 3),
            "targets": {"density": 10.0 + k} if k % 2 else {},
            "replay": k == 5,
        }
        for k in range(count)
    ]


def _scenes(count: int) -> list[Scene]:
    scenes = list(HighwaySceneSpace().sample_many(count, 7))
    if count > 5:
        scenes[5] = scenes[1]  # met again from the teacher's buffer
    return scenes


def _make_run(folder: Path, scenes: list[Scene], records: list[dict], lines=None) -> Path:
    """A curriculum run folder: ``curriculum.json`` and ``scenes.jsonl`` whose scenes carry
    their record as one object, ``context["curriculum"]``."""
    folder.mkdir(parents=True)
    (folder / "curriculum.json").write_text(json.dumps(CONFIG))
    texts = []
    for scene, record in zip(scenes, records):
        data = scene.to_dict()
        data["context"] = {**data["context"], "curriculum": record}
        texts.append(json.dumps(data))
    order = range(len(texts)) if lines is None else lines
    (folder / "scenes.jsonl").write_text("".join(texts[k] + "\n" for k in order))
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return _make_run(tmp_path_factory.mktemp("curriculum") / "run", _scenes(12), _records(12))


@pytest.fixture(scope="module")
def written(run, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data") / "data"
    config = DatasetConfig(width=64, height=32, shard_size=4, formats=("coco", "parquet"))
    manifest = write_dataset(run, out, 10, 0, config)  # the Python API takes the folder
    assert manifest["source"]["kind"] == "curriculum"
    assert manifest["source"]["config"] == CONFIG
    assert manifest["counts"]["scenes"] == 10
    return out


def test_parquet_holds_the_scenes_in_curriculum_order_with_the_teachers_record(run, written):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(written / "scenes")
    types = {name: table.schema.field(name).type for name in table.column_names}
    assert types["stage"] == types["order"] == types["step"] == pa.int64()
    assert types["difficulty"] == pa.float64() and types["replay"] == pa.bool_()
    assert types["teacher"] == types["targets"] == pa.string()
    rows = table.sort_by("index").to_pylist()
    expected = _records(10)
    assert [row["index"] for row in rows] == list(range(10))
    for row, record in zip(rows, expected):
        for name in ("order", "step", "teacher", "stage", "difficulty", "replay"):
            assert row[name] == record[name], name
        assert json.loads(row["targets"]) == record["targets"]
    assert [row["difficulty"] for row in rows][2::3] == [None, None, None]  # unscored: null
    # The scene is the scene the student met, without its curriculum entry: a replayed
    # scene has the id of its first meeting.
    scenes = _scenes(10)
    assert [json.loads(row["scene"]) for row in rows] == [s.to_dict() for s in scenes]
    assert rows[5]["scene_id"] == rows[1]["scene_id"] == scenes[1].id
    frame = pd.read_parquet(written / "scenes").sort_values("index")
    assert frame["order"].tolist() == list(range(10))
    assert frame["difficulty"].isna().tolist() == [k % 3 == 2 for k in range(10)]
    assert frame.loc[frame["stage"] == 1, "order"].tolist() == [1, 4, 7]


def test_coco_images_carry_the_teachers_record_in_curriculum_order(written):
    from pycocotools.coco import COCO

    coco = COCO(str(written / "annotations.json"))
    images = coco.loadImgs(sorted(coco.getImgIds()))
    assert [image["scene"] for image in images] == list(range(10))
    for image, record in zip(images, _records(10)):
        for name, value in record.items():
            assert image[name] == value, name
        assert image["file_name"] == f"images/{image['scene']:07d}-vehicle.png"
    raw = json.loads((written / "annotations.json").read_text())
    assert raw["images"][2]["difficulty"] is None and raw["images"][5]["replay"] is True


def test_scenes_are_ordered_by_their_order_whatever_their_lines(tmp_path):
    scenes, records = _scenes(6), _records(6)
    shuffled = _make_run(tmp_path / "shuffled", scenes, records, lines=[3, 0, 5, 1, 4, 2])
    source = CurriculumSource(shuffled)
    got, got_records = source.labelled(0, 6, 0, 6)
    assert [r["order"] for r in got_records] == list(range(6))
    assert got == scenes
    assert source.scenes(2, 4, 0, 6) == scenes[2:4]
    # A job's description opens the same source again (write_shard from the job alone).
    again = open_source(source.describe())
    assert again.labelled(0, 6, 0, 6) == (got, got_records)


def _trainer_context(record: dict) -> dict:
    """``record`` as the trainer's context keys: ``curriculum_<field>``, the targets as JSON
    text, no difficulty while unscored."""
    keys = {f"curriculum_{k}": v for k, v in record.items() if v is not None}
    keys["curriculum_targets"] = json.dumps(record["targets"], sort_keys=True)
    return keys


def test_the_trainers_context_keys_give_the_same_dataset(written, tmp_path):
    scenes, records = _scenes(12), _records(12)
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "curriculum.json").write_text(json.dumps(CONFIG))
    met = [s.replace(context={**s.context, **_trainer_context(r)}) for s, r in zip(scenes, records)]
    write_scenes(folder / "scenes.jsonl", met)
    assert read_scenes(folder / "scenes.jsonl") == met
    got, got_records = CurriculumSource(folder).labelled(0, 12, 0, 12)
    assert got == scenes and got_records == records
    config = DatasetConfig(width=64, height=32, shard_size=4, formats=("coco", "parquet"))
    write_dataset(folder, tmp_path / "data", 10, 0, config)
    # The same pictures, COCO file and Parquet parts as from the record as one object.
    assert (tmp_path / "data" / "SHA256SUMS").read_text() == (written / "SHA256SUMS").read_text()
    lines = (folder / "scenes.jsonl").read_text().splitlines()
    broken = json.loads(lines[3])
    del broken["context"]["curriculum_stage"]
    lines[3] = json.dumps(broken)
    (folder / "scenes.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"line 4: the scene lacks context\['curriculum_stage'\]$"):
        CurriculumSource(folder)


def test_a_record_written_as_json_text_by_write_scenes_reads_the_same(tmp_path):
    # Scene contexts hold strings: the record may be the JSON text of the object.
    scenes, records = _scenes(4), _records(4)
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "curriculum.json").write_text(json.dumps(CONFIG))
    marked = [
        s.replace(context={**s.context, "curriculum": json.dumps(r)})
        for s, r in zip(scenes, records)
    ]
    write_scenes(folder / "scenes.jsonl", marked)
    assert read_scenes(folder / "scenes.jsonl") == marked
    got, got_records = CurriculumSource(folder).labelled(0, 4, 0, 4)
    assert got == scenes and got_records == records


def test_cli_is_deterministic_resumes_and_checks_n(run, tmp_path, capsys):
    argv = ["dataset", str(run), "--n", "12", "--seed", "2", *SMALL, "--set", "shard_size=5"]
    assert main([*argv, "--out", str(tmp_path / "one")]) == 0
    assert "wrote 12 images of 12 scenes" in capsys.readouterr().out
    assert main([*argv, "--out", str(tmp_path / "two"), "--workers", "2"]) == 0
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert len(one) > 12 * 4 and one == two
    # A rerun resumes (nothing left to write); a removed shard is written again the same.
    (tmp_path / "one" / "shards" / "00001.json").unlink()
    (tmp_path / "one" / "manifest.json").unlink()
    assert main([*argv, "--out", str(tmp_path / "one")]) == 0
    assert _files(tmp_path / "one") == two
    capsys.readouterr()
    assert main(["dataset", str(run), "--n", "13", "--out", str(tmp_path / "big")]) == 2
    err = capsys.readouterr().err
    assert "holds 12 scenes; --n 13 asks for more (use --n 12 or less)" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "big").exists()
    target = ["--target", "density=20"]
    assert main(["dataset", str(run), "--n", "2", "--out", str(tmp_path / "t"), *target]) == 2
    assert "--target is for a generation run" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["dataset", str(tmp_path / "empty"), "--n", "2", "--out", str(tmp_path / "e")]) == 2
    assert "a curriculum run folder (curriculum.json)" in capsys.readouterr().err


def test_a_run_trained_further_is_another_dataset(tmp_path, capsys):
    run = _make_run(tmp_path / "run", _scenes(8), _records(8))
    argv = ["dataset", str(run), "--n", "3", "--out", str(tmp_path / "d"), *SMALL]
    assert main(argv) == 0
    more = _make_run(tmp_path / "more", _scenes(9), _records(9))
    (run / "scenes.jsonl").write_bytes((more / "scenes.jsonl").read_bytes())
    assert main(argv) == 2
    assert "holds a different dataset" in capsys.readouterr().err


def _corrupt(lines: list[dict], what: str) -> tuple[list[str] | None, str]:
    """The lines of a broken scenes.jsonl and the message it gets (None: no file)."""
    texts = [json.dumps(line) for line in lines]
    if what == "missing":
        return None, "has no scenes.jsonl"
    if what == "malformed":
        texts[2] = texts[2][:40]
        return texts, r"scenes\.jsonl, line 3: not valid JSON"
    if what == "no record":
        del lines[1]["context"]["curriculum"]
        texts[1] = json.dumps(lines[1])
        return texts, r"line 2: the scene's context holds no curriculum record"
    if what == "no field":
        del lines[3]["context"]["curriculum"]["stage"]
        texts[3] = json.dumps(lines[3])
        return texts, r"line 4: the scene lacks context\['curriculum'\]\['stage'\]"
    if what == "bad type":
        lines[0]["context"]["curriculum"]["difficulty"] = "hard"
        texts[0] = json.dumps(lines[0])
        return texts, r"line 1: context\['curriculum'\]\['difficulty'\] must be a finite number"
    if what == "twice":
        lines[2]["context"]["curriculum"]["order"] = 0
        texts[2] = json.dumps(lines[2])
        return texts, "line 3: order 0 is also that of line 1"
    texts[1] = texts[1].replace('"road"', '"roads"', 1)
    return texts, r"line 2: not a scene"


@pytest.mark.parametrize(
    "what", ["missing", "malformed", "no record", "no field", "bad type", "twice", "no scene"]
)
def test_a_bad_curriculum_run_fails_with_one_clear_line(tmp_path, capsys, what):
    run = _make_run(tmp_path / "run", _scenes(4), _records(4))
    lines = [json.loads(text) for text in (run / "scenes.jsonl").read_text().splitlines()]
    texts, message = _corrupt(lines, what)
    if texts is None:
        (run / "scenes.jsonl").unlink()
    else:
        (run / "scenes.jsonl").write_text("".join(text + "\n" for text in texts))
    out = tmp_path / "out"
    assert main(["dataset", str(run), "--n", "4", "--out", str(out), *SMALL]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert re.search(message, err), err
    # Found when the run is opened, before anything is written; the scene itself when its
    # shard is read.
    assert not out.exists() or what == "no scene"


def test_a_bad_or_empty_run_config_is_named(tmp_path):
    run = _make_run(tmp_path / "run", _scenes(2), _records(2))
    (run / "curriculum.json").write_text("{teacher")
    with pytest.raises(ValueError, match=r"curriculum\.json: not valid JSON"):
        CurriculumSource(run)
    (run / "curriculum.json").write_text("[]")
    with pytest.raises(ValueError, match="must hold a JSON object"):
        CurriculumSource(run)
    (run / "curriculum.json").write_text("{}")
    (run / "scenes.jsonl").write_text("")
    with pytest.raises(ValueError, match="holds no scenes yet"):
        write_dataset(run, tmp_path / "out", 1)


def test_a_shard_is_made_from_the_job_alone(run, written):
    job = json.loads((written / "shards" / "job.json").read_text())
    record = json.loads((written / "shards" / "00001.json").read_text())
    again = write_shard({**job, "out": str(written)}, 1)
    assert again == record


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "job.json"  # it names the output folder
    }
