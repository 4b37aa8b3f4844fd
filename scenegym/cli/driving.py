"""Commands for driving agents: curriculum (train a driver with a teacher),
evaluate-driver (drivers judged on test scenes) and adversarial (scenes a driver crashes in)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scenegym.agents.adversarial import adversarial_search, critical_candidates
from scenegym.agents.curriculum import CurriculumConfig
from scenegym.agents.driving import evaluate_drivers, load_driver
from scenegym.agents.student import train_curriculum
from scenegym.cli._common import (
    Commands,
    add_config_options,
    config,
    interactive,
    log_lines,
    number,
    positive_int,
    reference_scenes,
    seed_int,
)
from scenegym.scene import write_scenes


def add_curriculum(commands: Commands) -> None:
    """``scenegym curriculum``: a driving agent trained on scenes a teacher picks."""
    parser = commands.add_parser(
        "curriculum", help="train a driving agent (SB3) on Drive-v1 with a curriculum teacher"
    )
    add_config_options(parser, "curriculum config", example="teacher=plr")
    parser.add_argument("--out", type=Path, default=None, help="new run folder")
    parser.add_argument("--resume", type=Path, default=None, help="continue this run folder")
    parser.set_defaults(handler=_curriculum)


def _curriculum(args: argparse.Namespace) -> int:
    if args.resume is not None:
        if args.config is not None or args.out is not None or args.overrides:
            raise ValueError("--resume RUN takes no --config, --set or --out: the run has them")
        run = args.resume
        model = train_curriculum(
            None, run, resume=True, progress_bar=interactive(), progress_lines=log_lines()
        )
    else:
        if args.out is None:
            raise ValueError("give --out RUN for a new run, or --resume RUN to continue one")
        run = args.out
        model = train_curriculum(
            config(CurriculumConfig, args),
            run,
            progress_bar=interactive(),
            progress_lines=log_lines(),
        )
    print(
        f"trained {run}: student {model}, scenes met {run}/scenes.jsonl, episodes "
        f"{run}/episodes.csv, logs {run}/logs/"
    )
    return 0


def add_evaluate_driver(commands: Commands) -> None:
    """``scenegym evaluate-driver``: drivers on test scenes, with confidence intervals."""
    parser = commands.add_parser(
        "evaluate-driver", help="success, crashes, speed and distance of drivers on test scenes"
    )
    parser.add_argument(
        "drivers",
        nargs="+",
        help="curriculum run folders (runs of one teacher are its seeds) or scripted "
        "drivers: idle, slower, faster",
    )
    parser.add_argument(
        "--scenes",
        action="append",
        required=True,
        metavar="SOURCE",
        help="a test set: a scenes .jsonl file or CommonRoad .xml files/folder (repeat for "
        "more test sets)",
    )
    parser.add_argument("--n", type=positive_int, default=None, help="scenes per test set")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the traffic")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.set_defaults(handler=_evaluate_driver)


def _evaluate_driver(args: argparse.Namespace) -> int:
    test_sets = {}
    for source in args.scenes:
        scenes, _ = reference_scenes([source], name="--scenes")
        test_sets[source] = scenes
    results = evaluate_drivers(args.drivers, test_sets, n=args.n, seed=args.seed)
    for name, result in results["test_sets"].items():
        print(
            f"{name}: {result['scenes']} scenes ({result['left_out']} left out: start not drivable)"
        )
        for row in result["drivers"]:
            cells = []
            for metric, form in (("success", ".1%"), ("crash", ".1%"), ("speed", ".1f")):
                low, high = row[f"{metric}_ci"]
                cells.append(
                    f"{metric} {number(row[metric], form)} "
                    f"[{number(low, form)}, {number(high, form)}]"
                )
            print(
                f"  {row['driver']} ({row['seeds']} seed(s), {row['episodes']} episodes): "
                + ", ".join(cells)
                + f", distance {row['distance']:.0f} m"
            )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"wrote {args.json}")
    return 0


def add_adversarial(commands: Commands) -> None:
    """``scenegym adversarial``: scenes a driving agent crashes in."""
    parser = commands.add_parser(
        "adversarial", help="find scenes a driving agent crashes in (drive it, edit, repeat)"
    )
    parser.add_argument("driver", help="a curriculum run folder or a scripted driver")
    parser.add_argument(
        "--scenes",
        action="append",
        default=None,
        metavar="SOURCE",
        help="candidate scenes: a scenes .jsonl file or CommonRoad files (repeatable)",
    )
    parser.add_argument(
        "--critical",
        type=positive_int,
        default=None,
        help="or this many candidates of the random space that reach --target criticality",
    )
    parser.add_argument("--target", type=float, default=0.8, help="criticality of --critical")
    parser.add_argument(
        "--rounds", type=seed_int, default=1, help="rounds of edits after the first"
    )
    parser.add_argument(
        "--seed", type=seed_int, default=0, help="seed of the candidates, edits and traffic"
    )
    parser.add_argument("--out", type=Path, required=True, help="scenes .jsonl to write")
    parser.set_defaults(handler=_adversarial)


def _adversarial(args: argparse.Namespace) -> int:
    if (args.scenes is None) == (args.critical is None):
        raise ValueError("give candidates: --scenes FILE or --critical N (one of them)")
    if not 0.0 < args.target <= 1.0:
        raise ValueError(f"--target must be a criticality in (0, 1], got {args.target}")
    driver = load_driver(args.driver)
    if args.scenes is not None:
        candidates, _ = reference_scenes(args.scenes, name="--scenes")
    else:
        candidates = critical_candidates(args.critical, target=args.target, seed=args.seed)
    found = adversarial_search(driver, candidates, rounds=args.rounds, seed=args.seed)
    for number_, row in enumerate(found.rounds):
        print(
            f"round {number_}: {row['crashes']} crashes in {row['tried']} scenes "
            f"({row['crash_rate']:.1%})"
        )
    write_scenes(args.out, found.scenes)
    print(f"wrote {len(found.scenes)} scenes {driver.name} crashed in to {args.out}")
    return 0
