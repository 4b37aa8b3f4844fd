"""Commands for driving agents: curriculum (train a driver with a teacher) and
evaluate-driver (drivers judged on test scenes)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scenegym.agents.curriculum import CurriculumConfig
from scenegym.agents.driving import evaluate_drivers
from scenegym.agents.student import train_curriculum
from scenegym.cli._common import (
    Commands,
    add_config_options,
    config,
    interactive,
    number,
    positive_int,
    reference_scenes,
    seed_int,
)


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
        model = train_curriculum(None, run, resume=True, progress_bar=interactive())
    else:
        if args.out is None:
            raise ValueError("give --out RUN for a new run, or --resume RUN to continue one")
        run = args.out
        model = train_curriculum(config(CurriculumConfig, args), run, progress_bar=interactive())
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
