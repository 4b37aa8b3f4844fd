"""A trained generation policy: load a run folder and sample scenes from it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scenegym._checks import check_whole
from scenegym.config import config_from_mapping
from scenegym.envs.scene import Scene
from scenegym.envs.validity import repair, violation_counts_many

from .train import TrainConfig

__all__ = ["GenerationPolicy", "Sample"]

INVALID_CHOICES = ("report", "resample", "repair", "drop")


@dataclass
class Sample:
    """Scenes sampled from a policy and what happened to invalid ones.

    Attributes:
        scenes: the returned scenes, in sampling order.
        invalid: how many returned scenes break a validity rule (``invalid="report"``).
        resampled: how many rollouts were repeated because their scene was invalid.
        dropped: how many invalid scenes were left out (``invalid="drop"`` or after the
            resampling attempts ran out).
        repaired: how many scenes were made valid by removing vehicles, and ``removed`` how
            many vehicles that took (``invalid="repair"``).
        goal_errors: with targets, per targeted descriptor the mean absolute error of the
            returned scenes (``"error"``, in the descriptor's unit) and that error as a share
            of the width of the policy's goal range (``"range_share"``; None when the policy
            has no range for it).
    """

    scenes: list[Scene]
    invalid: int
    resampled: int
    dropped: int
    repaired: int = 0
    removed: int = 0
    goal_errors: dict[str, dict[str, float | None]] = field(default_factory=dict)


class GenerationPolicy:
    """A trained SB3 model together with the environment config it was trained with."""

    def __init__(
        self, model: Any, config: TrainConfig, run: str | os.PathLike | None = None
    ) -> None:
        self.model = model
        self.config = config
        self.run = run

    @classmethod
    def load(cls, run: str | os.PathLike) -> GenerationPolicy:
        """Load the final model (or, failing that, the newest checkpoint) of a run folder."""
        from .train import algorithm_class, latest_checkpoint

        run = Path(run)
        saved = run / "config.json"
        if not saved.is_file():
            raise ValueError(f"{run} is not a training run: it has no config.json")
        try:
            config = config_from_mapping(TrainConfig, json.loads(saved.read_text()), name="config")
        except json.JSONDecodeError as error:
            raise ValueError(f"{saved} is not valid JSON: {error}") from None
        path = run / "model.zip"
        if not path.is_file():
            path = latest_checkpoint(run)
            if path is None:
                raise ValueError(f"{run} has no model.zip and no checkpoint to load")
        try:
            model = algorithm_class(config).load(path, device="cpu")
        except Exception as error:  # SB3 raises many kinds for a damaged zip
            raise ValueError(f"cannot load the model {path}: {error}") from None
        return cls(model, config, run)

    def _env(self):
        import gymnasium as gym

        import scenegym  # noqa: F401  (registers the environments)

        from .train import env_kwargs

        return gym.make(self.config.env, **env_kwargs(self.config, self.run)).unwrapped

    def sample(
        self,
        n: int,
        *,
        targets: dict[str, float] | None = None,
        seed: int = 0,
        deterministic: bool = False,
        invalid: str = "report",
        batch: int = 256,
        attempts: int = 5,
    ) -> Sample:
        """Roll out ``n`` episodes (``batch`` environments in lockstep) and return their final
        scenes. Rollout ``i`` starts from the environment seeded with ``seed + i``.

        Args:
            targets: descriptor targets for goal-conditioned policies (the same for all).
            invalid: ``"report"`` returns invalid scenes and counts them; ``"resample"``
                repeats their rollouts with new seeds up to ``attempts`` times, then drops and
                counts those still invalid; ``"repair"`` removes the vehicles in violations
                (most involved first) until each scene is valid, and counts them; ``"drop"``
                leaves them out and counts them.
        """
        n = check_whole("n", n, 1)
        if invalid not in INVALID_CHOICES:
            raise ValueError(
                f"invalid must be one of {', '.join(INVALID_CHOICES)}, got {invalid!r}"
            )
        seeds = list(range(seed, seed + n))
        scenes = self._rollouts(seeds, targets, deterministic, batch)
        resampled = dropped = 0
        if invalid == "resample":
            next_seed = seed + n
            for _ in range(attempts):
                bad = np.flatnonzero(~_valid(scenes)).tolist()
                if not bad:
                    break
                fresh = self._rollouts(
                    list(range(next_seed, next_seed + len(bad))), targets, deterministic, batch
                )
                next_seed += len(bad)
                resampled += len(bad)
                for i, scene in zip(bad, fresh):
                    scenes[i] = scene
        repaired = removed = 0
        if invalid == "repair":
            for i, scene in enumerate(scenes):
                fixed, count = repair(scene)
                if count:
                    scenes[i], repaired, removed = fixed, repaired + 1, removed + count
        if invalid in ("resample", "drop"):
            kept = [scene for scene, ok in zip(scenes, _valid(scenes)) if ok]
            dropped = len(scenes) - len(kept)
            scenes = kept
        count = int((~_valid(scenes)).sum())
        return Sample(
            goal_errors=self._goal_errors(scenes, targets or {}),
            scenes=scenes,
            invalid=count,
            resampled=resampled,
            dropped=dropped,
            repaired=repaired,
            removed=removed,
        )

    def _goal_errors(
        self, scenes: list[Scene], targets: dict[str, float]
    ) -> dict[str, dict[str, float | None]]:
        """Mean absolute error per target over ``scenes``, also as a share of the goal range."""
        if not targets or not scenes:
            return {}
        from scenegym.envs.descriptors import describe_many
        from scenegym.rewards.spec import GoalSpec

        goal = self.config.env_kwargs.get("goal") or {}
        ranges = goal.ranges if isinstance(goal, GoalSpec) else goal.get("ranges", {})
        described = describe_many(scenes)
        errors = {}
        for name, value in targets.items():
            error = float(np.mean(np.abs(described[name] - float(value))))
            low_high = ranges.get(name)
            share = error / (low_high[1] - low_high[0]) if low_high else None
            errors[name] = {"error": error, "range_share": share}
        return errors

    def _vector_env(self, count: int):
        import gymnasium as gym

        import scenegym  # noqa: F401  (registers the environments)
        from scenegym.envs.vector import DrivingLayoutVecEnv

        from .train import env_kwargs

        kwargs = {**gym.spec(self.config.env).kwargs, **env_kwargs(self.config, self.run)}
        return DrivingLayoutVecEnv(count, **kwargs)

    def _rollouts(self, seeds: list[int], targets, deterministic: bool, batch: int) -> list[Scene]:
        venv = self._vector_env(min(batch, len(seeds)))
        options = {"targets": targets} if targets else None
        maskable = "Maskable" in type(self.model).__name__

        def act(observation, masks):
            kwargs = {"action_masks": masks} if maskable and masks is not None else {}
            return self.model.predict(observation, deterministic=deterministic, **kwargs)[0]

        scenes: list[Scene] = []
        for start in range(0, len(seeds), venv.num_envs):
            scenes.extend(venv.rollout(act, seeds[start : start + venv.num_envs], options))
        return scenes


def _valid(scenes: list[Scene]) -> np.ndarray:
    """``(len(scenes),)`` which scenes break no rule."""
    return violation_counts_many(scenes).sum(axis=1) == 0
