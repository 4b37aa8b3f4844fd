"""How independent the naturalistic reference's scenes are: two draws of it (seeds 0 and 1)
should be indistinguishable, which they are only when a draw holds many independent roads.

Prints one JSON object: the C2ST AUC between the draws on all scene descriptors, on the
traffic's descriptors only and on the road's, with folds that keep each simulated run whole
(``c2st_auc``) and with folds that split runs (``c2st_auc_row_folds``, which a classifier
wins by recognising a run's road), the number of runs in each draw, and the simulation time.

    .venv/bin/python benchmarks/naturalistic_draws.py --n 400
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from scenegym.bridges.reference import naturalistic_reference
from scenegym.evaluation.metrics import (
    ROAD_FEATURES,
    SCENE_FEATURES,
    TRAFFIC_FEATURES,
    c2st_auc,
    scene_features,
)
from scenegym.scene import group_codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="scenes per draw")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    start = time.perf_counter()
    draws = [
        naturalistic_reference(args.n, seed, cache=False, workers=args.workers) for seed in (0, 1)
    ]
    seconds = time.perf_counter() - start
    a, b = (scene_features(draw) for draw in draws)
    columns = {
        "all": list(range(len(SCENE_FEATURES))),
        "traffic": [SCENE_FEATURES.index(name) for name in TRAFFIC_FEATURES],
        "road": [SCENE_FEATURES.index(name) for name in ROAD_FEATURES],
    }
    groups = tuple(group_codes(draw)[0] for draw in draws)

    def auc(c: list[int], grouped: bool) -> float:
        values = [
            c2st_auc(a[:, c], b[:, c], seed=s, groups=groups if grouped else None) for s in range(3)
        ]
        return round(float(np.mean(values)), 3)

    result = {
        "scenes_per_draw": args.n,
        "runs_per_draw": [len(group_codes(draw)[1]) for draw in draws],
        "c2st_auc": {part: auc(c, True) for part, c in columns.items()},
        "c2st_auc_row_folds": {part: auc(c, False) for part, c in columns.items()},
        "simulation_seconds": round(seconds, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
