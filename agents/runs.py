"""A training run: its settings (``TrainConfig``), the environments and algorithm they name,
and the files of its run folder (config, checkpoints) that training writes and a
``GenerationPolicy`` reads."""

from __future__ import annotations

import inspect
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from scenegym._checks import MAX_SEED
from scenegym.config import check_config, did_you_mean, option
from scenegym.envs.generation import DrivingLayoutEnv
from scenegym.rewards.population import DESCRIPTOR_SCALES

__all__ = [
    "TrainConfig",
    "algorithm_class",
    "checkpoint_steps",
    "checkpoints",
    "env_kwargs",
    "latest_checkpoint",
    "reference_path",
    "run_path",
]


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Settings of a training run (every field is a key of the YAML/TOML config)."""

    env: str = field(
        default="scenegym/DrivingLayout-edit-v6", metadata=option("registered environment id")
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
    archive_features: tuple[str, ...] = field(
        default=("density", "mean_speed", "min_time_headway", "lane_count"),
        metadata={
            "help": "descriptors the novelty and coverage terms compare scenes by "
            "(criticality among them rolls every finished scene forward)"
        },
    )
    reference: str = field(
        default="",
        metadata=option(
            "reference scenes (JSONL) for C2ST, MMD², coverage and Vendi in the held-out "
            "evaluation; a relative path is inside the run folder"
        ),
    )
    seed: int = field(default=0, metadata=option("seed of envs, policy and sampling", 0, MAX_SEED))
    torch_threads: int = field(
        default=1,
        metadata=option(
            "torch threads of PPO's updates (0: torch's own count, one per core); one thread "
            "keeps small networks fast and does not spin against other jobs for the CPU",
            0,
            256,
        ),
    )

    def __post_init__(self) -> None:
        check_config(self)
        if not 1 <= len(self.net_arch) <= 8:
            raise ValueError(
                f"config.net_arch must list 1 to 8 hidden layer widths, got {list(self.net_arch)}"
            )
        if self.batch_size > self.n_steps * self.n_envs:
            raise ValueError(
                f"config.batch_size {self.batch_size} is more than one rollout holds "
                f"(n_steps x n_envs = {self.n_steps} x {self.n_envs} = "
                f"{self.n_steps * self.n_envs}); lower it or raise n_steps or n_envs"
            )
        unknown = [name for name in self.archive_features if name not in DESCRIPTOR_SCALES]
        if unknown or not self.archive_features:
            raise ValueError(
                f"config.archive_features must name descriptors among "
                f"{', '.join(DESCRIPTOR_SCALES)}, got {list(self.archive_features)!r}"
            )
        if self.reference and self.eval_episodes < 10:
            raise ValueError(
                f"config.eval_episodes is {self.eval_episodes}; with a reference it must be at "
                "least 10 (the classifier two-sample test needs 10 scenes a side)"
            )
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
    known = list(inspect.signature(DrivingLayoutEnv).parameters)
    for key in kwargs:
        if key not in known:
            raise ValueError(
                f"config.env_kwargs.{key} is no argument of {env}; {did_you_mean(key, known)}"
                f"the arguments are: {', '.join(known)}"
            )


def env_kwargs(config: TrainConfig, run: str | os.PathLike | None) -> dict[str, Any]:
    """The environment's keyword arguments, with relative paths of the realism models, the
    roads and the goal reference taken relative to the run folder (so a run folder can be moved)."""
    kwargs = dict(config.env_kwargs)
    if run is None:
        return kwargs
    for key in ("realism", "scene_realism", "prior", "decoder", "roads"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = str(run_path(run, kwargs[key]))
    goal = kwargs.get("goal")
    if isinstance(goal, dict) and goal.get("reference"):
        kwargs["goal"] = {**goal, "reference": str(run_path(run, goal["reference"]))}
    return kwargs


def run_path(run: str | os.PathLike, path: str) -> Path:
    """``path`` itself when absolute, else the same path inside the run folder."""
    return Path(path) if os.path.isabs(path) else Path(run) / path


def reference_path(config: TrainConfig, run: str | os.PathLike) -> Path | None:
    """The reference file of the held-out evaluation (None without one)."""
    return run_path(run, config.reference) if config.reference else None


def algorithm_class(config: TrainConfig):
    """The SB3 algorithm class a config trains with."""
    name = config.algorithm
    if name == "auto":
        name = "MaskablePPO" if "construct" in config.env else "PPO"
    if name == "MaskablePPO":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    if name == "DQN":
        from stable_baselines3 import DQN

        return DQN
    from stable_baselines3 import PPO

    return PPO


CHECKPOINT_NAME = re.compile(r"model_(\d+)_steps\.zip")
"""The file names SB3's ``CheckpointCallback`` gives (name prefix ``model``): the steps."""


def latest_checkpoint(run: str | os.PathLike) -> Path | None:
    """The checkpoint of ``run`` with the most steps, or None."""
    found = checkpoints(run)
    return found[0] if found else None


def checkpoints(run: str | os.PathLike) -> list[Path]:
    """The checkpoints of ``run``, most steps first."""
    found = []
    for path in (Path(run) / "checkpoints").glob("model_*_steps.zip"):
        match = CHECKPOINT_NAME.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found, reverse=True)]


def checkpoint_steps(path: Path) -> int:
    """The steps of the checkpoint ``path`` (by its file name)."""
    return int(CHECKPOINT_NAME.fullmatch(path.name).group(1))
