"""The ``scenegym`` command line: a thin layer over the Python API.

Each module adds the commands of one group, each command parsing its options, calling the
library and printing what it did: ``scenes`` (sample, reference, import, export, render,
describe), ``training`` (train, generate, fit), ``driving`` (curriculum, evaluate-driver),
``priors`` (fit-prior, sample-prior, fit-appearance), ``datasets`` (dataset), ``evaluate``
and ``quickstart``.

Every error a user can cause (a missing or malformed file, a bad option, an out-of-range value)
ends as one line ``scenegym: error: ...`` on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from scenegym._io import check_outputs_spare_inputs, output_locks
from scenegym._versions import SCENEGYM_VERSION
from scenegym.bridges.commonroad import commonroad_files
from scenegym.cli import datasets, driving, evaluate, priors, quickstart, scenes, training
from scenegym.cli._common import EXIT_USAGE, Parser

__all__ = ["build_parser", "main"]

_COMMANDS = (
    scenes.add_sample,
    scenes.add_reference,
    scenes.add_import,
    scenes.add_export,
    training.add_train,
    training.add_generate,
    training.add_fit,
    driving.add_curriculum,
    driving.add_evaluate_driver,
    driving.add_adversarial,
    scenes.add_render,
    evaluate.add_evaluate,
    priors.add_sample_prior,
    datasets.add_dataset,
    priors.add_fit_appearance,
    priors.add_fit_prior,
    scenes.add_describe,
    quickstart.add_quickstart,
)
"""The commands in the order ``scenegym --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; each sets ``handler`` (``args -> exit status``)."""
    parser = Parser(
        prog="scenegym",
        description="Generate, render, evaluate and export driving scenes.",
    )
    parser.add_argument("--version", action="version", version=f"scenegym {SCENEGYM_VERSION}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    for add in _COMMANDS:
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        outputs, inputs = _outputs_and_inputs(args)
        replaces = bool(getattr(args, "overwrite", False))  # the output folder emptied first
        check_outputs_spare_inputs(outputs, inputs, replaces=replaces)
        resumed = getattr(args, "resume", None)
        with output_locks([*outputs.values(), *([resumed] if resumed else [])]):
            return args.handler(args)
    except (ValueError, TypeError, OSError, ImportError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"scenegym: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("scenegym: interrupted; files already written are complete", file=sys.stderr)
        return 130


_OUTPUTS = {"out": "--out", "json": "--json"}
"""The options that name what a command writes; every other path it is given it reads."""


def _outputs_and_inputs(args: argparse.Namespace) -> tuple[dict[str, Path], list[Path]]:
    """The output paths of a parsed command (by option) and every path it reads: its
    path-valued arguments, and string arguments naming an existing file or folder (a
    reference may be a file or a built-in name)."""
    outputs, inputs = {}, []
    for name, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        paths = [Path(v) for v in values if isinstance(v, Path | str) and _is_path(v)]
        if name in _OUTPUTS and paths:
            outputs[_OUTPUTS[name]] = paths[0]
        elif name == "config":  # a file; a folder given for it is its own mistake
            inputs += [path for path in paths if not path.is_dir()]
        elif name == "paths":  # import: a folder is a collection of recordings, read each
            inputs += _recordings(paths)
        elif name not in {"command", "set"}:
            inputs += paths
    return outputs, inputs


def _recordings(paths: list[Path]) -> list[Path]:
    """The CommonRoad files ``import`` reads from ``paths``; the paths themselves when they
    name none (the import then says what is missing)."""
    try:
        return commonroad_files(paths)
    except ValueError:
        return paths


def _is_path(value: Path | str) -> bool:
    return isinstance(value, Path) or (bool(value) and os.path.exists(value))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
