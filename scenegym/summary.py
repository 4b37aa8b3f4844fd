"""Summaries of a set of scenes: descriptor statistics and validity, for reports and the CLI."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from scenegym.envs.descriptors import DESCRIPTORS, describe
from scenegym.envs.scene import Scene
from scenegym.envs.validity import DEFAULT_RULES, RULES, ValidityRules, violation_counts

__all__ = ["summarise"]


def summarise(scenes: Iterable[Scene], rules: ValidityRules = DEFAULT_RULES) -> dict[str, Any]:
    """Descriptor statistics (mean, std, min, max per descriptor), the validity rate and the
    share of scenes breaking each rule.

    >>> from scenegym.envs import HighwaySceneSpace
    >>> summary = summarise(HighwaySceneSpace().sample_many(20, seed=0))
    >>> summary["scenes"], 0.0 <= summary["validity_rate"] <= 1.0
    (20, True)
    """
    rows: list[list[float]] = []
    broken: list[list[bool]] = []
    for scene in scenes:
        d = describe(scene)
        rows.append([d[name] for name in DESCRIPTORS])
        counts = violation_counts(scene, rules)
        broken.append([counts[rule] > 0 for rule in RULES])
    if not rows:
        raise ValueError("cannot summarise an empty set of scenes")
    values = np.array(rows)
    failed = np.array(broken)
    return {
        "scenes": len(rows),
        "validity_rate": float(np.mean(~failed.any(axis=1))),
        "rule_failure_rate": {rule: float(failed[:, i].mean()) for i, rule in enumerate(RULES)},
        "descriptors": {
            name: {
                "unit": unit,
                "mean": float(values[:, i].mean()),
                "std": float(values[:, i].std()),
                "min": float(values[:, i].min()),
                "max": float(values[:, i].max()),
            }
            for i, (name, unit) in enumerate(DESCRIPTORS.items())
        },
    }
