"""Summaries of a set of scenes: descriptor statistics and validity, for reports and the CLI."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from scenegym._io import atomic_write_text
from scenegym.scene.batch import SceneBatch
from scenegym.scene.descriptors import ALL_DESCRIPTORS, DESCRIPTORS
from scenegym.scene.groups import group_codes
from scenegym.scene.safety import FREQUENCY, HORIZON, MEASURES, criticality
from scenegym.scene.scene import Scene
from scenegym.scene.validity import (
    DEFAULT_RULES,
    RULES,
    ValidityRules,
    rule_report,
    violation_counts,
)

__all__ = [
    "deduplicate",
    "reference_statistics",
    "statistics_path",
    "summarise",
    "write_reference_statistics",
]


def summarise(
    scenes: Iterable[Scene], rules: ValidityRules = DEFAULT_RULES, *, safety: bool = True
) -> dict[str, Any]:
    """Descriptor statistics (mean, std, min, max per descriptor), the validity rate, the
    share of scenes and of vehicles breaking each rule (``rule_report``), and how many
    recordings the scenes come from. With ``safety`` the scenes are also rolled forward
    (``scenegym.scene.criticality``): the ``criticality`` descriptor joins the table, and
    ``safety`` holds the statistics of every measure and the share of scenes with a
    collision.

    >>> from scenegym.scene import HighwaySceneSpace
    >>> summary = summarise(HighwaySceneSpace().sample_many(20, seed=0))
    >>> summary["scenes"], 0.0 <= summary["validity_rate"] <= 1.0
    (20, True)
    """
    scenes = list(scenes)
    if not scenes:
        raise ValueError("cannot summarise an empty set of scenes")
    batch = SceneBatch.of(scenes)
    described = batch.describe()
    names = dict(DESCRIPTORS)
    measures = criticality(batch) if safety else {}
    if safety:
        described["criticality"] = measures["criticality"]
        names["criticality"] = ALL_DESCRIPTORS["criticality"]
    report = rule_report(scenes, rules, batch=batch)
    summary = {
        "scenes": len(scenes),
        "recordings": len(group_codes(scenes)[1]),
        "vehicles": report["vehicles"],
        "validity_rate": report["valid_scene_share"],
        "valid_vehicle_share": report["valid_vehicle_share"],
        "rule_failure_rate": {rule: r["scene_share"] for rule, r in report["rules"].items()},
        "rule_failure_rate_vehicles": {
            rule: r["vehicle_share"] for rule, r in report["rules"].items()
        },
        "violation_examples": report["examples"],
        "descriptors": {name: _statistics(described[name], unit) for name, unit in names.items()},
    }
    if safety:
        summary["safety"] = {
            "horizon_s": HORIZON,
            "frequency_hz": FREQUENCY,
            "collision_share": float(measures["collision"].mean()),
            "measures": {
                name: _statistics(measures[name], unit) for name, unit in MEASURES.items()
            },
        }
    return summary


def _statistics(values: np.ndarray, unit: str) -> dict[str, Any]:
    return {
        "unit": unit,
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def deduplicate(scenes: Iterable[Scene]) -> tuple[list[Scene], int]:
    """The scenes without repeats, first occurrence kept, and the count of removed repeats.

    Two scenes repeat each other when their road and vehicles are equal, whatever their
    context says (the same recording imported from two files differs only in its source).
    """
    seen: set[str] = set()
    kept: list[Scene] = []
    removed = 0
    for scene in scenes:
        key = json.dumps([scene.road.to_dict(), scene.vehicles.to_dict()], sort_keys=True)
        if key in seen:
            removed += 1
        else:
            seen.add(key)
            kept.append(scene)
    return kept, removed


def reference_statistics(
    scenes: Iterable[Scene], rules: ValidityRules = DEFAULT_RULES
) -> dict[str, Any]:
    """What is stored beside a reference: feature normalisation statistics (mean and std of
    every vehicle and scene feature, as ``Standardiser.to_dict``), counts of scenes and
    vehicles, and the number of violations of each validity rule (overlaps count pairs;
    implausible values are flagged, not silently dropped)."""
    from scenegym.evaluation.metrics import (
        SCENE_FEATURES,
        VEHICLE_FEATURES,
        Standardiser,
        scene_features,
        vehicle_features,
    )

    scenes = list(scenes)
    if not scenes:
        raise ValueError("cannot compute statistics of an empty reference")
    flagged = dict.fromkeys(RULES, 0)
    for scene in scenes:
        for rule, count in violation_counts(scene, rules).items():
            flagged[rule] += count
    vehicles = vehicle_features(scenes)
    return {
        "format": "scenegym.reference-statistics/1",
        "scenes": len(scenes),
        "vehicles": len(vehicles),
        "violations": flagged,
        "vehicle_features": Standardiser.fit(vehicles, names=VEHICLE_FEATURES).to_dict()
        if len(vehicles) >= 1
        else None,
        "scene_features": Standardiser.fit(scene_features(scenes), names=SCENE_FEATURES).to_dict(),
    }


def statistics_path(scenes_file: str | os.PathLike) -> Path:
    """Where the reference statistics of a scenes file are kept: beside it, ``NAME.stats.json``
    for ``NAME.jsonl``."""
    scenes_file = Path(scenes_file)
    return scenes_file.with_name(scenes_file.stem + ".stats.json")


def write_reference_statistics(
    scenes_file: str | os.PathLike, scenes: Iterable[Scene]
) -> dict[str, Any]:
    """Write the ``reference_statistics`` of ``scenes`` beside their file (at
    ``statistics_path(scenes_file)``), atomically; returns them."""
    stats = reference_statistics(scenes)
    atomic_write_text(statistics_path(scenes_file), json.dumps(stats, indent=1) + "\n")
    return stats
