"""The quickstart command: ``scenegym.agents.quickstart`` with progress bars and a closing
report of where everything is."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scenegym.agents import QUICKSTART_MIN_REFERENCE, QuickstartResult, RecipeProgress, quickstart
from scenegym.cli._common import (
    Commands,
    add_config_options,
    at_least,
    interactive,
    number,
    positive_int,
    print_summary,
    progress,
    seed_int,
    space,
)
from scenegym.evaluation.verdict import verdict


def add_quickstart(commands: Commands) -> None:
    """``scenegym quickstart``: ``scenegym.agents.quickstart``."""
    parser = commands.add_parser(
        "quickstart",
        help="the whole pipeline on the embedded defaults: reference, train, generate, "
        "evaluate against the reference and the random sampler, report, contact sheet, "
        "scene prior, dataset",
    )
    parser.add_argument("--out", type=Path, default=Path("quickstart"), help="output folder")
    parser.add_argument(
        "--n",
        type=positive_int,
        default=1000,
        help="scenes of each set (random, generated, prior's) evaluated and written",
    )
    parser.add_argument("--seed", type=seed_int, default=0, help="random seed")
    parser.add_argument(
        "--train-steps",
        type=positive_int,
        default=500_000,
        help="training budget of the generation policy (environment steps)",
    )
    parser.add_argument(
        "--reference-n",
        type=at_least(QUICKSTART_MIN_REFERENCE, "split by simulated run: train on part, hold out"),
        default=2000,
        help="reference scenes to simulate (cached after the first run)",
    )
    add_config_options(parser)
    parser.set_defaults(handler=_quickstart)


class _Shown(RecipeProgress):
    """Progress bars on an interactive stderr, notes on stderr, the summary on stdout."""

    def __init__(self) -> None:
        self.training_bar = interactive()

    def stage(
        self, description: str, total: int | None
    ) -> contextlib.AbstractContextManager[Callable[..., None]]:
        return progress(description, total)

    def note(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def training_lines(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def described(self, summary: dict[str, Any]) -> None:
        print_summary(summary)


def _quickstart(args: argparse.Namespace) -> int:
    result = quickstart(
        args.out,
        n=args.n,
        seed=args.seed,
        train_steps=args.train_steps,
        reference_n=args.reference_n,
        space=space(args),
        progress=_Shown(),
    )
    print(_closing(result))
    return 0


def _closing(result: QuickstartResult) -> str:
    """Where everything is, the main metrics, and what to do next."""
    out, scenes = result.out, result.random_scenes
    return (
        f"\nquickstart wrote to {out}/:\n"
        f"  scenes.jsonl        {scenes} random scenes (seed {result.seed})\n"
        f"  render/             images, semantic maps, instance masks, labels\n"
        f"  describe.json       descriptor statistics and validity rate\n"
        f"  contact_sheet.png   the first {min(16, scenes)} random scenes\n"
        f"  reference.jsonl     {result.reference_scenes} reference scenes (highway-env "
        f"IDM/MOBIL traffic, cached for later runs)\n"
        f"  reference_fit.jsonl / reference_held_out.jsonl\n"
        f"                      half the simulated runs each, whole: the policy learns from\n"
        f"                      the first and is evaluated against the second\n"
        f"  run/                the trained generation policy ({result.train_steps} steps), "
        f"logs\n"
        f"  generated.jsonl     {result.generated_scenes} scenes from the policy\n"
        f"  generated_sheet.png the first generated scenes\n"
        f"  prior/              a VAE scene prior of the first part (cached): the features\n"
        f"                      of the Fréchet Scene Distance, and a baseline generator\n"
        f"  evaluation/         metrics.json, report.md and figures against the reference\n"
        f"  dataset/            the generated scenes as a COCO dataset (images, masks, boxes)\n"
        f"{_table(result.metrics['generators'])}\n"
        f"{_verdict(result.metrics['generators'])}\n"
        f"Load the dataset: from pycocotools.coco import COCO; "
        f"COCO('{out}/dataset/annotations.json')\n"
        f"Longer training: scenegym quickstart --train-steps 1000000, or scenegym train."
    )


def _verdict(results: dict[str, dict]) -> str:
    """The report's verdict as plain lines (``scenegym.evaluation.verdict``)."""
    lines = [line.replace("**", "") for line in verdict(results) if line.startswith("- ")]
    return "Verdict (evaluation/report.md has the tables):\n" + "".join(
        f"  {line}\n" for line in lines
    )


def _fsd_note(result: dict) -> str:
    note = f"floor {result['fsd_floor']:.2f}"
    if result["scenes"] < 300:  # fewer scenes than features: the bias swamps differences
        note += f" (only {result['scenes']} scenes: use --n 1000 to compare)"
    return note


def _table(results: dict[str, dict]) -> str:
    """The main metrics of every evaluated set."""
    names = ["random sampler", "VAE prior", "generated"]
    rows = [
        ("", lambda r: "", ""),
        ("validity", lambda r: f"{r['validity_rate']:.1%}", ""),
        ("C2ST AUC", lambda r: number(r["c2st_auc"], ".3f"), "0.5 = indistinguishable"),
        (
            "MMD²",
            lambda r: number(r["mmd2"], ".4f"),
            f"floor {results['generated']['mmd2_floor']:.4f}",
        ),
        ("FSD", lambda r: number(r.get("fsd"), ".2f"), _fsd_note(results["generated"])),
    ]
    lines = []
    for label, cell, note in rows:
        cells = "".join(f"{name if not label else cell(results[name]):>16}" for name in names)
        lines.append(f"  {label:<12}{cells}   {note}".rstrip() + "\n")
    return "".join(lines)
