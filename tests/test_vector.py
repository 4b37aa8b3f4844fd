"""The batched vector environment equals the same environments stepped one by one."""

import numpy as np
import pytest

from scenegym.envs import DrivingLayoutEnv, DrivingLayoutVecEnv

SPACE = {"lanes": [2, 3], "length": [120.0, 250.0], "vehicles": [4, 14], "ramp_probability": 0.5}
# Environments named as _kwargs reads them; every one is also rolled out with rollout().
ROLLOUTS = [
    "edit",
    "edit-cursor",
    "edit-cursor-goal",
    "edit-cursor-goal-flat",
    "edit-cursor-goal-compact",
    "edit-flat",
    "construct",
]


def _kwargs(representation: str) -> dict:
    """Arguments of an environment named like "edit-cursor-goal-flat": the representation,
    the cursor, a goal start from the nearest of 8 candidate vehicle sets, flat spaces
    ("-compact": flat spaces with the compact cursor view and action set of edit-v5)."""
    select = "cursor" if "-cursor" in representation else "index"
    goal_start = {"start": "goal", "start_candidates": 8} if "-goal" in representation else {}
    return {
        "representation": representation.split("-")[0],
        "select": select,
        "space": SPACE,
        "goal": {"ranges": {"density": [5.0, 60.0], "mean_speed": [10.0, 30.0]}},
        "max_vehicles": 20,
        "edit_budget": 7,
        "flat": representation.endswith(("-flat", "-compact")),
        **({"compact": True, "realign": True} if representation.endswith("-compact") else {}),
        **goal_start,
    }


def _stack(observations):
    """One batch of single observations (dicts of parts, or flat arrays)."""
    if isinstance(observations[0], dict):
        return {name: np.stack([o[name] for o in observations]) for name in observations[0]}
    return np.stack(observations)


def _take(batch, i):
    """Row ``i`` of a batch of observations."""
    return (
        {name: values[i] for name, values in batch.items()} if isinstance(batch, dict) else batch[i]
    )


def _actions(envs, rng, representation):
    if representation.startswith("construct"):
        actions = []
        for env in envs:
            allowed = np.flatnonzero(env.action_masks())
            actions.append(rng.choice(allowed))
        return np.array(actions)
    return np.stack([envs[0].action_space.sample() for _ in envs])


def _same(a, b):
    if not isinstance(a, dict):  # flat observations
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        return
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize(
    "representation", [*ROLLOUTS, "construct-goal", "construct-goal-flat", "oneshot-goal"]
)
def test_vector_env_equals_single_envs_step_by_step(representation):
    n = 4
    venv = DrivingLayoutVecEnv(n, **_kwargs(representation))
    venv.seed(11)
    batched = venv.reset()
    singles = [DrivingLayoutEnv(**_kwargs(representation)) for _ in range(n)]
    for i, env in enumerate(singles):
        env.action_space.seed(i)
    one = [env.reset(seed=11 + i)[0] for i, env in enumerate(singles)]
    _same(batched, _stack(one))
    venv.envs[0].action_space.seed(3)
    singles[0].action_space.seed(3)
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(20):
        actions = _actions(singles, rng, representation)
        batched, rewards, dones, infos = venv.step(actions)
        for i, env in enumerate(singles):
            observation, reward, terminated, truncated, info = env.step(actions[i])
            assert rewards[i] == pytest.approx(reward, abs=1e-6)
            assert dones[i] == (terminated or truncated)
            assert infos[i]["reward_terms"] == pytest.approx(info["reward_terms"], abs=1e-12)
            assert infos[i]["TimeLimit.truncated"] == (truncated and not terminated)
            assert infos[i]["vehicles"] == info["vehicles"]
            assert infos[i]["score"] == pytest.approx(info["score"], abs=1e-12)
            if dones[i]:
                ends += 1
                _same(infos[i]["terminal_observation"], observation)
                assert infos[i]["descriptors"] == pytest.approx(info["descriptors"])
                observation, start = env.reset()
                # The restarted scene is scored as a reset scores it.
                assert venv.reset_infos[i]["score"] == pytest.approx(start["score"], abs=1e-12)
                assert venv.reset_infos[i]["reward_terms"] == pytest.approx(
                    start["reward_terms"], abs=1e-12
                )
            _same(_take(batched, i), observation)
        # The environments' own scenes are up to date when read (cursor edits are made on
        # the vector environment's columns).
        assert venv.get_attr("scene") == [env.scene for env in singles]
    assert ends >= n  # every environment went through at least one episode end


def test_vector_env_masks_and_attributes():
    venv = DrivingLayoutVecEnv(3, **_kwargs("construct"))
    venv.seed(0)
    venv.reset()
    masks = venv.action_masks()
    assert masks.shape == (3, venv.action_space.n)
    np.testing.assert_array_equal(masks, np.stack(venv.env_method("action_masks")))
    assert [r.name for r in venv.get_attr("representation")] == ["construct"] * 3
    assert venv.get_attr("row") == [0, 1, 2]
    assert venv.env_is_wrapped(object) == [False] * 3


def test_vector_env_reads_the_render_mode_without_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SB3 warns when get_attr("render_mode") fails
        venv = DrivingLayoutVecEnv(2, **_kwargs("edit-cursor"), render_mode="rgb_array")
    assert venv.render_mode == "rgb_array"


def test_vector_env_trains_with_ppo_and_maskable_ppo():
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.logger import Logger
    from stable_baselines3.common.vec_env import VecMonitor

    runs = (
        (PPO, "edit", "MultiInputPolicy", {"n_steps": 16}),
        (MaskablePPO, "construct", "MultiInputPolicy", {"n_steps": 16}),
        # Flat spaces: one Box observation and one Discrete action, which DQN needs.
        (PPO, "edit-cursor-flat", "MlpPolicy", {"n_steps": 16}),
        (DQN, "edit-cursor-flat", "MlpPolicy", {"learning_starts": 16}),
    )
    for algorithm, representation, policy, settings in runs:
        venv = VecMonitor(DrivingLayoutVecEnv(4, **_kwargs(representation)))
        model = algorithm(policy, venv, batch_size=32, seed=0, device="cpu", **settings)
        model.set_logger(Logger(folder=None, output_formats=[]))  # no folder in the temp dir
        model.learn(64)
        assert model.num_timesteps == 64
        assert len(model.ep_info_buffer) > 0  # episodes were recorded through VecMonitor


def test_vector_env_rejects_a_bad_count():
    with pytest.raises(ValueError, match="num_envs"):
        DrivingLayoutVecEnv(0)


def _policy(representation):
    """A deterministic stand-in policy: actions from the observation's numbers."""

    def act(observation, masks):
        numbers = observation if not isinstance(observation, dict) else observation["grid"]
        total = numbers.reshape(len(numbers), -1).sum(axis=1)
        code = (np.abs(total) * 1000).astype(np.int64)
        if representation.startswith("construct"):
            return np.array([np.flatnonzero(m)[c % m.sum()] for m, c in zip(masks, code)])
        if representation.endswith("-compact"):
            return code % 32
        if representation.endswith("-flat"):
            return code % (88 if representation.startswith("edit-cursor") else 20 * 88)
        if representation.startswith("edit-cursor"):
            return np.stack([code % 8, code % 11], axis=1)
        return np.stack([code % 20, code % 8, code % 11], axis=1)

    return act


@pytest.mark.parametrize("representation", ROLLOUTS)
def test_rollout_returns_the_scenes_of_the_same_episodes_one_by_one(representation):
    act = _policy(representation)
    venv = DrivingLayoutVecEnv(5, **_kwargs(representation))
    seeds = [3, 4, 5]
    options = {"targets": {"density": 30.0}}
    scenes = venv.rollout(act, seeds, options)
    assert len(scenes) == 3
    for seed, scene in zip(seeds, scenes):
        env = DrivingLayoutEnv(**_kwargs(representation))
        observation, _ = env.reset(seed=seed, options=options)
        assert env.targets["density"] == 30.0
        done = False
        while not done:
            masks = env.action_masks()[None] if representation.startswith("construct") else None
            batch = _stack([observation])
            observation, _, terminated, truncated, _ = env.step(act(batch, masks)[0])
            done = terminated or truncated
        assert scene == env.scene
    with pytest.raises(RuntimeError, match="reset"):
        venv.step(np.zeros((5, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="seeds must hold 1 to 5"):
        venv.rollout(act, list(range(6)))
