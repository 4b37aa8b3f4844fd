"""Reward terms: one protocol, one registry, and a RewardSpec that composes terms by name."""

import json

import numpy as np
import pytest

from scenegym.rewards import (
    TERMS,
    Archive,
    CoverageTerm,
    GoalSpec,
    NoveltyTerm,
    PopulationTerm,
    RewardSpec,
    RewardTerm,
    TermContext,
    goal_scores,
    register_term,
    registered_terms,
    reward_term,
    unregister_term,
    validity_scores,
)
from scenegym.scene import HighwaySceneSpace
from scenegym.scene.batch import SceneBatch
from scenegym.scene.validity import DEFAULT_RULES


class Crowding:
    """A tiny per-scene term: vehicles per 40, capped at 1."""

    name = "crowding"

    def scores(self, batch, context):
        return np.minimum(1.0, batch.sizes / 40.0)


class Lonely:
    """A tiny population term: 1 for the first scene of an archive, else 0."""

    name = "lonely"

    def score(self, point, archive):
        return 1.0 if len(archive) == 0 else 0.0


@pytest.fixture
def crowding():
    term = register_term(Crowding())
    yield term
    unregister_term("crowding")


@pytest.fixture
def lonely():
    term = register_term(Lonely())
    yield term
    unregister_term("lonely")


@pytest.fixture(scope="module")
def batch():
    return SceneBatch.of(list(HighwaySceneSpace().sample_many(6, seed=4)))


def test_the_built_in_terms_are_registered_under_their_names():
    assert set(TERMS) <= set(registered_terms(population=False))
    assert set(registered_terms(population=True)) >= {"novelty", "coverage"}
    for name in TERMS:
        assert isinstance(reward_term(name), RewardTerm)
        assert reward_term(name).name == name
    assert isinstance(reward_term("novelty"), PopulationTerm)


def test_every_spec_reports_the_built_in_terms_in_their_order(batch):
    spec = RewardSpec(weights={"goal": 1.0, "validity": 2.0})
    assert spec.terms == TERMS
    _, terms = spec.score_batch(batch)
    assert tuple(terms) == TERMS


def test_the_weighted_score_adds_the_terms_in_their_order(batch):
    goal = GoalSpec(ranges={"density": (10.0, 50.0), "mean_speed": (10.0, 30.0)})
    targets = np.tile([30.0, 20.0], (batch.count, 1))
    spec = RewardSpec(weights={"goal": 1.0, "validity": 1.0, "realism": 0.5})
    total, terms = spec.score_batch(batch, targets=targets, goal=goal)
    now = batch.describe()
    expected = {
        "validity": validity_scores(batch.violation_counts(DEFAULT_RULES), batch.sizes),
        "realism": np.zeros(batch.count),
        "scene_realism": np.zeros(batch.count),
        "prior_realism": np.zeros(batch.count),
        "goal": goal_scores(np.column_stack([now["density"], now["mean_speed"]]), targets, goal),
    }
    for name, values in expected.items():
        np.testing.assert_array_equal(terms[name], values)
    same = sum(spec.weight(name) * values for name, values in expected.items())
    assert total.tobytes() == same.tobytes()


def test_an_unknown_term_is_an_error_that_lists_the_registered_ones():
    with pytest.raises(ValueError, match="unknown term 'beauty'; known terms: validity, realism"):
        RewardSpec(weights={"beauty": 1.0})
    with pytest.raises(ValueError, match="unknown reward term 'beauty'; registered terms:"):
        reward_term("beauty")


def test_a_population_term_is_weighted_in_training_not_in_the_reward():
    with pytest.raises(ValueError, match="'novelty' is a population term"):
        RewardSpec(weights={"novelty": 1.0})


def test_a_registered_term_is_scored_after_the_built_in_ones(crowding, batch):
    spec = RewardSpec(weights={"validity": 1.0, "crowding": 0.5})
    assert spec.terms == (*TERMS, "crowding")
    total, terms = spec.score_batch(batch)
    assert list(terms) == [*TERMS, "crowding"]
    np.testing.assert_array_equal(terms["crowding"], np.minimum(1.0, batch.sizes / 40.0))
    np.testing.assert_allclose(total, terms["validity"] + 0.5 * terms["crowding"])
    _, single = spec.score(HighwaySceneSpace().sample(np.random.default_rng(0)))
    assert "crowding" in single and 0.0 <= single["crowding"] <= 1.0


def test_a_registered_term_scores_every_step_of_the_environment(crowding):
    from scenegym.envs.generation import DrivingLayoutEnv

    env = DrivingLayoutEnv(reward={"weights": {"validity": 1.0, "crowding": 1.0}}, edit_budget=2)
    _, info = env.reset(seed=0)
    _, _, _, _, info = env.step(env.action_space.sample())
    assert list(info["reward_terms"]) == [*TERMS, "crowding"]
    assert info["reward_terms"]["crowding"] == pytest.approx(info["vehicles"] / 40.0)


def test_a_policy_trains_on_a_registered_term(crowding, tmp_path):
    from scenegym.agents import GenerationPolicy
    from scenegym.agents.training import train

    config = {
        "env_kwargs": {"edit_budget": 4, "reward": {"weights": {"crowding": 1.0}}},
        "total_steps": 128,
        "n_envs": 2,
        "n_steps": 64,
        "batch_size": 64,
        "net_arch": [8, 8],
        "eval_every": 128,
        "eval_episodes": 2,
    }
    train(config, tmp_path / "run")
    header = (tmp_path / "run" / "logs" / "000" / "progress.csv").read_text().splitlines()[0]
    assert "reward_terms/crowding" in header.split(",")
    assert "eval/crowding" in header.split(",")
    policy = GenerationPolicy.load(tmp_path / "run")
    scenes = policy.sample(2, seed=0).scenes
    _, terms = policy.score(scenes)
    np.testing.assert_array_equal(
        terms["crowding"], [min(1.0, len(scene.vehicles) / 40.0) for scene in scenes]
    )


def test_a_name_is_registered_once_unless_replaced(crowding):
    with pytest.raises(ValueError, match="'crowding' is registered already"):
        register_term(Crowding())
    other = Crowding()
    assert register_term(other, replace=True) is other
    assert reward_term("crowding") is other


def test_a_term_without_the_protocol_or_a_name_is_refused():
    class Nameless:
        def scores(self, batch, context):
            return np.ones(batch.count)

    class Silent:
        name = "silent"

    with pytest.raises(ValueError, match="name must be an identifier, got None"):
        register_term(Nameless())
    with pytest.raises(TypeError, match="must have a scores"):
        register_term(Silent())
    assert "silent" not in registered_terms()


def test_the_context_describes_the_batch_once_for_all_terms(batch):
    context = TermContext()
    first = context.describe(batch)
    assert context.describe(batch) is first
    given = {name: values + 1 for name, values in batch.describe().items()}
    assert TermContext(descriptors=given).describe(batch) is given


def test_models_a_registered_term_reads_come_in_the_context(batch):
    class Scaled:
        name = "scaled"

        def scores(self, batch, context):
            return np.full(batch.count, context.model("scale"))

    register_term(Scaled())
    try:
        spec = RewardSpec(weights={"scaled": 1.0})
        _, terms = spec.score_batch(batch, models={"scale": 0.25})
        np.testing.assert_array_equal(terms["scaled"], np.full(batch.count, 0.25))
    finally:
        unregister_term("scaled")


def test_novelty_and_coverage_score_a_point_against_the_archive():
    archive = Archive(("density", "mean_speed"), k=2, bins=4)
    scene = {"density": 30.0, "mean_speed": 20.0}
    point = archive.vector(scene)
    assert NoveltyTerm().score(point, archive) == 1.0 and CoverageTerm().score(point, archive)
    archive.add(scene)
    archive.add({"density": 31.0, "mean_speed": 20.0})
    assert NoveltyTerm().score(point, archive) < 0.05
    assert CoverageTerm().score(point, archive) == 0.0
    assert archive.score(scene) == (
        NoveltyTerm().score(point, archive),
        CoverageTerm().score(point, archive),
    )


def test_an_archive_is_saved_and_loaded_with_its_points_and_cells(tmp_path):
    archive = Archive(("density", "mean_speed"), k=1, bins=4, capacity=2)
    for density in (10.0, 20.0, 30.0):
        archive.add({"density": density, "mean_speed": 20.0})
    archive.save(tmp_path / "archive.json")
    loaded = Archive.load(tmp_path / "archive.json")
    np.testing.assert_array_equal(loaded.points, archive.points)
    assert len(loaded) == 2
    gone = archive.vector({"density": 10.0, "mean_speed": 20.0})  # left, its cell stays
    assert loaded.occupied(gone)
    assert json.loads((tmp_path / "archive.json").read_text())["format"] == "scenegym.archive/1"


def test_population_reward_weights_registered_population_terms_by_name(lonely):
    from scenegym.agents import PopulationReward
    from scenegym.envs.vector import DrivingLayoutVecEnv

    venv = PopulationReward(
        DrivingLayoutVecEnv(2, edit_budget=1), novelty=1.0, weights={"lonely": 2.0}
    )
    venv.seed(0)
    venv.reset()
    _, _, dones, infos = venv.step(np.array([venv.action_space.sample()] * 2))
    assert dones.all()
    assert [info["reward_terms"]["lonely"] for info in infos] == [1.0, 0.0]
    assert list(infos[0]["reward_terms"])[-3:] == ["novelty", "coverage", "lonely"]
    with pytest.raises(ValueError, match="'goal' is a per-scene term"):
        PopulationReward(DrivingLayoutVecEnv(1), weights={"goal": 1.0})
