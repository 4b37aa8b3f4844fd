"""Same seed, same bytes: run every command that writes files once, small, and hash what it wrote.

Prints one JSON object mapping each output to its sha256. With ``--expect FILE`` it compares
the hashes with a JSON object written earlier (for example before a refactoring) and exits 1
naming every output that changed. The commands run through the installed ``scenegym`` CLI in a
fresh temporary folder, with a private reference cache, so nothing outside it is read or written.

    python benchmarks/same_bytes.py > before.json
    python benchmarks/same_bytes.py --expect before.json

Hashes depend on the versions of numpy, torch, OpenCV and the other pinned libraries: compare
runs made with the same ``constraints.txt``. Files that record the time or the machine
(``manifest.json``, run logs, checkpoints, a run's model zip) are left out; the dataset's
images, annotations and Parquet tables are in, and so are a small quickstart's files, its
training config and what it prints.

``same_bytes_before.json`` holds the hashes of the code before the reorganisation into one
folder per subpackage (commit 24f9e6e), installed as a plain package and run with this script
(the quickstart included) from a folder that holds no ``scenegym/`` checkout. CommonRoad files
are compared in a canonical form (``_canonical_commonroad``): their writing date and the order
of set members that code wrote in hash order are not part of what a refactoring must keep.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

_SKIP_NAMES = {
    "manifest.json",
    "job.json",
    "progress.csv",
    "log.jsonl",
    "config.json",
    "versions.json",
}


def _sha256(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".xml":
        data = _canonical_commonroad(data)
    return hashlib.sha256(data).hexdigest()


def _canonical_commonroad(data: bytes) -> bytes:
    """A CommonRoad file with its writing date blanked and its set members (each lanelet's
    types, the scenario's tags) sorted: commonroad-io writes the day's date into every file,
    and scenegym before the fix of its export wrote those members in hash order."""
    from lxml import etree

    data = re.sub(rb'date="[0-9-]*"', b'date=""', data, count=1)
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    for tags in root.iter("scenarioTags"):
        for child, name in zip(tags, sorted(child.tag for child in tags)):
            child.tag = name
    for lanelet in root.iter("lanelet"):
        types = [child for child in lanelet if child.tag == "laneletType"]
        for child, text in zip(types, sorted(child.text or "" for child in types)):
            child.text = text
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


_QUICKSTART_SKIP = ("qs/run/checkpoints/", "qs/run/logs/", "qs/run/model.zip")
"""Quickstart outputs that hold times: SB3's zips and the training logs."""


def _hash_tree(root: Path, base: Path) -> dict[str, str]:
    if root.is_file():
        return {root.relative_to(base).as_posix(): _sha256(root)}
    return {
        name: _sha256(path)
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and path.name not in _SKIP_NAMES
        and not (name := path.relative_to(base).as_posix()).startswith(_QUICKSTART_SKIP)
    }


def _run(work: Path, *args: str) -> str:
    """Run ``scenegym ARGS`` in ``work``; returns what it printed on stdout."""
    command = [sys.executable, "-m", "scenegym", *args]
    # The width of printed tables follows COLUMNS.
    env = {**os.environ, "COLUMNS": "100"}
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"`scenegym {' '.join(args)}` failed:\n{done.stderr.strip()}")
    return done.stdout


def outputs(work: Path) -> dict[str, str]:
    """Run the commands in ``work`` and return {output path: sha256}."""
    run = [f"--set={item}" for item in ("total_steps=2048", "n_envs=4", "n_steps=64",
           "batch_size=64", "eval_every=1000000", "checkpoint_every=1000000")]  # fmt: skip
    _run(work, "sample", "--n", "12", "--seed", "3", "--out", "sample.jsonl")
    _run(work, "reference", "--n", "40", "--seed", "1", "--out", "reference.jsonl", "--no-cache")
    _run(work, "render", "sample.jsonl", "--out", "render", "--width", "128", "--height", "64")
    _run(work, "export", "sample.jsonl", "--format", "commonroad", "--out", "commonroad")
    _run(work, "train", "--out", "run", *run)
    _run(work, "generate", "run", "--n", "16", "--seed", "2", "--out", "generated.jsonl")
    _run(work, "dataset", "sample.jsonl", "--n", "6", "--out", "dataset", "--format", "all")
    _run(work, "dataset", "run", "--n", "6", "--seed", "4", "--out", "run_dataset",
         "--workers", "2", "--format", "coco")  # fmt: skip
    _run(work, "fit-prior", "--reference", "reference.jsonl", "--kind", "vae",
         "--out", "prior", "--set=epochs=2")  # fmt: skip
    _run(work, "sample-prior", "prior", "--n", "5", "--seed", "6", "--out", "prior.jsonl")
    _run(work, "evaluate", "generated.jsonl", "--reference", "reference.jsonl",
         "--compare", "sample.jsonl", "--out", "evaluation")  # fmt: skip
    printed = _run(work, "quickstart", "--out", "qs", "--n", "12", "--seed", "1",
                   "--train-steps", "2048", "--reference-n", "120")  # fmt: skip
    (work / "qs.stdout").write_text(printed)
    hashes: dict[str, str] = {}
    for name in ("sample.jsonl", "reference.jsonl", "render", "commonroad", "generated.jsonl",
                 "dataset", "run_dataset", "prior/weights.safetensors", "prior.jsonl",
                 "evaluation/metrics.json", "qs", "qs/run/config.json", "qs.stdout"):  # fmt: skip
        hashes.update(_hash_tree(work / name, work))
    return hashes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expect", type=Path, default=None, help="JSON of an earlier run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        os.environ["SCENEGYM_CACHE"] = str(work / "cache")
        hashes = outputs(work)
    print(json.dumps({"files": len(hashes), "sha256": hashes}, indent=1, sort_keys=True))
    if args.expect is None:
        return 0
    expected = json.loads(args.expect.read_text())["sha256"]
    changed = sorted(
        name for name in set(expected) | set(hashes) if expected.get(name) != hashes.get(name)
    )
    for name in changed:
        print(f"changed: {name}", file=sys.stderr)
    print(
        json.dumps({"compared": len(expected), "changed": len(changed), "same": not changed}),
        file=sys.stderr,
    )
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
