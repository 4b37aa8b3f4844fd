"""Training throughput when other jobs share the CPU: ``scenegym train`` against the same
training with torch's default thread count, alone and beside busy processes.

Each setting trains a fresh run of ``--steps`` steps (edit-v5, the quickstart's PPO settings:
16 batched environments, 128 steps per rollout, batch 256, a 64x64 network) in a process of
its own, so that the torch thread count is the process's: ``scenegym`` (what ``train`` sets:
``TrainConfig.torch_threads``, 1 by default) and ``torch default`` (torch's own count, one
thread per core). ``--load K`` runs each setting also beside K processes that spin on the
CPU (pure Python, no torch). The JSON gives steps/s per setting and load and, per setting,
the share of its unloaded speed kept under load; on C cores beside K spinning processes a
job that degrades in proportion keeps about C / (C + K) of it.

Run::

    .venv/bin/python benchmarks/contention.py [--steps 16384] [--load 2] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

_TRAIN = """
import json, sys, time
from scenegym.agents.training import train
config = json.loads(sys.argv[1])
started = time.perf_counter()
train(config, sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def _spin(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _train(steps: int, threads: int | None) -> float:
    """Steps/s of one training run in a fresh process (``threads``: None for torch's own
    count)."""
    config = {
        "total_steps": steps,
        "n_envs": 16,
        "n_steps": 128,
        "batch_size": 256,
        "checkpoint_every": 10 * steps,
        "eval_every": 10 * steps,
        "net_arch": [64, 64],
    }
    if threads is not None:
        config["torch_threads"] = threads
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [sys.executable, "-c", _TRAIN, json.dumps(config), os.path.join(folder, "run")],
            capture_output=True,
            text=True,
            check=True,
        )
    return steps / json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=16_384)
    parser.add_argument("--load", type=int, default=2, help="busy processes beside training")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    import torch

    settings = {"scenegym": None, "torch default": torch.get_num_threads()}
    rates: dict[str, dict[str, list[float]]] = {s: {"alone": [], "loaded": []} for s in settings}
    context = multiprocessing.get_context("spawn")
    for _ in range(args.repeat):
        for name, threads in settings.items():
            rates[name]["alone"].append(_train(args.steps, threads))
        stop = context.Event()
        spinners = [context.Process(target=_spin, args=(stop,)) for _ in range(args.load)]
        for spinner in spinners:
            spinner.start()
        time.sleep(1.0)
        try:
            for name, threads in settings.items():
                rates[name]["loaded"].append(_train(args.steps, threads))
        finally:
            stop.set()
            for spinner in spinners:
                spinner.join()
    cores = os.cpu_count() or 1
    result = {
        "machine": {"cpus": cores, "python": platform.python_version(), "torch": torch.__version__},
        "steps": args.steps,
        "busy_processes": args.load,
        "proportional_share": round(cores / (cores + args.load), 3),
        "settings": {},
    }
    for name in settings:
        alone = statistics.median(rates[name]["alone"])
        loaded = statistics.median(rates[name]["loaded"])
        result["settings"][name] = {
            "torch_threads": settings[name] or 1,
            "steps_per_s_alone": round(alone, 1),
            "steps_per_s_loaded": round(loaded, 1),
            "kept_under_load": round(loaded / alone, 3),
            "rounds": rates[name],
        }
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
