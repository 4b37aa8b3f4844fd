"""Generated traffic against recorded traffic: the realism of scenegym's outputs measured on
recordings (CommonRoad files or folders), in two parts: the traffic (descriptors without the
road's, per-vehicle features) and the road.

Each scenes file given is evaluated against the recordings with ``scenegym.evaluation.evaluate``
(floors split by recording); ``--naturalistic N`` adds N scenes of the embedded naturalistic
reference (a simulation that never saw the recordings). Prints one JSON object: per set, the
validity under the rules recordings pass, traffic C2ST AUC and PRDC coverage and precision
with their recorded floors, MMD² against its floor, and the per-vehicle KS distances.

    .venv/bin/python benchmarks/real_traffic.py ../shared/realdata --interval 0.2 \
        --naturalistic 2000 --scenes quickstart/generated.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scenegym.bridges import import_commonroad, naturalistic_reference
from scenegym.evaluation import evaluate
from scenegym.scene import group_codes, read_scenes, rule_report


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recordings", type=Path, nargs="+")
    parser.add_argument("--interval", type=float, default=0.5, help="snapshot interval (s)")
    parser.add_argument("--naturalistic", type=int, default=0, help="naturalistic scenes")
    parser.add_argument("--scenes", type=Path, nargs="*", default=[], help="scenes files")
    args = parser.parse_args()
    recorded, summary = import_commonroad(args.recordings, interval=args.interval)
    report = rule_report(recorded)
    sets = {path.stem: read_scenes(path) for path in args.scenes}
    if args.naturalistic:
        sets["naturalistic reference"] = naturalistic_reference(args.naturalistic, 0)
    result = {
        "recordings": len(group_codes(recorded)[1]),
        "recorded_scenes": len(recorded),
        "recorded_vehicles": report["vehicles"],
        "recorded_valid_vehicles": report["valid_vehicle_share"],
        "recorded_valid_scenes": report["valid_scene_share"],
        "kinds_by_size": summary["kinds_by_size"],
        "sets": {},
    }
    for name, scenes in sets.items():
        metrics = evaluate(scenes, recorded, seed=0)
        traffic = metrics["traffic"]
        result["sets"][name] = _rounded(
            {
                "scenes": len(scenes),
                "validity": metrics["validity_rate"],
                "traffic_c2st": traffic["c2st_auc"],
                "traffic_c2st_floor": traffic["c2st_floor"],
                "traffic_coverage": traffic["coverage"],
                "traffic_precision": traffic["precision"],
                "traffic_coverage_floor": traffic.get("coverage_floor"),
                "traffic_precision_floor": traffic.get("precision_floor"),
                "road_c2st": metrics["road"]["c2st_auc"],
                "mmd2": metrics["mmd2"],
                "mmd2_floor": metrics["mmd2_floor"],
                "floor_split": metrics["floor_split"],
                "ks": metrics["ks"],
            }
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
