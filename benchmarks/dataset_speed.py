"""Dataset writing speed and memory: ``write_dataset`` with 1 and 2 workers against a plain
loop of matplotlib figure saves of the same scenes, in the same run.

Random highway scenes (``HighwaySceneSpace``, seed 0) are written to a scenes file before
timing. scenegym writes each as a 128 x 128 px sample: RGB, semantic and instance PNGs, COCO
RLE masks and boxes, YOLO labels and a Parquet row, then the merged COCO file, SHA256SUMS and
the manifest (worker start-up included). The peer draws each scene with matplotlib (Agg; the
road polygon and one rectangle per vehicle as patches on a new figure), saves the figure as a
128 x 128 PNG and writes the vehicles' boxes as JSON: a typical hand-written dataset loop that
makes one picture, not three, and no masks.

With an appearance model (``--appearance-n``, default 500): the same samples with the RGB
pictures painted by an appearance model of the default ``AppearanceConfig`` (freshly
initialised weights: its speed does not depend on their values), 2 workers.

Peak memory (``--memory N ...``): each size is written in a fresh process with 2 workers; the
peak resident memory (``VmHWM``, Linux) of that process and of the largest worker are reported.
The workers' peaks are read every 50 ms while they run.

File creation can depend on what ran before: on a machine whose ext4 disk is mounted with
online ``discard``, the first few thousand files created after many were deleted (an earlier
run's temporary folder) cost 300-650 us each instead of 25 us, which halves the rates at
2,000 samples. Run it more than once and compare.

Run::

    .venv/bin/python benchmarks/dataset_speed.py [--n 2000] [--peer-n 200] [--appearance-n 500]
        [--memory 10000 100000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, os, sys, threading, time
from pathlib import Path
from scenegym.datasets.dataset import DatasetConfig, ScenesFile, write_dataset

def high_water_mb(pid):
    # VmHWM belongs to the process's own memory map, so unlike ru_maxrss it does not carry
    # the size of the process that forked it across exec.
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

def worker_pids():
    # The children of this process's threads: a few small files, not a scan of every
    # process on the machine (2 ms each 50 ms, time the rates here would pay for).
    for children in Path("/proc/self/task").glob("*/children"):
        try:
            yield from (int(pid) for pid in children.read_text().split())
        except OSError:  # a thread that has just ended
            pass

peaks, done = {}, threading.Event()

def watch():
    while not done.is_set():
        for pid in worker_pids():
            try:
                peak = high_water_mb(pid)  # None once the process has exited
            except OSError:
                continue
            if peak is not None:
                peaks[pid] = peak
        time.sleep(0.05)

watcher = threading.Thread(target=watch, daemon=True)
watcher.start()
path, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
config = DatasetConfig(width=128, height=128, views=("road",))
write_dataset(ScenesFile(path), out, n, 0, config, workers=2)
done.set()
watcher.join()
print(json.dumps({
    "main_peak_mb": high_water_mb(os.getpid()),
    "worker_peak_mb": max(peaks.values(), default=0.0),
}))
"""


def _matplotlib_loop(scenes, out: Path) -> float:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon

    from scenegym.scene.geometry import vehicle_corners

    start = time.perf_counter()
    for i, scene in enumerate(scenes):
        fig = plt.figure(figsize=(1.28, 1.28), dpi=100)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        corners = vehicle_corners(scene.road, scene.vehicles)
        for outline in scene.road.lane_outlines:
            ax.add_patch(Polygon(outline, color="0.4"))
        boxes = []
        for box in corners:
            ax.add_patch(Polygon(box, color="tab:blue"))
            boxes.append([*box.min(axis=0).tolist(), *box.max(axis=0).tolist()])
        if len(corners):
            low, high = corners.reshape(-1, 2).min(axis=0), corners.reshape(-1, 2).max(axis=0)
            ax.set_xlim(low[0] - 2, high[0] + 2)
            ax.set_ylim(low[1] - 2, high[1] + 2)
        fig.savefig(out / f"{i:06d}.png")
        plt.close(fig)
        (out / f"{i:06d}.json").write_text(json.dumps({"boxes": boxes}))
    return time.perf_counter() - start


def main() -> dict:
    from scenegym.datasets.dataset import DatasetConfig, ScenesFile, write_dataset
    from scenegym.scene import HighwaySceneSpace, write_scenes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--peer-n", type=int, default=200)
    parser.add_argument("--appearance-n", type=int, default=500)
    parser.add_argument("--memory", type=int, nargs="*", default=[])
    args = parser.parse_args()

    result: dict = {"n": args.n, "peer_n": args.peer_n, "size": [128, 128]}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        biggest = max([args.n, args.peer_n, args.appearance_n, *args.memory])
        scenes_path = root / "scenes.jsonl"
        # Streamed to the file: 100,000 scenes held here would make every garbage collection
        # of the timed runs in this process walk them.
        write_scenes(scenes_path, HighwaySceneSpace().sample_many(biggest, 0))
        config = DatasetConfig(width=128, height=128, views=("road",))
        for workers in (1, 2):
            out = root / f"w{workers}"
            start = time.perf_counter()
            write_dataset(ScenesFile(scenes_path), out, args.n, 0, config, workers=workers)
            seconds = time.perf_counter() - start
            result[f"scenegym_{workers}_workers_samples_per_s"] = args.n / seconds
        if args.appearance_n:
            from scenegym.generators.appearance import (
                AppearanceConfig,
                AppearanceModel,
                _generator,
            )

            model_config = AppearanceConfig()
            AppearanceModel(config=model_config, generator=_generator(model_config)).save(
                root / "appearance"
            )
            start = time.perf_counter()
            write_dataset(
                ScenesFile(scenes_path),
                root / "painted",
                args.appearance_n,
                0,
                config,
                workers=2,
                appearance=root / "appearance",
            )
            result["scenegym_appearance_2_workers_samples_per_s"] = args.appearance_n / (
                time.perf_counter() - start
            )
        peer = root / "peer"
        peer.mkdir()
        scenes = list(HighwaySceneSpace().sample_many(args.peer_n, 0))  # the file's first ones
        result["matplotlib_samples_per_s"] = args.peer_n / _matplotlib_loop(scenes, peer)
        result["ratio_2_workers"] = (
            result["scenegym_2_workers_samples_per_s"] / result["matplotlib_samples_per_s"]
        )
        for n in args.memory:
            out = root / f"m{n}"
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(scenes_path), str(out), str(n)],
                capture_output=True,
                text=True,
            )
            if done.returncode:
                sys.exit(f"writing {n} samples failed:\n{done.stderr}")
            memory = json.loads(done.stdout.strip().splitlines()[-1])
            memory["seconds"] = time.perf_counter() - start
            # The whole command's rate: process start, imports and the merge included.
            memory["samples_per_s"] = n / memory["seconds"]
            result[f"memory_{n}"] = memory
    result["benchmark_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump(result, sys.stdout, indent=2)
    print()
    return result


if __name__ == "__main__":
    main()
