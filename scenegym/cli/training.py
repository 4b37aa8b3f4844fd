"""Commands that train a generation policy and sample from it: train, generate, fit."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scenegym.agents import (
    GenerationPolicy,
    RecipeProgress,
    TrainConfig,
    bring_inputs,
    check_targets,
    targets_like,
)
from scenegym.agents.fitting import fit_reference

# The function, not the module of the same name that importing it sets on scenegym.agents.
from scenegym.agents.training import run_finished, train
from scenegym.bridges import load_roads
from scenegym.cli._common import (
    Commands,
    add_backend_options,
    add_config_options,
    add_target_option,
    check_out_file,
    config,
    interactive,
    log_lines,
    number,
    overrides,
    parse_targets,
    positive_float,
    positive_int,
    reference_scenes,
    seed_int,
    share,
    use_backend,
)
from scenegym.scene import ALL_DESCRIPTORS, write_scenes


# ---------------------------------------------------------------------- train
def add_train(commands: Commands) -> None:
    """``scenegym train``: a new or resumed training run."""
    parser = commands.add_parser("train", help="train a generation policy (SB3) into a run folder")
    add_config_options(parser, "training config", example="total_steps=50000")
    parser.add_argument("--out", type=Path, default=None, help="new run folder")
    parser.add_argument("--resume", type=Path, default=None, help="continue this run folder")
    parser.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    if args.resume is not None:
        if args.config is not None or args.out is not None:
            raise ValueError("--resume RUN takes no --config or --out: the run has them")
        run, total_steps = args.resume, _longer(args.overrides)
        if total_steps is None and run_finished(run):
            print(
                f"{run} has trained all its total_steps already; nothing to resume "
                "(--set total_steps=N trains it on)"
            )
            return 0
        model = train(
            None,
            run,
            resume=True,
            total_steps=total_steps,
            progress_bar=interactive(),
            progress_lines=log_lines(),
        )
    else:
        if args.out is None:
            raise ValueError("give --out RUN for a new run, or --resume RUN to continue one")
        run = args.out
        training, files = bring_inputs(config(TrainConfig, args))
        model = train(
            training, run, progress_bar=interactive(), progress_lines=log_lines(), files=files
        )
    print(f"trained {run}: model {model}, logs {run}/logs/, checkpoints {run}/checkpoints/")
    return 0


def _longer(texts: Sequence[str]) -> int | None:
    """The ``total_steps`` of ``--resume RUN --set total_steps=N``; the one key a run's
    config takes on resuming."""
    given = overrides(texts)
    if not given:
        return None
    if set(given) != {"total_steps"}:
        other = sorted(set(given) - {"total_steps"})
        raise ValueError(
            f"--resume RUN takes --set total_steps=N only, not {', '.join(other)}: the run "
            "keeps its config"
        )
    steps = given["total_steps"]
    if isinstance(steps, float) and steps.is_integer():  # 1e6, as YAML reads it
        steps = int(steps)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"--set total_steps must be a positive whole number, got {steps!r}")
    return steps


# ---------------------------------------------------------------------- generate
def add_generate(commands: Commands) -> None:
    """``scenegym generate``: scenes of a trained run."""
    parser = commands.add_parser("generate", help="sample scenes from a trained run")
    parser.add_argument("run", type=Path, help="run folder written by scenegym train")
    parser.add_argument("--n", type=positive_int, default=100, help="number of scenes")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the rollouts")
    add_target_option(
        parser, "descriptor target for goal-conditioned runs, e.g. --target density=40"
    )
    parser.add_argument(
        "--like",
        type=Path,
        default=None,
        metavar="SCENES.jsonl",
        help="ask rollout i for the goal descriptors of scene i of this file (cycling); "
        "--target values replace theirs",
    )
    parser.add_argument(
        "--roads",
        type=Path,
        nargs="+",
        default=None,
        metavar="PATH",
        help="populate these roads with traffic: a scenes .jsonl file (its scenes' roads) or "
        "CommonRoad .xml files and folders (their carriageways); rollout i drives on road "
        "i mod the number of roads, which its scene keeps unchanged",
    )
    parser.add_argument(
        "--invalid",
        choices=("report", "resample", "repair", "drop"),
        default="report",
        help="what to do with invalid scenes (default: keep them and report the count)",
    )
    parser.add_argument(
        "--attempts",
        type=positive_int,
        default=5,
        help="--invalid resample: new rollouts per invalid scene before it is dropped (default 5)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="processes rolling out batches in parallel (pays from a few thousand scenes)",
    )
    add_backend_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="output .jsonl file")
    parser.set_defaults(handler=_generate)


def _generate(args: argparse.Namespace) -> int:
    check_out_file(args.out)
    targets = parse_targets(args.target)
    policy = GenerationPolicy.load(args.run)
    for name, (low, high) in check_targets(policy, targets, name="--target").items():
        print(
            f"scenegym: warning: --target {name}={targets[name]:g} lies outside the goal range "
            f"[{low:g}, {high:g}] that {policy.run} was trained on; expect a large goal error",
            file=sys.stderr,
        )
    wanted: Any = targets or None
    if args.like is not None:
        wanted = targets_like(policy, args.like, args.n, given=targets, name="--like")
    roads = None if args.roads is None else load_roads(args.roads, name="--roads")
    use_backend(args, args.workers)
    with policy:
        sample = policy.sample(
            args.n,
            targets=wanted,
            seed=args.seed,
            invalid=args.invalid,
            attempts=args.attempts,
            workers=args.workers,
            roads=roads,
            backend=args.backend,
        )
    write_scenes(args.out, sample.scenes)
    print(
        f"wrote {len(sample.scenes)} scenes to {args.out}: {sample.invalid} invalid, "
        f"{sample.resampled} rollouts resampled, {sample.repaired} repaired by removing "
        f"{sample.removed} vehicles, {sample.dropped} invalid dropped"
    )
    for name, error in sample.goal_errors.items():
        share = error["range_share"]
        of_range = f" ({share:.1%} of the goal range)" if share is not None else ""
        print(f"goal error {name}: {error['error']:.3g} {ALL_DESCRIPTORS[name]}{of_range}")
    if sample.goal_errors and sample.scenes:
        # Met targets are worth little in unrealistic scenes: say both.
        _, terms = policy.score(sample.scenes)
        realism = f", realism {terms['realism'].mean():.3f}" if "realism" in terms else ""
        print(
            f"targeted scenes: validity {(terms['validity'] == 1.0).mean():.1%}{realism} "
            "(the run's realism model: 1 when every vehicle is as likely as the typical 90 % "
            "of reference vehicles)"
        )
    return 0


# ---------------------------------------------------------------------- fit
def add_fit(commands: Commands) -> None:
    """``scenegym fit``: ``scenegym.agents.fit_reference``."""
    parser = commands.add_parser(
        "fit",
        help="learn a generator of a reference's traffic (recordings or scenes) and evaluate "
        "it on held-out recordings",
    )
    parser.add_argument(
        "reference",
        type=str,
        nargs="+",
        help="CommonRoad .xml files or folders, a scenes .jsonl file, or 'naturalistic'",
    )
    parser.add_argument("--out", type=Path, required=True, help="new run folder")
    parser.add_argument(
        "--held-out",
        type=share,
        default=0.3,
        help="share of the recordings held out, whole, to evaluate on (default 0.3)",
    )
    parser.add_argument(
        "--train-steps", type=positive_int, default=250_000, help="training budget (steps)"
    )
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the split and training")
    parser.add_argument(
        "--interval",
        type=positive_float,
        default=1.0,
        help="seconds between the snapshots taken of CommonRoad recordings (default 1)",
    )
    parser.set_defaults(handler=_fit)


class _Progress(RecipeProgress):
    training_bar = interactive()

    def note(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def training_lines(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)


def _fit(args: argparse.Namespace) -> int:
    reference, label = reference_scenes(args.reference, name="reference", interval=args.interval)
    result = fit_reference(
        reference,
        args.out,
        held_out=args.held_out,
        train_steps=args.train_steps,
        seed=args.seed,
        label=label,
        progress=_Progress(),
    )
    m = result.metrics
    traffic = m["traffic"]
    worst = max(m["ks"].items(), key=lambda item: -1.0 if item[1] is None else item[1])
    print(
        f"fitted {result.run} on {result.recordings['fit']} recording(s) "
        f"({result.scenes['fit']} scenes); generated on the roads of "
        f"{result.recordings['held_out']} held-out recording(s) ({result.scenes['held_out']} "
        "scenes) and compared with the traffic recorded there:\n"
        f"  validity {m['validity_rate']:.1%}; traffic C2ST AUC "
        f"{number(traffic['c2st_auc'], '.3f')} (floor {number(traffic['c2st_floor'], '.3f')}); "
        f"MMD² {number(m['mmd2'], '.4f')} (floor {m['mmd2_floor']:.4f}); traffic coverage "
        f"{traffic['coverage']:.2f} and precision {traffic['precision']:.2f} (floors "
        f"{number(traffic.get('coverage_floor'), '.2f')} and "
        f"{number(traffic.get('precision_floor'), '.2f')}); largest KS {worst[0]} "
        f"{number(worst[1], '.2f')}\n"
        f"report: {result.run}/evaluation/report.md"
    )
    return 0
