"""Training a generation policy with stable-baselines3, into a self-contained run folder.

A run folder holds everything needed to use or continue it::

    RUN/config.json           the TrainConfig, as given
    RUN/versions.json         versions of scenegym, Python and the libraries
    RUN/checkpoints/*.zip     periodic SB3 checkpoints (model_<steps>_steps.zip)
    RUN/model.zip             the final model
    RUN/archive.json          the shared novelty/coverage archive (when those terms are on)
    RUN/logs/NNN/             one folder per training session (the first, then each resume):
                              progress.csv and TensorBoard events with every reward term
                              (mean per rollout) beside SB3's own statistics

``resume`` continues from the newest checkpoint, so an interrupted run (kill -9 included)
loses at most ``checkpoint_every`` steps.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
from gymnasium import spaces
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.logger import configure
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecMonitor

from scenegym._io import atomic_write_text, locking
from scenegym._threads import torch_threads
from scenegym._versions import versions
from scenegym.agents.adversarial import judge_models
from scenegym.agents.callbacks import (
    ArchiveCallback,
    AtomicCheckpointCallback,
    HeldOutCallback,
    RewardTermsCallback,
)
from scenegym.agents.loading import load_model, saved_data
from scenegym.agents.population import PopulationReward
from scenegym.agents.progress import ProgressLinesCallback
from scenegym.agents.runs import (
    TrainConfig,
    algorithm_class,
    checkpoint_steps,
    checkpoints,
    env_kwargs,
    latest_checkpoint,
    reference_path,
)
from scenegym.config import config_from_mapping, config_to_dict
from scenegym.envs.vector import DrivingLayoutVecEnv
from scenegym.rewards.population import Archive
from scenegym.scene.descriptors import ROLLOUT_DESCRIPTORS
from scenegym.scene.scene import Scene, read_scenes

# TrainConfig and latest_checkpoint live in runs, beside the other files of a run folder;
# they are named here too because a training script reaches for them with train.
__all__ = ["TrainConfig", "latest_checkpoint", "make_env", "make_vec_env", "run_finished", "train"]


def make_env(config: TrainConfig, rank: int = 0, run: str | os.PathLike | None = None):
    """A factory of the monitored training environment number ``rank``."""
    kwargs = scoring_kwargs(config, run)

    def build():
        import scenegym  # noqa: F401  (registers the environments in a worker process)

        env = gym.make(config.env, **kwargs)
        env.reset(seed=config.seed + rank)
        return Monitor(env, info_keywords=())

    return build


def scoring_kwargs(config: TrainConfig, run: str | os.PathLike | None) -> dict[str, Any]:
    """The environment's keyword arguments (``env_kwargs``) with its term models ready to
    score with (``judge_models``: a driver's name becomes a ``DriverJudge``) and, for the
    population terms, the rollout descriptors of the archive computed at episode ends."""
    kwargs = env_kwargs(config, run)
    if isinstance(kwargs.get("models"), dict):
        kwargs["models"] = judge_models(kwargs["models"], run)
    if config.novelty > 0 or config.coverage > 0:  # the archive's rollout descriptors
        rollout = [name for name in config.archive_features if name in ROLLOUT_DESCRIPTORS]
        if rollout:
            kwargs["episode_descriptors"] = rollout
    return kwargs


def make_vec_env(config: TrainConfig, run: str | os.PathLike | None = None):
    """The monitored vector environment of ``config`` (seeded with ``config.seed`` + rank at
    its first reset)."""
    if config.vec_env == "batched":
        kwargs = {**gym.spec(config.env).kwargs, **scoring_kwargs(config, run)}
        vec_env = VecMonitor(DrivingLayoutVecEnv(config.n_envs, **kwargs))
    else:
        factories = [make_env(config, rank, run) for rank in range(config.n_envs)]
        kind = SubprocVecEnv if config.vec_env == "subproc" else DummyVecEnv
        vec_env = kind(factories)
    vec_env.seed(config.seed)
    return vec_env


def _finished_steps(model: Path) -> int | None:
    """The steps a saved model was trained for (from the SB3 zip's data), or None when it
    cannot be read."""
    try:
        return int(saved_data(model)["num_timesteps"])
    except (KeyError, ValueError, TypeError):
        return None


def _finished(run: Path, config: TrainConfig) -> bool:
    """Has the run's final model reached ``config.total_steps``?"""
    return (_finished_steps(run / "model.zip") or 0) >= config.total_steps


def _lengthened(run: Path, config: TrainConfig, total_steps: int) -> TrainConfig:
    """``config`` with ``total_steps`` raised (written into the run only once training can
    go on: ``_record_lengthening``)."""
    if total_steps < config.total_steps:
        raise ValueError(
            f"cannot shorten {run}: it trains {config.total_steps} steps, more than the "
            f"{total_steps} asked for"
        )
    return config_from_mapping(
        TrainConfig, {**config_to_dict(config), "total_steps": total_steps}, name="config"
    )


def _resume_candidates(run: Path, lengthen: bool) -> list[Path]:
    """The saved models a resume may continue from, newest first: the checkpoints, and for a
    lengthened run its final model (a checkpoint of as many steps was saved before the last
    update: the final model wins)."""
    found = checkpoints(run)
    steps = _finished_steps(run / "model.zip") if lengthen else None
    if steps is not None and (not found or checkpoint_steps(found[0]) <= steps):
        found = [run / "model.zip", *found]
    return found


def _record_lengthening(run: Path, config: TrainConfig, start: Path) -> None:
    """Save the lengthened ``config`` as the run's; a final model it starts from becomes the
    run's newest checkpoint, so that a resume after a kill goes on from it."""
    if start.name == "model.zip":
        steps = _finished_steps(start)
        (run / "checkpoints").mkdir(exist_ok=True)
        target = run / "checkpoints" / f"model_{steps}_steps.zip"
        shutil.copyfile(start, run / "checkpoints" / "final.tmp.zip")
        os.replace(run / "checkpoints" / "final.tmp.zip", target)
    atomic_write_text(run / "config.json", json.dumps(config_to_dict(config), indent=2) + "\n")


def _resumed_model(run: Path, config: TrainConfig, vec_env, lengthen: bool):
    """The newest saved model of ``run`` that loads, ready to train on ``vec_env``, and its
    path. The newest checkpoint may be cut short (SB3 writes it in place, and a kill during
    the write leaves part of a zip): it is skipped with a warning. ``ValueError`` when none
    loads: a resume that cannot continue stops before it writes anything."""
    candidates = _resume_candidates(run, lengthen)
    if not candidates:
        raise ValueError(
            f"cannot resume {run}: it has no checkpoint yet (the first is written after "
            f"{config.checkpoint_every} steps); train it again into a new folder"
        )
    reasons = []
    for candidate in candidates:
        try:
            model = load_model(
                config,
                candidate,
                observation_space=vec_env.observation_space,
                action_space=vec_env.action_space,
                env=vec_env,
            )
        except ValueError as error:
            warnings.warn(f"skipping unreadable checkpoint {candidate}: {error}", stacklevel=3)
            reasons.append(str(error))
            continue
        return model, candidate
    raise ValueError(
        f"cannot resume {run}: none of its {len(candidates)} saved models loads (newest: "
        f"{reasons[0]}); nothing was changed"
    )


def run_finished(run: str | os.PathLike) -> bool:
    """Has the run folder ``run`` trained all its steps (``--resume`` would do nothing)?
    False for a folder that is no readable run."""
    run = Path(run)
    try:
        saved = json.loads((run / "config.json").read_text())
        config = config_from_mapping(TrainConfig, saved, name="config")
    except (OSError, ValueError, TypeError):
        return False
    return _finished(run, config)


def _callbacks(
    run: Path,
    config: TrainConfig,
    population: PopulationReward | None,
    reference: list[Scene] | None,
    progress_lines: Callable[[str], None] | None = None,
) -> CallbackList:
    """The callbacks of a training session: reward terms logged, the archive saved with every
    checkpoint, held-out evaluations, checkpoints, and lines of progress when asked."""
    every = max(1, config.checkpoint_every // config.n_envs)
    callbacks = [RewardTermsCallback()]
    if population is not None:
        callbacks.append(
            ArchiveCallback(archive=population.archive, path=run / "archive.json", every=every)
        )
    models = scoring_kwargs(config, run).get("models")
    callbacks.append(HeldOutCallback(config=config, run=run, reference=reference, models=models))
    checkpoints = AtomicCheckpointCallback(every, str(run / "checkpoints"), name_prefix="model")
    if progress_lines is not None:
        callbacks.append(ProgressLinesCallback(progress_lines, total=config.total_steps))
    return CallbackList([*callbacks, checkpoints])


def _set_up(
    config: TrainConfig,
    run: Path,
    resume: bool,
    files: dict[str, str] | None,
    lengthen: bool = False,
):
    """Write a new run's files, read its evaluation reference, build the environments (one is
    reset first, so bad inputs such as a missing reference fail before training) and the
    model."""
    if not resume:
        run.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run / "config.json", json.dumps(config_to_dict(config), indent=2) + "\n")
        atomic_write_text(run / "versions.json", json.dumps(versions(), indent=2) + "\n")
        for name, text in (files or {}).items():
            atomic_write_text(run / name, text)

    path = reference_path(config, run)
    reference = None
    if path is not None:
        reference = read_scenes(path)  # a bad file fails here, before any training
        if len(reference) < 10:
            raise ValueError(f"reference {path} must hold at least 10 scenes")
    _probe(config, run)
    vec_env = make_vec_env(config, run)
    archive_path = run / "archive.json"
    population = None
    if config.novelty > 0 or config.coverage > 0:
        archive = (
            Archive.load(archive_path)
            if resume and archive_path.is_file()
            else Archive(config.archive_features)
        )
        population = PopulationReward(
            vec_env, novelty=config.novelty, coverage=config.coverage, archive=archive
        )
        vec_env = population
    if resume:
        try:
            model, checkpoint = _resumed_model(run, config, vec_env, lengthen)
        except BaseException:
            vec_env.close()
            raise
        if lengthen:
            _record_lengthening(run, config, checkpoint)
        return model, vec_env, population, checkpoint, reference
    observation = vec_env.observation_space
    policy = "MultiInputPolicy" if isinstance(observation, spaces.Dict) else "MlpPolicy"
    model = algorithm_class(config)(
        policy,
        vec_env,
        n_steps=config.n_steps,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        policy_kwargs={"net_arch": list(config.net_arch)},
        seed=config.seed,
        device="cpu",
        verbose=0,
    )
    return model, vec_env, population, None, reference


def _probe(config: TrainConfig, run: Path) -> None:
    """Build one environment of ``config`` and reset it: inputs it reads on reset (a goal
    reference, a realism model) fail here with their own message, before training starts."""
    env = gym.make(config.env, **scoring_kwargs(config, run))
    try:
        env.reset(seed=config.seed)
    finally:
        env.close()


def _remove_new_run(run: Path, existed: bool) -> None:
    """Remove what a new run wrote (and its folder when this run made it)."""

    if not existed:
        shutil.rmtree(run, ignore_errors=True)
    elif run.is_dir():
        for entry in run.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


@locking("run")
def train(
    config: TrainConfig | dict,
    run: str | os.PathLike,
    *,
    resume: bool = False,
    total_steps: int | None = None,
    progress_bar: bool = False,
    progress_lines: Callable[[str], None] | None = None,
    files: dict[str, str] | None = None,
) -> Path:
    """Train ``config`` into the folder ``run``; with ``resume``, continue its newest
    checkpoint, and with ``total_steps`` as well, train the run on to that many steps (a
    finished run continues from its final model). ``files`` (name: text) are written into a
    new run folder before the environments are built, for inputs they read by a path
    relative to the run, such as a realism model. ``progress_bar`` draws SB3's bar;
    ``progress_lines`` gets a line of progress every 30 s or 5 % instead (for a log).
    Returns the path of the final model."""
    run = Path(run)
    if resume:
        saved = run / "config.json"
        if not run.exists():
            raise ValueError(f"cannot resume {run}: the folder does not exist")
        if not saved.is_file():
            raise ValueError(f"cannot resume {run}: it has no config.json (not a training run)")
        try:
            saved_config = json.loads(saved.read_text())
        except ValueError as error:
            raise ValueError(f"cannot resume {run}: {saved} is not valid JSON ({error})") from None
        config = config_from_mapping(TrainConfig, saved_config, name="config")
        if total_steps is not None:
            config = _lengthened(run, config, total_steps)
    elif total_steps is not None:
        raise ValueError("total_steps= is for resume=True; a new run takes it in its config")
    elif isinstance(config, dict):
        config = config_from_mapping(TrainConfig, config, name="config")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig or a mapping, got {type(config).__name__}")
    if not resume and run.exists() and any(run.iterdir()):
        raise ValueError(f"run folder {run} is not empty; choose a new folder or pass --resume")
    final = run / "model.zip"
    if resume and _finished(run, config):
        return final  # finished: resuming must not replace the model with a checkpoint
    existed = run.exists()
    try:
        model, vec_env, population, checkpoint, reference = _set_up(
            config, run, resume, files, lengthen=total_steps is not None
        )
    except BaseException:
        if not resume:  # a new run that could not start leaves nothing behind
            _remove_new_run(run, existed)
        raise
    archive_path = run / "archive.json"
    # Each training session logs into its own folder, so resuming never overwrites a log.
    logs = run / "logs"
    session = len(list(logs.glob("*"))) if logs.is_dir() else 0
    model.set_logger(configure(str(logs / f"{session:03d}"), ["csv", "tensorboard"]))
    remaining = config.total_steps - model.num_timesteps
    if remaining > 0:
        with torch_threads(config.torch_threads):
            model.learn(
                remaining,
                callback=_callbacks(run, config, population, reference, progress_lines),
                reset_num_timesteps=checkpoint is None,
                progress_bar=progress_bar,
            )
    if population is not None:
        population.archive.save(archive_path)
    model.save(run / "model.tmp.zip")
    os.replace(run / "model.tmp.zip", final)
    vec_env.close()
    return final
