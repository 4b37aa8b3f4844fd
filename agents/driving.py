"""Driving agents judged on fixed test scenes: success, crashes, speed and distance, with 95 %
confidence intervals over episodes and over training seeds.

A *driver* is a trained student (a curriculum run folder, ``scenegym.agents.student``) or a
scripted baseline that presses one action every step (``SCRIPTED``: ``idle``, ``slower``,
``faster``). Every driver drives one episode from each test scene (its rearmost vehicle as
the ego) in ``scenegym/Drive-v1`` with the same config. A test scene whose start is not
drivable (``scenegym.envs.drive.start_report``) is left out for every driver and counted.
*Success* is an arrival at the end of the scene's road without a crash.

Intervals: a rate over the episodes of one driver is a Wilson score interval; a mean over
episodes a Student-t interval; with several training seeds of one driver (runs of the same
config but ``seed``) each seed is summarised first and the interval is a Student-t interval
over the seeds' values, so it holds the spread between trainings.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scenegym.agents.curriculum import FAST_DRIVE, read_run_config, robust, run_config_data
from scenegym.envs.drive import start_report
from scenegym.scene.scene import Scene

__all__ = [
    "METRICS",
    "SCRIPTED",
    "Driver",
    "DriverSummary",
    "check_driver_source",
    "drivable_tests",
    "drive_episodes",
    "evaluate_drivers",
    "load_driver",
    "summarise_driver",
    "wilson",
]

SCRIPTED = {"idle": 1, "faster": 3, "slower": 4}
"""Scripted drivers: the ``DiscreteMetaAction`` each presses every step."""

METRICS = ("success", "crash", "speed", "distance")
"""What a summary reports: success and crash rates, mean speed (m/s), distance (m)."""


@dataclass(kw_only=True)
class Driver:
    """A driver: ``name`` (the teacher of a run, or a scripted name), ``seed`` and either a
    ``model`` (an SB3 model) or a scripted ``action``; ``drive`` is its Drive-v1 config."""

    name: str
    seed: int
    drive: dict[str, Any]
    model: Any = None
    action: int | None = None
    path: str = ""
    group: str = ""  # drivers of one group are seeds of one driver: the config but its seed

    def act(self, observation: Any) -> int:
        if self.model is None:
            return int(self.action)
        action, _ = self.model.predict(observation, deterministic=True)
        return int(action)


def check_driver_source(source: str | os.PathLike) -> str:
    """``source`` as a string when it names a driver (a scripted name or a folder, which
    ``load_driver`` reads as a curriculum run), else a ``ValueError`` that says so."""
    if str(source) not in SCRIPTED and not Path(source).is_dir():
        names = ", ".join(SCRIPTED)
        raise ValueError(f"driver {source}: not a curriculum run folder nor one of {names}")
    return str(source)


def load_driver(source: str | os.PathLike, *, model: str | os.PathLike | None = None) -> Driver:
    """The driver ``source`` names: a scripted name or a curriculum run folder (its final
    ``model.zip``, or ``model``: one of its checkpoints; loaded without unpickling
    anything)."""
    if str(source) in SCRIPTED:
        return Driver(
            name=str(source),
            seed=0,
            drive=dict(FAST_DRIVE),
            action=SCRIPTED[str(source)],
            group=str(source),
        )
    run = Path(check_driver_source(source))
    config = read_run_config(run)
    weights = run / "model.zip" if model is None else Path(model)
    if not weights.is_file():
        raise ValueError(
            f"driver {run} has no model.zip: the run has not finished (resume it with "
            f"scenegym curriculum --resume {run})"
        )
    import gymnasium as gym

    import scenegym  # noqa: F401  registers the environments
    from scenegym.agents.student import load_student

    env = gym.make("scenegym/Drive-v1", config=dict(config.drive))
    student = load_student(config, weights, spaces=env)
    env.close()
    return Driver(
        name=f"robust-{config.teacher}" if robust(config) else config.teacher,
        seed=config.seed,
        drive=dict(config.drive),
        model=student,
        path=str(run),
        group=json.dumps({**run_config_data(config), "seed": None, "torch_threads": None}),
    )


def drivable_tests(scenes: Sequence[Scene]) -> tuple[list[Scene], list[str]]:
    """The test scenes whose start is drivable, and the reasons of those left out."""
    kept, reasons = [], []
    for scene in scenes:
        if len(scene.vehicles) == 0:
            reasons.append("no vehicle")
            continue
        report = start_report(scene, int(np.argmin(scene.vehicles.s)))
        if report["drivable"]:
            kept.append(scene)
        else:
            reasons.append(report["start_issues"][0])
    return kept, reasons


def drive_episodes(driver: Driver, scenes: Sequence[Scene], *, seed: int = 0) -> list[dict]:
    """One episode of ``driver`` from each scene (episode ``k`` seeded ``seed + k``): a row
    of ``scene``, ``success``, ``crash``, ``speed`` (mean over steps, m/s), ``distance`` (m),
    ``steps``, ``return``, ``drivable`` (1 when the start was drivable) and ``min_ttc``: the
    least time-to-collision of the ego with the vehicle ahead of it in its lane over the
    episode's steps (s; infinite when it never closed on one)."""
    import gymnasium as gym

    import scenegym  # noqa: F401

    env = gym.make("scenegym/Drive-v1", config=dict(driver.drive))
    rows = []
    try:
        for k, scene in enumerate(scenes):
            observation, start = env.reset(seed=seed + k, options={"scene": scene})
            speeds, total, done, info, ttc = [], 0.0, False, {}, math.inf
            while not done:
                observation, reward, terminated, truncated, info = env.step(driver.act(observation))
                speeds.append(float(info["speed"]))
                ttc = min(ttc, ego_ttc(env.unwrapped))
                total += float(reward)
                done = terminated or truncated
            rows.append(
                {
                    "scene": scene.id,
                    "success": float(info["arrived"]),
                    "crash": float(info["crashed"]),
                    "speed": float(np.mean(speeds)),
                    "distance": float(info["distance"]),
                    "steps": len(speeds),
                    "return": total,
                    "drivable": float(start["drivable"]),
                    "min_ttc": ttc,
                }
            )
    finally:
        env.close()
    return rows


def ego_ttc(env: Any) -> float:
    """The time-to-collision (s) of a highway-env environment's ego with the vehicle ahead
    of it in its lane, bumper to bumper at the present speeds; infinite when there is none
    or it is not closing."""
    ego = env.vehicle
    front, _ = env.road.neighbour_vehicles(ego, ego.lane_index)
    if front is None:
        return math.inf
    closing = ego.speed - front.speed
    gap = ego.lane_distance_to(front) - (ego.LENGTH + front.LENGTH) / 2
    if closing <= 0:
        return math.inf
    return max(gap, 0.0) / closing


def wilson(successes: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a rate of ``successes`` in ``n`` (95 % by default).

    >>> [round(x, 3) for x in wilson(8, 10)]
    [0.49, 0.943]
    """
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def t_interval(values: Sequence[float]) -> tuple[float, float]:
    """The 95 % Student-t interval of the mean of ``values`` (NaN with fewer than 2)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return (math.nan, math.nan)
    from scipy import stats

    half = stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    return (float(values.mean() - half), float(values.mean() + half))


@dataclass(kw_only=True)
class DriverSummary:
    """One driver's results on one test set: per metric the mean and its 95 % interval."""

    name: str
    seeds: int
    episodes: int
    values: dict[str, float]
    intervals: dict[str, tuple[float, float]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``driver``, ``seeds``, ``episodes``, each metric and ``<metric>_ci``
        (None where there is no value, such as an interval of one value)."""
        return {
            "driver": self.name,
            "seeds": self.seeds,
            "episodes": self.episodes,
            **{m: _plain(self.values[m]) for m in METRICS},
            **{f"{m}_ci": [_plain(x) for x in self.intervals[m]] for m in METRICS},
        }


def _plain(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def summarise_driver(name: str, per_seed: Mapping[int, Sequence[Mapping[str, float]]]):
    """A ``DriverSummary`` of the episode rows of each training seed (see the notes)."""
    seeds = [rows for rows in per_seed.values() if rows]
    episodes = sum(len(rows) for rows in seeds)
    values, intervals = {}, {}
    for metric in METRICS:
        means = [float(np.mean([row[metric] for row in rows])) for rows in seeds]
        values[metric] = float(np.mean(means)) if means else math.nan
        if len(seeds) > 1:
            low, high = t_interval(means)
            if metric in ("success", "crash"):  # a rate stays within [0, 1]
                low, high = max(low, 0.0), min(high, 1.0)
            intervals[metric] = (low, high)
        elif metric in ("success", "crash"):
            rows = seeds[0] if seeds else []
            intervals[metric] = wilson(sum(row[metric] for row in rows), len(rows))
        else:
            intervals[metric] = t_interval([row[metric] for row in (seeds[0] if seeds else [])])
    return DriverSummary(
        name=name, seeds=len(seeds), episodes=episodes, values=values, intervals=intervals
    )


def driver_labels(drivers: Sequence[Driver]) -> list[str]:
    """The label of each driver: runs of one config but their seed share one (the teacher's
    name, and the first run's folder where two configs share a teacher); the same driver
    given twice is an error."""
    first: dict[str, Driver] = {}
    for driver in drivers:
        first.setdefault(driver.group, driver)
    teachers = [d.name for d in first.values()]
    seen = set()
    labels = []
    for driver in drivers:
        head = first[driver.group]
        label = head.name
        if teachers.count(head.name) > 1:
            label = f"{head.name} ({Path(head.path).name})"
        if (label, driver.seed) in seen:
            raise ValueError(
                f"driver {driver.path or driver.name} is given twice (or two runs share its "
                f"config and seed {driver.seed})"
            )
        seen.add((label, driver.seed))
        labels.append(label)
    return labels


def same_drive(drivers: Sequence[Driver]) -> dict[str, Any]:
    """The Drive-v1 config every trained driver shares (scripted ones take it), or an error."""
    trained = [d for d in drivers if d.model is not None]
    configs = {json.dumps(d.drive, sort_keys=True) for d in trained}
    if len(configs) > 1:
        raise ValueError(
            "the drivers were trained with different Drive-v1 configs (drive:); compare "
            "drivers of one setting at a time"
        )
    return dict(trained[0].drive) if trained else dict(FAST_DRIVE)


def evaluate_drivers(
    sources: Sequence[str | os.PathLike],
    test_sets: Mapping[str, Sequence[Scene]],
    *,
    n: int | None = None,
    seed: int = 0,
    on_episodes: Any = None,
) -> dict[str, Any]:
    """Every driver of ``sources`` on every test set (its first ``n`` drivable scenes), runs
    of one teacher counted as seeds of one driver. Returns JSON-ready results:
    per test set the scenes driven, those left out (with the first reasons) and a summary per
    driver (``DriverSummary.to_dict``). ``on_episodes(count)`` is called as episodes end."""
    drivers = [load_driver(source) for source in sources]
    labels = driver_labels(drivers)
    drive = same_drive(drivers)
    for driver in drivers:
        driver.drive = drive
    results: dict[str, Any] = {"drive": drive, "test_sets": {}}
    for name, scenes in test_sets.items():
        kept, reasons = drivable_tests(scenes)
        kept = kept[:n] if n is not None else kept
        if not kept:
            raise ValueError(f"test set {name} has no scene with a drivable start")
        per_driver: dict[str, dict[int, list]] = {}
        for driver, label in zip(drivers, labels):
            rows = drive_episodes(driver, kept, seed=seed)
            per_driver.setdefault(label, {})[driver.seed] = rows
            if on_episodes is not None:
                on_episodes(len(rows))
        results["test_sets"][name] = {
            "scenes": len(kept),
            "left_out": len(reasons),
            "left_out_reasons": reasons[:3],
            "drivers": [
                summarise_driver(label, seeds).to_dict() for label, seeds in per_driver.items()
            ],
        }
    return results
