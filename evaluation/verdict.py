"""The plain-language verdict that opens an evaluation report: for each set of scenes, how
realistic it is by the classifier two-sample test, how diverse against the reference, how
valid; which set is closest to the reference; and whether there are enough scenes to tell.

The words follow fixed thresholds on the metrics, so two reports with the same numbers say
the same thing:

- realism, by C2ST AUC above the reference's own floor (``c2st_auc - c2st_floor``): up to
  0.05 "as realistic as the reference itself", up to 0.15 "close to the reference", up to
  0.30 "clearly different from the reference", beyond "easily told apart from the reference";
- diversity, by the Vendi score over the reference's at the same size: from 0.85 to 1.25
  "about as diverse as the reference", below "less diverse", above "more varied than the
  reference (often: implausible variety)";
- sample size: fewer than ``FEW_SCENES`` scenes in a set and differences of a few hundredths
  of AUC are noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FEW_SCENES", "verdict"]

FEW_SCENES = 200
"""Below this many scenes in a set, the verdict warns that small differences are noise."""

_REALISM = (
    (0.05, "as realistic as the reference itself"),
    (0.15, "close to the reference"),
    (0.30, "clearly different from the reference"),
)


def verdict(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Markdown lines of the verdict on every set of ``results`` (``evaluate`` results by
    set name)."""
    lines = ["## Verdict", ""]
    for name, result in results.items():
        lines.append(f"- **{name}**: {_one(result)}")
    ranked = sorted(
        (name for name in results if results[name].get("c2st_auc") is not None),
        key=lambda name: results[name]["c2st_auc"],
    )
    if len(ranked) > 1:
        best, worst = ranked[0], ranked[-1]
        lines.append(
            f"- Closest to the reference by the classifier test: **{best}** (C2ST AUC "
            f"{results[best]['c2st_auc']:.3f}); farthest: {worst} "
            f"({results[worst]['c2st_auc']:.3f})."
        )
    few = min(int(result["scenes"]) for result in results.values())
    if few < FEW_SCENES:
        lines.append(
            f"- Only {few} scenes in the smallest set: differences of a few hundredths of AUC "
            f"are noise at this size; evaluate {FEW_SCENES * 5} or more scenes per set to "
            "compare generators (`scenegym generate RUN --n 1000`, `scenegym quickstart --n "
            "1000`)."
        )
    return [*lines, ""]


def _one(result: Mapping[str, Any]) -> str:
    auc, floor = result.get("c2st_auc"), result.get("c2st_floor")
    if auc is None or floor is None:
        realism = "too few scenes for the classifier test"
    else:
        above = auc - floor
        words = next(
            (text for limit, text in _REALISM if above <= limit),
            "easily told apart from the reference",
        )
        realism = (
            f"{words} by the classifier test (C2ST AUC {auc:.3f}; the reference against "
            f"itself {floor:.3f}, 0.5 is chance)"
        )
    vendi, reference = result.get("vendi"), result.get("vendi_reference")
    if vendi is None or not reference:
        diversity = ""
    else:
        ratio = vendi / reference
        if ratio < 0.85:
            words = "less diverse than the reference"
        elif ratio <= 1.25:
            words = "about as diverse as the reference"
        else:
            words = "more varied than the reference (often: implausible variety)"
        diversity = f"; {words} (Vendi {vendi:.2f} against {reference:.2f})"
    valid = f"; {100 * result['validity_rate']:.1f} % of its scenes break no validity rule"
    return f"{realism}{diversity}{valid}."
