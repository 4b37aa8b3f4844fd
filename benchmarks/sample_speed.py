"""Valid scenes per second: a trained policy against the random sampler with rejection.

The policy is the run given with ``--run`` (default: ``configs/edit-small-validity.yaml``,
150,000 steps of edit-v1 on a small space, trained here first, about 45 s). It samples
``--n`` scenes (``invalid="report"``, stochastic, ``--batch`` environments in lockstep); the
valid ones per second of sampling are reported; with ``--repeat K`` the same sample is timed
K times and the fastest counts (a machine's speed varies between passes); with ``--workers W``
the rollouts run in W processes, started (and timed apart) before the timed passes. The
random sampler
draws from the same space in chunks of 512 scenes, checks each chunk in one batched pass
and keeps the valid scenes (rejection sampling) until it has as many valid scenes as the
policy produced. Target: 5,000 valid scenes/s.

Run::

    .venv/bin/python benchmarks/sample_speed.py [--run RUN] [--n N] [--batch B] [--repeat K]
        [--workers W]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "edit-small-validity.yaml"
SPACE = {"vehicles": [6, 12], "lanes": [3, 4], "length": [200.0, 300.0]}  # the config's space
TARGET = 5000.0


def main() -> dict:
    from scenegym.agents.policy import GenerationPolicy
    from scenegym.agents.training import TrainConfig, train
    from scenegym.config import load_config
    from scenegym.scene import HighwaySceneSpace, HighwaySpaceConfig
    from scenegym.scene.validity import violation_counts_many

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None)
    parser.add_argument("--n", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=1, help="timed passes; the fastest counts")
    parser.add_argument("--workers", type=int, default=1, help="rollout processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run = args.run
        if run is None:
            run = Path(folder) / "run"
            train(load_config(TrainConfig, CONFIG), run)
        policy = GenerationPolicy.load(run)
        start = time.perf_counter()
        # Warm-up: imports, first calls, and the worker processes started.
        policy.sample(16 * args.workers, seed=0, batch=8, workers=args.workers)
        warm_up = time.perf_counter() - start
        elapsed = float("inf")
        for _ in range(max(args.repeat, 1)):
            start = time.perf_counter()
            sample = policy.sample(args.n, seed=0, batch=args.batch, workers=args.workers)
            elapsed = min(elapsed, time.perf_counter() - start)
        policy.close()
        valid = len(sample.scenes) - sample.invalid
        space = HighwaySceneSpace(HighwaySpaceConfig(**{k: tuple(v) for k, v in SPACE.items()}))
        start = time.perf_counter()
        kept = drawn = 0
        scenes = space.sample_many(10**9, seed=1)
        while kept < max(valid, 1):
            chunk = list(itertools.islice(scenes, 512))
            drawn += len(chunk)
            kept += int((violation_counts_many(chunk).sum(axis=1) == 0).sum())
        random_elapsed = time.perf_counter() - start
    return {
        "policy_valid_scenes_per_s": round(valid / elapsed, 1),
        "policy_validity_rate": round(valid / len(sample.scenes), 3),
        "random_rejection_valid_scenes_per_s": round(kept / random_elapsed, 1),
        "random_validity_rate": round(kept / drawn, 3),
        "target_valid_scenes_per_s": TARGET,
        "meets_target": valid / elapsed >= TARGET,
        "settings": {
            "n": args.n,
            "batch": args.batch,
            "repeat": args.repeat,
            "workers": args.workers,
            "warm_up_s": round(warm_up, 2),
            "space": SPACE,
            "run": str(args.run or "trained here"),
        },
    }


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=2)
    sys.stdout.write("\n")
