"""The evaluate command: metrics and a report of scenes files against a reference."""

from __future__ import annotations

import argparse
from pathlib import Path

from scenegym.cli._common import (
    Commands,
    add_backend_options,
    number,
    positive_int,
    reference_scenes,
    seed_int,
    use_backend,
)
from scenegym.evaluation import evaluate_to_folder, read_scene_sets
from scenegym.generators import ScenePrior


def add_evaluate(commands: Commands) -> None:
    """``scenegym evaluate``: scenes files measured against a reference."""
    parser = commands.add_parser(
        "evaluate", help="metrics and a report of scenes against a reference"
    )
    parser.add_argument("scenes", type=Path, help="scenes .jsonl file")
    parser.add_argument(
        "--reference",
        type=str,
        nargs="+",
        required=True,
        help="a scenes .jsonl file, CommonRoad .xml files or folders, or 'naturalistic' "
        "(the embedded highway-env reference, 2,000 scenes, cached)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--compare", type=Path, nargs="+", default=[], help="more scenes files to compare"
    )
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of splits and classifiers")
    parser.add_argument(
        "--prior",
        type=Path,
        default=None,
        help="a prior folder (scenegym fit-prior): adds the Fréchet Scene Distance",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="sets (the scenes and each --compare file) evaluated at once, one per worker",
    )
    add_backend_options(parser)
    parser.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    use_backend(args, args.workers)
    sets = read_scene_sets([args.scenes, *args.compare])
    prior = ScenePrior.load(args.prior) if args.prior is not None else None
    reference, label = reference_scenes(args.reference)
    metrics = evaluate_to_folder(
        sets,
        reference,
        args.out,
        seed=args.seed,
        reference_name=label,
        prior=prior,
        workers=args.workers,
        backend=args.backend,
    )
    for name, result in metrics["generators"].items():
        fsd = ""
        if "fsd" in result:
            fsd = f", FSD {result['fsd']:.3g} (floor {result['fsd_floor']:.3g})"
        print(
            f"{name}: validity {result['validity_rate']:.1%}, C2ST AUC "
            f"{number(result['c2st_auc'], '.3f')} (traffic "
            f"{number(result['traffic']['c2st_auc'], '.3f')}, floor "
            f"{number(result['traffic']['c2st_floor'], '.3f')}), "
            f"MMD² {number(result['mmd2'], '.4f')} (floor {result['mmd2_floor']:.4f}){fsd}, "
            f"coverage {result['coverage']:.3f}, Vendi {result['vendi']:.2f}"
        )
    print(f"wrote {args.out}/metrics.json and {args.out}/report.md")
    return 0
