"""scenegym evaluate: metrics.json, the Markdown report and its figures."""

import json

import cv2
import numpy as np
import pytest
from conftest import SMALL_REFERENCE

from scenegym.bridges import naturalistic_reference
from scenegym.cli import main
from scenegym.evaluation.report import evaluate_to_folder
from scenegym.scene import HighwaySceneSpace, write_scenes

SMALL = SMALL_REFERENCE
REQUIRED = (
    "validity_rate",
    "c2st_auc",
    "mmd2",
    "mmd2_floor",
    "precision",
    "recall",
    "density",
    "coverage",
    "vendi",
    "ks",
)


@pytest.fixture(scope="module")
def reference():
    return naturalistic_reference(60, seed=0, config=SMALL, cache=False, workers=1)


@pytest.fixture(scope="module")
def random_scenes():
    return list(HighwaySceneSpace().sample_many(60, seed=0))


def test_metrics_file_has_every_required_key(tmp_path, reference, random_scenes):
    metrics = evaluate_to_folder({"random": random_scenes}, reference, tmp_path)
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written == json.loads(json.dumps(metrics))
    for key in REQUIRED:
        assert key in written
    assert set(written["ks"]) >= {"speed", "gap", "time_headway"}


def test_random_sampler_is_told_apart_from_the_reference(tmp_path, reference, random_scenes):
    metrics = evaluate_to_folder({"random": random_scenes}, reference, tmp_path)
    assert metrics["c2st_auc"] > 0.9
    assert metrics["mmd2"] > 2 * metrics["mmd2_floor"]  # floors keep simulated runs whole
    assert metrics["validity_rate"] < 0.5


def test_reference_split_against_itself_sits_at_the_floor(tmp_path, reference):
    # A random split: windows cut from one snapshot differ systematically (upstream or
    # downstream), so taking every other scene would not be a same-distribution split.
    order = np.random.default_rng(0).permutation(len(reference))
    half = [reference[i] for i in order[: len(order) // 2]]
    other = [reference[i] for i in order[len(order) // 2 :]]
    metrics = evaluate_to_folder({"half": half}, other, tmp_path)
    assert metrics["c2st_auc"] < 0.8
    assert metrics["mmd2"] < 4 * metrics["mmd2_floor"] + 0.01
    assert metrics["validity_rate"] == 1.0


def test_report_compares_generators_side_by_side(tmp_path, reference, random_scenes):
    evaluate_to_folder(
        {"random": random_scenes, "reference half": reference[::2]}, reference, tmp_path
    )
    report = (tmp_path / "report.md").read_text()
    assert "| metric | random | reference half | ideal |" in report
    for figure in ("features.png", "coverage.png", "contact_sheet_0.png", "contact_sheet_1.png"):
        image = cv2.imread(str(tmp_path / "figures" / figure))
        assert image is not None and image.size > 0
        assert f"figures/{figure}" in report


def test_evaluate_command_with_compare_and_xml_reference(
    tmp_path, reference, random_scenes, capsys
):
    from scenegym.bridges import export_commonroad

    write_scenes(tmp_path / "random.jsonl", random_scenes)
    write_scenes(tmp_path / "other.jsonl", reference[::3])
    export_commonroad(reference[:30], tmp_path / "xml")
    status = main(
        [
            "evaluate",
            str(tmp_path / "random.jsonl"),
            "--reference",
            str(tmp_path / "xml"),
            "--compare",
            str(tmp_path / "other.jsonl"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "random: validity" in out and "other: validity" in out
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(metrics["generators"]) == {"random", "other"}
    assert metrics["reference_scenes"] == 30


def test_too_few_scenes_is_one_clear_error(tmp_path, reference, random_scenes, capsys):
    write_scenes(tmp_path / "few.jsonl", random_scenes[:3])
    write_scenes(tmp_path / "ref.jsonl", reference)
    status = main(
        [
            "evaluate",
            str(tmp_path / "few.jsonl"),
            "--reference",
            str(tmp_path / "ref.jsonl"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and err[0].startswith("scenegym: error:") and "scenes" in err[0]
    assert "few.jsonl holds 3 scenes; evaluating needs at least 10" in err[0]


def test_bad_reference_and_prior_arguments_say_what_to_give(tmp_path, random_scenes, capsys):
    write_scenes(tmp_path / "random.jsonl", random_scenes)
    (tmp_path / "not-a-prior").mkdir()
    base = ["evaluate", str(tmp_path / "random.jsonl"), "--out", str(tmp_path / "out")]
    for extra, message in (
        (["--reference", "naturalistc"], "--reference naturalistc does not exist; give 'natur"),
        (["--reference", str(tmp_path / "not-a-prior")], "--reference: no CommonRoad .xml"),
        (
            [
                "--reference",
                str(tmp_path / "random.jsonl"),
                "--prior",
                str(tmp_path / "not-a-prior"),
            ],
            "is no scene prior: it has no prior.json",
        ),
    ):
        assert main(base + extra) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out").exists()


def test_the_report_opens_with_a_verdict_in_plain_words(tmp_path, reference, random_scenes):
    half = reference[::2]
    results = evaluate_to_folder(
        {"random": random_scenes, "reference half": half}, reference, tmp_path
    )
    report = (tmp_path / "report.md").read_text()
    verdict = report[report.index("## Verdict") : report.index("## Metrics")]
    assert "- **random**: easily told apart from the reference by the classifier test" in verdict
    assert "Closest to the reference by the classifier test: **reference half**" in verdict
    assert f"Only {min(len(half), len(random_scenes))} scenes in the smallest set" in verdict
    # Sets of one size are measured against the same reference scenes.
    sets = results["generators"]
    same = evaluate_to_folder(
        {"a": random_scenes, "b": random_scenes[::-1]}, reference, tmp_path / "same"
    )
    assert same["generators"]["a"]["vendi_reference"] == same["generators"]["b"]["vendi_reference"]
    assert sets["random"]["vendi_reference"] == same["generators"]["a"]["vendi_reference"]


def test_a_runs_training_curves_join_the_report(tmp_path, reference, random_scenes, tiny_run):
    evaluate_to_folder({"random": random_scenes}, reference, tmp_path, run=tiny_run)
    report = (tmp_path / "report.md").read_text()
    assert "figures/training.png" in report and (tmp_path / "figures" / "training.png").is_file()
    assert cv2.imread(str(tmp_path / "figures" / "training.png")).shape[1] > 500


def test_the_prior_is_not_measured_in_its_own_features(
    tmp_path, reference, random_scenes, tiny_prior
):
    results = evaluate_to_folder(
        {"random": random_scenes, "prior": tiny_prior.sample(30, seed=0)},
        reference,
        tmp_path,
        prior=tiny_prior,
        prior_samples="prior",
    )["generators"]
    assert results["random"]["fsd"] is not None and results["prior"]["fsd"] is None
    assert "prior: Fréchet Scene Distance not measured" in (tmp_path / "report.md").read_text()
