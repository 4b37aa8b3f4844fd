"""Appearance model speed: fitting and painting on each device given, the CPU being the peer.

Pairs (``--pairs DIR``: a dataset folder with ``images/`` and ``semantic/``, such as
``quickstart/dataset``; by default one written here from ``--n`` random scenes, 256 x 128 px)
are fitted for ``--epochs`` epochs with the default ``AppearanceConfig`` on every device of
``--devices`` (``cpu``, ``cuda``) in the same run; then ``--paint`` semantic maps of 128 x 128
px are painted 64 at a time, three passes, and pictures per second reported. Fitting time
includes moving the model to the device.

Run::

    .venv/bin/python benchmarks/appearance_speed.py [--pairs quickstart/dataset] [--epochs 40]
        [--devices cpu,cuda] [--paint 512]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path


def _pairs(folder: Path, n: int) -> Path:
    from scenegym.datasets.dataset import DatasetConfig, ScenesFile, write_dataset
    from scenegym.scene import HighwaySceneSpace, write_scenes

    write_scenes(folder / "scenes.jsonl", list(HighwaySceneSpace().sample_many(n, 0)))
    config = DatasetConfig(width=256, height=128, views=("road",), formats=("coco",))
    write_dataset(ScenesFile(folder / "scenes.jsonl"), folder / "pairs", n, 0, config)
    return folder / "pairs"


def main() -> dict:
    import cv2
    import torch

    from scenegym.generators.appearance import AppearanceModel, fit_appearance

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=None)
    parser.add_argument("--n", type=int, default=64, help="scenes of the pairs written here")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--devices", default="cpu,cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--paint", type=int, default=512)
    args = parser.parse_args()
    result: dict = {
        "settings": {"epochs": args.epochs, "paint": args.paint, "paint_size": [128, 128]},
        "versions": {"python": platform.python_version(), "torch": torch.__version__},
        "cpu_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    with tempfile.TemporaryDirectory() as folder:
        pairs = args.pairs or _pairs(Path(folder), args.n)
        files = sorted((pairs / "semantic").glob("*.png"))
        maps = [cv2.imread(str(path), cv2.IMREAD_UNCHANGED) for path in files]
        maps = [cv2.resize(m, (128, 128), interpolation=cv2.INTER_NEAREST) for m in maps]
        maps = (maps * (args.paint // len(maps) + 1))[: args.paint]
        for device in args.devices.split(","):
            model_folder = Path(folder) / f"model-{device}"
            start = time.perf_counter()
            fit_appearance(pairs, model_folder, {"epochs": args.epochs, "device": device})
            fit_s = time.perf_counter() - start
            model = AppearanceModel.load(model_folder)
            model.translate(maps[:16])  # warm-up
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(3):
                model.translate(maps, batch=64)
            if device == "cuda":
                torch.cuda.synchronize()
            result[device] = {
                "fit_s": round(fit_s, 1),
                "paint_per_s": round(3 * len(maps) / (time.perf_counter() - start), 1),
            }
        result["pairs"] = len(files)
    return result


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=2)
    sys.stdout.write("\n")
