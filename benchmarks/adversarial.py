"""Adversarial scenes against trained drivers: their crash rate on adversarial scenes against
random, naturalistic-like and plainly critical ones; then drivers trained with and without
adversarial scenes, judged on held-out critical and ordinary scenes.

What it measures
----------------
``--drivers`` are curriculum runs of one config (its seeds; say the ``random`` teacher's of
``benchmarks/curriculum.py``). Test sets, none of them seen in training:

- ``ordinary``: drivable scenes of the random space (``drivable``: broken vehicles removed,
  a start traffic and ego survive);
- ``critical``: drivable random-space scenes whose 5 s rollout reaches criticality
  ``--target`` without a collision (``critical_candidates``, their own seeds), measured on
  the ego's pairs (``--focus rearmost``) or on all the traffic's (``all``);
- ``adversarial``: what ``adversarial_search`` finds against each driver among
  ``--candidates`` fresh critical scenes (one round of edits): the crash rate there is the
  search's yield per scene driven, reported with the crash rate of the round-0 candidates.

Then, per seed, two new students train ``--budget`` steps with the replay teacher: on
``ordinary`` training scenes only, and on a mix of the same count, half of them the
adversarial scenes found against the driver of that seed among training candidates (CAT's
recipe: train on the traffic the agent failed against). Both are judged on the held-out
``critical`` and ``ordinary`` sets. Rates are over episodes (Wilson 95 % interval) for one
seed and over seeds (Student t) for more.

Run::

    .venv/bin/python benchmarks/adversarial.py --drivers /tmp/curriculum/random-{0,1,2} \\
        --tests 40 --candidates 60 --budget 20000 --out /tmp/adversarial
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scenegym.agents.adversarial import adversarial_search, critical_candidates
from scenegym.agents.driving import drive_episodes, load_driver, summarise_driver
from scenegym.agents.student import train_curriculum
from scenegym.agents.teachers import drivable
from scenegym.scene import HighwaySceneSpace, write_scenes


def ordinary(n: int, seed: int) -> list:
    scenes = [s for s in map(drivable, HighwaySceneSpace().sample_many(4 * n, seed)) if s]
    if len(scenes) < n:
        raise SystemExit(f"only {len(scenes)} drivable scenes in {4 * n} draws")
    return scenes[:n]


def rates(driver_rows: dict[int, list]) -> dict:
    summary = summarise_driver("", driver_rows).to_dict()
    return {
        key: summary[key]
        for key in ("seeds", "episodes", "crash", "crash_ci", "success", "success_ci")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", nargs="+", required=True, help="curriculum runs (seeds)")
    parser.add_argument("--tests", type=int, default=40, help="scenes per test set")
    parser.add_argument("--candidates", type=int, default=60, help="critical scenes searched")
    parser.add_argument("--target", type=float, default=0.8)
    parser.add_argument("--budget", type=int, default=20000, help="student steps (0: no training)")
    parser.add_argument("--n-envs", type=int, default=2, help="student environments")
    parser.add_argument(
        "--focus",
        choices=("rearmost", "all"),
        default="rearmost",
        help="criticality of the ego's pairs (rearmost) or of all the traffic's",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    drivers = [load_driver(path) for path in args.drivers]
    tests = {
        "ordinary": ordinary(args.tests, 10_000),
        "critical": critical_candidates(
            args.tests, target=args.target, seed=20_000, focus=args.focus
        ),
    }
    result = {"drivers": args.drivers, "target": args.target, "test_sets": {}, "search": {}}
    per_set: dict[str, dict[int, list]] = {name: {} for name in [*tests, "adversarial"]}
    searched = critical_candidates(
        args.candidates, target=args.target, seed=30_000, focus=args.focus
    )
    training = critical_candidates(
        args.candidates, target=args.target, seed=40_000, focus=args.focus
    )
    found_for_training = {}
    for driver in drivers:
        for name, scenes in tests.items():
            per_set[name][driver.seed] = drive_episodes(driver, scenes)
        search = adversarial_search(driver, searched, rounds=1, seed=driver.seed)
        rows = [{"crash": 1.0, "success": 0.0}] * len(search.scenes)
        rows += [{"crash": 0.0, "success": 0.0}] * (search.tried - len(search.scenes))
        per_set["adversarial"][driver.seed] = [
            {**row, "speed": 0.0, "distance": 0.0, "return": 0.0} for row in rows
        ]
        result["search"][str(driver.seed)] = search.rounds
        found_for_training[driver.seed] = adversarial_search(
            driver, training, rounds=1, seed=driver.seed
        ).scenes
    for name, rows in per_set.items():
        result["test_sets"][name] = rates(rows)
    if args.budget:
        result["training"] = train_and_judge(args, drivers, found_for_training, tests)
    print(json.dumps(result, indent=2))


def train_and_judge(args, drivers, found, tests) -> dict:
    judged: dict[str, dict[str, dict[int, list]]] = {"ordinary only": {}, "with adversarial": {}}
    for driver in drivers:
        adversarial = found[driver.seed]
        plain = ordinary(2 * max(len(adversarial), 16), 50_000 + driver.seed)
        mixes = {
            "ordinary only": plain,
            "with adversarial": adversarial + plain[: max(len(plain) - len(adversarial), 0)],
        }
        for label, scenes in mixes.items():
            tag = label.replace(" ", "-")
            source = args.out / f"{tag}-{driver.seed}.jsonl"
            write_scenes(source, scenes)
            run = args.out / f"{tag}-{driver.seed}"
            if not (run / "model.zip").is_file():
                config = {
                    "teacher": "replay",
                    "scenes": str(source),
                    "total_steps": args.budget,
                    "seed": driver.seed,
                    "checkpoint_every": args.budget,
                    "n_envs": args.n_envs,
                    "vec_env": "subproc" if args.n_envs > 1 else "dummy",
                }
                resume = (run / "curriculum.json").is_file()
                train_curriculum(None if resume else config, run, resume=resume)
            student = load_driver(run)
            for name, test in tests.items():
                judged[label].setdefault(name, {})[driver.seed] = drive_episodes(student, test)
    return {
        label: {name: rates(rows) for name, rows in sets.items()} for label, sets in judged.items()
    }


if __name__ == "__main__":
    main()
