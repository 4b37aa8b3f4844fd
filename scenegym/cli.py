"""The ``scenegym`` command line: a thin layer over the Python API.

Every error a user can cause (a missing or malformed file, a bad option, an out-of-range value)
ends as one line ``scenegym: error: ...`` on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["main"]

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a seed >= 0, got {value}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="scenegym",
        description="Generate, render, evaluate and export driving scenes.",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    sample = commands.add_parser("sample", help="sample random scenes into a JSONL file")
    sample.add_argument("--n", type=_positive_int, default=100, help="number of scenes")
    sample.add_argument("--seed", type=_seed, default=0, help="random seed (same seed, same file)")
    sample.add_argument("--out", type=Path, required=True, help="output .jsonl file")
    _add_config_options(sample)

    reference = commands.add_parser(
        "reference", help="simulate the naturalistic reference (highway-env IDM/MOBIL traffic)"
    )
    reference.add_argument("--n", type=_positive_int, default=2000, help="number of scenes")
    reference.add_argument("--seed", type=_seed, default=0, help="random seed")
    reference.add_argument("--out", type=Path, required=True, help="output .jsonl file")
    reference.add_argument(
        "--workers", type=_positive_int, default=None, help="processes (default: one per CPU)"
    )
    reference.add_argument(
        "--no-cache", action="store_true", help="simulate even when a cached copy exists"
    )
    _add_config_options(reference, what="reference config")

    importer = commands.add_parser(
        "import", help="import recorded scenarios (CommonRoad XML files or folders) as scenes"
    )
    importer.add_argument("paths", type=Path, nargs="+", help="CommonRoad .xml files or folders")
    importer.add_argument(
        "--interval",
        type=_positive_float,
        default=None,
        help="seconds between snapshots (default: only the first time step)",
    )
    importer.add_argument("--out", type=Path, required=True, help="output .jsonl file")

    export = commands.add_parser("export", help="export scenes for simulators")
    export.add_argument("scenes", type=Path, help="scenes .jsonl file")
    export.add_argument("--format", choices=("commonroad",), default="commonroad")
    export.add_argument("--out", type=Path, required=True, help="output folder")

    train = commands.add_parser("train", help="train a generation policy (SB3) into a run folder")
    _add_config_options(train, "training config", example="total_steps=50000")
    train.add_argument("--out", type=Path, default=None, help="new run folder")
    train.add_argument("--resume", type=Path, default=None, help="continue this run folder")

    generate = commands.add_parser("generate", help="sample scenes from a trained run")
    generate.add_argument("run", type=Path, help="run folder written by scenegym train")
    generate.add_argument("--n", type=_positive_int, default=100, help="number of scenes")
    generate.add_argument("--seed", type=_seed, default=0, help="seed of the rollouts")
    generate.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="DESCRIPTOR=VALUE",
        help="descriptor target for goal-conditioned runs, e.g. --target density=40",
    )
    generate.add_argument(
        "--like",
        type=Path,
        default=None,
        metavar="SCENES.jsonl",
        help="ask rollout i for the goal descriptors of scene i of this file (cycling); "
        "--target values replace theirs",
    )
    generate.add_argument(
        "--invalid",
        choices=("report", "resample", "repair", "drop"),
        default="report",
        help="what to do with invalid scenes (default: keep them and report the count)",
    )
    generate.add_argument(
        "--attempts",
        type=_positive_int,
        default=5,
        help="--invalid resample: new rollouts per invalid scene before it is dropped (default 5)",
    )
    generate.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="processes rolling out batches in parallel (pays from a few thousand scenes)",
    )
    generate.add_argument("--out", type=Path, required=True, help="output .jsonl file")

    render = commands.add_parser("render", help="render scenes into PNG images and labels")
    render.add_argument("scenes", type=Path, help="scenes .jsonl file")
    render.add_argument("--out", type=Path, required=True, help="output folder")
    render.add_argument("--width", type=_positive_int, default=256, help="image width (px)")
    render.add_argument("--height", type=_positive_int, default=128, help="image height (px)")
    render.add_argument(
        "--resolution", type=float, default=None, help="m/px (default: fit the road)"
    )
    render.add_argument("--view", choices=("road", "vehicle"), default="road")
    render.add_argument("--ego", type=_seed, default=0, help="vehicle followed by --view vehicle")
    render.add_argument(
        "--overwrite", action="store_true", help="replace a non-empty output folder"
    )

    evaluate = commands.add_parser(
        "evaluate", help="metrics and a report of scenes against a reference"
    )
    evaluate.add_argument("scenes", type=Path, help="scenes .jsonl file")
    evaluate.add_argument(
        "--reference",
        type=str,
        nargs="+",
        required=True,
        help="a scenes .jsonl file, CommonRoad .xml files or folders, or 'naturalistic' "
        "(the embedded highway-env reference, 2,000 scenes, cached)",
    )
    evaluate.add_argument("--out", type=Path, required=True, help="output folder")
    evaluate.add_argument(
        "--compare", type=Path, nargs="+", default=[], help="more scenes files to compare"
    )
    evaluate.add_argument("--seed", type=_seed, default=0, help="seed of splits and classifiers")
    evaluate.add_argument(
        "--prior",
        type=Path,
        default=None,
        help="a prior folder (scenegym fit-prior): adds the Fréchet Scene Distance",
    )

    sample_prior = commands.add_parser(
        "sample-prior", help="sample scenes from a scene prior (a non-RL baseline generator)"
    )
    sample_prior.add_argument("prior", type=Path, help="prior folder (scenegym fit-prior)")
    sample_prior.add_argument("--n", type=_positive_int, default=100, help="number of scenes")
    sample_prior.add_argument("--seed", type=_seed, default=0, help="seed of the latent codes")
    sample_prior.add_argument("--out", type=Path, required=True, help="scenes .jsonl file")

    dataset = commands.add_parser(
        "dataset", help="render scenes into a COCO / YOLO / Parquet dataset (resumable shards)"
    )
    dataset.add_argument(
        "source", type=Path, help="a run folder (scenegym train), a prior folder or a .jsonl file"
    )
    dataset.add_argument("--n", type=_positive_int, required=True, help="number of scenes")
    dataset.add_argument(
        "--seed", type=_seed, default=0, help="seed of the scenes and augmentation"
    )
    dataset.add_argument("--out", type=Path, required=True, help="output folder")
    dataset.add_argument(
        "--format", choices=("coco", "yolo", "parquet", "all"), nargs="+", default=["all"]
    )
    dataset.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="DESCRIPTOR=VALUE",
        help="a run source's descriptor target (repeatable)",
    )
    dataset.add_argument(
        "--workers", type=_positive_int, default=1, help="parallel worker processes"
    )
    _add_config_options(
        dataset,
        "dataset config",
        "DatasetConfig",
        "views=[road,vehicle] or --set augment.rotate=15",
    )
    dataset.add_argument(
        "--overwrite", action="store_true", help="replace a folder holding another dataset"
    )
    dataset.add_argument(
        "--appearance",
        type=Path,
        default=None,
        metavar="MODEL",
        help="paint the RGB pictures with this appearance model (scenegym fit-appearance)",
    )

    fit_appearance = commands.add_parser(
        "fit-appearance",
        help="fit a semantic-map-to-picture model (pix2pix-style GAN) on image pairs",
    )
    fit_appearance.add_argument(
        "pairs",
        type=Path,
        nargs="?",
        default=None,
        help="folder with semantic/NAME.png class-id maps and images/NAME.png pictures "
        "(not needed with --resume)",
    )
    fit_appearance.add_argument("--out", type=Path, default=None, help="new model folder")
    fit_appearance.add_argument(
        "--resume", type=Path, default=None, help="continue this model folder"
    )
    _add_config_options(fit_appearance, "appearance config", "AppearanceConfig", "epochs=80")

    fit_prior = commands.add_parser(
        "fit-prior", help="fit a VAE or GAN scene prior on a reference (realism, FSD features)"
    )
    fit_prior.add_argument(
        "--reference",
        type=str,
        nargs="+",
        default=None,
        help="a scenes .jsonl file, CommonRoad .xml files or folders, or 'naturalistic' "
        "(not needed with --resume)",
    )
    fit_prior.add_argument(
        "--kind",
        choices=("vae", "gan"),
        default=None,
        help="kind of prior (default: the config's, vae)",
    )
    fit_prior.add_argument("--out", type=Path, default=None, help="new prior folder")
    fit_prior.add_argument("--resume", type=Path, default=None, help="continue this prior folder")
    _add_config_options(fit_prior, "prior config", "PriorConfig", "epochs=80")

    describe = commands.add_parser("describe", help="descriptor table and validity rate")
    describe.add_argument("scenes", type=Path, help="scenes .jsonl file")
    describe.add_argument("--json", type=Path, default=None, help="also write the summary here")

    quick = commands.add_parser(
        "quickstart",
        help="the whole pipeline on the embedded defaults: reference, train, generate, "
        "evaluate against the reference and the random sampler, report, contact sheet, "
        "scene prior, dataset",
    )
    quick.add_argument("--out", type=Path, default=Path("quickstart"), help="output folder")
    quick.add_argument("--n", type=_positive_int, default=64, help="number of scenes")
    quick.add_argument("--seed", type=_seed, default=0, help="random seed")
    quick.add_argument(
        "--train-steps",
        type=_positive_int,
        default=500_000,
        help="training budget of the generation policy (environment steps)",
    )
    quick.add_argument(
        "--reference-n",
        type=_positive_int,
        default=2000,
        help="reference scenes to simulate (cached after the first run)",
    )
    _add_config_options(quick)
    return parser


def _add_config_options(
    parser: argparse.ArgumentParser,
    what: str = "scene-space config",
    key: str = "config",
    example: str = "vehicles=[10,30]",
) -> None:
    """``--config FILE`` and repeatable ``--set KEY=VALUE``, read back by ``_config``."""
    parser.add_argument("--config", type=Path, default=None, help=f"{what} (.yaml or .toml)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a {key} key, e.g. --set {example} (repeatable)",
    )


def _version() -> str:
    from scenegym import __version__

    return f"scenegym {__version__}"


# ---------------------------------------------------------------------- helpers
def _console():
    from rich.console import Console

    return Console(stderr=True)


def _progress_columns() -> tuple[Any, ...]:
    """Description, bar, done/total, items per second, time left."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")

    return (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
    )


@contextlib.contextmanager
def _progress(description: str, total: int | None) -> Iterator[Any]:
    """A rich progress bar (done/total, rate, time left) on an interactive stderr; silent
    otherwise. Yields ``advance(steps=1)``."""
    from rich.progress import Progress

    console = _console()
    with Progress(
        *_progress_columns(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda steps=1: progress.advance(task, steps)


def _tick(items: Iterable, advance) -> Iterator:
    for item in items:
        yield item
        advance()


def _epoch_progress(advance) -> Callable[[int, dict], None]:
    """An ``on_epoch`` callback that moves the bar to each finished epoch (a resumed fit
    starts past the epochs already done)."""
    done = 0

    def on_epoch(epoch: int, row: dict) -> None:
        nonlocal done
        advance(epoch - done)
        done = epoch

    return on_epoch


def _config(cls: type, args: argparse.Namespace):
    """The typed config ``cls`` from ``--config`` and ``--set`` options."""
    from scenegym.config import (
        config_from_mapping,
        load_config,
        merge_mappings,
        parse_override,
    )

    overrides: dict[str, Any] = {}
    for text in args.overrides:
        overrides = merge_mappings(overrides, parse_override(text))
    if args.config is not None:
        return load_config(cls, args.config, overrides)
    try:
        return config_from_mapping(cls, overrides)
    except ValueError as error:
        raise ValueError(f"--set: {error}" if overrides else str(error)) from None


def _space(args: argparse.Namespace):
    from scenegym.scene import HighwaySceneSpace, HighwaySpaceConfig

    return HighwaySceneSpace(_config(HighwaySpaceConfig, args))


def _count_lines(path: Path) -> int:
    from scenegym.scene.scene import check_scenes_file

    check_scenes_file(path)
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def _check_out_file(path: Path) -> None:
    if path.is_dir():
        raise ValueError(f"--out {path} is a folder; give a file name such as scenes.jsonl")
    if not path.parent.exists():
        raise ValueError(f"--out {path}: folder {path.parent} does not exist; create it first")


# ---------------------------------------------------------------------- commands
def _cmd_sample(args: argparse.Namespace) -> int:
    from scenegym.scene import write_scenes

    _check_out_file(args.out)
    space = _space(args)
    with _progress("sampling", args.n) as advance:
        count = write_scenes(args.out, _tick(space.sample_many(args.n, args.seed), advance))
    print(f"wrote {count} scenes to {args.out} (seed {args.seed})")
    return 0


def _cmd_reference(args: argparse.Namespace) -> int:
    from scenegym.bridges import ReferenceConfig, naturalistic_reference
    from scenegym.scene import write_scenes

    _check_out_file(args.out)
    config = _config(ReferenceConfig, args)
    with _progress("simulating", args.n) as advance:
        scenes = naturalistic_reference(
            args.n,
            args.seed,
            config,
            cache=not args.no_cache,
            workers=args.workers,
            on_scene=advance,
        )
    write_scenes(args.out, scenes)
    stats = _write_statistics(args.out, scenes)
    print(
        f"wrote {len(scenes)} reference scenes ({stats['vehicles']} vehicles) to {args.out} "
        f"(seed {args.seed}; highway-env IDM/MOBIL traffic, a model, not a recording) and "
        f"its feature statistics to {_statistics_path(args.out)}"
    )
    return 0


def _statistics_path(out: Path) -> Path:
    return out.with_name(out.stem + ".stats.json")


def _write_statistics(out: Path, scenes: list) -> dict[str, Any]:
    """Write the reference statistics beside a scenes file; returns them."""
    from scenegym._io import atomic_write_text
    from scenegym.evaluation.summary import reference_statistics

    stats = reference_statistics(scenes)
    atomic_write_text(_statistics_path(out), json.dumps(stats, indent=1) + "\n")
    return stats


def _cmd_import(args: argparse.Namespace) -> int:
    from scenegym.bridges.commonroad import import_commonroad
    from scenegym.scene import write_scenes

    _check_out_file(args.out)
    scenes, summary = import_commonroad(args.paths, interval=args.interval)
    for skipped in summary["files_skipped"]:
        print(f"skipped {skipped['file']}: {skipped['reason']}", file=sys.stderr)
    if not scenes:
        raise ValueError(
            f"no scenes imported from {summary['files_read']} file(s); see the reasons above"
        )
    from scenegym.evaluation.summary import deduplicate

    scenes, repeats = deduplicate(scenes)
    write_scenes(args.out, scenes)
    stats = _write_statistics(args.out, scenes)
    flagged = ", ".join(f"{rule} {n}" for rule, n in stats["violations"].items() if n)
    print(
        f"imported {len(scenes)} scenes ({stats['vehicles']} vehicles) from "
        f"{summary['files_read']} file(s) into {args.out}; skipped "
        f"{len(summary['files_skipped'])} file(s), removed {repeats} duplicate scene(s), "
        f"dropped {summary['vehicles_dropped']} vehicle states outside the mapped road, "
        f"ignored {summary['obstacles_ignored']} non-vehicle obstacles; violations by "
        f"rule: {flagged or 'none'}; feature statistics in {_statistics_path(args.out)}"
    )
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from scenegym.bridges.commonroad import export_commonroad
    from scenegym.scene import iter_scenes

    total = _count_lines(args.scenes)
    at = {"reading": True, "line": 0}

    def scenes():
        numbered = iter_scenes(args.scenes, lines=True)
        while True:
            at["reading"] = True
            try:
                at["line"], scene = next(numbered)
            except StopIteration:
                return
            at["reading"] = False
            yield scene

    with _progress("exporting", total) as advance:
        try:
            paths = export_commonroad(_tick(scenes(), advance), args.out)
        except ValueError as error:
            if at["reading"]:  # the file's own error names its line already
                raise
            raise ValueError(f"{args.scenes} line {at['line']}: {error}") from None
    print(f"wrote {len(paths)} CommonRoad XML files to {args.out}")
    return 0


def _render_config(args: argparse.Namespace):
    from scenegym.datasets import RenderConfig

    return RenderConfig(
        width=args.width,
        height=args.height,
        resolution=args.resolution,
        view=args.view,
        ego=args.ego,
    )


def _cmd_render(args: argparse.Namespace) -> int:
    from scenegym.datasets.files import render_to_folder
    from scenegym.scene import iter_scenes

    config = _render_config(args)
    total = _count_lines(args.scenes)
    with _progress("rendering", total) as advance:
        count = render_to_folder(
            iter_scenes(args.scenes), args.out, config, on_scene=advance, overwrite=args.overwrite
        )
    print(f"rendered {count} scenes into {args.out}/{{images,semantic,instance,labels}}")
    return 0


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{summary['scenes']} scenes")
    for column in ("descriptor", "unit", "mean", "std", "min", "max"):
        table.add_column(column, justify="left" if column in ("descriptor", "unit") else "right")
    for name, stats in summary["descriptors"].items():
        table.add_row(
            name, stats["unit"], *(f"{stats[key]:.4g}" for key in ("mean", "std", "min", "max"))
        )
    console = Console()
    console.print(table)
    failures = ", ".join(
        f"{rule} {rate:.1%}" for rule, rate in summary["rule_failure_rate"].items() if rate > 0
    )
    console.print(f"validity rate: {summary['validity_rate']:.1%}")
    console.print(f"scenes breaking each rule: {failures or 'none'}")


def _cmd_train(args: argparse.Namespace) -> int:
    from scenegym.agents.train import TrainConfig, run_finished, train

    total_steps = None
    if args.resume is not None:
        if args.config is not None or args.out is not None:
            raise ValueError("--resume RUN takes no --config or --out: the run has them")
        run = args.resume
        config: Any = None
        total_steps = _longer(args.overrides)
        if total_steps is None and run_finished(run):
            print(
                f"{run} has trained all its total_steps already; nothing to resume "
                "(--set total_steps=N trains it on)"
            )
            return 0
    else:
        if args.out is None:
            raise ValueError("give --out RUN for a new run, or --resume RUN to continue one")
        run = args.out
        config = _config(TrainConfig, args)
    files: dict[str, str] = {}
    if config is not None:
        config, files = _bring_inputs(config)
    model = train(
        config,
        run,
        resume=args.resume is not None,
        total_steps=total_steps,
        progress_bar=_interactive(),
        files=files,
    )
    print(f"trained {run}: model {model}, logs {run}/logs/, checkpoints {run}/checkpoints/")
    return 0


def _longer(overrides: Sequence[str]) -> int | None:
    """The ``total_steps`` of ``--resume RUN --set total_steps=N``; the one key a run's
    config takes on resuming."""
    from scenegym.config import merge_mappings, parse_override

    given: dict[str, Any] = {}
    for text in overrides:
        given = merge_mappings(given, parse_override(text))
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


def _bring_inputs(config: Any) -> tuple[Any, dict[str, str]]:
    """A new run reads its inputs' relative paths inside the run folder, which is empty: the
    reference files named relative to the working directory are copied into it (the run
    stays whole when moved), and model folders are named by their absolute paths."""
    import os

    files: dict[str, str] = {}
    kwargs = dict(config.env_kwargs)

    def bring(path: Any, name: str) -> Any:
        if isinstance(path, str) and path and not os.path.isabs(path) and Path(path).is_file():
            files[name] = Path(path).read_text(encoding="utf-8")
            return name
        return path

    reference = bring(config.reference, "reference.jsonl")
    goal = kwargs.get("goal")
    if isinstance(goal, dict) and "reference" in goal:
        kwargs["goal"] = {**goal, "reference": bring(goal["reference"], "goal-reference.jsonl")}
    for key in ("realism", "scene_realism", "prior", "decoder"):
        value = kwargs.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value) and Path(value).exists():
            kwargs[key] = str(Path(value).resolve())
    return dataclasses.replace(config, reference=reference, env_kwargs=kwargs), files


def _interactive() -> bool:
    return _console().is_terminal


def _cmd_generate(args: argparse.Namespace) -> int:
    from scenegym.agents.policy import GenerationPolicy
    from scenegym.scene import DESCRIPTORS, write_scenes

    _check_out_file(args.out)
    targets = _targets(args.target)
    policy = GenerationPolicy.load(args.run)
    _check_targets(targets, policy)
    wanted: Any = targets or None
    if args.like is not None:
        wanted = _targets_like(args.like, policy, args.n, targets)
    with policy:
        sample = policy.sample(
            args.n,
            targets=wanted,
            seed=args.seed,
            invalid=args.invalid,
            attempts=args.attempts,
            workers=args.workers,
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
        print(f"goal error {name}: {error['error']:.3g} {DESCRIPTORS[name]}{of_range}")
    return 0


def _targets(texts: Sequence[str]) -> dict[str, float]:
    """``--target DESCRIPTOR=VALUE`` options as a mapping."""
    from scenegym.config import did_you_mean
    from scenegym.scene import DESCRIPTORS

    targets = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep:
            raise ValueError(f"--target {text!r} must be DESCRIPTOR=VALUE, e.g. density=30")
        if name not in DESCRIPTORS:
            hint = did_you_mean(name, DESCRIPTORS)
            raise ValueError(
                f"--target {text!r}: unknown descriptor {name!r}; {hint}the descriptors are: "
                f"{', '.join(DESCRIPTORS)}"
            )
        if name in targets:
            raise ValueError(f"--target {name} is given twice; give each descriptor once")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"--target {text!r}: {value!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"--target {text!r}: the value must be a finite number")
        targets[name] = number
    return targets


def _check_targets(targets: dict[str, float], policy: Any) -> None:
    """Targets the run has no goal for are errors; values outside the goal range it was
    trained on are allowed, with a warning."""
    if not targets:
        return
    ranges = policy.goal_ranges
    if not ranges:
        raise ValueError(
            f"--target needs a goal-conditioned run; {policy.run} has no goal "
            "(train with env_kwargs.goal.ranges)"
        )
    for name, value in targets.items():
        if name not in ranges:
            raise ValueError(
                f"--target {name}: {policy.run} was trained with goals for {', '.join(ranges)} only"
            )
        low, high = ranges[name]
        if not low <= value <= high:
            print(
                f"scenegym: warning: --target {name}={value:g} lies outside the goal range "
                f"[{low:g}, {high:g}] that {policy.run} was trained on; expect a large goal error",
                file=sys.stderr,
            )


def _cmd_dataset(args: argparse.Namespace) -> int:
    from scenegym.agents import PolicySource
    from scenegym.datasets.dataset import (
        FORMATS,
        DatasetConfig,
        PriorSource,
        ScenesFile,
        write_dataset,
    )

    targets = _targets(args.target)
    path = args.source
    if path.is_dir() and (path / "config.json").is_file():
        source: Any = PolicySource(path, targets=targets)
    elif path.is_dir() and (path / "prior.json").is_file():
        source = PriorSource(path)
    elif path.is_file():
        source = ScenesFile(path)
    else:
        raise ValueError(
            f"{path} is not a run folder (config.json), a prior folder (prior.json) or a "
            "scenes .jsonl file"
        )
    if targets and not isinstance(source, PolicySource):
        raise ValueError("--target needs a run folder as the source")
    config = _config(DatasetConfig, args)
    # In FORMATS' order, whatever the order given: the same dataset resumes.
    formats = tuple(f for f in FORMATS if "all" in args.format or f in args.format)
    config = dataclasses.replace(config, formats=formats)
    with _progress("writing dataset", args.n) as advance:
        manifest = write_dataset(
            source,
            args.out,
            args.n,
            args.seed,
            config,
            workers=args.workers,
            overwrite=args.overwrite,
            appearance=args.appearance,
            on_scenes=advance,
        )
    counts = manifest["counts"]
    print(
        f"wrote {counts['images']} images of {counts['scenes']} scenes to {args.out} "
        f"({', '.join(formats)}; {manifest['shards']} shards; manifest.json, SHA256SUMS)"
    )
    if "coco" in formats:
        print(f"load it: from pycocotools.coco import COCO; COCO('{args.out}/annotations.json')")
    return 0


def _targets_like(path: Path, policy: Any, n: int, given: dict[str, float]) -> list[dict]:
    """Per-rollout targets: the policy's goal descriptors of the scenes in ``path``, cycled
    to ``n``, with the ``given`` targets replacing theirs."""
    from scenegym.scene import read_scenes
    from scenegym.scene.descriptors import describe_many

    names = policy.goal_names
    if not names:
        raise ValueError(f"--like needs a goal-conditioned run; {policy.run} has no goal")
    scenes = read_scenes(path)
    if not scenes:
        raise ValueError(f"--like {path} holds no scenes")
    described = describe_many(scenes)
    return [
        {name: float(described[name][i % len(scenes)]) for name in names} | given for i in range(n)
    ]


def _load_reference(items: Sequence[str]) -> tuple[list, str]:
    """Reference scenes from a JSONL file, CommonRoad XML files/folders, or 'naturalistic'."""
    from scenegym.bridges import naturalistic_reference
    from scenegym.scene import read_scenes

    if list(items) == ["naturalistic"]:
        with _progress("simulating reference", 2000) as advance:
            scenes = naturalistic_reference(2000, 0, on_scene=advance)
        return scenes, "naturalistic highway-env traffic (2,000 scenes, seed 0)"
    paths = [Path(item) for item in items]
    for path in paths:
        if not path.exists():
            raise ValueError(
                f"--reference {path} does not exist; give 'naturalistic', a .jsonl scenes file, "
                "or CommonRoad .xml files or folders"
            )
    if len(paths) == 1 and paths[0].suffix == ".jsonl":
        return read_scenes(paths[0]), str(paths[0])
    from scenegym.bridges.commonroad import import_commonroad

    try:
        scenes, summary = import_commonroad(paths)
    except ValueError as error:
        message = str(error).removeprefix("paths: ")
        raise ValueError(
            f"--reference: {message}; give 'naturalistic', a .jsonl scenes file, or CommonRoad "
            ".xml files or folders"
        ) from None
    for skipped in summary["files_skipped"]:
        print(f"skipped {skipped['file']}: {skipped['reason']}", file=sys.stderr)
    return scenes, f"{summary['files_read']} CommonRoad file(s)"


def _scenes_to_evaluate(path: Path) -> list:
    """The scenes of ``path``, at least as many as the classifier two-sample test needs."""
    from scenegym.scene import read_scenes

    scenes = read_scenes(path)
    if len(scenes) < 10:
        raise ValueError(
            f"{path} holds {len(scenes)} scenes; evaluating needs at least 10 (the classifier "
            "two-sample test takes 10 a side)"
        )
    return scenes


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from scenegym.evaluation.report import evaluate_to_folder

    sets = {args.scenes.stem: _scenes_to_evaluate(args.scenes)}
    for path in args.compare:
        name = path.stem if path.stem not in sets else str(path)
        sets[name] = _scenes_to_evaluate(path)
    prior = None
    if args.prior is not None:
        from scenegym.generators.prior import ScenePrior

        prior = ScenePrior.load(args.prior)
    reference, label = _load_reference(args.reference)
    metrics = evaluate_to_folder(
        sets, reference, args.out, seed=args.seed, reference_name=label, prior=prior
    )
    for name, result in metrics["generators"].items():
        fsd = ""
        if "fsd" in result:
            fsd = f", FSD {result['fsd']:.3g} (floor {result['fsd_floor']:.3g})"
        print(
            f"{name}: validity {result['validity_rate']:.1%}, C2ST AUC {result['c2st_auc']:.3f}, "
            f"MMD² {result['mmd2']:.4f} (floor {result['mmd2_floor']:.4f}){fsd}, "
            f"coverage {result['coverage']:.3f}, Vendi {result['vendi']:.2f}"
        )
    print(f"wrote {args.out}/metrics.json and {args.out}/report.md")
    return 0


def _fsd_note(result: dict) -> str:
    note = f"floor {result['fsd_floor']:.2f}"
    if result["scenes"] < 300:  # fewer scenes than features: the bias swamps differences
        note += f" (only {result['scenes']} scenes: use --n 1000 to compare)"
    return note


def _quickstart_table(results: dict[str, dict]) -> str:
    """The quickstart's closing table: the main metrics of every evaluated set."""
    names = ["random sampler", "VAE prior", "generated"]
    rows = [
        ("", lambda r: "", ""),
        ("validity", lambda r: f"{r['validity_rate']:.1%}", ""),
        ("C2ST AUC", lambda r: f"{r['c2st_auc']:.3f}", "0.5 = indistinguishable"),
        ("MMD²", lambda r: f"{r['mmd2']:.4f}", f"floor {results['generated']['mmd2_floor']:.4f}"),
        ("FSD", lambda r: f"{r['fsd']:.2f}", _fsd_note(results["generated"])),
    ]
    lines = []
    for label, cell, note in rows:
        cells = "".join(f"{name if not label else cell(results[name]):>16}" for name in names)
        lines.append(f"  {label:<12}{cells}   {note}".rstrip() + "\n")
    return "".join(lines)


def _cmd_fit_prior(args: argparse.Namespace) -> int:
    from scenegym.generators.prior import PriorConfig, fit_prior
    from scenegym.scene import read_scenes

    if (args.out is None) == (args.resume is None):
        raise ValueError("give exactly one of --out (a new prior) and --resume (a prior folder)")
    if args.resume is not None:
        if args.reference is not None or args.config is not None or args.overrides:
            raise ValueError(
                "--resume continues with the reference and config of the prior folder; leave "
                "out --reference, --config and --set"
            )
        out = args.resume
        reference_file = out / "reference.jsonl"
        if not reference_file.is_file() or not (out / "checkpoint.json").is_file():
            raise ValueError(
                f"{out} is not a prior folder being fitted (it needs reference.jsonl and "
                f"checkpoint.json, written by scenegym fit-prior --out)"
            )
        reference, config = read_scenes(reference_file), None
    else:
        if args.reference is None:
            raise ValueError("--reference is required for a new prior")
        out = args.out
        if args.kind is not None:  # before the config is built: the epochs follow the kind
            args.overrides = [*args.overrides, f"kind={args.kind}"]
        config = _config(PriorConfig, args)
        if (out / "prior.json").exists() or (out / "checkpoint.json").exists():
            raise ValueError(f"{out} already holds a prior; choose a new folder or pass --resume")
        reference, _ = _load_reference(args.reference)
        from scenegym.scene import write_scenes

        out.mkdir(parents=True, exist_ok=True)
        write_scenes(out / "reference.jsonl", reference)
    if config is None:
        from scenegym.generators.prior import read_checkpoint_config

        epochs = read_checkpoint_config(out).epochs
    else:
        epochs = config.epochs
    with _progress("fitting prior", epochs) as advance:
        on_epoch = _epoch_progress(advance)
        if args.resume is not None:
            prior = fit_prior(reference, out, resume=True, on_epoch=on_epoch)
        else:
            prior = fit_prior(reference, out, config, on_epoch=on_epoch)
    last = prior.info["history"][-1]
    losses = ", ".join(f"{key} {value:.4g}" for key, value in last.items() if key != "epoch")
    print(
        f"wrote {out}/: weights.safetensors, prior.json, roads.json, training.png "
        f"({prior.config.kind}, {prior.info['reference_scenes']} reference scenes, "
        f"{last['epoch']} epochs; last epoch: {losses})"
    )
    return 0


def _cmd_fit_appearance(args: argparse.Namespace) -> int:
    from scenegym.generators.appearance import (
        AppearanceConfig,
        fit_appearance,
        read_checkpoint,
        read_pairs,
    )

    if (args.out is None) == (args.resume is None):
        raise ValueError("give exactly one of --out (a new model) and --resume (a model folder)")
    if args.resume is not None:
        if args.config is not None or args.overrides:
            raise ValueError(
                "--resume continues with the config of the model folder; leave out --config "
                "and --set"
            )
        out = args.resume
        if not (out / "checkpoint.json").is_file():
            raise ValueError(
                f"{out} is not an appearance model being fitted (it has no checkpoint.json; "
                "start one with scenegym fit-appearance PAIRS --out)"
            )
        config, saved = read_checkpoint(out)
        folder = args.pairs if args.pairs is not None else Path(saved)
        epochs = config.epochs
    else:
        if args.pairs is None:
            raise ValueError("give the pairs folder: scenegym fit-appearance PAIRS --out MODEL")
        out, folder = args.out, args.pairs
        if (out / "appearance.json").exists() or (out / "checkpoint.json").exists():
            raise ValueError(
                f"{out} already holds an appearance model; choose a new folder or pass --resume"
            )
        config = _config(AppearanceConfig, args)
        epochs = config.epochs
    pairs = read_pairs(folder)
    print(
        f"{len(pairs.names)} pairs in {folder}"
        + (f" ({pairs.unpaired} semantic maps without a picture skipped)" if pairs.unpaired else "")
    )
    with _progress("fitting appearance model", epochs) as advance:
        on_epoch = _epoch_progress(advance)
        if args.resume is not None:
            model = fit_appearance(pairs, out, resume=True, on_epoch=on_epoch)
        else:
            model = fit_appearance(pairs, out, config, on_epoch=on_epoch)
    info = model.info
    print(
        f"wrote {out}/: weights.safetensors, appearance.json, training.png, samples.png "
        f"({info['pairs_count']} pairs, {len(info['history'])} epochs; held-out error "
        f"{info['held_out_error']:.2f} of 255 per channel, painting each class its mean "
        f"colour: {info['class_colour_error']:.2f})"
    )
    print(f"use it: scenegym dataset SOURCE --n N --out DIR --appearance {out}")
    return 0


def _cmd_sample_prior(args: argparse.Namespace) -> int:
    from scenegym.generators.prior import ScenePrior
    from scenegym.scene import write_scenes
    from scenegym.scene.validity import violation_counts_many

    _check_out_file(args.out)
    scenes = ScenePrior.load(args.prior).sample(args.n, seed=args.seed)
    write_scenes(args.out, scenes)
    valid = int((violation_counts_many(scenes).sum(axis=1) == 0).sum()) if scenes else 0
    print(f"wrote {len(scenes)} scenes to {args.out} ({valid} valid, {len(scenes) - valid} not)")
    return 0


def _cmd_describe(args: argparse.Namespace) -> int:
    from scenegym._io import atomic_write_text
    from scenegym.evaluation.summary import summarise
    from scenegym.scene import iter_scenes

    total = _count_lines(args.scenes)
    with _progress("describing", total) as advance:
        summary = summarise(_tick(iter_scenes(args.scenes), advance))
    _print_summary(summary)
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(summary, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


QUICKSTART_MIN_REFERENCE = 20
"""Smallest ``--reference-n``: half fits the realism model and the goals, half is held out."""


def _cmd_quickstart(args: argparse.Namespace) -> int:
    from scenegym._io import atomic_write_bytes, atomic_write_text
    from scenegym.bridges import naturalistic_reference
    from scenegym.datasets import RenderConfig
    from scenegym.datasets.files import contact_sheet, encode_png, render_to_folder
    from scenegym.evaluation.report import evaluate_to_folder
    from scenegym.evaluation.summary import summarise
    from scenegym.scene import read_scenes, write_scenes

    out: Path = args.out
    space = _space(args)  # a bad option fails before anything is created
    if args.reference_n < QUICKSTART_MIN_REFERENCE:
        raise ValueError(
            f"--reference-n must be at least {QUICKSTART_MIN_REFERENCE}, got "
            f"{args.reference_n}: half of the reference trains, half is held out to evaluate"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create output folder {out}: {error.strerror}") from None
    scenes_path = out / "scenes.jsonl"
    with _progress("sampling", args.n) as advance:
        write_scenes(scenes_path, _tick(space.sample_many(args.n, args.seed), advance))
    scenes = read_scenes(scenes_path)
    with _progress("rendering", len(scenes)) as advance:
        render_to_folder(
            scenes, out / "render", RenderConfig(width=256, height=128), advance, overwrite=True
        )
    summary = summarise(scenes)
    atomic_write_text(out / "describe.json", json.dumps(summary, indent=2) + "\n")
    atomic_write_bytes(out / "contact_sheet.png", encode_png(contact_sheet(scenes[:16])))
    _print_summary(summary)
    with _progress("simulating reference", args.reference_n) as advance:
        reference = naturalistic_reference(args.reference_n, 0, on_scene=advance)
    write_scenes(out / "reference.jsonl", reference)
    # Train a generation policy from the same starting space, realism judged by the reference.
    import numpy as np

    from scenegym.agents.policy import GenerationPolicy
    from scenegym.agents.train import train
    from scenegym.config import config_to_dict
    from scenegym.rewards import VehicleRealism
    from scenegym.scene.descriptors import describe_many

    run = out / "run"
    if run.exists():
        import shutil

        shutil.rmtree(run)  # quickstart's own output from an earlier call
    # The reference comes in simulation order; a random half fits the realism model and the
    # goal targets, the other half is held out for the evaluation.
    order = np.random.default_rng(0).permutation(len(reference))
    fit_on = [reference[i] for i in order[: len(order) // 2]]
    held_out = [reference[i] for i in order[len(order) // 2 :]]
    write_scenes(out / "reference_fit.jsonl", fit_on)
    vehicles = sum(len(scene.vehicles) for scene in fit_on)
    components = max(1, min(8, vehicles // 20))  # a small reference gets a simpler model
    realism = json.dumps(VehicleRealism.fit(fit_on, components=components, seed=0).to_dict())
    # Goal targets drawn from the reference's scenes: asked for what the reference holds, the
    # policy learns its joint distribution of the descriptors (docs/generation.md). Each
    # episode starts from a scene that already follows the targets the space can set (road,
    # count, speeds, trucks) with vehicles evenly spaced; the policy places and adjusts them.
    described = describe_many(fit_on)
    ranges = {
        name: [float(np.percentile(described[name], 1)), float(np.percentile(described[name], 99))]
        for name in described  # all descriptors: the policy learns their joint distribution
    }
    ranges = {name: [low, max(high, low + 1e-3)] for name, (low, high) in ranges.items()}
    # Starting scenes as small and as crowded as the reference's, each the nearest to its
    # targets of 16 drawn (headways and gaps are not set directly).
    counts = described["vehicle_count"]
    most = max(40, int(counts.max()))
    start_space = {
        **config_to_dict(space.config),
        "placement": "even",
        "vehicles": [int(counts.min()), most],
    }
    training = {
        "env": "scenegym/DrivingLayout-edit-v5",
        "env_kwargs": {
            "space": start_space,
            "max_vehicles": most,
            "start": "goal",
            "start_candidates": 16,
            "realism": "realism.json",
            "goal": {"ranges": ranges, "reference": "reference_fit.jsonl"},
            "reward": {"weights": {"validity": 1.0, "realism": 0.5, "goal": 2.0}},
            "edit_budget": 32,
        },
        "total_steps": args.train_steps,
        "n_envs": 16,
        "vec_env": "batched",
        "n_steps": 128,
        "batch_size": 256,
        "checkpoint_every": max(args.train_steps // 3, 1),
        "eval_every": max(args.train_steps // 4, 1),
        "net_arch": [64, 64],
        "reference": "reference_held_out.jsonl",
        "seed": args.seed,
    }
    print(f"training a generation policy for {args.train_steps} steps ...", file=sys.stderr)
    write_scenes(out / "reference_held_out.jsonl", held_out)
    files = {
        "realism.json": realism,
        **{
            name: (out / name).read_text(encoding="utf-8")
            for name in ("reference_fit.jsonl", "reference_held_out.jsonl")
        },
    }
    train(training, run, progress_bar=_interactive(), files=files)
    # A VAE prior of the fitted half (cached): its features give the Fréchet Scene Distance.
    from scenegym.generators.prior import PriorConfig, cached_prior

    with _progress("fitting scene prior", PriorConfig().epochs) as advance:
        prior, _ = cached_prior(fit_on, on_epoch=lambda epoch, row: advance())
    prior.save(out / "prior")
    generated = GenerationPolicy.load(run).sample(len(scenes), seed=args.seed + 1).scenes
    write_scenes(out / "generated.jsonl", generated)
    atomic_write_bytes(out / "generated_sheet.png", encode_png(contact_sheet(generated[:16])))
    metrics = evaluate_to_folder(
        {
            "generated": generated,
            "random sampler": scenes,
            "VAE prior": prior.sample(len(scenes), seed=args.seed),
        },
        held_out,
        out / "evaluation",
        prior=prior,
        reference_name=(
            f"naturalistic highway-env traffic ({len(held_out)} held-out scenes of "
            f"{len(reference)}, seed 0)"
        ),
    )
    from scenegym.datasets.dataset import DatasetConfig, ScenesFile, write_dataset

    with _progress("writing COCO dataset", len(generated)) as advance:
        write_dataset(
            ScenesFile(out / "generated.jsonl"),
            out / "dataset",
            len(generated),
            args.seed,
            DatasetConfig(formats=("coco",)),
            overwrite=True,
            on_scenes=advance,
        )
    print(
        f"\nquickstart wrote to {out}/:\n"
        f"  scenes.jsonl        {len(scenes)} random scenes (seed {args.seed})\n"
        f"  render/             images, semantic maps, instance masks, labels\n"
        f"  describe.json       descriptor statistics and validity rate\n"
        f"  contact_sheet.png   the first {min(16, len(scenes))} random scenes\n"
        f"  reference.jsonl     {len(reference)} reference scenes (highway-env IDM/MOBIL "
        f"traffic, cached for later runs)\n"
        f"  reference_fit.jsonl / reference_held_out.jsonl\n"
        f"                      a random half each: the policy learns from the first and\n"
        f"                      is evaluated against the second\n"
        f"  run/                the trained generation policy ({args.train_steps} steps), logs\n"
        f"  generated.jsonl     {len(generated)} scenes from the policy\n"
        f"  generated_sheet.png the first generated scenes\n"
        f"  prior/              a VAE scene prior of the first half (cached): the features\n"
        f"                      of the Fréchet Scene Distance, and a baseline generator\n"
        f"  evaluation/         metrics.json, report.md and figures against the reference\n"
        f"  dataset/            the generated scenes as a COCO dataset (images, masks, boxes)\n"
        f"{_quickstart_table(metrics['generators'])}"
        f"Load the dataset: from pycocotools.coco import COCO; "
        f"COCO('{out}/dataset/annotations.json')\n"
        f"Longer training: scenegym quickstart --train-steps 1000000, or scenegym train."
    )
    return 0


_COMMANDS = {
    "sample": _cmd_sample,
    "reference": _cmd_reference,
    "import": _cmd_import,
    "export": _cmd_export,
    "render": _cmd_render,
    "describe": _cmd_describe,
    "evaluate": _cmd_evaluate,
    "fit-prior": _cmd_fit_prior,
    "fit-appearance": _cmd_fit_appearance,
    "sample-prior": _cmd_sample_prior,
    "dataset": _cmd_dataset,
    "train": _cmd_train,
    "generate": _cmd_generate,
    "quickstart": _cmd_quickstart,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except (ValueError, TypeError, OSError, ImportError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"scenegym: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("scenegym: interrupted; files already written are complete", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
