"""Evaluation reports: metrics of one or more sets of scenes against a reference, with figures.

``evaluate_to_folder`` writes ``metrics.json`` (the first set's metrics at the top level, every
set under ``"generators"``), ``report.md`` and the figures it shows (``figures/*.png``):
per-feature histograms against the reference, descriptor coverage, a contact sheet.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scenegym._checks import check_whole
from scenegym._io import atomic_write_bytes, atomic_write_text
from scenegym._ray import check_backend, imap
from scenegym._threads import ignore_interrupts, spawn_imap
from scenegym.evaluation.curves import plot_training_curves
from scenegym.evaluation.verdict import verdict
from scenegym.scene.batch import GAP_CAP, HEADWAY_CAP
from scenegym.scene.scene import Scene, read_scenes

__all__ = ["MIN_SCENES", "TABLE_KEYS", "evaluate_to_folder", "read_scene_sets"]

MIN_SCENES = 10
"""Fewest scenes a set to evaluate may hold: the classifier two-sample test takes 10 a side."""

TABLE_KEYS: tuple[tuple[str, str, str], ...] = (
    ("validity_rate", "validity rate", "1 is ideal"),
    ("c2st_auc", "C2ST AUC", "0.5 is ideal"),
    ("c2st_floor", "C2ST AUC floor", "reference vs reference"),
    ("road.c2st_auc", "road: C2ST AUC", "0.5 is ideal"),
    ("traffic.c2st_auc", "traffic: C2ST AUC", "floor is ideal"),
    ("traffic.c2st_floor", "traffic: C2ST AUC floor", "reference vs reference"),
    ("traffic.precision", "traffic: precision", "floor is typical"),
    ("traffic.precision_floor", "traffic: precision floor", "reference vs reference"),
    ("traffic.coverage", "traffic: coverage", "floor is typical"),
    ("traffic.coverage_floor", "traffic: coverage floor", "reference vs reference"),
    ("mmd2", "MMD²", "floor is ideal"),
    ("mmd2_floor", "MMD² floor", "reference vs reference, at the set's vehicle count"),
    ("fsd", "Fréchet Scene Distance", "floor is ideal"),
    ("fsd_floor", "FSD floor", "reference vs reference"),
    ("precision", "precision", "1 is ideal"),
    ("recall", "recall", "1 is ideal"),
    ("density", "density (PRDC)", "1 is ideal"),
    ("coverage", "coverage (PRDC)", "1 is ideal"),
    ("vendi", "Vendi score", "reference's is typical"),
    ("vendi_reference", "Vendi score of the reference", ""),
    ("grid_coverage", "descriptor-grid coverage", "1 is ideal"),
    ("mean_pairwise_distance", "mean pairwise distance", "higher is more diverse"),
    ("duplicate_rate", "duplicate rate", "0 is ideal"),
)
"""Rows of the report's summary table: metric key (``part.key`` inside a part), label, what
is ideal."""


def evaluate_to_folder(
    generators: Mapping[str, Sequence[Scene]],
    reference: Sequence[Scene],
    out: str | os.PathLike,
    *,
    seed: int = 0,
    reference_name: str = "reference",
    prior: Any = None,
    prior_samples: str | None = None,
    run: str | os.PathLike | None = None,
    workers: int = 1,
    backend: str = "process",
) -> dict[str, Any]:
    """Evaluate each named set of scenes against ``reference``; write the metrics and report.
    With a ``ScenePrior`` as ``prior`` the metrics include the Fréchet Scene Distance, but for
    the set ``prior_samples`` names (scenes sampled from that prior: its encoder puts them
    where typical scenes lie, so their distance in its features says nothing). With a
    generation ``run`` folder the report draws its training curves.

    The report opens with a plain-language verdict (``scenegym.evaluation.verdict``), then
    the tables and figures.

    The sets are evaluated one after the other, or with ``workers`` above 1 each in a worker
    of a local process pool (``backend="process"``) or of a Ray cluster (``"ray"``,
    ``scenegym._ray``); the metrics are the same either way.

    Returns the ``metrics.json`` content.
    """
    check_backend(backend)
    check_whole("workers", workers, 1)
    if not generators:
        raise ValueError("evaluate needs at least one set of scenes")
    out = Path(out)
    try:
        (out / "figures").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create output folder {out}: {error.strerror}") from None
    results = _evaluate_sets(generators, (reference, seed, prior), workers, backend)
    if prior_samples is not None and "fsd" in results.get(prior_samples, {}):
        results[prior_samples]["fsd"] = results[prior_samples]["fsd_floor"] = None
        results[prior_samples]["fsd_note"] = (
            "Fréchet Scene Distance not measured: scenes of the prior whose features it uses"
        )
    first = next(iter(results.values()))
    metrics = {**first, "generators": results, "reference": reference_name, "seed": seed}
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    figures = _figures(generators, reference, out / "figures")
    if prior is not None and prior.info.get("history"):
        from scenegym.generators.prior import plot_history

        plot_history(prior.info["history"], prior.config.kind, out / "figures" / "prior.png")
        figures["prior"] = "figures/prior.png"
    if run is not None and plot_training_curves(run, out / "figures" / "training.png"):
        figures["training"] = "figures/training.png"
    atomic_write_text(out / "report.md", _markdown(results, figures, reference_name, seed))
    return metrics


def _evaluate_sets(
    generators: Mapping[str, Sequence[Scene]], against: tuple, workers: int, backend: str
) -> dict[str, dict[str, Any]]:
    """The metrics of every set against ``(reference, seed, prior)``, in the sets' order."""
    items = list(generators.items())
    if backend == "process" and (workers == 1 or len(items) == 1):
        return dict(_evaluate_set(item, against) for item in items)
    mapped = imap if backend == "ray" else spawn_imap  # worker processes or Ray actors
    return dict(mapped(_start_worker, against, _evaluate_set, items, workers))


_AGAINST: tuple = ()


def _start_worker(reference: Sequence[Scene], seed: int, prior: Any) -> None:
    """Keep what every set is measured against in this worker."""
    global _AGAINST
    ignore_interrupts()
    _AGAINST = (reference, seed, prior)


def _evaluate_set(
    item: tuple[str, Sequence[Scene]], against: tuple = ()
) -> tuple[str, dict[str, Any]]:
    """``(name, metrics)`` of the set ``item`` against ``(reference, seed, prior)`` (in a
    worker: those it keeps)."""
    from scenegym.evaluation.metrics import evaluate

    name, scenes = item
    reference, seed, prior = against or _AGAINST
    return name, evaluate(scenes, reference, seed=seed, prior=prior)


def _figures(
    generators: Mapping[str, Sequence[Scene]], reference: Sequence[Scene], folder: Path
) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from scenegym.datasets.files import contact_sheet, encode_png
    from scenegym.evaluation.metrics import (
        SCENE_FEATURES,
        VEHICLE_FEATURES,
        scene_features,
        vehicle_features,
    )

    paths: dict[str, str] = {}
    ref_vehicles = vehicle_features(reference)
    sets = {name: vehicle_features(scenes) for name, scenes in generators.items()}
    figure, axes = plt.subplots(2, 4, figsize=(14, 6), constrained_layout=True)
    for column, (name, ax) in enumerate(zip(VEHICLE_FEATURES, axes.ravel())):
        # A vehicle with no vehicle ahead (or one farther than the cap) has the capped gap
        # and headway: drawn apart as a share, not as a spike at the cap.
        cap = _CAPS.get(name, np.inf)
        columns = {"reference": ref_vehicles[:, column]}
        columns |= {label: rows[:, column] for label, rows in sets.items()}
        below = {label: values[values < cap] for label, values in columns.items()}
        everything = np.concatenate([*below.values(), [0.0]])
        low, high = np.percentile(everything, [0.5, 99.5])
        bins = np.linspace(low, high if high > low else low + 1.0, 40)
        for label, values in below.items():
            style = {"color": "0.6"} if label == "reference" else {"histtype": "step", "lw": 1.5}
            if len(values):
                ax.hist(values, bins=bins, density=True, label=label, **style)
        if np.isfinite(cap):
            shares = "\n".join(
                f"{label} {100 * np.mean(values >= cap):.0f} %"
                for label, values in columns.items()
                if len(values)
            )
            ax.text(
                0.98,
                0.97,
                f"at the cap ({cap:g}: nothing ahead\nor farther):\n{shares}",
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize=7,
            )
        ax.set_title(name if not np.isfinite(cap) else f"{name} (below the cap)")
    axes.ravel()[0].legend(fontsize=8)
    figure.suptitle("Per-vehicle features against the reference")
    figure.savefig(folder / "features.png", dpi=90)
    plt.close(figure)
    paths["features"] = "figures/features.png"

    density = SCENE_FEATURES.index("density")
    speed = SCENE_FEATURES.index("mean_speed")
    figure, axes = plt.subplots(
        1, len(generators), figsize=(5 * len(generators), 4), squeeze=False, constrained_layout=True
    )
    ref_scenes = scene_features(reference)
    for ax, (label, scenes) in zip(axes[0], generators.items()):
        rows = scene_features(scenes)
        ax.scatter(ref_scenes[:, density], ref_scenes[:, speed], s=6, c="0.6", label="reference")
        ax.scatter(rows[:, density], rows[:, speed], s=6, label=label)
        ax.set_xlabel("density (veh/km)")
        ax.set_ylabel("mean speed (m/s)")
        ax.set_title(f"descriptor coverage: {label}")
        ax.legend(fontsize=8)
    figure.savefig(folder / "coverage.png", dpi=90)
    plt.close(figure)
    paths["coverage"] = "figures/coverage.png"

    for index, (label, scenes) in enumerate(generators.items()):
        name = f"contact_sheet_{index}.png"
        atomic_write_bytes(folder / name, encode_png(contact_sheet(list(scenes[:12]))))
        paths[f"contact:{label}"] = f"figures/{name}"
    return paths


_CAPS = {"gap": GAP_CAP, "time_headway": HEADWAY_CAP}
"""Per-vehicle features capped for vehicles with nothing ahead (m, s)."""


def _markdown(
    results: Mapping[str, Mapping[str, Any]], figures: Mapping[str, str], reference: str, seed: int
) -> str:
    names = list(results)
    first = next(iter(results.values()))
    lines = [
        "# scenegym evaluation",
        "",
        f"Reference: {reference} ({first['reference_scenes']} scenes from "
        f"{first['reference_recordings']} recording(s); floors compare halves split by "
        f"{first['floor_split']}); seed {seed}. Metric definitions: docs/metrics.md.",
        "",
        *verdict(results),
        "## Metrics",
        "",
        "| metric | " + " | ".join(names) + " | ideal |",
        "| --- | " + " | ".join("---" for _ in names) + " | --- |",
        "| scenes | " + " | ".join(str(results[n]["scenes"]) for n in names) + " | |",
    ]
    for key, label, ideal in TABLE_KEYS:
        values = [_value(results[n], key) for n in names]
        if all(value is None for value in values):
            continue  # a metric none of the sets has (the FSD without a prior)
        cells = " | ".join(_number(value) for value in values)
        lines.append(f"| {label} | {cells} | {ideal} |")
    notes = [f"{n}: {results[n]['fsd_note']}." for n in names if "fsd_note" in results[n]]
    lines += ["", *notes] if notes else []
    lines += ["", "## Per-feature KS statistic (0 is ideal)", ""]
    features = list(next(iter(results.values()))["ks"])
    lines.append("| feature | " + " | ".join(names) + " |")
    lines.append("| --- | " + " | ".join("---" for _ in names) + " |")
    for feature in features:
        lines.append(
            f"| {feature} | " + " | ".join(_number(results[n]["ks"][feature]) for n in names) + " |"
        )
    lines += [
        "",
        "## Figures",
        "",
        f"![features]({figures['features']})",
        "",
        f"![coverage]({figures['coverage']})",
        "",
    ]
    if "training" in figures:
        lines += [
            "### Training curves of the generation policy",
            "",
            f"![training]({figures['training']})",
            "",
        ]
    if "prior" in figures:
        lines += ["### Training curves of the scene prior", "", f"![prior]({figures['prior']})", ""]
    for key, path in figures.items():
        if key.startswith("contact:"):
            lines += [f"### {key[len('contact:') :]}: first scenes", "", f"![contact]({path})", ""]
    return "\n".join(lines) + "\n"


def _value(result: Mapping[str, Any], key: str) -> Any:
    part, _, name = key.rpartition(".")
    return (result.get(part) or {}).get(name) if part else result.get(key)


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def read_scene_sets(paths: Sequence[str | os.PathLike]) -> dict[str, list[Scene]]:
    """The scenes files to evaluate as the named sets ``evaluate_to_folder`` takes: each set is
    named by its file's stem (by its path when an earlier file has that stem) and must hold at
    least ``MIN_SCENES`` scenes."""
    sets: dict[str, list[Scene]] = {}
    for path in map(Path, paths):
        scenes = read_scenes(path)
        if len(scenes) < MIN_SCENES:
            raise ValueError(
                f"{path} holds {len(scenes)} scenes; evaluating needs at least {MIN_SCENES} "
                f"(the classifier two-sample test takes {MIN_SCENES} a side)"
            )
        sets[path.stem if path.stem not in sets else str(path)] = scenes
    return sets
