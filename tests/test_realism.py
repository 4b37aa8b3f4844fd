"""The realism reward term: bounded, ranks reference-like scenes above others, saved as JSON."""

import json

import numpy as np
import pytest
from conftest import SMALL_REFERENCE

from scenegym.bridges import naturalistic_reference
from scenegym.rewards import SceneRealism, VehicleRealism
from scenegym.scene import HighwaySceneSpace

SMALL = SMALL_REFERENCE


@pytest.fixture(scope="module")
def reference():
    scenes = naturalistic_reference(80, seed=1, config=SMALL, cache=False, workers=1)
    order = np.random.default_rng(0).permutation(len(scenes))
    return [scenes[i] for i in order]


@pytest.fixture(scope="module")
def model(reference):
    return VehicleRealism.fit(reference[:60], components=4, seed=0)


def test_scores_are_bounded(model, reference):
    scenes = reference[60:] + list(HighwaySceneSpace().sample_many(20, seed=0))
    for scene in scenes:
        scores = model.vehicle_scores(scene)
        assert np.all((scores >= 0.0) & (scores <= 1.0))
        assert 0.0 <= model.score(scene) <= 1.0


def test_held_out_reference_scores_above_the_random_sampler(model, reference):
    held_out = model.scores(reference[60:]).mean()
    random = model.scores(list(HighwaySceneSpace().sample_many(40, seed=0))).mean()
    assert held_out > 0.8
    assert held_out > random + 0.3


def test_corrupted_speeds_score_low(model, reference):
    scenes = [s for s in reference[60:] if len(s.vehicles)]
    corrupted = [
        s.replace(vehicles=s.vehicles.replace(speed=s.vehicles.speed * 3.0)) for s in scenes
    ]
    assert model.scores(corrupted).mean() < 0.3 < model.scores(scenes).mean()


def test_scene_without_vehicles_scores_zero(model, reference):
    empty = reference[0].replace(vehicles=reference[0].vehicles.take([]))
    assert model.score(empty) == 0.0


def test_json_round_trip_scores_the_same(model, reference, tmp_path):
    path = tmp_path / "realism.json"
    model.save(path)
    again = VehicleRealism.load(path)
    assert np.array_equal(again.scores(reference[60:]), model.scores(reference[60:]))


def test_malformed_model_file_gives_a_clear_error(tmp_path, model):
    path = tmp_path / "realism.json"
    path.write_text("{broken")
    with pytest.raises(ValueError, match="not valid JSON"):
        VehicleRealism.load(path)
    data = model.to_dict()
    data["means"] = data["means"][:1]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="inconsistent shapes"):
        VehicleRealism.load(path)
    with pytest.raises(ValueError, match="does not exist"):
        VehicleRealism.load(tmp_path / "missing.json")


def test_too_small_reference_is_refused(reference):
    with pytest.raises(ValueError, match="needs at least"):
        VehicleRealism.fit(reference[:1], components=8)


@pytest.fixture(scope="module")
def scene_model(reference):
    return SceneRealism.fit(reference[:60], components=2, seed=0)


def test_scene_realism_ranks_held_out_reference_above_random_and_sparse_scenes(
    scene_model, reference
):
    held_out = scene_model.scores(reference[60:])
    random = scene_model.scores(list(HighwaySceneSpace().sample_many(40, seed=0)))
    assert np.all((held_out >= 0) & (held_out <= 1))
    assert held_out.mean() > random.mean() + 0.3
    # Keeping one vehicle of each scene pleases per-vehicle realism, not scene realism.
    thinned = [
        s.replace(vehicles=s.vehicles.take([0])) for s in reference[60:] if len(s.vehicles) > 6
    ]
    assert scene_model.scores(thinned).mean() < held_out.mean() - 0.3


def test_scene_realism_json_round_trip_and_format_check(scene_model, model, reference, tmp_path):
    path = tmp_path / "scene.json"
    scene_model.save(path)
    assert np.array_equal(SceneRealism.load(path).scores(reference), scene_model.scores(reference))
    model.save(tmp_path / "vehicle.json")
    with pytest.raises(ValueError, match="not a scenegym scenes realism model"):
        SceneRealism.load(tmp_path / "vehicle.json")


def test_scene_realism_term_needs_its_model():
    from scenegym.envs.generation import DrivingLayoutEnv

    with pytest.raises(ValueError, match="scene_realism term has a weight but no scene realism"):
        DrivingLayoutEnv(reward={"weights": {"validity": 1.0, "scene_realism": 1.0}})


def test_the_environment_reports_the_scene_realism_term(scene_model, reference):
    from scenegym.envs.generation import DrivingLayoutEnv

    env = DrivingLayoutEnv(scene_realism=scene_model)
    _, info = env.reset(seed=0, options={"scene": reference[61]})
    assert info["reward_terms"]["scene_realism"] == pytest.approx(scene_model.score(reference[61]))
    assert env.reward_spec.weight("scene_realism") == 0.5


def test_vehicles_off_their_lane_centre_or_askew_score_low(model, reference):
    scenes = [s for s in reference[60:] if len(s.vehicles)]
    # Drivers keep within their lane (offsets of about 0.4 m): 2.5 m puts a car on the line.
    shifted = [s.replace(vehicles=s.vehicles.replace(d=s.vehicles.d + 2.5)) for s in scenes]
    turned = [
        s.replace(vehicles=s.vehicles.replace(heading=s.vehicles.heading + 0.3)) for s in scenes
    ]
    assert model.scores(shifted).mean() < 0.3 < model.scores(scenes).mean()
    assert model.scores(turned).mean() < 0.3


def test_a_model_of_chosen_features_is_saved_and_loaded_with_them(model, reference, tmp_path):
    four = ["speed", "gap", "time_headway", "relative_speed"]
    older = VehicleRealism.fit(reference[:60], components=4, seed=0, features=four)
    assert older.names == tuple(four)
    older.save(tmp_path / "four.json")
    assert json.loads((tmp_path / "four.json").read_text())["features"] == four
    again = VehicleRealism.load(tmp_path / "four.json")
    assert np.array_equal(again.scores(reference[60:]), older.scores(reference[60:]))
    # It ignores what it does not model: shifted vehicles keep their score.
    scene = next(s for s in reference[60:] if len(s.vehicles))
    shifted = scene.replace(vehicles=scene.vehicles.replace(d=scene.vehicles.d + 0.8))
    assert older.score(shifted) == older.score(scene)
    assert model.score(shifted) < model.score(scene)
    with pytest.raises(ValueError, match="features must name vehicle features"):
        VehicleRealism.fit(reference[:60], features=["speed", "colour"])
    data = older.to_dict() | {"features": ["speed", "colour"]}
    with pytest.raises(ValueError, match="realism model features must be a list of names"):
        VehicleRealism.from_dict(data)


def test_the_realism_terms_score_with_the_models_of_their_context(model, scene_model, reference):
    from scenegym.rewards import (
        PriorRealismTerm,
        RealismTerm,
        SceneRealismTerm,
        TermContext,
        reward_term,
    )
    from scenegym.scene.batch import SceneBatch

    batch = SceneBatch.of(reference[60:])
    context = TermContext(models={"realism": model, "scene_realism": scene_model})
    held_out = reference[60:]
    np.testing.assert_allclose(RealismTerm().scores(batch, context), model.scores(held_out))
    np.testing.assert_allclose(
        SceneRealismTerm().scores(batch, context), scene_model.scores(held_out)
    )
    assert context.descriptors is not None  # described once, for the terms after it
    for term in (RealismTerm(), SceneRealismTerm(), PriorRealismTerm()):
        assert reward_term(term.name).name == term.name
        np.testing.assert_array_equal(term.scores(batch, TermContext()), np.zeros(batch.count))
