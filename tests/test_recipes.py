"""Recipes: the quickstart and fitting a generator to a reference, as library calls."""

from __future__ import annotations

import contextlib
import json

import pytest

from scenegym.agents import (
    GenerationPolicy,
    QuickstartResult,
    RecipeProgress,
    fit_generator,
    quickstart,
)
from scenegym.scene import (
    DESCRIPTORS,
    HighwaySceneSpace,
    HighwaySpaceConfig,
    read_scenes,
    recording_of,
)


class Recorded(RecipeProgress):
    """Keeps what a recipe reports."""

    def __init__(self) -> None:
        self.stages: dict[str, list] = {}
        self.notes: list[str] = []
        self.summaries: list[dict] = []

    def stage(self, description, total):
        steps = self.stages.setdefault(description, [total, 0])

        def advance(count=1):
            steps[1] += count

        return contextlib.nullcontext(advance)

    def note(self, text):
        self.notes.append(text)

    def described(self, summary):
        self.summaries.append(summary)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One small quickstart: 12 scenes, 24 reference scenes, one rollout of training."""
    folder = tmp_path_factory.mktemp("recipes")
    progress = Recorded()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCENEGYM_CACHE", str(folder / "cache"))
        result = quickstart(
            folder / "quick", n=12, seed=3, train_steps=2048, reference_n=40, progress=progress
        )
    return result, progress


def test_quickstart_writes_every_output(quick):
    result, _ = quick
    out = result.out
    for name in (
        "scenes.jsonl",
        "describe.json",
        "contact_sheet.png",
        "reference.jsonl",
        "reference_fit.jsonl",
        "reference_held_out.jsonl",
        "generated.jsonl",
        "generated_sheet.png",
        "prior/weights.safetensors",
        "evaluation/metrics.json",
        "evaluation/report.md",
        "dataset/annotations.json",
        "run/model.zip",
        "run/realism.json",
    ):
        assert (out / name).is_file(), name
    assert len(list((out / "render" / "images").iterdir())) == 12


def test_quickstart_returns_the_counts_and_metrics_it_wrote(quick):
    result, _ = quick
    assert isinstance(result, QuickstartResult)
    assert (result.seed, result.train_steps) == (3, 2048)
    assert (result.random_scenes, result.reference_scenes, result.generated_scenes) == (12, 40, 12)
    assert result.run == result.out / "run"
    assert len(read_scenes(result.out / "generated.jsonl")) == result.generated_scenes
    assert result.summary == json.loads((result.out / "describe.json").read_text())
    assert result.metrics == json.loads((result.out / "evaluation" / "metrics.json").read_text())
    generators = result.metrics["generators"]
    assert set(generators) == {"generated", "random sampler", "VAE prior"}
    for metrics in generators.values():
        assert 0.0 <= metrics["validity_rate"] <= 1.0
        assert 0.0 <= metrics["c2st_auc"] <= 1.0
        # The held-out runs, 2 of 5 (a run gives up to 8 scenes).
        held = read_scenes(result.out / "reference_held_out.jsonl")
        assert metrics["reference_scenes"] == len(held)
        assert metrics["floor_split"] == "recording"
        assert metrics["reference_recordings"] == len({recording_of(s) for s in held})


def test_quickstart_reports_its_stages_notes_and_summary(quick):
    result, progress = quick
    assert progress.summaries == [result.summary]
    plan, training = progress.notes
    assert plan.startswith(f"quickstart into {result.out}:") and "2,048 steps" in plan
    assert training == "training a generation policy for 2048 steps ..."
    assert progress.stages["sampling"] == [12, 12]
    assert progress.stages["simulating reference"] == [40, 40]
    assert progress.stages["writing COCO dataset"][0] == 12


def test_quickstart_fits_the_generator_on_some_runs_and_holds_out_the_others(quick):
    result, _ = quick
    fit = read_scenes(result.out / "reference_fit.jsonl")
    held_out = read_scenes(result.out / "reference_held_out.jsonl")
    assert len(fit) + len(held_out) == 40
    runs = [{recording_of(s) for s in part} for part in (fit, held_out)]
    assert len(runs[1]) == (len(runs[0]) + len(runs[1])) // 2  # simulated runs, whole
    assert {recording_of(s) for s in fit}.isdisjoint({recording_of(s) for s in held_out})
    assert read_scenes(result.run / "reference_fit.jsonl") == fit
    assert read_scenes(result.run / "reference_held_out.jsonl") == held_out
    config = json.loads((result.run / "config.json").read_text())
    assert config["reference"] == "reference_held_out.jsonl"
    assert config["seed"] == 3


def test_quickstart_needs_a_reference_large_enough_to_split(tmp_path):
    with pytest.raises(ValueError, match="reference_n must be at least 40"):
        quickstart(tmp_path / "q", reference_n=10)
    assert not (tmp_path / "q").exists()


def test_fit_generator_learns_from_scenes_of_another_space(tmp_path):
    space = HighwaySpaceConfig(lanes=(3, 3), ramp_probability=0.0, vehicles=(4, 12))
    reference = list(HighwaySceneSpace(space).sample_many(30, seed=5))
    model = fit_generator(reference, tmp_path / "run", train_steps=2048, seed=1, space=space)
    run = tmp_path / "run"
    assert model == run / "model.zip" and model.is_file()
    assert read_scenes(run / "reference_fit.jsonl") == reference
    assert not (run / "reference_held_out.jsonl").exists()
    config = json.loads((run / "config.json").read_text())
    assert not config["reference"] and config["seed"] == 1  # nothing held out
    kwargs = config["env_kwargs"]
    assert set(kwargs["goal"]["ranges"]) == set(DESCRIPTORS)
    # Starting scenes come from the space given, as few and as many as the reference holds.
    counts = [len(scene.vehicles) for scene in reference]
    assert kwargs["space"]["vehicles"] == [min(counts), 40]
    assert kwargs["space"]["lanes"] == [3, 3] and kwargs["space"]["placement"] == "even"
    policy = GenerationPolicy.load(run)
    low, high = policy.goal_ranges["lane_count"]
    assert low == 3 and high < 3.01  # the goals are the reference's
    assert len(policy.sample(4, seed=0).scenes) == 4


def test_fit_generator_rejects_an_empty_or_foreign_reference(tmp_path):
    with pytest.raises(ValueError, match="reference must hold at least one scene"):
        fit_generator([], tmp_path / "run")
    with pytest.raises(TypeError, match=r"reference\[0\] must be a Scene"):
        fit_generator(["scene"], tmp_path / "run")
    assert not (tmp_path / "run").exists()
