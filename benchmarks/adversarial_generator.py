"""An adversarial generator trained against a driving agent: how often that agent crashes in
the generator's scenes, against random, plainly critical and searched scenes, and what the
scenes lose in validity and realism.

What it measures
----------------
A generation run of ``configs/adversarial.yaml`` (the ``adversarial`` term weighted 2,
validity 1, realism 0.5 with ``--realism``) trains ``--steps`` steps against ``--driver`` (a
curriculum run, say the ``random`` teacher's of ``benchmarks/curriculum.py``, or a scripted
driver). Then ``--n`` scenes of each set are driven by the same driver once each:

- ``random``: drivable scenes of the generator's own random space (``drivable``);
- ``critical``: drivable random-space scenes whose 5 s rollout reaches criticality 0.8 for
  the ego without a collision (``critical_candidates``);
- ``generator``: the trained generator's final scenes (``GenerationPolicy.sample``), made
  drivable the same way (a start the traffic and the ego can survive), so a crash is the
  agent's.

Reported per set: the crash rate (Wilson 95 % interval), the validity rate of the scenes
driven and of the scenes as drawn (before ``drivable`` repaired them), the mean realism term
(the run's realism model), the mean adversarial term (crash 1, near crash up to 0.5) and
the training time. A run folder left by an earlier call in ``--out`` is measured again
without training.

Run::

    .venv/bin/python benchmarks/adversarial_generator.py --driver /tmp/curriculum/random-0 \\
        --realism quickstart/run/realism.json --steps 16384 --n 100 --out /tmp/adv-gen
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from scenegym.agents import GenerationPolicy, train
from scenegym.agents.adversarial import critical_candidates, judge_models
from scenegym.agents.driving import drive_episodes, wilson
from scenegym.agents.teachers import drivable
from scenegym.config import read_mapping
from scenegym.scene import HighwaySceneSpace, HighwaySpaceConfig, is_valid, write_scenes

CONFIG = Path(__file__).parent.parent / "configs" / "adversarial.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--driver", required=True, help="curriculum run or scripted driver")
    parser.add_argument("--realism", type=Path, default=None, help="a realism model (JSON)")
    parser.add_argument("--steps", type=int, default=16384)
    parser.add_argument("--n", type=int, default=100, help="scenes per set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    config = read_mapping(CONFIG)
    kwargs = config["env_kwargs"]
    kwargs["models"] = {"driver": str(Path(args.driver).resolve())}
    if args.realism is None:
        kwargs.pop("realism")
        kwargs["reward"]["weights"]["realism"] = 0.0
    else:
        kwargs["realism"] = str(args.realism.resolve())
    config |= {"total_steps": args.steps, "seed": args.seed}
    run = args.out / "run"
    started = time.perf_counter()
    if not (run / "model.zip").is_file():  # a finished run of an earlier call is measured again
        train(config, run)
    train_s = time.perf_counter() - started
    judge = judge_models(kwargs["models"], run)["driver"]
    policy = GenerationPolicy.load(run)
    scorer = GenerationPolicy(
        model=policy.model, config=policy.config, run=run, models={"driver": judge}
    )
    space = HighwaySceneSpace(HighwaySpaceConfig(**kwargs["space"]))
    raw = {
        "random": list(space.sample_many(4 * args.n, 50_000 + args.seed)),
        "generator": policy.sample(4 * args.n, seed=70_000).scenes,
    }
    sets = {
        "random": _drivable(raw["random"], args.n),
        "critical": critical_candidates(args.n, target=0.8, space=space, seed=60_000),
        "generator": _drivable(raw["generator"], args.n),
    }
    rows = {}
    for name, scenes in sets.items():
        drawn = raw.get(name)
        write_scenes(args.out / f"{name}.jsonl", scenes)
        driven = drive_episodes(judge.driver, scenes, seed=80_000)
        crashes = sum(row["crash"] for row in driven)
        _, terms = scorer.score(scenes)
        rows[name] = {
            "scenes": len(scenes),
            "crash": crashes / len(scenes),
            "crash_ci": wilson(crashes, len(scenes)),
            "valid": float(np.mean([is_valid(scene) for scene in scenes])),
            "valid_as_drawn": None if drawn is None else float(np.mean(list(map(is_valid, drawn)))),
            "realism": float(np.mean(terms["realism"])),
            "adversarial": float(np.mean(terms["adversarial"])),
        }
    result = {"driver": args.driver, "steps": args.steps, "train_s": train_s, "sets": rows}
    (args.out / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


def _drivable(scenes, n: int) -> list:
    kept = [scene for scene in map(drivable, scenes) if scene is not None]
    if len(kept) < n:
        raise SystemExit(f"only {len(kept)} drivable scenes of {n} asked for")
    return kept[:n]


if __name__ == "__main__":
    main()
