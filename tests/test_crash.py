"""kill -9 at random points of every long job, again and again, then resume: the outputs are
those of an uninterrupted run, with nothing duplicated or lost. Slow (run with -m slow)."""

import hashlib
import itertools
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scenegym.scene import HighwaySceneSpace, write_scenes

pytestmark = pytest.mark.slow


def _files(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in skip and not p.name.startswith(".")
    }


def _killed_until_done(
    command: list[str], done, kills: int, seed: int, window: tuple[float, float] = (1.5, 4.0)
) -> int:
    """Run ``command`` again and again, each time killed (SIGKILL) after a random time within
    ``window`` (s), ``kills`` times; then let it finish. Returns how many kills landed."""
    rng = random.Random(seed)
    landed = 0
    for _ in range(kills):
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            child.wait(timeout=rng.uniform(*window))
        except subprocess.TimeoutExpired:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            landed += 1
        if done():
            return landed
    finished = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert finished.returncode == 0, finished.stderr[-2000:]
    return landed


def _scenegym(*args) -> list[str]:
    return [sys.executable, "-m", "scenegym", *(str(a) for a in args)]


def test_dataset_killed_again_and_again_ends_as_one_uninterrupted_run(tmp_path):
    scenes = tmp_path / "s.jsonl"
    write_scenes(scenes, list(HighwaySceneSpace().sample_many(2000, 0)))
    options = ["--n", 2000, "--set", "shard_size=8", "--set", "width=384", "--set", "height=384"]
    whole = tmp_path / "whole"
    subprocess.run(_scenegym("dataset", scenes, "--out", whole, *options), check=True)
    out = tmp_path / "cut"
    command = _scenegym("dataset", scenes, "--out", out, "--workers", 2, *options)
    landed = _killed_until_done(command, (out / "manifest.json").exists, kills=6, seed=0)
    assert landed >= 2
    # shards/job.json records the output folder as typed: "cut" and "whole"
    assert _files(out, skip=("job.json",)) == _files(whole, skip=("job.json",))
    assert not list(out.rglob("*.tmp"))


def test_prior_fit_killed_again_and_again_ends_with_the_same_weights(tmp_path):
    reference = tmp_path / "ref.jsonl"
    write_scenes(reference, list(HighwaySceneSpace().sample_many(60, 0)))
    options = ["--set", "epochs=60", "--set", "checkpoint_every=3", "--set", "batch_size=8"]
    whole = tmp_path / "whole"
    subprocess.run(_scenegym("fit-prior", "--reference", reference, "--out", whole, *options),
                   check=True, capture_output=True)  # fmt: skip
    out = tmp_path / "cut"
    first = _scenegym("fit-prior", "--reference", reference, "--out", out, *options)
    child = subprocess.Popen(first, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (out / "checkpoint.json").exists() and time.time() < deadline:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    resume = _scenegym("fit-prior", "--resume", out)
    _killed_until_done(resume, (out / "prior.json").exists, kills=4, seed=1)
    assert (out / "weights.safetensors").read_bytes() == (
        whole / "weights.safetensors"
    ).read_bytes()


def test_training_killed_again_and_again_finishes_every_step_once(tmp_path):
    from scenegym.agents.runs import checkpoint_steps, checkpoints

    config = tmp_path / "c.yaml"  # JSON is YAML
    config.write_text(
        '{"total_steps": 32768, "n_envs": 4, "n_steps": 64, "batch_size": 64, '
        '"checkpoint_every": 512, "eval_every": 100000, "net_arch": [16, 16]}'
    )
    run = tmp_path / "run"
    first = subprocess.Popen(_scenegym("train", "--config", config, "--out", run),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 120
    while not checkpoints(run) and time.time() < deadline:
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    resume = _scenegym("train", "--resume", run)
    landed = _killed_until_done(resume, (run / "model.zip").exists, 4, 2, window=(4.0, 7.0))
    assert landed >= 2
    steps = sorted(checkpoint_steps(p) for p in checkpoints(run))
    assert steps == sorted(set(steps)) and steps[-1] == 32768
    assert all(b - a == 512 for a, b in itertools.pairwise(steps))  # none lost on the way
    sessions = sorted(p.name for p in (run / "logs").iterdir())
    assert sessions == [f"{k:03d}" for k in range(len(sessions))]
