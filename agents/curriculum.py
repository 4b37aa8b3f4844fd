"""Curriculum runs: an SB3 driving agent (the student) trained on ``scenegym/Drive-v1``
with a teacher choosing every scene it starts in. This module holds a run's config, the
teacher it names and its files; ``scenegym.agents.student`` trains (``train_curriculum``).

The student's environments run in ``SubprocVecEnv`` processes (or one ``DummyVecEnv``); each
holds a queue of one scene (``DriveEnv.feed``) that its next reset takes. Whenever an episode
ends, the trainer feeds that environment the teacher's next proposal. Teachers learn from
the episodes that ended at the end of each rollout (``Teacher.update``), with a regret estimate per
episode: the mean positive advantage of its steps under the student's value function
(``score: value_loss``, PPO) or the return an arrival earns less the episode's return
(``score: return_gap``).

A run folder holds:

- ``curriculum.json``: the config; ``model.zip``: the final student; ``teacher.json``: the
  final teacher state;
- ``scenes.jsonl``: every scene the student met, in the order it met them, its context
  holding ``curriculum_order``, ``curriculum_step`` (student steps when it started),
  ``curriculum_teacher``, ``curriculum_stage``, ``curriculum_difficulty`` (the teacher's
  score; absent while unscored), ``curriculum_targets`` (JSON) and ``curriculum_replay``;
- ``episodes.csv``: one row per finished episode (return, crash, arrival, distance, the
  scene's descriptors and the teacher's fields);
- ``checkpoints/student_<steps>.zip`` with ``checkpoints/teacher_<steps>.json`` (the teacher
  state and how much of ``scenes.jsonl`` and ``episodes.csv`` belongs to that point): a
  resumed run continues from the newest complete pair, cuts both files back to it and goes
  on with the same curriculum;
- ``timing.json``: per training session the student steps, the wall time and the time the
  teacher took (proposing and updating) with its share;
- ``logs/NNN/``: SB3's CSV and TensorBoard logs of each session (``teacher/*`` and
  ``student/*`` keys per rollout).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scenegym.agents.bandit import GoalTeacher, arms_from_grid
from scenegym.agents.replay import EditedReplay, PrioritisedReplay
from scenegym.agents.teachers import (
    Episode,
    GeneratorTeacher,
    RandomTeacher,
    ReplayTeacher,
    Teacher,
)
from scenegym.config import config_from_mapping, option

__all__ = [
    "TEACHERS",
    "CurriculumConfig",
    "build_teacher",
    "curriculum_checkpoint",
    "read_run_config",
    "robust",
    "run_config_data",
    "run_config_text",
]

TEACHERS = ("random", "replay", "generator", "plr", "accel", "goal")
"""Teacher names a curriculum config may use."""

FAST_DRIVE = {"simulation_frequency": 5, "traffic_collisions": False, "indexed_road": True}
"""The student's default Drive-v1 config: highway-env's highway-fast settings on scenegym's
indexed road (about twice the steps per second, the same IDM and MOBIL)."""


@dataclass(frozen=True, kw_only=True)
class CurriculumConfig:
    """Settings of a curriculum run (every field is a key of the YAML/TOML config)."""

    teacher: str = field(
        default="random",
        metadata={
            "help": "random (domain randomisation), replay (a reference's scenes), generator "
            "(a trained generation run), plr (prioritised replay), accel (edited replay) or "
            "goal (a learning-progress bandit over descriptor targets)",
            "choices": TEACHERS,
        },
    )
    scenes: str = field(default="", metadata=option("scenes file of the replay teacher"))
    generator: str = field(
        default="",
        metadata=option(
            "generation run folder: the generator teacher's, and the source of new scenes of "
            "plr, accel and goal (empty: the random scene space)"
        ),
    )
    space: dict[str, Any] = field(
        default_factory=dict, metadata=option("HighwaySpaceConfig fields of the random space")
    )
    targets: dict[str, Any] = field(
        default_factory=dict,
        metadata=option("goal teacher: descriptor name to a list of target values (arms)"),
    )
    teacher_options: dict[str, Any] = field(
        default_factory=dict,
        metadata=option(
            "teacher settings: mix (replay: share of generated or random scenes), "
            "buffer_size, replay_share, min_fill, temperature, staleness, robust (true: the "
            "student trains on replayed scenes only; plr, accel), "
            "edit_share, edits (accel), window, explore, min_tries (goal), batch (generator "
            "scenes per call)"
        ),
    )
    score: str = field(
        default="return_gap",
        metadata={
            "help": "regret estimate: return_gap (1 - return) or value_loss (mean positive "
            "advantage; PPO only)",
            "choices": ("return_gap", "value_loss"),
        },
    )
    algorithm: str = field(
        default="PPO", metadata={"help": "the student: PPO or DQN", "choices": ("PPO", "DQN")}
    )
    total_steps: int = field(default=20_000, metadata=option("student environment steps", 1))
    n_envs: int = field(default=2, metadata=option("parallel environments", 1, 256))
    vec_env: str = field(
        default="subproc",
        metadata={
            "help": "subproc (SB3 SubprocVecEnv, one process per env) or dummy (one process)",
            "choices": ("subproc", "dummy"),
        },
    )
    n_steps: int = field(default=128, metadata=option("PPO rollout length per env", 2, 100_000))
    batch_size: int = field(default=64, metadata=option("minibatch size", 2, 100_000))
    learning_rate: float = field(default=5e-4, metadata=option("learning rate", 1e-7, 1.0))
    gamma: float = field(default=0.9, metadata=option("discount factor", 0.0, 1.0))
    net_arch: tuple[int, ...] = field(
        default=(128, 128), metadata=option("hidden layer widths", 1, 4096)
    )
    train_freq: int = field(default=4, metadata=option("DQN: steps between updates", 1))
    drive: dict[str, Any] = field(
        default_factory=lambda: dict(FAST_DRIVE),
        metadata=option("highway-env config of the student's Drive-v1 environments"),
    )
    checkpoint_every: int = field(
        default=2_000, metadata=option("student steps between checkpoints", 1)
    )
    seed: int = field(default=0, metadata=option("random seed of student and teacher", 0))
    torch_threads: int = field(default=1, metadata=option("torch threads (0: torch's)", 0, 256))

    def __post_init__(self) -> None:
        if self.teacher == "replay" and not self.scenes:
            raise ValueError("teacher replay needs scenes: a scenes file to replay")
        if self.teacher == "generator" and not self.generator:
            raise ValueError("teacher generator needs generator: a generation run folder")
        if self.teacher == "goal" and not self.targets:
            raise ValueError(
                "teacher goal needs targets: descriptor names with lists of values, "
                "for example {density: [10, 25, 40]}"
            )
        if self.score == "value_loss" and self.algorithm != "PPO":
            raise ValueError("score value_loss needs the PPO student (DQN has no values)")
        flag = self.teacher_options.get("robust", False)
        if not isinstance(flag, bool):
            raise ValueError(f"teacher_options.robust must be true or false, got {flag!r}")
        if flag and self.algorithm != "PPO":
            raise ValueError(
                "teacher_options.robust needs the PPO student (it leaves the steps on new "
                "scenes out of PPO's updates)"
            )

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> CurriculumConfig:
        """A config from a plain mapping, every key checked."""
        return config_from_mapping(cls, dict(mapping), name="")


def robust(config: CurriculumConfig) -> bool:
    """Whether the run is robust prioritised replay: the student trains only on the steps of
    replayed scenes (``teacher_options.robust`` of plr and accel)."""
    return config.teacher in ("plr", "accel") and bool(config.teacher_options.get("robust"))


_PLR_OPTIONS = ("buffer_size", "replay_share", "min_fill", "temperature", "staleness")
_OPTIONS = {
    "random": (),
    "replay": ("batch", "mix"),
    "generator": ("batch",),
    "plr": ("batch", "robust", *_PLR_OPTIONS),
    "accel": ("batch", "robust", *_PLR_OPTIONS, "edit_share", "edits"),
    "goal": ("batch", "window", "explore", "min_tries"),
}


def _fresh(config: CurriculumConfig, seed: int, targets=None, policy=None, batch=16) -> Teacher:
    """The teacher of new scenes: the generator run when the config names one, else the
    random space."""
    if config.generator:
        return GeneratorTeacher(
            config.generator, seed=seed, batch=batch, targets=targets, policy=policy
        )
    return RandomTeacher(config.space or None, seed=seed, targets=targets)


def build_teacher(config: CurriculumConfig) -> Teacher:
    """The teacher a curriculum config names, with its options checked."""
    options = dict(config.teacher_options)
    unknown = sorted(set(options) - set(_OPTIONS[config.teacher]))
    if unknown:
        allowed = ", ".join(_OPTIONS[config.teacher]) or "none"
        raise ValueError(
            f"teacher_options.{unknown[0]} is not a setting of the {config.teacher} teacher "
            f"(its settings: {allowed})"
        )
    batch = int(options.pop("batch", 16))
    options.pop("robust", None)  # the student's side: see robust()
    seed = config.seed
    if config.teacher == "random":
        return RandomTeacher(config.space or None, seed=seed)
    if config.teacher == "replay":
        mix = float(options.pop("mix", 0.0))
        fresh = _fresh(config, seed + 1, batch=batch) if mix else None
        return ReplayTeacher(config.scenes, seed=seed, mix=mix, fresh=fresh)
    if config.teacher == "generator":
        return GeneratorTeacher(config.generator, seed=seed, batch=batch)
    if config.teacher in ("plr", "accel"):
        kind = PrioritisedReplay if config.teacher == "plr" else EditedReplay
        return kind(_fresh(config, seed + 1, batch=batch), seed=seed, **options)
    arms = arms_from_grid(config.targets)
    policy = None
    if config.generator:
        from scenegym.agents.goals import check_targets
        from scenegym.agents.policy import GenerationPolicy

        policy = GenerationPolicy.load(config.generator)
        for arm in arms:
            check_targets(policy, arm, name="targets")
    streams = [
        _fresh(config, seed + 1 + k, targets=arm, policy=policy, batch=batch)
        for k, arm in enumerate(arms)
    ]
    return GoalTeacher(streams, arms, seed=seed, **options)


CHECKPOINT = re.compile(r"teacher_(\d+)\.json")


def curriculum_checkpoint(run: str | os.PathLike) -> tuple[int, Path, Path] | None:
    """The newest complete checkpoint of a curriculum run: ``(steps, student zip, teacher
    json)``, or None."""
    folder = Path(run) / "checkpoints"
    found = []
    for path in folder.glob("teacher_*.json") if folder.is_dir() else []:
        match = CHECKPOINT.fullmatch(path.name)
        student = folder / f"student_{match.group(1)}.zip" if match else None
        if student is not None and student.is_file():
            found.append((int(match.group(1)), student, path))
    return max(found) if found else None


def read_run_config(run: str | os.PathLike) -> CurriculumConfig:
    """The config of a curriculum run folder, or a one-line error."""
    path = Path(run) / "curriculum.json"
    if not path.is_file():
        raise ValueError(f"{run} is not a curriculum run: it has no curriculum.json")
    try:
        data = json.loads(path.read_text())
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from None
    return config_from_mapping(CurriculumConfig, data, name="curriculum.json")


def run_config_data(config: CurriculumConfig) -> dict[str, Any]:
    """A config as plain JSON-ready data."""
    data = asdict(config)
    data["net_arch"] = list(config.net_arch)
    return data


def run_config_text(config: CurriculumConfig) -> str:
    """The text of a run's ``curriculum.json``."""
    return json.dumps(run_config_data(config), indent=2)


def cut_file(path: Path, size: int) -> None:
    """Cut ``path`` back to its first ``size`` bytes (what a checkpoint holds)."""
    if path.is_file() and path.stat().st_size > size:
        with open(path, "r+b") as handle:
            handle.truncate(size)


def episode_row(
    episode: Episode, scene_info: Mapping[str, Any], descriptors: Mapping[str, float]
) -> dict[str, Any]:
    """One ``episodes.csv`` row."""
    row = {
        "return": round(episode.ret, 6),
        "crashed": int(episode.crashed),
        "arrived": int(episode.arrived),
        "distance": round(episode.distance, 3),
        "steps": episode.steps,
        "regret": round(episode.regret(), 6),
    }
    row |= {k: scene_info.get(k) for k in ("order", "step", "teacher", "stage", "replay")}
    row["targets"] = json.dumps(scene_info.get("targets") or {}, sort_keys=True)
    row |= {name: round(float(value), 4) for name, value in descriptors.items()}
    return row


def append_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` to a CSV file, writing the header first when the file is new."""
    if not rows:
        return
    new = not path.is_file() or path.stat().st_size == 0
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        if new:
            writer.writeheader()
        writer.writerows(rows)


def mean_or_nan(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")
