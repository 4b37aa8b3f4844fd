"""Dataset writing on a local Ray against the local process pool, in the same run: the same
files, and what Ray's start and its actors cost.

What it measures
----------------
``--n`` scenes of the random space (written once to a scenes file) become a COCO, YOLO and
Parquet dataset in shards of ``--shard-size``, with ``--workers`` workers: first with the
process pool (``backend="process"``), then with Ray (``backend="ray"``: a Ray started here
with ``--workers`` CPUs, one actor per worker). ``ray_start_s`` is ``ray.init``'s time;
``ray_s`` and ``pool_s`` the writing alone (worker start included), best of ``--repeats``
rounds into fresh folders. ``same_files`` compares every file's SHA-256 (the job record,
which names its folder, left out).

Run::

    .venv/bin/python benchmarks/ray_backend.py --n 512 --workers 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path

from scenegym._ray import connect
from scenegym.datasets import DatasetConfig, write_dataset
from scenegym.scene import HighwaySceneSpace, write_scenes


def files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and p.name != "job.json"
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--shard-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    config = DatasetConfig(shard_size=args.shard_size, width=256, height=128, views=("road",))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        scenes = root / "scenes.jsonl"
        write_scenes(scenes, list(HighwaySceneSpace().sample_many(args.n, 0)))
        began = time.perf_counter()
        connect(cpus=args.workers)
        start = time.perf_counter() - began
        times: dict[str, list[float]] = {"process": [], "ray": []}
        for round_ in range(args.repeats):
            for backend in ("process", "ray"):
                out = root / f"{backend}{round_}"
                began = time.perf_counter()
                write_dataset(scenes, out, args.n, 0, config, workers=args.workers, backend=backend)
                times[backend].append(time.perf_counter() - began)
        same = files(root / "process0") == files(root / "ray0")
    pool, on_ray = min(times["process"]), min(times["ray"])
    print(
        json.dumps(
            {
                "scenes": args.n,
                "shards": -(-args.n // args.shard_size),
                "workers": args.workers,
                "ray_start_s": round(start, 2),
                "pool_s": round(pool, 2),
                "ray_s": round(on_ray, 2),
                "ray_over_pool": round(on_ray / pool, 3),
                "same_files": same,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
