"""Training curves of a generation run, drawn from its logs: the reward terms of the training
scenes and the held-out evaluations (validity, C2ST AUC, coverage, Vendi) against steps."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

__all__ = ["plot_training_curves"]

_PANELS = (
    (
        "reward terms of the training scenes",
        "reward_terms/",
        ("score", "validity", "realism", "goal"),
    ),
    (
        "held-out scenes",
        "eval/",
        ("validity_rate", "c2st_auc", "traffic_c2st_auc", "coverage"),
    ),
)


def plot_training_curves(run: str | os.PathLike, path: str | os.PathLike) -> bool:
    """Draw the curves of the run folder ``run`` (every session of ``run/logs/*/progress.csv``,
    in order) into the PNG ``path``; False, drawing nothing, when the run logged no steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _rows(Path(run))
    steps = np.array([_float(row.get("time/total_timesteps")) for row in rows])
    if not rows or np.isnan(steps).all():
        return False
    figure, axes = plt.subplots(1, 2, figsize=(12, 4), constrained_layout=True)
    for ax, (title, prefix, names) in zip(axes, _PANELS):
        for name in names:
            values = np.array([_float(row.get(prefix + name)) for row in rows])
            kept = ~np.isnan(values) & ~np.isnan(steps)
            if kept.any():
                ax.plot(
                    steps[kept], values[kept], marker="." if kept.sum() < 20 else None, label=name
                )
        ax.set_title(title)
        ax.set_xlabel("environment steps")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    figure.suptitle(f"training of {Path(run).name}")
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return True


def _rows(run: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for log in sorted((run / "logs").glob("*/progress.csv")):
        with open(log, encoding="utf-8", newline="") as handle:
            rows += list(csv.DictReader(handle))
    return rows


def _float(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else float("nan")
    except ValueError:
        return float("nan")
