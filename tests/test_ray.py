"""Work on Ray: a local Ray with 2 CPUs writes the same dataset files as the process pool and
resumes what either of them left unfinished; sampling, the reference and evaluation give the
same results as the pool."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import ray

from scenegym.datasets import DatasetConfig, write_dataset
from scenegym.scene import HighwaySceneSpace, write_scenes
from tests.test_cli import assert_usage_error, run


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def scenes_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ray") / "scenes.jsonl"
    write_scenes(path, list(HighwaySceneSpace().sample_many(24, 5)))
    return path


def _files(folder: Path) -> dict[str, str]:
    """Every file's SHA-256 but the job record, which names the folder it was written to."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob("*")
        if path.is_file() and path.name != "job.json"
    }


def test_ray_writes_the_same_files_as_the_process_pool(scenes_file, tmp_path):
    config = DatasetConfig(shard_size=6)
    write_dataset(scenes_file, tmp_path / "pool", 24, 1, config, workers=2)
    write_dataset(scenes_file, tmp_path / "ray", 24, 1, config, workers=2, backend="ray")
    pool, on_ray = _files(tmp_path / "pool"), _files(tmp_path / "ray")
    assert len(pool) > 20 and on_ray == pool


def test_ray_finishes_what_the_pool_left_unfinished(scenes_file, tmp_path):
    config = DatasetConfig(shard_size=6)
    out = tmp_path / "data"
    write_dataset(scenes_file, out, 24, 1, config, workers=2)
    whole = _files(out)
    (out / "shards" / "00002.json").unlink()  # as if killed before shard 2 was recorded
    image = next((out / "images").iterdir())
    image.write_bytes(b"damaged")  # and a finished file damaged since
    write_dataset(scenes_file, out, 24, 1, config, workers=2, backend="ray")
    assert _files(out) == whole


def test_dataset_cli_runs_on_ray_and_checks_its_options(scenes_file, tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["dataset", str(scenes_file), "--n", "12", "--out", str(out), "--backend", "ray"]
    status, printed, _ = run([*argv, "--workers", "2", "--format", "coco"], capsys)
    assert status == 0 and "wrote" in printed
    status, _, err = run(
        [
            "dataset",
            str(scenes_file),
            "--n",
            "4",
            "--out",
            str(tmp_path / "x"),
            "--ray-address",
            "auto",
        ],
        capsys,
    )
    assert "--backend ray" in assert_usage_error(status, err)
    with pytest.raises(ValueError, match="backend"):
        write_dataset(scenes_file, tmp_path / "y", 4, backend="dask")


def test_the_naturalistic_reference_simulates_the_same_scenes_on_ray():
    from scenegym.bridges import ReferenceConfig, naturalistic_reference

    config = ReferenceConfig(snapshots_per_run=2, windows_per_snapshot=2, warmup=2.0)
    local = naturalistic_reference(8, 3, config, cache=False, workers=1)
    on_ray = naturalistic_reference(8, 3, config, cache=False, workers=2, backend="ray")
    assert [s.to_json() for s in on_ray] == [s.to_json() for s in local]


def test_a_policy_samples_the_same_scenes_on_ray(tiny_run, tmp_path, capsys):
    from scenegym.agents import GenerationPolicy

    with GenerationPolicy.load(tiny_run) as policy:
        here = policy.sample(12, seed=4, batch=4)
        on_ray = policy.sample(12, seed=4, batch=4, workers=2, backend="ray")
    assert [s.to_json() for s in on_ray.scenes] == [s.to_json() for s in here.scenes]
    out = tmp_path / "generated.jsonl"
    argv = ["generate", str(tiny_run), "--n", "4", "--backend", "ray", "--out", str(out)]
    status, _, _ = run(argv, capsys)
    assert status == 0 and len(out.read_text().splitlines()) == 4


def test_evaluation_on_ray_and_on_a_pool_gives_the_same_metrics(tmp_path, capsys):
    reference = tmp_path / "reference.jsonl"
    write_scenes(reference, list(HighwaySceneSpace().sample_many(40, 7)))
    sets = []
    for seed in (1, 2, 3):
        sets.append(tmp_path / f"set{seed}.jsonl")
        write_scenes(sets[-1], list(HighwaySceneSpace().sample_many(30, seed)))
    metrics = {}
    for name, options in (
        ("one", []),
        ("pool", ["--workers", "2"]),
        ("ray", ["--workers", "2", "--backend", "ray"]),
    ):
        argv = ["evaluate", str(sets[0]), "--compare", *map(str, sets[1:])]
        argv += ["--reference", str(reference), "--out", str(tmp_path / name), *options]
        status, _, _ = run(argv, capsys)
        assert status == 0
        metrics[name] = (tmp_path / name / "metrics.json").read_text()
    assert metrics["pool"] == metrics["one"] and metrics["ray"] == metrics["one"]
    assert len(json.loads(metrics["one"])["generators"]) == 3
