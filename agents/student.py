"""The student side of a curriculum run: its environments, its SB3 model and the callback
that carries scenes from the teacher and results back (see ``scenegym.agents.curriculum``)."""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import configure

from scenegym._io import atomic_write_text, locking
from scenegym._threads import torch_threads
from scenegym.agents.curriculum import (
    CurriculumConfig,
    append_csv,
    build_teacher,
    curriculum_checkpoint,
    cut_file,
    episode_row,
    mean_or_nan,
    read_run_config,
    robust,
    run_config_text,
)
from scenegym.agents.loading import load_model
from scenegym.agents.progress import ProgressLinesCallback
from scenegym.agents.runs import algorithm_class
from scenegym.agents.teachers import Episode, Teacher, curriculum_context, curriculum_info
from scenegym.scene.descriptors import describe_many
from scenegym.scene.scene import Scene

__all__ = [
    "CurriculumCallback",
    "load_student",
    "make_drive_env",
    "run_student",
    "student_class",
    "student_model",
    "train_curriculum",
]

LOGGED_DESCRIPTORS = ("vehicle_count", "density", "mean_speed", "min_time_headway", "lane_count")
"""Descriptors of each episode's scene written into ``episodes.csv``."""


def make_drive_env(drive: dict[str, Any], seed: int):
    """A factory of one student environment (Drive-v1 with ``drive`` as its config)."""

    def build():
        import gymnasium as gym

        import scenegym  # noqa: F401  registers the environments

        env = gym.make("scenegym/Drive-v1", config=dict(drive))
        env.reset(seed=seed, options={"scene": _placeholder()})  # seeds the env's generator
        return env

    return build


def _placeholder() -> Scene:
    from scenegym.scene.road import Road
    from scenegym.scene.vehicles import Vehicles

    return Scene(Road.straight(length=100.0, lanes=1), Vehicles.from_columns(lane=[0], s=[5.0]))


def _vec_env(config: CurriculumConfig):
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    factories = [make_drive_env(config.drive, config.seed + i) for i in range(config.n_envs)]
    if config.vec_env == "subproc" and config.n_envs > 1:
        return SubprocVecEnv(factories, start_method="spawn")
    return DummyVecEnv(factories)


def student_class(config: CurriculumConfig):
    """The student's SB3 class: ``ReplayOnlyPPO`` for robust prioritised replay (it trains
    on replayed scenes only), else the algorithm the config names."""
    if robust(config):
        from scenegym.agents.robust import ReplayOnlyPPO

        return ReplayOnlyPPO
    return algorithm_class(config)


def load_student(config: CurriculumConfig, path: Path, *, env=None, spaces=None):
    """The student saved at ``path`` by a run of ``config`` (nothing in it unpickled): ready
    to train on the vector environment ``env``, or (``spaces``: an environment) to act."""
    source = env if env is not None else spaces
    fields = {"train_freq": (config.train_freq, "step")} if config.algorithm == "DQN" else {}
    return load_model(
        config,
        path,
        observation_space=source.observation_space,
        action_space=source.action_space,
        env=env,
        fields=fields,
        algorithm=student_class(config),
    )


def student_model(config: CurriculumConfig, vec_env, checkpoint: Path | None = None):
    """The student: new, or loaded from ``checkpoint`` (nothing in it unpickled)."""
    if checkpoint is not None:
        return load_student(config, checkpoint, env=vec_env)
    common = {
        "learning_rate": config.learning_rate,
        "gamma": config.gamma,
        "batch_size": config.batch_size,
        "seed": config.seed,
        "policy_kwargs": {"net_arch": list(config.net_arch)},
        "device": "cpu",
        "verbose": 0,
    }
    if config.algorithm == "DQN":  # highway-env's own DQN settings, scaled to the budget
        common |= {
            "train_freq": config.train_freq,
            "buffer_size": 15_000,
            "learning_starts": min(200, config.total_steps // 10),
            "target_update_interval": 50,
            "exploration_fraction": 0.7,
        }
    else:
        common |= {"n_steps": config.n_steps}
    return student_class(config)("MlpPolicy", vec_env, **common)


class CurriculumCallback(BaseCallback):
    """Feeds every student environment the teacher's next scene when an episode ends, hands
    the teacher the results (with regret estimates) at the end of each rollout, logs them
    and writes the run's files and checkpoints."""

    def __init__(
        self,
        teacher: Teacher,
        *,
        run: Path,
        config: CurriculumConfig,
        order: int = 0,
        next_checkpoint: int = 0,
    ) -> None:
        super().__init__()
        self.teacher, self.run, self.config = teacher, run, config
        self.order = order
        self.next_checkpoint = next_checkpoint
        self.queued: list[collections.deque] = []
        self.finished: list[tuple[int, int, Episode, Scene]] = []
        self.advantage: dict[tuple[int, int], list[float]] = {}
        self.teacher_seconds = 0.0  # spent proposing and updating

    # ---------------------------------------------------------------- scenes in and out
    def prime(self, vec_env) -> None:
        """Give every environment its first scene (before SB3 resets them)."""
        n = vec_env.num_envs
        self.queued = [collections.deque() for _ in range(n)]
        self.current: list[Scene | None] = [None] * n  # as met: order and step added
        self.replaying = np.zeros(n, dtype=bool)  # whether each env drives a replayed scene
        self.fed_ids = [""] * n  # the id of the scene each environment drives, as fed
        for i in range(n):
            self._feed(vec_env, i)
        self.returns, self.lengths = np.zeros(n), np.zeros(n, dtype=int)
        self.serial = np.zeros(n, dtype=int)
        self.steps: list[np.ndarray] = []  # per rollout step: each env's episode serial
        self.kept: list[np.ndarray] = []  # per rollout step: each env's replaying flag

    def _feed(self, vec_env, i: int) -> None:
        began = time.perf_counter()
        scene = self.teacher.propose()
        self.teacher_seconds += time.perf_counter() - began
        self.queued[i].append(scene)
        vec_env.env_method("feed", [scene], indices=[i])

    def _start(self, i: int) -> None:
        """Environment ``i`` has reset into its queued scene: record it and refill."""
        scene = self.queued[i].popleft()
        info = curriculum_context({"order": self.order, "step": int(self.num_timesteps)})
        self.order += 1
        met = scene.replace(context={**scene.context, **info})
        with open(self.run / "scenes.jsonl", "a", encoding="utf-8") as handle:
            handle.write(met.to_json() + "\n")
        self.current[i], self.fed_ids[i] = met, scene.id
        self.replaying[i] = bool(met.context.get("curriculum_replay", False))
        self._feed(self.training_env, i)

    def _on_training_start(self) -> None:
        for i in range(self.training_env.num_envs):
            self._start(i)

    def _on_step(self) -> bool:
        infos, dones = self.locals["infos"], self.locals["dones"]
        rewards = self.locals["rewards"]
        self.steps.append(self.serial.copy())
        self.kept.append(self.replaying.copy())
        for i, (info, done) in enumerate(zip(infos, dones)):
            self.returns[i] += float(rewards[i])
            self.lengths[i] += 1
            if info.get("scene") != self.fed_ids[i]:
                raise RuntimeError(
                    f"student environment {i} drives scene {info.get('scene')} but the "
                    f"teacher fed it {self.fed_ids[i]}"
                )
            if done:
                episode = Episode(
                    scene=self.fed_ids[i],
                    ret=float(self.returns[i]),
                    crashed=bool(info.get("crashed")),
                    arrived=bool(info.get("arrived")),
                    distance=float(info.get("distance", 0.0)),
                    steps=int(self.lengths[i]),
                )
                self.finished.append((i, int(self.serial[i]), episode, self.current[i]))
                self.serial[i] += 1
                self.returns[i], self.lengths[i] = 0.0, 0
                self._start(i)
        return True

    # ---------------------------------------------------------------- learning
    def _scores(self) -> dict[tuple[int, int], float]:
        """Mean positive advantage per (env, episode) of the rollout's episodes."""
        if self.config.score != "value_loss" or not self.steps:
            return {}
        advantages = np.maximum(self.model.rollout_buffer.advantages, 0.0)
        serials = np.array(self.steps)
        for i in range(serials.shape[1]):
            for serial in np.unique(serials[:, i]):
                rows = serials[:, i] == serial
                total = self.advantage.setdefault((i, int(serial)), [0.0, 0])
                total[0] += float(advantages[rows, i].sum())
                total[1] += int(rows.sum())
        return {key: value[0] / max(value[1], 1) for key, value in self.advantage.items()}

    def _keep_replays(self) -> None:
        """Robust prioritised replay: only the steps on replayed scenes train the student."""
        buffer = self.model.rollout_buffer
        if len(self.kept) != buffer.keep.shape[0]:
            raise RuntimeError(
                f"the rollout has {buffer.keep.shape[0]} steps but the curriculum saw "
                f"{len(self.kept)}"
            )
        buffer.keep[:] = np.array(self.kept)
        self.logger.record("student/trained_share", float(buffer.keep.mean()))

    def _on_rollout_end(self) -> None:
        if robust(self.config):
            self._keep_replays()
        scores = self._scores()
        episodes, rows = [], []
        descriptors = describe_many([scene for *_, scene in self.finished])
        for k, (i, serial, episode, scene) in enumerate(self.finished):
            if (i, serial) in scores:
                self.advantage.pop((i, serial), None)
                episode = dataclasses.replace(episode, score=scores[(i, serial)])
            episodes.append(episode)
            logged = {name: descriptors[name][k] for name in LOGGED_DESCRIPTORS}
            row = episode_row(episode, curriculum_info(scene), logged)
            rows.append({"env_step": int(self.num_timesteps)} | row)
        began = time.perf_counter()
        self.teacher.update(episodes)
        self.teacher_seconds += time.perf_counter() - began
        append_csv(self.run / "episodes.csv", rows)
        self._log(episodes)
        self.finished, self.steps, self.kept = [], [], []

    def _on_rollout_start(self) -> None:
        # Here, not at the end of a rollout: SB3 trains on a rollout after its end, so a
        # checkpoint saved then would miss that update.
        if self.num_timesteps >= self.next_checkpoint:
            self.checkpoint()
            self.next_checkpoint = self.num_timesteps + self.config.checkpoint_every

    def _log(self, episodes: list[Episode]) -> None:
        self.logger.record("teacher/seconds", self.teacher_seconds)
        self.logger.record("student/episodes", len(episodes))
        self.logger.record("student/return", mean_or_nan([e.ret for e in episodes]))
        self.logger.record("student/crash_rate", mean_or_nan([e.crashed for e in episodes]))
        self.logger.record("student/arrival_rate", mean_or_nan([e.arrived for e in episodes]))
        for name, value in self.teacher.stats().items():
            self.logger.record(f"teacher/{name}", value)

    def checkpoint(self) -> None:
        """Save the student and, after it, the teacher with the files' lengths."""
        folder = self.run / "checkpoints"
        folder.mkdir(exist_ok=True)
        steps = int(self.num_timesteps)
        temporary = folder / f"student_{steps}.tmp.zip"
        self.model.save(temporary)
        os.replace(temporary, folder / f"student_{steps}.zip")
        state = {
            "steps": steps,
            "order": self.order,
            "teacher": self.teacher.state(),
            "files": {name: _size(self.run / f) for name, f in _FILES.items()},
        }
        atomic_write_text(folder / f"teacher_{steps}.json", json.dumps(state))


_FILES = {"scenes": "scenes.jsonl", "episodes": "episodes.csv"}


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _record_timing(run: Path, steps: int, wall: float, teacher: float) -> None:
    """Append this session's student steps, wall time and teacher time to ``timing.json``."""
    path = run / "timing.json"
    sessions = json.loads(path.read_text()) if path.is_file() else []
    sessions.append(
        {
            "steps": int(steps),
            "wall_seconds": round(wall, 3),
            "teacher_seconds": round(teacher, 3),
            "teacher_share": round(teacher / wall, 4) if wall > 0 else None,
        }
    )
    atomic_write_text(path, json.dumps(sessions, indent=2))


def run_student(
    config: CurriculumConfig,
    run: Path,
    teacher: Teacher,
    *,
    start: tuple[int, Path, dict] | None,
    progress_bar: bool,
    progress_lines: Callable[[str], None] | None = None,
) -> Path:
    """Train the student of ``config`` under ``teacher`` (from the checkpoint ``start``)."""
    vec_env = _vec_env(config)
    try:
        model = student_model(config, vec_env, None if start is None else start[1])
        saved = start[2] if start is not None else {}
        callback = CurriculumCallback(
            teacher,
            run=run,
            config=config,
            order=int(saved.get("order", 0)),
            next_checkpoint=int(saved.get("steps", 0)) + config.checkpoint_every,
        )
        callback.prime(vec_env)
        logs = run / "logs"
        session = len(list(logs.glob("*"))) if logs.is_dir() else 0
        model.set_logger(configure(str(logs / f"{session:03d}"), ["csv", "tensorboard"]))
        remaining = config.total_steps - model.num_timesteps
        began, steps_before = time.perf_counter(), model.num_timesteps
        if remaining > 0:
            with torch_threads(config.torch_threads):
                lines = (
                    []
                    if progress_lines is None
                    else [ProgressLinesCallback(progress_lines, total=config.total_steps)]
                )
                model.learn(
                    remaining,
                    callback=CallbackList([callback, *lines]),
                    reset_num_timesteps=start is None,
                    progress_bar=progress_bar,
                )
        atomic_write_text(run / "teacher.json", json.dumps(teacher.state()))
        _record_timing(
            run,
            model.num_timesteps - steps_before,
            time.perf_counter() - began,
            callback.teacher_seconds,
        )
        model.save(run / "model.tmp.zip")
        os.replace(run / "model.tmp.zip", run / "model.zip")
    finally:
        vec_env.close()
    return run / "model.zip"


@locking("run")
def train_curriculum(
    config: CurriculumConfig | Mapping[str, Any],
    run: str | os.PathLike,
    *,
    resume: bool = False,
    progress_bar: bool = False,
    progress_lines: Callable[[str], None] | None = None,
) -> Path:
    """Train a student under a teacher into the folder ``run`` (see the module notes); with
    ``resume``, continue its newest checkpoint (the config is the run's own).
    ``progress_bar`` draws SB3's bar; ``progress_lines`` gets a line of progress every 30 s
    or 5 % instead (for a log). Returns the path of the final model."""
    run = Path(run)
    if resume:
        if not run.is_dir():
            raise ValueError(f"cannot resume {run}: the folder does not exist")
        config = read_run_config(run)
    elif isinstance(config, Mapping):
        config = CurriculumConfig.from_mapping(config)
    if not isinstance(config, CurriculumConfig):
        raise TypeError(f"config must be a CurriculumConfig, got {type(config).__name__}")
    if not resume and run.exists() and any(run.iterdir()):
        raise ValueError(f"run folder {run} is not empty; choose a new folder or pass --resume")
    if resume and (run / "model.zip").is_file():
        return run / "model.zip"  # finished
    teacher = build_teacher(config)
    start = None
    if resume:
        start = curriculum_checkpoint(run)
        if start is not None:
            saved = json.loads(start[2].read_text())
            teacher.load_state(saved["teacher"])
            teacher.discard_pending()  # the scenes running at the checkpoint are not resumed
            cut_file(run / "scenes.jsonl", saved["files"]["scenes"])
            cut_file(run / "episodes.csv", saved["files"]["episodes"])
            start = (start[0], start[1], saved)
        else:  # killed before its first checkpoint: start again from nothing
            cut_file(run / "scenes.jsonl", 0)
            cut_file(run / "episodes.csv", 0)
        return run_student(
            config,
            run,
            teacher,
            start=start,
            progress_bar=progress_bar,
            progress_lines=progress_lines,
        )
    existed = run.exists()
    run.mkdir(parents=True, exist_ok=True)
    # Input paths are kept absolute, so that the run resumes from any folder.
    inputs = {k: str(Path(getattr(config, k)).resolve()) for k in ("scenes", "generator")}
    config = dataclasses.replace(config, **{k: v for k, v in inputs.items() if getattr(config, k)})
    atomic_write_text(run / "curriculum.json", run_config_text(config))
    try:
        return run_student(
            config,
            run,
            teacher,
            start=None,
            progress_bar=progress_bar,
            progress_lines=progress_lines,
        )
    except BaseException:
        if curriculum_checkpoint(run) is None:  # a new run that never saved leaves nothing
            _remove_new_run(run, existed)
        raise


def _remove_new_run(run: Path, existed: bool) -> None:
    if not existed:
        shutil.rmtree(run, ignore_errors=True)
        return
    for entry in run.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
