"""A generator fitted to any reference, judged on recordings it never saw.

``fit_reference`` is the quickstart's recipe for a user's own reference (recordings as
CommonRoad folders or scenes files, or the naturalistic default): it splits the reference by
recording, fits the starting space, the realism model, the goal and a scene prior on the
training part, trains a policy on the training part's roads, generates traffic on the very
roads of the held-out recordings, and evaluates it against the traffic recorded there,
with the starting space that ``scenegym.scene.space_like`` fits.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenegym._checks import check_seed, check_whole
from scenegym._io import atomic_write_text
from scenegym.agents.policy import GenerationPolicy
from scenegym.agents.recipes import RecipeProgress, fit_generator
from scenegym.config import config_to_dict
from scenegym.evaluation.report import MIN_SCENES, evaluate_to_folder
from scenegym.generators.prior import cached_prior
from scenegym.scene.encoding import LaneGrid
from scenegym.scene.fitted import space_like
from scenegym.scene.groups import group_codes, grouped_split, recording_of
from scenegym.scene.scene import Scene, write_scenes

__all__ = ["FitResult", "fit_reference"]

GENERATED = "generated on held-out roads"
"""The name of the generated scenes in ``fit_reference``'s evaluation."""


@dataclass(frozen=True, kw_only=True)
class FitResult:
    """What ``fit_reference`` wrote into its run folder and what it measured."""

    run: Path
    """The trained run (load it with ``GenerationPolicy.load(run)``)."""
    recordings: dict[str, int]
    """Recordings on each side of the split: ``{"fit": n, "held_out": m}``."""
    scenes: dict[str, int]
    """Scenes on each side of the split."""
    metrics: dict[str, Any]
    """The evaluation of the traffic generated on the held-out roads against the traffic
    recorded there (``run/evaluation/metrics.json``)."""


def _split(reference: list[Scene], held_out: float, seed: int) -> tuple[list[Scene], list[Scene]]:
    """The scenes to fit on and those held out, split by recording; one clear line for a
    held-out part too small to evaluate on, or for roads the lane grid cannot hold."""
    fit_index, held_index = grouped_split(reference, held_out, seed=seed)
    held = [reference[i] for i in held_index]
    if len(held) < MIN_SCENES:
        raise ValueError(
            f"the held-out recordings hold {len(held)} scenes; the evaluation needs at least "
            f"{MIN_SCENES}: raise held_out, or import the recordings with a shorter interval"
        )
    _check_roads(reference, LaneGrid())
    return [reference[i] for i in fit_index], held


def _check_roads(scenes: Sequence[Scene], grid: LaneGrid) -> None:
    """One clear line for a reference road the lane grid cannot hold."""
    for scene in scenes:
        road = scene.road
        if not grid.holds(road):
            where = scene.context.get("recording", scene.id)
            raise ValueError(
                f"reference road of {where} has {road.lane_count} lanes and is "
                f"{road.length:.0f} m long; a generator's lane grid holds {grid.lanes} lanes "
                f"and {grid.length:g} m: cut the recordings into shorter scenes or leave "
                "those roads out"
            )


def fit_reference(
    reference: Sequence[Scene],
    run: str | os.PathLike,
    *,
    held_out: float = 0.3,
    train_steps: int = 250_000,
    seed: int = 0,
    label: str = "reference",
    progress: RecipeProgress | None = None,
) -> FitResult:
    """Learn a generator of traffic like ``reference`` into the new run folder ``run`` and
    judge it on recordings it never saw.

    1. The reference is split by recording (``grouped_split``): ``held_out`` of its
       recordings (at least one) are kept out, whole (``run/reference_held_out.jsonl``).
    2. On the rest (``run/reference_fit.jsonl``): the starting space (``space_like``), the
       vehicle realism model, the goal (each episode asks for the descriptors of one of its
       scenes) and a VAE scene prior (``run/prior``, for the Fréchet Scene Distance).
    3. ``fit_generator`` trains scenegym/DrivingLayout-edit-v6 on the training part's own
       roads for ``train_steps`` steps (held-out evaluations during training on the
       held-out part).
    4. The policy generates one scene on the road of each held-out scene
       (``run/generated_held_out_roads.jsonl``), asked for the traffic descriptors of the
       training scenes in turn (and the road's own lane count and curvature), and
       ``evaluate_to_folder`` compares them with the traffic recorded on those roads
       (``run/evaluation``: metrics with floors split by recording, the road and traffic
       parts, the report). ``run/fit.json`` records the split.

    ``label`` names the reference in the report. ``ValueError`` for a reference of one
    recording, a held-out part of fewer than ``MIN_SCENES`` scenes, or roads the lane grid
    cannot hold.
    """
    reference = list(reference)
    for i, scene in enumerate(reference):
        if not isinstance(scene, Scene):
            raise TypeError(f"reference[{i}] must be a Scene, got {type(scene).__name__}")
    train_steps, seed = check_whole("train_steps", train_steps, 1), check_seed(seed)
    progress = RecipeProgress() if progress is None else progress
    fit_on, held = _split(reference, held_out, seed)
    space = space_like(fit_on)
    run = Path(run)
    fit_generator(
        fit_on,
        run,
        train_steps=train_steps,
        seed=seed,
        space=space,
        held_out=held,
        progress=progress,
        own_roads=True,
    )
    with progress.stage("fitting scene prior", None):
        prior, _ = cached_prior(fit_on)
    prior.save(run / "prior")
    generated = _generate_on(run, held, seed + 1)
    with progress.stage("evaluating on held-out recordings", None):
        metrics = evaluate_to_folder(
            {GENERATED: generated},
            held,
            run / "evaluation",
            prior=prior,
            seed=seed,
            reference_name=f"{label}: {len(held)} held-out scenes",
        )
    counts = {"fit": len(group_codes(fit_on)[1]), "held_out": len(group_codes(held)[1])}
    scenes = {"fit": len(fit_on), "held_out": len(held)}
    summary = {"reference": label, "recordings": counts, "scenes": scenes}
    summary |= {"held_out_share": held_out, "train_steps": train_steps, "seed": seed}
    summary["space"] = config_to_dict(space)
    atomic_write_text(run / "fit.json", json.dumps(summary, indent=2) + "\n")
    return FitResult(run=run, recordings=counts, scenes=scenes, metrics=metrics)


def _generate_on(run: Path, held: list[Scene], seed: int) -> list[Scene]:
    """One scene of ``run`` on the road of each scene of ``held``, each naming the recording
    of its road (so grouped splits keep it with that recording), written to
    ``run/generated_held_out_roads.jsonl``."""
    with GenerationPolicy.load(run) as policy:
        generated = policy.sample(len(held), seed=seed, roads=[s.road for s in held]).scenes
    generated = [
        scene.replace(context={"recording": recording_of(on), "generated": True})
        for scene, on in zip(generated, held)
    ]
    write_scenes(run / "generated_held_out_roads.jsonl", generated)
    return generated
