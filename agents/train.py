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
import re
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenegym._io import atomic_write_text
from scenegym.config import (
    check_config,
    config_from_mapping,
    config_to_dict,
    did_you_mean,
    option,
)

__all__ = ["TrainConfig", "latest_checkpoint", "make_env", "train"]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a training run (every field is a key of the YAML/TOML config)."""

    env: str = field(
        default="scenegym/DrivingLayout-edit-v5", metadata=option("registered environment id")
    )
    env_kwargs: dict[str, Any] = field(
        default_factory=dict, metadata=option("keyword arguments of the environment")
    )
    algorithm: str = field(
        default="auto",
        metadata={
            "help": "PPO, MaskablePPO (sb3-contrib; uses action_masks()), or auto: MaskablePPO "
            "for the construct representation, else PPO",
            "choices": ("auto", "PPO", "MaskablePPO"),
        },
    )
    total_steps: int = field(default=20_000, metadata=option("environment steps", 1, 10**9))
    n_envs: int = field(default=4, metadata=option("parallel environments", 1, 256))
    vec_env: str = field(
        default="batched",
        metadata={
            "help": "batched (scenegym's DrivingLayoutVecEnv: all envs scored in one "
            "vectorised pass, one process), dummy (SB3 DummyVecEnv) or subproc (SB3 "
            "SubprocVecEnv, one process per env)",
            "choices": ("batched", "dummy", "subproc"),
        },
    )
    n_steps: int = field(default=128, metadata=option("PPO rollout length per env", 2, 100_000))
    batch_size: int = field(default=128, metadata=option("PPO minibatch size", 2, 100_000))
    learning_rate: float = field(default=3e-4, metadata=option("learning rate", 1e-7, 1.0))
    net_arch: tuple[int, ...] = field(
        default=(128, 128), metadata=option("hidden layer widths, 1 to 8 layers", 1, 4096)
    )
    checkpoint_every: int = field(
        default=5_000, metadata=option("steps between checkpoints", 1, 10**9)
    )
    eval_every: int = field(
        default=10_000, metadata=option("steps between held-out evaluations", 1, 10**9)
    )
    eval_episodes: int = field(
        default=32, metadata=option("episodes of each held-out evaluation", 1, 100_000)
    )
    novelty: float = field(
        default=0.0, metadata=option("weight of the novelty term (shared archive)", 0.0, 100.0)
    )
    coverage: float = field(
        default=0.0, metadata=option("weight of the coverage term (shared archive)", 0.0, 100.0)
    )
    reference: str = field(
        default="",
        metadata=option(
            "reference scenes (JSONL) for C2ST, MMD², coverage and Vendi in the held-out "
            "evaluation; a relative path is inside the run folder"
        ),
    )
    seed: int = field(default=0, metadata=option("seed of envs, policy and sampling", 0, None))

    def __post_init__(self) -> None:
        check_config(self)
        if not 1 <= len(self.net_arch) <= 8:
            raise ValueError(
                f"config.net_arch must list 1 to 8 hidden layer widths, got {list(self.net_arch)}"
            )
        if self.reference and self.eval_episodes < 10:
            raise ValueError(
                f"config.eval_episodes is {self.eval_episodes}; with a reference it must be at "
                "least 10 (the classifier two-sample test needs 10 scenes a side)"
            )
        import gymnasium as gym

        import scenegym  # noqa: F401  (registers the environments)

        try:
            spec = gym.spec(self.env)
        except gym.error.Error:
            ours = ", ".join(sorted(k for k in gym.registry if k.startswith("scenegym/")))
            raise ValueError(
                f"config.env {self.env!r} is not a registered Gymnasium environment; "
                f"scenegym's are: {ours}"
            ) from None
        if self.env.startswith("scenegym/DrivingLayout-"):
            _check_env_kwargs(self.env, self.env_kwargs)
        representation = {**spec.kwargs, **self.env_kwargs}.get("representation")
        if self.algorithm == "MaskablePPO" and representation != "construct":
            raise ValueError(
                f"config.algorithm MaskablePPO needs action masks, which only the construct "
                f"representation has; {self.env!r} is {representation!r}: use PPO or auto"
            )
        if self.vec_env == "batched" and not self.env.startswith("scenegym/DrivingLayout-"):
            raise ValueError(
                f"vec_env: batched steps the scenegym/DrivingLayout-* environments only, not "
                f"{self.env!r}; use vec_env: dummy or subproc"
            )


def _check_env_kwargs(env: str, kwargs: dict[str, Any]) -> None:
    """A misspelt argument of a scenegym environment is named with its key path."""
    import inspect

    from scenegym.envs.generation import DrivingLayoutEnv

    known = list(inspect.signature(DrivingLayoutEnv).parameters)
    for key in kwargs:
        if key not in known:
            raise ValueError(
                f"config.env_kwargs.{key} is no argument of {env}; {did_you_mean(key, known)}"
                f"the arguments are: {', '.join(known)}"
            )


def env_kwargs(config: TrainConfig, run: str | os.PathLike | None) -> dict[str, Any]:
    """The environment's keyword arguments, with relative paths of the realism models and
    of the goal reference taken relative to the run folder (so a run folder can be moved)."""
    kwargs = dict(config.env_kwargs)
    if run is None:
        return kwargs
    for key in ("realism", "scene_realism", "prior", "decoder"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = str(_in_run(run, kwargs[key]))
    goal = kwargs.get("goal")
    if isinstance(goal, dict) and goal.get("reference"):
        kwargs["goal"] = {**goal, "reference": str(_in_run(run, goal["reference"]))}
    return kwargs


def _in_run(run: str | os.PathLike, path: str) -> Path:
    """``path`` itself when absolute, else the same path inside the run folder."""
    return Path(path) if os.path.isabs(path) else Path(run) / path


def make_env(config: TrainConfig, rank: int = 0, run: str | os.PathLike | None = None):
    """A factory of the monitored training environment number ``rank``."""
    kwargs = env_kwargs(config, run)

    def build():
        import gymnasium as gym
        from stable_baselines3.common.monitor import Monitor

        import scenegym  # noqa: F401  (registers the environments)

        env = gym.make(config.env, **kwargs)
        env.reset(seed=config.seed + rank)
        return Monitor(env, info_keywords=())

    return build


def reference_path(config: TrainConfig, run: str | os.PathLike) -> Path | None:
    """The reference file of the held-out evaluation (None without one)."""
    return _in_run(run, config.reference) if config.reference else None


def make_vec_env(config: TrainConfig, run: str | os.PathLike | None = None):
    """The monitored vector environment of ``config`` (seeded with ``config.seed`` + rank at
    its first reset)."""
    if config.vec_env == "batched":
        import gymnasium as gym
        from stable_baselines3.common.vec_env import VecMonitor

        import scenegym  # noqa: F401  (registers the environments)
        from scenegym.envs.vector import DrivingLayoutVecEnv

        kwargs = {**gym.spec(config.env).kwargs, **env_kwargs(config, run)}
        vec_env = VecMonitor(DrivingLayoutVecEnv(config.n_envs, **kwargs))
    else:
        from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

        factories = [make_env(config, rank, run) for rank in range(config.n_envs)]
        kind = SubprocVecEnv if config.vec_env == "subproc" else DummyVecEnv
        vec_env = kind(factories)
    vec_env.seed(config.seed)
    return vec_env


def algorithm_class(config: TrainConfig):
    """The SB3 algorithm class a config trains with."""
    name = config.algorithm
    if name == "auto":
        name = "MaskablePPO" if "construct" in config.env else "PPO"
    if name == "MaskablePPO":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    from stable_baselines3 import PPO

    return PPO


_CHECKPOINT_NAME = re.compile(r"model_(\d+)_steps\.zip")
"""The file names SB3's ``CheckpointCallback`` gives (name prefix ``model``): the steps."""


def latest_checkpoint(run: str | os.PathLike) -> Path | None:
    """The checkpoint of ``run`` with the most steps, or None."""
    found = _checkpoints(run)
    return found[0] if found else None


def _checkpoints(run: str | os.PathLike) -> list[Path]:
    """The checkpoints of ``run``, most steps first."""
    found = []
    for path in (Path(run) / "checkpoints").glob("model_*_steps.zip"):
        match = _CHECKPOINT_NAME.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found, reverse=True)]


def _finished_steps(model: Path) -> int | None:
    """The steps a saved model was trained for (from the SB3 zip's data), or None when it
    cannot be read."""
    import zipfile

    try:
        with zipfile.ZipFile(model) as archive:
            return int(json.loads(archive.read("data"))["num_timesteps"])
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError):
        return None


def _finished(run: Path, config: TrainConfig) -> bool:
    """Has the run's final model reached ``config.total_steps``?"""
    return (_finished_steps(run / "model.zip") or 0) >= config.total_steps


def _lengthen(run: Path, config: TrainConfig, total_steps: int) -> TrainConfig:
    """``config`` with ``total_steps`` raised, saved as the run's config; the final model of a
    finished run becomes its newest checkpoint, so that training goes on from it."""
    if total_steps < config.total_steps:
        raise ValueError(
            f"cannot shorten {run}: it trains {config.total_steps} steps, more than the "
            f"{total_steps} asked for"
        )
    longer = config_from_mapping(
        TrainConfig, {**config_to_dict(config), "total_steps": total_steps}, name="config"
    )
    steps = _finished_steps(run / "model.zip")
    newest = _checkpoints(run)
    # A checkpoint of as many steps was saved before the last update: the final model wins.
    if steps is not None and (not newest or _checkpoint_steps(newest[0]) <= steps):
        (run / "checkpoints").mkdir(exist_ok=True)
        target = run / "checkpoints" / f"model_{steps}_steps.zip"
        shutil.copyfile(run / "model.zip", run / "checkpoints" / "final.tmp.zip")
        os.replace(run / "checkpoints" / "final.tmp.zip", target)
    atomic_write_text(run / "config.json", json.dumps(config_to_dict(longer), indent=2) + "\n")
    return longer


def _checkpoint_steps(path: Path) -> int:
    return int(_CHECKPOINT_NAME.fullmatch(path.name).group(1))


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


def _versions() -> dict[str, str]:
    from scenegym._versions import versions

    return versions()


def _callbacks(run: Path, config: TrainConfig, population=None, reference=None):
    import numpy as np
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList, CheckpointCallback

    class RewardTerms(BaseCallback):
        """Logs the mean of every reward term and of the score over each rollout."""

        def _on_rollout_start(self) -> None:
            self._terms: dict[str, list[float]] = {}

        def _on_step(self) -> bool:
            for info in self.locals.get("infos", []):
                for name, value in info.get("reward_terms", {}).items():
                    self._terms.setdefault(name, []).append(value)
                if "score" in info:
                    self._terms.setdefault("score", []).append(info["score"])
            return True

        def _on_rollout_end(self) -> None:
            for name, values in self._terms.items():
                self.logger.record(f"reward_terms/{name}", float(np.mean(values)))

    every = max(1, config.checkpoint_every // config.n_envs)

    class SaveArchive(BaseCallback):
        """Saves the shared archive together with every checkpoint."""

        def _on_step(self) -> bool:
            if population is not None and self.n_calls % every == 0:
                population.archive.save(run / "archive.json")
            return True

    class HeldOut(BaseCallback):
        """Every ``eval_every`` steps: roll out ``eval_episodes`` held-out episodes (seeds no
        training environment uses) with the deterministic policy and log the validity rate,
        the mean score and every reward term of their final scenes under ``eval/``; with a
        reference, also their C2ST AUC, MMD², PRDC coverage and Vendi score against it."""

        scorer = None  # an environment of the run, built once, whose terms score the scenes

        def _on_step(self) -> bool:
            if self.n_calls % max(1, config.eval_every // config.n_envs):
                return True
            from scenegym.agents.policy import GenerationPolicy
            from scenegym.scene.batch import SceneBatch

            policy = GenerationPolicy(self.model, config, run)
            seed = 10**6 + config.seed * 1000  # held out: training envs use seed + rank
            scenes = policy.sample(config.eval_episodes, seed=seed, deterministic=True).scenes
            if self.scorer is None:
                self.scorer = policy._env()
            env = self.scorer
            score, terms = env.reward_spec.score_batch(
                SceneBatch.of(scenes),
                realism=env.realism,
                scene_realism=env.scene_realism,
                prior=env.prior,
            )
            for name, values in {**terms, "score": score}.items():
                self.logger.record(f"eval/{name}", float(np.mean(values)))
            self.logger.record("eval/validity_rate", float(np.mean(terms["validity"] == 1.0)))
            if reference is not None:
                from scenegym.evaluation.metrics import evaluate

                metrics = evaluate(scenes, reference, seed=config.seed)
                for name in ("c2st_auc", "mmd2", "coverage", "vendi"):
                    self.logger.record(f"eval/{name}", float(metrics[name]))
            return True

    checkpoints = CheckpointCallback(every, str(run / "checkpoints"), name_prefix="model")
    return CallbackList([RewardTerms(), SaveArchive(), HeldOut(), checkpoints])


def _set_up(config: TrainConfig, run: Path, resume: bool, files: dict[str, str] | None):
    """Write a new run's files, read its evaluation reference, build the environments (one is
    reset first, so bad inputs such as a missing reference fail before training) and the
    model."""
    if not resume:
        run.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run / "config.json", json.dumps(config_to_dict(config), indent=2) + "\n")
        atomic_write_text(run / "versions.json", json.dumps(_versions(), indent=2) + "\n")
        for name, text in (files or {}).items():
            atomic_write_text(run / name, text)

    path = reference_path(config, run)
    reference = None
    if path is not None:
        from scenegym.scene import read_scenes

        reference = read_scenes(path)  # a bad file fails here, before any training
        if len(reference) < 10:
            raise ValueError(f"reference {path} must hold at least 10 scenes")
    _probe(config, run)
    vec_env = make_vec_env(config, run)
    archive_path = run / "archive.json"
    population = None
    if config.novelty > 0 or config.coverage > 0:
        from scenegym.agents.population import Archive, PopulationReward

        archive = Archive.load(archive_path) if resume and archive_path.is_file() else None
        population = PopulationReward(
            vec_env, novelty=config.novelty, coverage=config.coverage, archive=archive
        )
        vec_env = population
    algorithm = algorithm_class(config)
    model, checkpoint = None, None
    for candidate in _checkpoints(run) if resume else []:
        # The newest checkpoint may be cut short: SB3 writes it in place, and a kill during
        # the write leaves part of a zip. Take the newest that loads.
        try:
            model = algorithm.load(candidate, env=vec_env, device="cpu")
        except Exception as error:  # a damaged zip fails in zipfile, torch or json
            warnings.warn(f"skipping unreadable checkpoint {candidate}: {error}", stacklevel=2)
            continue
        checkpoint = candidate
        break
    if model is None:
        from gymnasium import spaces

        model = algorithm(
            "MultiInputPolicy"
            if isinstance(vec_env.observation_space, spaces.Dict)
            else "MlpPolicy",
            vec_env,
            n_steps=config.n_steps,
            batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            policy_kwargs={"net_arch": list(config.net_arch)},
            seed=config.seed,
            device="cpu",
            verbose=0,
        )
    return model, vec_env, population, checkpoint, reference


def _probe(config: TrainConfig, run: Path) -> None:
    """Build one environment of ``config`` and reset it: inputs it reads on reset (a goal
    reference, a realism model) fail here with their own message, before training starts."""
    import gymnasium as gym

    import scenegym  # noqa: F401  (registers the environments)

    env = gym.make(config.env, **env_kwargs(config, run))
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


def train(
    config: TrainConfig | dict,
    run: str | os.PathLike,
    *,
    resume: bool = False,
    total_steps: int | None = None,
    progress_bar: bool = False,
    files: dict[str, str] | None = None,
) -> Path:
    """Train ``config`` into the folder ``run``; with ``resume``, continue its newest
    checkpoint, and with ``total_steps`` as well, train the run on to that many steps (a
    finished run continues from its final model). ``files`` (name: text) are written into a
    new run folder before the environments are built, for inputs they read by a path
    relative to the run, such as a realism model. Returns the path of the final model."""
    from stable_baselines3.common.logger import configure

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
            config = _lengthen(run, config, total_steps)
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
        model, vec_env, population, checkpoint, reference = _set_up(config, run, resume, files)
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
        model.learn(
            remaining,
            callback=_callbacks(run, config, population, reference),
            reset_num_timesteps=checkpoint is None,
            progress_bar=progress_bar,
        )
    if population is not None:
        population.archive.save(archive_path)
    model.save(run / "model.tmp.zip")
    os.replace(run / "model.tmp.zip", final)
    vec_env.close()
    return final
