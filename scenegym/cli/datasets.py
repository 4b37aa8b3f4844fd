"""The dataset command: scenes of a run, a curriculum run, a prior or a file rendered into a
dataset."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from scenegym.agents import dataset_source
from scenegym.cli._common import (
    Commands,
    add_backend_options,
    add_config_options,
    add_target_option,
    config,
    parse_targets,
    positive_int,
    progress,
    seed_int,
    use_backend,
)
from scenegym.datasets import FORMATS, DatasetConfig, write_dataset


def add_dataset(commands: Commands) -> None:
    """``scenegym dataset``: scenes of a run, a curriculum run, a prior or a file as a dataset."""
    parser = commands.add_parser(
        "dataset", help="render scenes into a COCO / YOLO / Parquet dataset (resumable shards)"
    )
    parser.add_argument(
        "source",
        type=Path,
        help="a run folder (scenegym train), a curriculum run folder (its scenes in the order "
        "the student met them), a prior folder or a .jsonl file",
    )
    parser.add_argument("--n", type=positive_int, required=True, help="number of scenes")
    parser.add_argument(
        "--seed", type=seed_int, default=0, help="seed of the scenes and augmentation"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--format",
        choices=("coco", "yolo", "parquet", "all"),
        nargs="+",
        default=["all"],
        help="label formats to write (all: the three)",
    )
    add_target_option(parser, "a run source's descriptor target (repeatable)")
    parser.add_argument("--workers", type=positive_int, default=1, help="parallel workers")
    add_backend_options(parser)
    add_config_options(
        parser,
        "dataset config",
        "DatasetConfig",
        "views=[road,vehicle] or --set augment.rotate=15",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a folder holding another dataset"
    )
    parser.add_argument(
        "--appearance",
        type=Path,
        default=None,
        metavar="MODEL",
        help="paint the RGB pictures with this appearance model (scenegym fit-appearance)",
    )
    parser.set_defaults(handler=_dataset)


def _dataset(args: argparse.Namespace) -> int:
    source = dataset_source(args.source, parse_targets(args.target), name="--target")
    # In FORMATS' order, whatever the order given: the same dataset resumes.
    formats = tuple(f for f in FORMATS if "all" in args.format or f in args.format)
    dataset_config = dataclasses.replace(config(DatasetConfig, args), formats=formats)
    use_backend(args, args.workers)
    with progress("writing dataset", args.n) as advance:
        manifest = write_dataset(
            source,
            args.out,
            args.n,
            args.seed,
            dataset_config,
            workers=args.workers,
            backend=args.backend,
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
