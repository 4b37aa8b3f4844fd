"""Edits applied to all scenes at once (``EditRepresentation``) equal the environments
stepped one by one, each a batch of one."""

import numpy as np
import pytest

from scenegym.envs import DrivingLayoutEnv, DrivingLayoutVecEnv, EditRepresentation

SPACE = {"lanes": [2, 3], "length": [120.0, 250.0], "vehicles": [0, 8], "ramp_probability": 0.5}


def _kwargs(realign: bool, goal: bool) -> dict:
    kwargs = {
        "representation": "edit",
        "select": "cursor",
        "realign": realign,
        "space": SPACE,
        "max_vehicles": 9,  # small: "add" meets full scenes, "remove" empties some
        "edit_budget": 40,
    }
    if goal:
        kwargs["goal"] = {"ranges": {"density": [5.0, 60.0], "min_gap": [0.0, 30.0]}}
    return kwargs


def _actions(rng, n):
    # Removals and additions more often than uniform, so scenes empty and fill up.
    operation = rng.choice(8, size=n, p=[0.08, 0.12, 0.08, 0.08, 0.08, 0.12, 0.22, 0.22])
    return np.stack([operation, rng.integers(0, 11, n)], axis=1)


@pytest.mark.parametrize("realign", [False, True])
@pytest.mark.parametrize("goal", [False, True])
def test_rollout_equals_single_environments_stepped(realign, goal):
    n, seeds = 12, list(range(100, 112))
    venv = DrivingLayoutVecEnv(n, **_kwargs(realign, goal))
    rng = np.random.default_rng(7)
    given, seen = [], []

    def act(observation, masks):
        assert masks is None
        seen.append({name: values.copy() for name, values in observation.items()})
        given.append(_actions(rng, n))
        return given[-1]

    scenes = venv.rollout(act, seeds)
    assert len(given) == 40
    singles = [DrivingLayoutEnv(**_kwargs(realign, goal)) for _ in range(n)]
    observations = [env.reset(seed=seed)[0] for env, seed in zip(singles, seeds)]
    counts = set()
    for step, actions in enumerate(given):
        for name in seen[step]:
            expected = np.stack([o[name] for o in observations])
            np.testing.assert_array_equal(seen[step][name], expected, err_msg=f"{name} {step}")
        observations = [env.step(a)[0] for env, a in zip(singles, actions)]
        counts.update(len(env.scene.vehicles) for env in singles)
    assert {0, 9} <= counts  # empty and full scenes were met
    for env, scene in zip(singles, scenes):
        assert scene == env.scene
        assert scene.to_json() == env.scene.to_json()
    # The environments hold the final state, cursor included.
    edits = venv.representation
    for row, single in enumerate(singles):
        assert venv.envs[row].scene == single.scene
        assert edits.current[row] == single.representation.current[0]
        assert edits.steps[row] == single.representation.steps[0]


def test_a_single_environment_is_a_batch_of_one():
    env = DrivingLayoutEnv(**_kwargs(True, False))
    assert isinstance(env.representation, EditRepresentation) and env.representation.rows == 1
    venv = DrivingLayoutVecEnv(3, **_kwargs(True, False))
    assert all(env.representation is venv.representation for env in venv.envs)
    with pytest.raises(ValueError, match="configured as this environment's own"):
        env.share(DrivingLayoutEnv(representation="construct").representation, 0)


def test_one_environment_of_a_vector_env_steps_its_own_row_alone():
    venv = DrivingLayoutVecEnv(3, **_kwargs(False, True))
    venv.seed(5)
    venv.reset()
    before = [env.scene for env in venv.envs]
    single = DrivingLayoutEnv(**_kwargs(False, True))
    single.reset(seed=6)
    assert single.scene == before[1]
    action = np.array([7, 2])  # add a car in lane 2
    observation, reward, *_ = venv.env_method("step", action, indices=1)[0]
    expected = single.step(action)
    assert reward == expected[1]
    np.testing.assert_array_equal(observation["grid"], expected[0]["grid"])
    assert venv.get_attr("scene") == [before[0], single.scene, before[2]]


def test_the_kept_validity_check_equals_a_whole_check_after_every_step():
    """The edit representation checks only the vehicle each step changes; its counts, per
    rule and scene and per vehicle, are those of checking every scene whole. Crowded scenes
    (many overlaps), removals and additions that empty and fill them."""
    from scenegym.scene.batch import COLUMNS, SceneBatch
    from scenegym.scene.validity import DEFAULT_RULES

    kwargs = {**_kwargs(True, False), "space": {**SPACE, "vehicles": [4, 9], "length": [60, 90]}}
    venv = DrivingLayoutVecEnv(16, **kwargs)
    venv.seed(3)
    venv.reset()
    edits = venv.representation
    rng = np.random.default_rng(11)
    overlapping = 0
    for _ in range(120):
        edits.apply(_actions(rng, 16))
        known = edits.batch()
        per_scene, per_vehicle = known.violations(DEFAULT_RULES)
        whole = SceneBatch(
            known.roads,
            road_of=known.road_of,
            sizes=known.sizes,
            columns={name: getattr(known, name) for name in COLUMNS},
        )
        expected_scene, expected_vehicle = whole.violations(DEFAULT_RULES)
        np.testing.assert_array_equal(per_scene, expected_scene)
        np.testing.assert_array_equal(per_vehicle, expected_vehicle)
        overlapping += int(per_scene[:, -1].sum())
        ended = np.flatnonzero(edits.steps >= edits.edit_budget)
        edits.steps[ended] = 0
    assert overlapping > 100  # the overlap bookkeeping was exercised
    # Without the kept check (rollouts that score nothing) the batch is checked on demand.
    kept = edits.batch().violations(DEFAULT_RULES)[0]
    edits.keep_check(False)
    assert edits.batch()._violations is None
    np.testing.assert_array_equal(edits.batch().violations(DEFAULT_RULES)[0], kept)
    edits.keep_check(True)  # checked whole again
    np.testing.assert_array_equal(edits.batch()._violations[1], kept)


def test_edit_actions_out_of_range_are_refused():
    env = DrivingLayoutEnv(**_kwargs(False, False))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"edit actions must be below \[8, 11\]"):
        env.step([8, 0])
    with pytest.raises(ValueError, match="edit actions must be below"):
        env.step([0, -1])
