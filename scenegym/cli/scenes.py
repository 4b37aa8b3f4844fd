"""Commands that make, move and look at scenes: sample, reference, import, export, render,
describe."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from scenegym._io import atomic_write_text
from scenegym.bridges import (
    OPENSCENARIO_VERSIONS,
    STORYBOARDS,
    ReferenceConfig,
    export_commonroad,
    export_openscenario,
    import_commonroad,
    naturalistic_reference,
)
from scenegym.cli._common import (
    Commands,
    add_backend_options,
    add_config_options,
    check_out_file,
    config,
    count_lines,
    positive_float,
    positive_int,
    print_summary,
    progress,
    seed_int,
    space,
    tick,
    use_backend,
)
from scenegym.datasets import RenderConfig, render_to_folder
from scenegym.evaluation import (
    deduplicate,
    statistics_path,
    summarise,
    write_reference_statistics,
)
from scenegym.scene import Scene, iter_scenes, write_scenes


# ---------------------------------------------------------------------- sample
def add_sample(commands: Commands) -> None:
    """``scenegym sample``: random scenes of the scene space."""
    sample = commands.add_parser("sample", help="sample random scenes into a JSONL file")
    sample.add_argument("--n", type=positive_int, default=100, help="number of scenes")
    sample.add_argument(
        "--seed", type=seed_int, default=0, help="random seed (same seed, same file)"
    )
    sample.add_argument("--out", type=Path, required=True, help="output .jsonl file")
    add_config_options(sample)
    sample.set_defaults(handler=_sample)


def _sample(args: argparse.Namespace) -> int:
    check_out_file(args.out)
    scene_space = space(args)
    with progress("sampling", args.n) as advance:
        count = write_scenes(args.out, tick(scene_space.sample_many(args.n, args.seed), advance))
    print(f"wrote {count} scenes to {args.out} (seed {args.seed})")
    return 0


# ---------------------------------------------------------------------- reference
def add_reference(commands: Commands) -> None:
    """``scenegym reference``: the naturalistic reference, simulated."""
    reference = commands.add_parser(
        "reference", help="simulate the naturalistic reference (highway-env IDM/MOBIL traffic)"
    )
    reference.add_argument("--n", type=positive_int, default=2000, help="number of scenes")
    reference.add_argument("--seed", type=seed_int, default=0, help="random seed")
    reference.add_argument("--out", type=Path, required=True, help="output .jsonl file")
    reference.add_argument(
        "--workers", type=positive_int, default=None, help="processes (default: one per CPU)"
    )
    reference.add_argument(
        "--no-cache", action="store_true", help="simulate even when a cached copy exists"
    )
    add_backend_options(reference)
    add_config_options(reference, what="reference config")
    reference.set_defaults(handler=_reference)


def _reference(args: argparse.Namespace) -> int:
    check_out_file(args.out)
    reference_config = config(ReferenceConfig, args)
    use_backend(args, args.workers)
    with progress("simulating", args.n) as advance:
        scenes = naturalistic_reference(
            args.n,
            args.seed,
            reference_config,
            cache=not args.no_cache,
            workers=args.workers,
            backend=args.backend,
            on_scene=advance,
        )
    write_scenes(args.out, scenes)
    stats = write_reference_statistics(args.out, scenes)
    print(
        f"wrote {len(scenes)} reference scenes ({stats['vehicles']} vehicles) to {args.out} "
        f"(seed {args.seed}; highway-env IDM/MOBIL traffic, a model, not a recording) and "
        f"its feature statistics to {statistics_path(args.out)}"
    )
    return 0


# ---------------------------------------------------------------------- import, export
def add_import(commands: Commands) -> None:
    """``scenegym import``: recorded CommonRoad scenarios as scenes."""
    importer = commands.add_parser(
        "import", help="import recorded scenarios (CommonRoad XML files or folders) as scenes"
    )
    importer.add_argument("paths", type=Path, nargs="+", help="CommonRoad .xml files or folders")
    importer.add_argument(
        "--interval",
        type=positive_float,
        default=None,
        help="seconds between snapshots (default: only the first time step)",
    )
    importer.add_argument("--out", type=Path, required=True, help="output .jsonl file")
    importer.set_defaults(handler=_import)


def _import(args: argparse.Namespace) -> int:
    check_out_file(args.out)
    scenes, summary = import_commonroad(args.paths, interval=args.interval)
    for skipped in summary["files_skipped"]:
        print(f"skipped {skipped['file']}: {skipped['reason']}", file=sys.stderr)
    if not scenes:
        raise ValueError(
            f"no scenes imported from {summary['files_read']} file(s); see the reasons above"
        )
    scenes, repeats = deduplicate(scenes)
    write_scenes(args.out, scenes)
    stats = write_reference_statistics(args.out, scenes)
    flagged = ", ".join(f"{rule} {n}" for rule, n in stats["violations"].items() if n)
    print(
        f"imported {len(scenes)} scenes ({stats['vehicles']} vehicles) from "
        f"{summary['files_read']} file(s) into {args.out}; skipped "
        f"{len(summary['files_skipped'])} file(s), removed {repeats} duplicate scene(s), "
        f"dropped {summary['vehicles_dropped']} vehicle states outside the mapped road, "
        f"ignored {summary['obstacles_ignored']} non-vehicle obstacles, read the kind of "
        f"{summary['kinds_by_size']} vehicle(s) typed 'car' from their size (longer than "
        "7 m: truck); violations by "
        f"rule: {flagged or 'none'}; feature statistics in {statistics_path(args.out)}"
    )
    return 0


def add_export(commands: Commands) -> None:
    """``scenegym export``: scenes as CommonRoad or OpenSCENARIO scenarios."""
    export = commands.add_parser("export", help="export scenes for simulators")
    export.add_argument("scenes", type=Path, help="scenes .jsonl file")
    export.add_argument(
        "--format",
        choices=("commonroad", "openscenario"),
        default="commonroad",
        help="commonroad (XML 2020a) or openscenario (.xosc with its OpenDRIVE .xodr)",
    )
    export.add_argument("--out", type=Path, required=True, help="output folder")
    export.add_argument(
        "--storyboard",
        choices=STORYBOARDS,
        default="constant",
        help="openscenario: constant (drive on) or critical (the rollout's manoeuvres)",
    )
    export.add_argument(
        "--osc-version", choices=OPENSCENARIO_VERSIONS, default="1.2", help="openscenario"
    )
    export.add_argument(
        "--duration", type=float, default=20.0, help="openscenario: s until the stop trigger"
    )
    export.add_argument(
        "--horizon",
        type=float,
        default=0.0,
        help="commonroad: seconds of trajectories as the traffic drives on (IDM and MOBIL)",
    )
    export.set_defaults(handler=_export)


class _Numbered:
    """The scenes of a file, remembering the line of the last one read, so an error of the
    export names the line of the scene it concerns."""

    def __init__(self, path: Path) -> None:
        self.path, self.line, self.reading = path, 0, True

    def __iter__(self) -> Iterator[Scene]:
        numbered = iter_scenes(self.path, lines=True)
        while True:
            self.reading = True
            try:
                self.line, scene = next(numbered)
            except StopIteration:
                return
            self.reading = False
            yield scene


def _export(args: argparse.Namespace) -> int:
    total = count_lines(args.scenes)
    scenes = _Numbered(args.scenes)
    with progress("exporting", total) as advance:
        try:
            if args.format == "openscenario":
                paths = export_openscenario(
                    tick(scenes, advance),
                    args.out,
                    version=args.osc_version,
                    storyboard=args.storyboard,
                    duration=args.duration,
                )
            else:
                paths = export_commonroad(tick(scenes, advance), args.out, horizon=args.horizon)
        except ValueError as error:
            if scenes.reading:  # the file's own error names its line already
                raise
            raise ValueError(f"{args.scenes} line {scenes.line}: {error}") from None
    if args.format == "openscenario":
        print(
            f"wrote {len(paths)} OpenSCENARIO {args.osc_version} files (.xosc) with their "
            f"OpenDRIVE roads (.xodr) to {args.out}"
        )
    else:
        print(f"wrote {len(paths)} CommonRoad XML files to {args.out}")
    return 0


# ---------------------------------------------------------------------- render, describe
def add_render(commands: Commands) -> None:
    """``scenegym render``: scenes as pictures, masks and labels."""
    render = commands.add_parser("render", help="render scenes into PNG images and labels")
    render.add_argument("scenes", type=Path, help="scenes .jsonl file")
    render.add_argument("--out", type=Path, required=True, help="output folder")
    render.add_argument("--width", type=positive_int, default=256, help="image width (px)")
    render.add_argument("--height", type=positive_int, default=128, help="image height (px)")
    render.add_argument(
        "--resolution", type=float, default=None, help="m/px (default: fit the road)"
    )
    render.add_argument(
        "--view",
        choices=("road", "vehicle"),
        default="road",
        help="road: the whole road in the picture; vehicle: a window centred on vehicle --ego, "
        "turned with its heading",
    )
    render.add_argument(
        "--ego", type=seed_int, default=0, help="vehicle followed by --view vehicle"
    )
    render.add_argument(
        "--scene",
        action="append",
        default=[],
        metavar="ID",
        help="render only the scene of this id (or id prefix); repeatable, e.g. --scene "
        "47d648354443 --width 1600 --height 240 for one large picture",
    )
    render.add_argument(
        "--overwrite", action="store_true", help="replace a non-empty output folder"
    )
    render.set_defaults(handler=_render)


def _render(args: argparse.Namespace) -> int:
    render_config = RenderConfig(
        width=args.width,
        height=args.height,
        resolution=args.resolution,
        view=args.view,
        ego=args.ego,
    )
    scenes, total = iter_scenes(args.scenes), count_lines(args.scenes)
    if args.scene:
        scenes = _chosen(args.scenes, args.scene)
        total = len(scenes)
    with progress("rendering", total) as advance:
        count = render_to_folder(
            scenes,
            args.out,
            render_config,
            on_scene=advance,
            overwrite=args.overwrite,
        )
    print(f"rendered {count} scenes into {args.out}/{{images,semantic,instance,labels}}")
    return 0


def _chosen(path: Path, wanted: list[str]) -> list[Scene]:
    """The scenes of ``path`` whose ids ``wanted`` names (whole or as a unique prefix), in
    the order asked."""
    scenes = list(iter_scenes(path))
    chosen = []
    for text in wanted:
        hits = [scene for scene in scenes if scene.id.startswith(text)]
        if not hits:
            first = ", ".join(scene.id for scene in scenes[:3])
            raise ValueError(
                f"--scene {text}: no scene of {path} has an id starting with it (its first "
                f"ids: {first})"
            )
        if len(hits) > 1:
            raise ValueError(
                f"--scene {text}: {len(hits)} scenes of {path} have ids starting with it; "
                "give more of the id"
            )
        chosen.append(hits[0])
    return chosen


def add_describe(commands: Commands) -> None:
    """``scenegym describe``: the descriptor table and validity of scenes."""
    describe = commands.add_parser("describe", help="descriptor table and validity rate")
    describe.add_argument("scenes", type=Path, help="scenes .jsonl file")
    describe.add_argument("--json", type=Path, default=None, help="also write the summary here")
    describe.set_defaults(handler=_describe)


def _describe(args: argparse.Namespace) -> int:
    total = count_lines(args.scenes)
    with progress("describing", total) as advance:
        summary = summarise(tick(iter_scenes(args.scenes), advance))
    print_summary(summary)
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(summary, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0
