"""Curriculum teachers compared at an equal budget of student steps, on test scenes none of
them trained on.

Every teacher (``--teachers``; ``robust-plr`` and ``robust-accel`` are plr and accel with
``teacher_options.robust``) trains a PPO driver on ``scenegym/Drive-v1`` for ``--budget``
student steps with each of ``--seeds`` seeds (``scenegym.agents.train_curriculum``, two
SubprocVecEnv environments, the curriculum's default Drive-v1 config or ``--drive``); the
replay teacher replays the recordings (runs) of the reference's training part. The drivers,
with the scripted ``idle``, ``slower`` and ``faster``, then drive one episode from each scene
of three test sets:

- ``held-out naturalistic``: scenes of the reference's recordings (simulated runs) that no
  teacher replayed, so roads and traffic the drivers never saw;
- ``recorded``: scenes of CommonRoad recordings (``--recordings``; say US-101);
- ``dense``: scenes of the random space asked for ``--dense`` veh/km, seeds no teacher used.

Prints one JSON object: per test set and driver the success rate (arrival without a crash),
crash rate, mean speed and distance, each with its 95 % interval over training seeds; the
learning curve (success on a held-out subset at ``--curve`` checkpoints of every run); and
per teacher the share of training wall time the teacher took. ``--figure`` draws the
learning curves (one line per teacher). Runs already trained in ``--out`` are reused.

    .venv/bin/python benchmarks/curriculum.py --reference naturalistic \
        --recordings ../shared/realdata --generator quickstart/run --budget 6000 --seeds 3 \
        --out /tmp/curriculum --figure docs/curriculum.png
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from scenegym.agents.driving import (
    drivable_tests,
    drive_episodes,
    load_driver,
    summarise_driver,
)
from scenegym.agents.student import train_curriculum
from scenegym.agents.teachers import drivable
from scenegym.bridges import load_reference
from scenegym.scene import HighwaySceneSpace, grouped_split, write_scenes

SCRIPTED = ("idle", "slower", "faster")


def test_sets(args) -> tuple[dict[str, list], Path]:
    """The test sets, and the scenes file of the replay teacher (the reference's training
    part)."""
    reference = load_reference([args.reference]).scenes
    fit, held = grouped_split(reference, 0.3, seed=0, name="the reference")
    train, held_out = [reference[i] for i in fit], [reference[i] for i in held]
    replay = args.out / "replay.jsonl"
    write_scenes(replay, train)
    rng = np.random.default_rng(args.seed_tests)
    sets = {}
    kept, _ = drivable_tests([held_out[i] for i in rng.permutation(len(held_out))])
    sets["held-out naturalistic"] = kept[: args.tests]
    if args.recordings:
        recorded = load_reference([str(p) for p in args.recordings], interval=1.0).scenes
        kept, _ = drivable_tests([recorded[i] for i in rng.permutation(len(recorded))])
        sets["recorded"] = kept[: args.tests]
    space = HighwaySceneSpace()
    dense = []
    for i in range(50 * args.tests):
        scene = drivable(space.sample(np.random.default_rng(10**6 + i), {"density": args.dense}))
        if scene is not None:
            dense.append(scene)
        if len(dense) == args.tests:
            break
    sets["dense"] = dense
    return sets, replay


def train_runs(args, replay: Path) -> dict[str, list[Path]]:
    runs: dict[str, list[Path]] = {}
    for teacher in args.teachers:
        for seed in range(args.seeds):
            run = args.out / f"{teacher}-{seed}"
            config = {
                "teacher": teacher.removeprefix("robust-"),
                "total_steps": args.budget,
                "checkpoint_every": max(args.budget // args.curve, 1),
                "seed": seed,
                "n_envs": 2,
            }
            if args.drive is not None:
                config["drive"] = args.drive
            if teacher == "replay":
                config["scenes"] = str(replay)
            if teacher.startswith("robust-"):  # robust-plr, robust-accel
                config["teacher_options"] = {"robust": True}
            if config["teacher"] in ("generator", "plr", "accel", "goal") and args.generator:
                config["generator"] = str(args.generator)
            if teacher == "goal":
                config["targets"] = {"density": args.goal_densities}
            if not (run / "model.zip").is_file():
                resume = (run / "curriculum.json").is_file()
                train_curriculum(None if resume else config, run, resume=resume)
            runs.setdefault(teacher, []).append(run)
    return runs


def _drive(job):
    source, model, scenes, drive = job
    driver = load_driver(source, model=model)
    driver.drive = drive  # the scripted drivers drive in the students' config
    return driver.name, driver.seed, drive_episodes(driver, scenes)


def _checkpoints(run: Path, points: int) -> list[tuple[int, Path]]:
    """Up to ``points`` checkpoints of ``run``, evenly spread, the final model last."""
    found = sorted(
        (int(p.stem.split("_")[1]), p) for p in (run / "checkpoints").glob("student_*.zip")
    )
    final = json.loads((run / "timing.json").read_text())
    steps = sum(session["steps"] for session in final)
    if not found or found[-1][0] < steps:
        found.append((steps, run / "model.zip"))
    if len(found) <= points:
        return found
    picks = np.linspace(0, len(found) - 1, points).round().astype(int)
    return [found[i] for i in sorted(set(picks.tolist()))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="naturalistic", help="reference scenes")
    parser.add_argument("--recordings", type=Path, nargs="*", default=[])
    parser.add_argument("--generator", type=Path, default=None, help="generation run")
    parser.add_argument(
        "--teachers",
        type=lambda text: text.split(","),
        default=["random", "replay", "generator", "plr", "accel", "goal"],
    )
    parser.add_argument("--budget", type=int, default=6000, help="student steps per run")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tests", type=int, default=40, help="scenes per test set")
    parser.add_argument("--dense", type=float, default=60.0, help="veh/km of the dense set")
    parser.add_argument("--goal-densities", type=float, nargs="+", default=[10, 25, 40, 60])
    parser.add_argument("--curve", type=int, default=4, help="checkpoints on the curve")
    parser.add_argument("--curve-tests", type=int, default=20)
    parser.add_argument("--seed-tests", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--drive", type=json.loads, default=None, help="Drive-v1 config (JSON) of the students"
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--figure", type=Path, default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sets, replay = test_sets(args)
    runs = train_runs(args, replay)
    drivers = [str(run) for group in runs.values() for run in group] + list(SCRIPTED)
    drive = json.loads((runs[args.teachers[0]][0] / "curriculum.json").read_text())["drive"]
    result = {"budget": args.budget, "seeds": args.seeds, "drive": drive, "test_sets": {}}
    result["curve"] = {}
    # Spawned, not forked: a fork of a process that has run torch's thread pool can hang.
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for name, scenes in sets.items():
            per: dict[str, dict[int, list]] = {}
            for label, seed, rows in pool.map(_drive, [(d, None, scenes, drive) for d in drivers]):
                per.setdefault(label, {})[seed] = rows
            result["test_sets"][name] = {
                "scenes": len(scenes),
                "drivers": [summarise_driver(k, v).to_dict() for k, v in per.items()],
            }
        subset = sets["held-out naturalistic"][: args.curve_tests]
        jobs = [
            (str(run), str(path), subset, teacher, step)
            for teacher, group in runs.items()
            for run in group
            for step, path in _checkpoints(run, args.curve)
        ]
        outcomes = pool.map(_drive, [(*job[:3], drive) for job in jobs])
        for job, (_, _, rows) in zip(jobs, outcomes):
            curve = result["curve"].setdefault(job[3], {})
            curve.setdefault(job[4], []).append(float(np.mean([r["success"] for r in rows])))
    result["curve"] = {
        teacher: {str(step): float(np.mean(v)) for step, v in sorted(points.items())}
        for teacher, points in result["curve"].items()
    }
    result["teacher_share"] = {
        teacher: float(
            np.mean(
                [json.loads((r / "timing.json").read_text())[-1]["teacher_share"] for r in group]
            )
        )
        for teacher, group in runs.items()
    }
    print(json.dumps(result, indent=2))
    if args.figure is not None:
        _figure(result["curve"], args.figure)


def _figure(curve: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5), dpi=120)
    for teacher, points in curve.items():
        steps = [int(s) for s in points]
        axes.plot(steps, list(points.values()), marker="o", label=teacher)
    axes.set_xlabel("student steps")
    axes.set_ylabel("success on held-out naturalistic")
    axes.set_ylim(0, 1)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)


if __name__ == "__main__":
    main()
