"""The SB3 callbacks of a training run, each on a tiny real model."""

import dataclasses

import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.logger import configure

from scenegym.agents import (
    ArchiveCallback,
    HeldOutCallback,
    RewardTermsCallback,
    TrainConfig,
    make_vec_env,
)
from scenegym.rewards import TERMS, Archive
from scenegym.scene import HighwaySceneSpace

CONFIG = TrainConfig(env_kwargs={"edit_budget": 4}, n_envs=2, eval_every=64, eval_episodes=3)


def tiny_model(folder):
    model = PPO(
        "MlpPolicy",
        make_vec_env(CONFIG),
        n_steps=32,
        batch_size=32,
        policy_kwargs={"net_arch": [8, 8]},
        seed=0,
        device="cpu",
    )
    model.set_logger(configure(str(folder), ["csv"]))
    return model


def logged(folder) -> dict[str, list[str]]:
    rows = [line.split(",") for line in (folder / "progress.csv").read_text().splitlines()]
    return {name: [row[i] for row in rows[1:]] for i, name in enumerate(rows[0])}


def test_reward_terms_are_logged_per_rollout(tmp_path):
    model = tiny_model(tmp_path)
    model.learn(128, callback=RewardTermsCallback())
    columns = logged(tmp_path)
    for name in (*TERMS, "score"):
        values = [float(v) for v in columns[f"reward_terms/{name}"] if v]
        assert values and all(np.isfinite(values))
    assert all(0.0 <= float(v) <= 1.0 for v in columns["reward_terms/validity"] if v)


def test_the_archive_is_saved_every_so_many_calls(tmp_path):
    archive = Archive(("density", "mean_speed"), k=1)
    archive.add({"density": 20.0, "mean_speed": 25.0})
    path = tmp_path / "archive.json"
    callback = ArchiveCallback(archive=archive, path=path, every=3)
    callback.init_callback(tiny_model(tmp_path))
    for _ in range(2):
        callback.on_step()
    assert not path.exists()
    callback.on_step()
    assert len(Archive.load(path)) == 1


def test_held_out_evaluations_log_every_term_the_score_and_the_validity_rate(tmp_path):
    model = tiny_model(tmp_path)
    callback = HeldOutCallback(config=CONFIG)
    model.learn(128, callback=callback)
    assert callback.every == 32  # eval_every steps over two environments
    columns = logged(tmp_path)
    for name in (*TERMS, "score", "validity_rate"):
        values = [float(v) for v in columns[f"eval/{name}"] if v]
        assert values and all(0.0 <= v <= 2.5 for v in values)


def test_a_held_out_evaluation_repeats_exactly_and_measures_against_a_reference(tmp_path):
    reference = list(HighwaySceneSpace().sample_many(12, seed=9))
    callback = HeldOutCallback(
        config=dataclasses.replace(CONFIG, eval_episodes=10), reference=reference
    )
    callback.init_callback(tiny_model(tmp_path))
    first = callback.evaluate()
    assert first == callback.evaluate()
    assert 0.0 <= first["c2st_auc"] <= 1.0 and first["vendi"] >= 1.0
    assert first["validity_rate"] in {i / 10 for i in range(11)}


def test_callbacks_take_keyword_arguments_only(tmp_path):
    with pytest.raises(TypeError):
        HeldOutCallback(CONFIG)
    with pytest.raises(TypeError):
        ArchiveCallback(Archive(), tmp_path / "archive.json", 3)
