"""Recipes: whole jobs made of the library's calls, the same for Python and the command line.

- ``fit_generator``: learn a generation policy from any reference scenes (goal ranges, start
  space, reward weights and realism model all taken from the reference), into a run folder.
- ``quickstart``: the whole pipeline on the embedded defaults (random scenes, the naturalistic
  reference, a generator fitted to one half of it, a VAE prior, an evaluation against the
  other half, a COCO dataset), into one folder; returns a ``QuickstartResult``.

Both report what they do through a ``RecipeProgress``, which reports nothing unless a
subclass overrides its hooks.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scenegym._checks import check_seed, check_whole
from scenegym._io import atomic_write_bytes, atomic_write_text
from scenegym._progress import duration
from scenegym.agents.policy import GenerationPolicy
from scenegym.agents.training import train
from scenegym.bridges.reference import naturalistic_reference, reference_cached
from scenegym.config import config_to_dict
from scenegym.datasets.dataset import DatasetConfig, ScenesFile, write_dataset
from scenegym.datasets.files import contact_sheet, encode_png, render_to_folder
from scenegym.datasets.render import RenderConfig
from scenegym.evaluation.report import evaluate_to_folder
from scenegym.evaluation.summary import summarise
from scenegym.generators.prior import PriorConfig, ScenePrior, cached_prior
from scenegym.rewards.realism import VehicleRealism
from scenegym.scene.descriptors import describe_many
from scenegym.scene.fitted import vehicles_like
from scenegym.scene.groups import grouped_split
from scenegym.scene.scene import Scene, read_scenes, write_scenes
from scenegym.scene.space import HighwaySceneSpace, HighwaySpaceConfig

__all__ = [
    "QUICKSTART_MIN_REFERENCE",
    "QuickstartResult",
    "RecipeProgress",
    "fit_generator",
    "quickstart",
]

QUICKSTART_MIN_REFERENCE = 40
"""Fewest reference scenes of ``quickstart``: 5 simulated runs, split by run into the part
that fits the generator and the part held out (at least 10 scenes each)."""


def _ignore(steps: int = 1) -> None:
    pass


class RecipeProgress:
    """What a recipe reports while it runs. This base reports nothing: override the hooks (the
    command line draws progress bars and prints lines)."""

    training_bar: bool = False
    """Whether stable-baselines3 draws its own progress bar while the policy trains."""

    def training_lines(self, line: str) -> None:
        """A line of the training's progress (steps, rate, time left), every 30 s or 5 %,
        when ``training_bar`` is off. This base ignores it."""

    def stage(
        self, description: str, total: int | None
    ) -> AbstractContextManager[Callable[..., None]]:
        """A stage of ``total`` items (epochs, scenes), as a context manager yielding
        ``advance(steps=1)``."""
        return contextlib.nullcontext(_ignore)

    def note(self, text: str) -> None:
        """A line worth telling the user, such as the long step that starts now."""

    def described(self, summary: dict[str, Any]) -> None:
        """The summary (``scenegym.evaluation.summarise``) of the random scenes, once known."""


def _as_space(space: HighwaySceneSpace | HighwaySpaceConfig | None) -> HighwaySceneSpace:
    if space is None:
        return HighwaySceneSpace()
    if isinstance(space, HighwaySpaceConfig):
        return HighwaySceneSpace(space)
    if not isinstance(space, HighwaySceneSpace):
        raise TypeError(
            f"space must be a HighwaySceneSpace or a HighwaySpaceConfig, got {type(space).__name__}"
        )
    return space


def _scenes_text(scenes: Sequence[Scene]) -> str:
    """The scenes as the JSON Lines text ``write_scenes`` writes."""
    return "".join(scene.to_json() + "\n" for scene in scenes)


def _generator_config(
    reference: Sequence[Scene],
    space: HighwaySceneSpace,
    *,
    train_steps: int,
    seed: int,
    held_out: bool,
    own_roads: bool = False,
) -> dict[str, Any]:
    """The ``TrainConfig`` (as a mapping) of a generator of scenes like ``reference``."""
    # Goal targets drawn from the reference's scenes: asked for what the reference holds, the
    # policy learns its joint distribution of the descriptors (docs/generation.md). Each
    # episode starts from a scene that already follows the targets the space can set (road,
    # count, speeds, trucks) with vehicles evenly spaced; the policy places and adjusts them.
    described = describe_many(reference)
    ranges = {
        name: [float(np.percentile(described[name], 1)), float(np.percentile(described[name], 99))]
        for name in described  # all descriptors: the policy learns their joint distribution
    }
    ranges = {name: [low, max(high, low + 1e-3)] for name, (low, high) in ranges.items()}
    # Starting scenes as small and as crowded as the reference's, each the nearest to its
    # targets of 16 drawn (headways and gaps are not set directly).
    counts = described["vehicle_count"]
    most = max(40, int(counts.max()))
    start_space = {
        **config_to_dict(space.config),
        "placement": "even",
        "vehicles": [int(counts.min()), most],
    }
    config = {
        "env": "scenegym/DrivingLayout-edit-v6",
        "env_kwargs": {
            "space": start_space,
            "max_vehicles": most,
            "start": "goal",
            "start_candidates": 16,
            "realism": "realism.json",
            "goal": {"ranges": ranges, "reference": "reference_fit.jsonl"},
            "reward": {"weights": {"validity": 1.0, "realism": 0.5, "goal": 2.0}},
            "edit_budget": 32,
        },
        "total_steps": train_steps,
        "n_envs": 16,
        "vec_env": "batched",
        "n_steps": 128,
        "batch_size": 256,
        "checkpoint_every": max(train_steps // 3, 1),
        "eval_every": max(train_steps // 4, 1),
        "net_arch": [64, 64],
        "reference": "reference_held_out.jsonl",
        "seed": seed,
    }
    if not held_out:
        del config["reference"]
    if own_roads:
        config["env_kwargs"]["roads"] = "reference_fit.jsonl"
    return config


def fit_generator(
    reference: Sequence[Scene],
    run: str | os.PathLike,
    *,
    train_steps: int = 500_000,
    seed: int = 0,
    space: HighwaySceneSpace | HighwaySpaceConfig | None = None,
    held_out: Sequence[Scene] | None = None,
    progress: RecipeProgress | None = None,
    own_roads: bool = False,
) -> Path:
    """Learn a generation policy of scenes like ``reference`` into the new run folder ``run``.

    The training configuration is the quickstart's, taken from the reference: a vehicle
    realism model fitted on its vehicles (``run/realism.json``), goals asking for all the
    descriptors of one of its scenes per episode (ranges from their 1st to 99th percentiles;
    ``run/reference_fit.jsonl``), episodes of scenegym/DrivingLayout-edit-v6 starting from the
    nearest to the goal of 16 scenes of ``space`` (default ``HighwaySceneSpace()``) with
    vehicles evenly spaced (offsets, headings, sizes and kinds drawn from ``space``, which
    realigned and added vehicles draw from too), from as few as a reference scene holds to
    40 or as many as one holds, whichever is more; reward weights validity 1, realism 0.5,
    goal 2; PPO with 16 environments.

    Args:
        reference: the scenes to learn from (at least 1; a few hundred give a useful
            generator).
        run: the run folder to create; it must not hold a run.
        train_steps: environment steps of training.
        seed: the seed of training.
        space: where the starting scenes come from (road, lanes, speeds, kinds).
        held_out: reference scenes kept out of ``reference`` (at least 10): training's
            evaluations also measure C2ST AUC, MMD², coverage and Vendi against them
            (``run/reference_held_out.jsonl``).
        progress: what is reported while it runs.
        own_roads: episodes drive on the reference's own roads (each a road of one of its
            scenes, drawn at random; its lane count and curvature are the targets of those
            descriptors) instead of roads of ``space``: a generator of traffic on given
            roads, as ``fit_reference`` trains.

    Returns:
        The path of the final model, ``run/model.zip`` (load it with
        ``GenerationPolicy.load(run)``).
    """
    reference = list(reference)
    if not reference:
        raise ValueError("reference must hold at least one scene, got none")
    for i, scene in enumerate(reference):
        if not isinstance(scene, Scene):
            raise TypeError(f"reference[{i}] must be a Scene, got {type(scene).__name__}")
    train_steps, seed = check_whole("train_steps", train_steps, 1), check_seed(seed)
    progress = RecipeProgress() if progress is None else progress
    space = _as_space(space)
    vehicles = sum(len(scene.vehicles) for scene in reference)
    components = max(1, min(8, vehicles // 20))  # a small reference gets a simpler model
    realism = json.dumps(VehicleRealism.fit(reference, components=components, seed=0).to_dict())
    config = _generator_config(
        reference,
        space,
        train_steps=train_steps,
        seed=seed,
        held_out=held_out is not None,
        own_roads=own_roads,
    )
    files = {"realism.json": realism, "reference_fit.jsonl": _scenes_text(reference)}
    if held_out is not None:
        files["reference_held_out.jsonl"] = _scenes_text(list(held_out))
    progress.note(f"training a generation policy for {train_steps} steps ...")
    lines = None if progress.training_bar else progress.training_lines
    return train(config, run, progress_bar=progress.training_bar, progress_lines=lines, files=files)


@dataclass(frozen=True, kw_only=True)
class QuickstartResult:
    """What ``quickstart`` wrote into ``out`` and what it measured."""

    out: Path
    """The folder of every output; the trained run is ``out / "run"``."""
    seed: int
    train_steps: int
    random_scenes: int
    """Scenes drawn from the random scene space (``scenes.jsonl``)."""
    reference_scenes: int
    """Naturalistic reference scenes (``reference.jsonl``), half of them held out."""
    generated_scenes: int
    """Scenes generated by the trained policy (``generated.jsonl``)."""
    summary: dict[str, Any]
    """Descriptor statistics and validity of the random scenes (``describe.json``)."""
    metrics: dict[str, Any]
    """The evaluation against the held-out half (``evaluation/metrics.json``); per set under
    ``"generators"``: ``"generated"``, ``"random sampler"``, ``"VAE prior"``."""

    @property
    def run(self) -> Path:
        """The trained generation policy's run folder."""
        return self.out / "run"


def _output_folder(out: str | os.PathLike) -> Path:
    """``out``, created when missing."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create output folder {out}: {error.strerror}") from None
    return out


def _random_scenes(
    out: Path, space: HighwaySceneSpace, n: int, seed: int, progress: RecipeProgress
) -> tuple[list[Scene], dict[str, Any]]:
    """Sample, render and describe the random scenes; returns them and their summary."""
    scenes_path = out / "scenes.jsonl"
    with progress.stage("sampling", n) as advance:
        scenes = []
        for scene in space.sample_many(n, seed):
            scenes.append(scene)
            advance()
        write_scenes(scenes_path, scenes)
    scenes = read_scenes(scenes_path)
    with progress.stage("rendering", len(scenes)) as advance:
        render_to_folder(
            scenes, out / "render", RenderConfig(width=256, height=128), advance, overwrite=True
        )
    summary = summarise(scenes)
    atomic_write_text(out / "describe.json", json.dumps(summary, indent=2) + "\n")
    atomic_write_bytes(out / "contact_sheet.png", encode_png(contact_sheet(scenes[:16])))
    progress.described(summary)
    return scenes, summary


def _reference_halves(
    out: Path, n: int, progress: RecipeProgress
) -> tuple[list[Scene], list[Scene]]:
    """Simulate ``n`` reference scenes (seed 0, cached) and split them by simulated run: the
    scenes of a random half of the runs to fit on, those of the other half held out. All
    three are written into ``out``."""
    with progress.stage("simulating reference", n) as advance:
        reference = naturalistic_reference(n, 0, on_scene=advance)
    write_scenes(out / "reference.jsonl", reference)
    # Scenes of one run share its road and traffic: the held-out half holds other runs, as
    # traffic the generator never saw would be.
    fit_index, held_index = grouped_split(reference, 0.5, seed=0)
    fit_on = [reference[i] for i in fit_index]
    held_out = [reference[i] for i in held_index]
    write_scenes(out / "reference_fit.jsonl", fit_on)
    write_scenes(out / "reference_held_out.jsonl", held_out)
    return fit_on, held_out


def _fit_prior(out: Path, reference: list[Scene], progress: RecipeProgress) -> ScenePrior:
    """A VAE prior of ``reference`` (cached), saved in ``out / "prior"``."""
    with progress.stage("fitting scene prior", PriorConfig().epochs) as advance:
        prior, _ = cached_prior(reference, on_epoch=lambda epoch, row: advance())
    prior.save(out / "prior")
    return prior


def _generate(out: Path, run: Path, n: int, seed: int) -> list[Scene]:
    """``n`` scenes of the trained run, written with a contact sheet of the first 16."""
    with GenerationPolicy.load(run) as policy:
        generated = policy.sample(n, seed=seed).scenes
    write_scenes(out / "generated.jsonl", generated)
    atomic_write_bytes(out / "generated_sheet.png", encode_png(contact_sheet(generated[:16])))
    return generated


def _coco_dataset(out: Path, n: int, seed: int, progress: RecipeProgress) -> None:
    """The generated scenes as a COCO dataset in ``out / "dataset"``."""
    with progress.stage("writing COCO dataset", n) as advance:
        write_dataset(
            ScenesFile(out / "generated.jsonl"),
            out / "dataset",
            n,
            seed,
            DatasetConfig(formats=("coco",)),
            overwrite=True,
            on_scenes=advance,
        )


def _checked_sizes(n: int, seed: int, train_steps: int, reference_n: int) -> tuple[int, ...]:
    """``quickstart``'s sizes and seed, checked."""
    n, seed = check_whole("n", n, 1), check_seed(seed)
    train_steps = check_whole("train_steps", train_steps, 1)
    reference_n = check_whole("reference_n", reference_n, 1)
    if reference_n < QUICKSTART_MIN_REFERENCE:
        raise ValueError(
            f"reference_n must be at least {QUICKSTART_MIN_REFERENCE}, got {reference_n}: "
            "the reference is split by simulated run (8 scenes a run) into a part to "
            "train on and one held out to evaluate, each of at least 10 scenes"
        )
    return n, seed, train_steps, reference_n


def quickstart_plan(out: Path, *, n: int, train_steps: int, reference_n: int) -> str:
    """What ``quickstart`` is about to do, step by step, with how long each step takes on
    an idle 2-core machine (measured; the training's progress lines then give the time left
    on this one)."""
    if reference_cached(reference_n):
        reference = "cached: loads in a second"
    else:
        # 0.165 s a scene: 2,000 in 5 min 29 s on 2 idle cores (docs/BENCHMARKS.md)
        seconds = duration(reference_n * 0.165)
        reference = f"not cached yet: about {seconds} on 2 idle cores, then cached"
    training = duration(train_steps / 4000)
    return "\n".join(
        [
            f"quickstart into {out}:",
            f"  1. {n:,} scenes of the random scene space, rendered and described (seconds)",
            f"  2. the naturalistic reference, {reference_n:,} scenes ({reference})",
            f"  3. a generation policy trained for {train_steps:,} steps (about {training} "
            "at 4,000 steps/s on 2 idle cores; several times longer on a busy machine)",
            "  4. a VAE scene prior (about a minute the first time, then cached)",
            f"  5. {n:,} generated scenes evaluated against the held-out reference, beside the "
            "random scenes and the prior's; report, contact sheets and a COCO dataset "
            "(under a minute)",
        ]
    )


def quickstart(
    out: str | os.PathLike,
    *,
    n: int = 1000,
    seed: int = 0,
    train_steps: int = 500_000,
    reference_n: int = 2000,
    space: HighwaySceneSpace | HighwaySpaceConfig | None = None,
    progress: RecipeProgress | None = None,
) -> QuickstartResult:
    """The whole pipeline on the embedded defaults, written into the folder ``out``.

    Samples ``n`` random scenes of ``space`` (default ``HighwaySceneSpace()``; seed ``seed``),
    renders and describes them (``scenes.jsonl``, ``render/``, ``describe.json``,
    ``contact_sheet.png``); simulates ``reference_n`` naturalistic reference scenes (seed 0,
    cached; ``reference.jsonl``) and splits them at random in two halves
    (``reference_fit.jsonl``, ``reference_held_out.jsonl``); learns a generator of the first
    half with ``fit_generator`` (``run/``, ``train_steps`` steps); fits a VAE prior on it
    (cached; ``prior/``); generates ``n`` scenes (``generated.jsonl``,
    ``generated_sheet.png``); evaluates them, the random scenes and the prior's samples
    against the held-out half (``evaluation/``) and writes the generated scenes as a COCO
    dataset (``dataset/``). Outputs of an earlier call into the same folder are replaced; the
    same arguments write the same files (but for times and versions in logs and manifests).
    """
    n, seed, train_steps, reference_n = _checked_sizes(n, seed, train_steps, reference_n)
    progress = RecipeProgress() if progress is None else progress
    space, out = _as_space(space), _output_folder(out)
    progress.note(quickstart_plan(out, n=n, train_steps=train_steps, reference_n=reference_n))
    scenes, summary = _random_scenes(out, space, n, seed, progress)
    fit_on, held_out = _reference_halves(out, reference_n, progress)
    run = out / "run"
    if run.exists():
        shutil.rmtree(run)  # quickstart's own output from an earlier call
    # Starting scenes on the space's roads with the reference's vehicles: what edit-v6
    # draws when it realigns or adds a vehicle (offsets, headings, kinds, sizes).
    fit_generator(
        fit_on,
        run,
        train_steps=train_steps,
        seed=seed,
        space=HighwaySceneSpace(vehicles_like(space.config, fit_on)),
        held_out=held_out,
        progress=progress,
    )
    # A VAE prior of the fitted half (cached): its features give the Fréchet Scene Distance.
    prior = _fit_prior(out, fit_on, progress)
    generated = _generate(out, run, len(scenes), seed + 1)
    metrics = evaluate_to_folder(
        {
            "generated": generated,
            "random sampler": scenes,
            "VAE prior": prior.sample(len(scenes), seed=seed),
        },
        held_out,
        out / "evaluation",
        prior=prior,
        prior_samples="VAE prior",
        run=run,
        reference_name=(
            f"naturalistic highway-env traffic ({len(held_out)} held-out scenes of "
            f"{len(fit_on) + len(held_out)}, seed 0)"
        ),
    )
    _coco_dataset(out, len(generated), seed, progress)
    return QuickstartResult(
        out=out,
        seed=seed,
        train_steps=train_steps,
        random_scenes=len(scenes),
        reference_scenes=len(fit_on) + len(held_out),
        generated_scenes=len(generated),
        summary=summary,
        metrics=metrics,
    )
