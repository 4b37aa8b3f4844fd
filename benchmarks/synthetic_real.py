"""Synthetic plus real: does mixing generated scenes into a small set of recordings help a
driver on other recordings?

The recordings (CommonRoad files or folders, split by recording: ``--train`` recordings to
train on, the others to test on) are imported at ``--interval`` s. Two students train for
``--budget`` steps with each of ``--seeds`` seeds: ``replay`` (the training recordings only)
and ``replay + generated`` (the same teacher with ``teacher_options.mix``: that share of the
scenes comes from the generation run ``--generator``, or the random space without one). Both
then drive the test recordings' scenes, with the scripted ``idle`` and ``slower`` as
baselines. Prints one JSON object: per driver, success and crash rates, speed and distance
with 95 % intervals over seeds.

    .venv/bin/python benchmarks/synthetic_real.py ../shared/realdata --generator quickstart/run \
        --budget 6000 --seeds 3 --out /tmp/synthetic-real
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scenegym.agents.driving import evaluate_drivers
from scenegym.agents.student import train_curriculum
from scenegym.bridges import load_reference
from scenegym.scene import group_codes, write_scenes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recordings", type=Path, nargs="+")
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--train", type=int, default=1, help="recordings to train on")
    parser.add_argument("--generator", type=Path, default=None)
    parser.add_argument("--mix", type=float, default=0.5)
    parser.add_argument("--budget", type=int, default=6000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    scenes = load_reference([str(p) for p in args.recordings], interval=args.interval).scenes
    codes, names = group_codes(scenes)
    if len(names) <= args.train:
        raise SystemExit(f"need more than {args.train} recordings, got {len(names)}")
    train = [s for s, c in zip(scenes, codes) if c < args.train]
    test = [s for s, c in zip(scenes, codes) if c >= args.train]
    write_scenes(args.out / "train.jsonl", train)
    runs = []
    for label, mix in (("replay", 0.0), ("mixed", args.mix)):
        for seed in range(args.seeds):
            run = args.out / f"{label}-{seed}"
            config = {
                "teacher": "replay",
                "scenes": str(args.out / "train.jsonl"),
                "total_steps": args.budget,
                "seed": seed,
                "checkpoint_every": args.budget,
            }
            if mix:
                config["teacher_options"] = {"mix": mix}
                if args.generator:
                    config["generator"] = str(args.generator)
            if not (run / "model.zip").is_file():
                resume = (run / "curriculum.json").is_file()
                train_curriculum(None if resume else config, run, resume=resume)
            runs.append(str(run))
    results = evaluate_drivers([*runs, "idle", "slower"], {"other recordings": test})
    results["train_recordings"] = names[: args.train]
    results["test_recordings"] = names[args.train :]
    results["train_scenes"], results["test_scenes"] = len(train), len(test)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
