"""scenegym's snapshot measures against commonroad-crime (the CommonRoad criticality toolbox)
on the same scenes, exported as CommonRoad XML.

What it checks
--------------
Drivable scenes of the random space (straight and curved roads, ramps included) are written
by ``scenegym.bridges.write_commonroad``. For every follower and its leader in a lane
(``SceneBatch.leader_follower``), scenegym's bumper-to-bumper gap and time to collision
(``scenegym.scene.snapshot_measures``' pair values) are compared with commonroad-crime's
``HW`` (headway distance along the ego's lanelets) and ``TTC`` with the follower as ego and
the leader as the other vehicle, at time step 0. Agreement: gaps within ``--gap-tolerance``
m, TTC within ``--ttc-tolerance`` s (crime rounds both to two decimals). ``--roads
straight`` lays each drawn road out straight (same lanes and ramps), where both measure
along the same straight lane; on the drawn roads' curves crime measures along the reference
path its route planner smooths, not along the lane centre.

commonroad-crime cannot be installed beside scenegym (its releases pin commonroad-io 2024.3
or fail at import against the drivability checker, and it pulls ``opencv-python`` over the
headless OpenCV), so it runs in its own Python (``--crime-python``) and this script hands it
the XML files and the pairs.

Not compared, because the definitions differ: crime's ``THW`` is the time until the ego
reaches the leader's rear along its *predicted trajectory* (the exported obstacles carry
no trajectory beyond their first state, so it is infinite), scenegym's is gap / follower
speed; crime has no DRAC, and its ``ALongReq`` uses the vehicles' predicted accelerations.

Run::

    python3 -m venv /tmp/crime && /tmp/crime/bin/pip install commonroad-crime==0.4.5
    .venv/bin/python benchmarks/crime_check.py --crime-python /tmp/crime/bin/python --n 40
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from scenegym.agents.teachers import drivable
from scenegym.bridges import write_commonroad
from scenegym.scene import HighwaySceneSpace, Road, SceneBatch

CRIME = """
import json, logging, math, sys
logging.disable(logging.CRITICAL)
from commonroad.common.file_reader import CommonRoadFileReader
from commonroad_crime.data_structure.configuration import CriMeConfiguration
from commonroad_crime.measure import HW, TTC
jobs = json.load(open(sys.argv[1]))
out = []
for job in jobs:
    scenario, _ = CommonRoadFileReader(job["file"]).open(lanelet_assignment=True)
    ids = sorted(o.obstacle_id for o in scenario.dynamic_obstacles)
    rows = []
    for follower, leader in job["pairs"]:
        config = CriMeConfiguration()
        config.update(ego_id=ids[follower], sce=scenario)
        try:
            hw = HW(config).compute(ids[leader], 0, verbose=False)
            ttc = TTC(config).compute(ids[leader], 0, verbose=False)
        except Exception as error:
            hw = ttc = repr(error)
        rows.append([hw, ttc])
    out.append(rows)
print(json.dumps(out, default=lambda v: None if v != v else ("inf" if v == math.inf else v)))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crime-python", required=True, help="a Python with commonroad-crime")
    parser.add_argument("--n", type=int, default=40, help="scenes")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--gap-tolerance", type=float, default=0.006, help="m")
    parser.add_argument("--ttc-tolerance", type=float, default=0.006, help="s")
    parser.add_argument("--show", action="store_true", help="print every pair to stderr")
    parser.add_argument(
        "--roads", choices=("straight", "drawn"), default="drawn", help="straighten the roads"
    )
    args = parser.parse_args()
    drawn = HighwaySceneSpace().sample_many(8 * args.n, args.seed)
    scenes = [s for s in map(drivable, drawn) if s]
    if args.roads == "straight":
        scenes = [s.replace(road=_straightened(s.road)) for s in scenes]
    scenes = scenes[: args.n]
    with tempfile.TemporaryDirectory() as folder:
        jobs, ours = [], []
        for k, scene in enumerate(scenes):
            path = Path(folder) / f"{k}.xml"
            write_commonroad(scene, path)
            follower, leader, gap = SceneBatch.of([scene]).leader_follower()
            closing = scene.vehicles.speed[follower] - scene.vehicles.speed[leader]
            with np.errstate(divide="ignore", invalid="ignore"):
                ttc = np.where(closing > 0, np.maximum(gap, 0.0) / closing, np.inf)
            jobs.append({"file": str(path), "pairs": np.stack([follower, leader], 1).tolist()})
            ours.append((gap, ttc, scene.road.max_curvature > 0))
        (Path(folder) / "jobs.json").write_text(json.dumps(jobs))
        done = subprocess.run(
            [args.crime_python, "-c", CRIME, str(Path(folder) / "jobs.json")],
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"commonroad-crime failed: {done.stderr.strip()[-2000:]}")
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    if args.show:
        for (gap, ttc, _), rows in zip(ours, theirs):
            for k, row in enumerate(rows):
                print(f"gap {gap[k]:.3f} ttc {ttc[k]:.3f} | crime {row}", file=sys.stderr)
    result = compare(ours, theirs, args)
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["all_agree"] else 1)


def _straightened(road: Road) -> Road:
    """``road`` with its segments laid out in one straight line along +x from the origin
    (lanes, ramps kept)."""
    return Road(
        segment_lengths=[road.length],
        segment_curvatures=[0.0],
        lane_widths=road.lane_widths,
        lane_starts=road.lane_starts,
        lane_ends=road.lane_ends,
        speed_limit=road.speed_limit,
    )


def _number(value) -> float:
    return np.inf if value == "inf" else (np.nan if value is None else float(value))


def compare(ours, theirs, args) -> dict:
    pairs = failed = gap_ok = ttc_ok = closing = 0
    worst_gap = worst_ttc = 0.0
    gap_errors, ttc_errors = [], []
    by_road = {"straight": [0, 0], "curved": [0, 0]}
    for (gap, ttc, curved), rows in zip(ours, theirs):
        for k, (hw, their_ttc) in enumerate(rows):
            pairs += 1
            if isinstance(hw, str) and hw != "inf":
                failed += 1
                continue
            hw, their_ttc = _number(hw), _number(their_ttc)
            gap_error = abs(hw - gap[k]) if np.isfinite(hw) else np.inf
            good_gap = gap_error <= args.gap_tolerance
            gap_ok += int(good_gap)
            worst_gap = max(worst_gap, gap_error)
            gap_errors.append(gap_error)
            if np.isfinite(ttc[k]) or np.isfinite(their_ttc):
                closing += 1
                error = abs(their_ttc - ttc[k]) if np.isfinite(ttc[k] + their_ttc) else np.inf
                ttc_ok += int(error <= args.ttc_tolerance)
                worst_ttc = max(worst_ttc, error)
                ttc_errors.append(error)
            road = "curved" if curved else "straight"
            by_road[road][0] += 1
            by_road[road][1] += int(good_gap)
    return {
        "scenes": len(ours),
        "pairs": pairs,
        "crime_failed": failed,
        "gap_agree": gap_ok,
        "closing_pairs": closing,
        "ttc_agree": ttc_ok,
        "worst_gap_error_m": round(float(worst_gap), 4),
        "median_gap_error_m": round(float(np.median(gap_errors)), 4) if gap_errors else None,
        "median_ttc_error_s": round(float(np.median(ttc_errors)), 4) if ttc_errors else None,
        "worst_ttc_error_s": round(float(worst_ttc), 4),
        "gap_agree_by_road": {k: f"{v[1]}/{v[0]}" for k, v in by_road.items()},
        "all_agree": bool(failed == 0) and gap_ok == pairs - failed and ttc_ok == closing,
    }


if __name__ == "__main__":
    main()
