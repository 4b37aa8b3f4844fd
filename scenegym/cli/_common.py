"""What the command groups share: the parser that reports a mistake in one line, argument
types, ``--config``/``--set`` options, progress bars and printed summaries."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from scenegym._checks import MAX_SEED
from scenegym._progress import LineProgress
from scenegym._ray import BACKENDS, connect
from scenegym.bridges import NATURALISTIC, NATURALISTIC_SCENES, load_reference
from scenegym.config import (
    config_from_mapping,
    did_you_mean,
    load_config,
    merge_mappings,
    parse_override,
)
from scenegym.scene import (
    ALL_DESCRIPTORS,
    HighwaySceneSpace,
    HighwaySpaceConfig,
    Scene,
)
from scenegym.scene.scene import check_scenes_file

EXIT_USAGE = 2
"""Exit status of a usage mistake: a bad option, value or file."""


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each option's default, where it has one worth saying (not None, an
    empty list or a flag's False) and its help does not say it already."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        if (
            default is None
            or default is False
            or default == []
            or default is argparse.SUPPRESS
            or "default" in (action.help or "")
        ):
            return action.help
        if isinstance(default, list):
            shown = " ".join(map(str, default)).replace("%", "%%")
            return f"{action.help or ''} (default: {shown})"
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line and shows each option's default in
    ``--help``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class Commands(Protocol):
    """The commands of the parser, as ``add_subparsers`` returns them: each module of the
    command line adds its own, with ``handler`` (``args -> exit status``) as a default."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


# ---------------------------------------------------------------------- argument types
def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    """A whole number >= 1."""
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def at_least(low: int, why: str) -> Callable[[str], int]:
    """The argument type of a whole number >= ``low``, for the reason ``why``."""

    def whole(text: str) -> int:
        value = positive_int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a number >= {low} ({why}), got {value}")
        return value

    return whole


def positive_float(text: str) -> float:
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def share(text: str) -> float:
    """A share strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text}")
    return value


def seed_int(text: str) -> int:
    """A seed: a whole number from 0 to ``MAX_SEED``."""
    value = _whole_number(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to {MAX_SEED}, got {value}")
    return value


def parse_targets(texts: Sequence[str]) -> dict[str, float]:
    """``--target DESCRIPTOR=VALUE`` options as a mapping."""
    targets = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep:
            raise ValueError(f"--target {text!r} must be DESCRIPTOR=VALUE, e.g. density=30")
        if name not in ALL_DESCRIPTORS:
            hint = did_you_mean(name, ALL_DESCRIPTORS)
            raise ValueError(
                f"--target {text!r}: unknown descriptor {name!r}; {hint}the descriptors are: "
                f"{', '.join(ALL_DESCRIPTORS)}"
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


def add_target_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """Repeatable ``--target DESCRIPTOR=VALUE``, read back by ``parse_targets``."""
    parser.add_argument(
        "--target", action="append", default=[], metavar="DESCRIPTOR=VALUE", help=help_text
    )


# ---------------------------------------------------------------------- configs
def add_config_options(
    parser: argparse.ArgumentParser,
    what: str = "scene-space config",
    key: str = "config",
    example: str = "vehicles=[10,30]",
) -> None:
    """``--config FILE`` and repeatable ``--set KEY=VALUE``, read back by ``config``."""
    parser.add_argument("--config", type=Path, default=None, help=f"{what} (.yaml or .toml)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a {key} key, e.g. --set {example} (repeatable)",
    )


def overrides(texts: Sequence[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` options as one nested mapping."""
    merged: dict[str, Any] = {}
    for text in texts:
        merged = merge_mappings(merged, parse_override(text))
    return merged


def config(cls: type, args: argparse.Namespace) -> Any:
    """The typed config ``cls`` from ``--config`` and ``--set`` options."""
    given = overrides(args.overrides)
    if args.config is not None:
        return load_config(cls, args.config, given)
    try:
        return config_from_mapping(cls, given)
    except ValueError as error:
        raise ValueError(f"--set: {error}" if given else str(error)) from None


def space(args: argparse.Namespace) -> HighwaySceneSpace:
    """The scene space of ``--config`` and ``--set``."""
    return HighwaySceneSpace(config(HighwaySpaceConfig, args))


# ---------------------------------------------------------------------- files
def reference_scenes(
    sources: Sequence[str], *, name: str = "--reference", interval: float | None = None
) -> tuple[list[Scene], str]:
    """The scenes and the label of ``--reference SOURCE...`` (``load_reference``; ``name``
    is the option's name, ``interval`` the snapshot interval of recordings); files an import
    skipped are named on stderr."""
    naturalistic = list(sources) == [NATURALISTIC]
    description = "simulating reference" if naturalistic else "reading reference"
    with progress(description, NATURALISTIC_SCENES if naturalistic else None) as advance:
        loaded = load_reference(sources, on_scene=advance, name=name, interval=interval)
    for skipped in loaded.skipped:
        print(f"skipped {skipped['file']}: {skipped['reason']}", file=sys.stderr)
    return loaded.scenes, loaded.label


def count_lines(path: Path) -> int:
    """Scenes in a scenes file (its non-blank lines), for progress bars."""
    check_scenes_file(path)
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def check_out_file(path: Path) -> None:
    """``--out FILE`` must name a file in a folder that exists."""
    if path.is_dir():
        raise ValueError(f"--out {path} is a folder; give a file name such as scenes.jsonl")
    if not path.parent.exists():
        raise ValueError(f"--out {path}: folder {path.parent} does not exist; create it first")


# ---------------------------------------------------------------------- progress
def console() -> Console:
    """The console of progress bars and notes: stderr."""
    return Console(stderr=True)


def interactive() -> bool:
    """Whether stderr is a terminal (progress bars are drawn only there)."""
    return console().is_terminal


class RateColumn(ProgressColumn):
    """Items per second."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")


def progress_columns() -> tuple[ProgressColumn, ...]:
    """Description, bar, done/total, items per second, time left."""
    return (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
    )


def log_lines() -> Callable[[str], None] | None:
    """Where lines of progress go when stderr is not a terminal (a log): stderr; None on a
    terminal, where bars are drawn instead."""
    if interactive():
        return None
    return lambda line: print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def progress(description: str, total: int | None) -> Iterator[Callable[..., None]]:
    """A rich progress bar (done/total, rate, time left) on an interactive stderr; lines of
    progress every 30 s or 5 % otherwise (``LineProgress``). Yields ``advance(steps=1)``."""
    shown = console()
    write = log_lines()
    if write is not None:
        lines = LineProgress(description, total=total, write=write)
        yield lines.advance
        return
    with Progress(
        *progress_columns(),
        console=shown,
        transient=True,
        disable=not shown.is_terminal,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda steps=1: bar.advance(task, steps)


def tick(items: Iterable, advance: Callable[[], None]) -> Iterator:
    """The ``items``, advancing a progress bar after each."""
    for item in items:
        yield item
        advance()


def epoch_progress(advance: Callable[[int], None]) -> Callable[[int, dict], None]:
    """An ``on_epoch`` callback that moves the bar to each finished epoch (a resumed fit
    starts past the epochs already done)."""
    done = 0

    def on_epoch(epoch: int, row: dict) -> None:
        nonlocal done
        advance(epoch - done)
        done = epoch

    return on_epoch


# ---------------------------------------------------------------------- printing
def number(value: Any, spec: str) -> str:
    """``value`` formatted with ``spec``, or "–" for a metric that has no value (None)."""
    return "–" if value is None else format(value, spec)


def print_summary(summary: dict[str, Any]) -> None:
    """The descriptor table, validity rate and rule failures of a ``summarise`` result."""
    recordings = summary.get("recordings", summary["scenes"])
    title = f"{summary['scenes']} scenes"
    if recordings < summary["scenes"]:
        title += f" from {recordings} recording(s)"
    table = Table(title=title)
    for column in ("descriptor", "unit", "mean", "std", "min", "max"):
        table.add_column(column, justify="left" if column in ("descriptor", "unit") else "right")
    for name, stats in summary["descriptors"].items():
        table.add_row(
            name, stats["unit"], *(f"{stats[key]:.4g}" for key in ("mean", "std", "min", "max"))
        )
    shown = Console()
    shown.print(table)
    if "safety" in summary:
        safety = summary["safety"]
        ttc = safety["measures"]["min_ttc"]["mean"]
        shown.print(
            f"rolled {safety['horizon_s']:g} s forward (IDM and MOBIL at "
            f"{safety['frequency_hz']:g} Hz): collisions in {safety['collision_share']:.1%} of "
            f"scenes; mean smallest time to collision {ttc:.3g} s"
        )
    failures = ", ".join(
        f"{rule} {rate:.1%}" for rule, rate in summary["rule_failure_rate"].items() if rate > 0
    )
    shown.print(f"validity rate: {summary['validity_rate']:.1%}")
    shown.print(f"scenes breaking each rule: {failures or 'none'}")
    if "valid_vehicle_share" in summary:
        by_vehicle = ", ".join(
            f"{rule} {rate:.2%}"
            for rule, rate in summary["rule_failure_rate_vehicles"].items()
            if rate > 0
        )
        shown.print(
            f"valid vehicles: {summary['valid_vehicle_share']:.2%}; vehicles breaking each "
            f"rule: {by_vehicle or 'none'}"
        )
        for line in summary["violation_examples"][:5]:
            shown.print(f"  e.g. {line}", markup=False)


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """``--backend process|ray`` and ``--ray-address`` (see ``use_backend``)."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="process",
        help="process (a local pool) or ray (actors on the Ray cluster at --ray-address or "
        "RAY_ADDRESS, else a Ray started here); the same results either way",
    )
    parser.add_argument(
        "--ray-address", default=None, help="the Ray cluster to join (auto, or host:port)"
    )


def use_backend(args: argparse.Namespace, cpus: int | None) -> None:
    """Join (or start, with ``cpus`` CPUs) Ray for ``--backend ray``; refuse a
    ``--ray-address`` without it."""
    if args.backend == "ray":
        connect(args.ray_address, cpus=cpus)
    elif args.ray_address:
        raise ValueError("--ray-address goes with --backend ray")
