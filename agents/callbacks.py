"""stable-baselines3 callbacks of a training run: every reward term in the logs, the shared
archive of the population terms saved with the checkpoints, and the held-out evaluation.

Each overrides the hooks of SB3's ``BaseCallback`` (``_on_step`` and, where it needs them,
``_on_rollout_start`` / ``_on_rollout_end``); ``AtomicCheckpointCallback`` is SB3's
``CheckpointCallback`` writing each checkpoint whole or not at all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback

from scenegym._io import atomic_write_bytes
from scenegym.agents.policy import GenerationPolicy
from scenegym.agents.runs import TrainConfig
from scenegym.evaluation.metrics import evaluate
from scenegym.rewards.population import Archive
from scenegym.scene.scene import Scene

__all__ = ["ArchiveCallback", "AtomicCheckpointCallback", "HeldOutCallback", "RewardTermsCallback"]

HELD_OUT_SEED = 10**6
"""Seeds of held-out episodes start here (plus ``1000 * config.seed``): training environments
use ``config.seed`` + rank."""


class RewardTermsCallback(BaseCallback):
    """Logs the mean over each rollout of every reward term (``info["reward_terms"]``) and of
    the score (``info["score"]``) as ``reward_terms/<name>``."""

    def __init__(self, *, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.terms: dict[str, list[float]] = {}

    def _on_rollout_start(self) -> None:
        self.terms = {}

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            for name, value in info.get("reward_terms", {}).items():
                self.terms.setdefault(name, []).append(value)
            if "score" in info:
                self.terms.setdefault("score", []).append(info["score"])
        return True

    def _on_rollout_end(self) -> None:
        for name, values in self.terms.items():
            self.logger.record(f"reward_terms/{name}", float(np.mean(values)))


class ArchiveCallback(BaseCallback):
    """Saves the shared ``archive`` of the population terms to ``path`` every ``every`` calls
    (vector environment steps): with every checkpoint, when ``every`` is the checkpoints'."""

    def __init__(
        self, *, archive: Archive, path: str | os.PathLike, every: int, verbose: int = 0
    ) -> None:
        super().__init__(verbose)
        self.archive, self.path, self.every = archive, Path(path), max(1, int(every))

    def _on_step(self) -> bool:
        if self.n_calls % self.every == 0:
            self.archive.save(self.path)
        return True


class HeldOutCallback(BaseCallback):
    """Every ``config.eval_every`` steps: roll out ``config.eval_episodes`` held-out episodes
    (seeds no training environment uses) with the deterministic policy and log the validity
    rate, the mean score and every reward term of their final scenes under ``eval/``; with
    ``reference`` scenes, also their C2ST AUC, MMD², PRDC coverage and Vendi score against it.

    Args:
        config: the run's settings (its environment scores the scenes).
        run: the run folder (relative paths of the environment's inputs are inside it).
        reference: scenes taken as real, or None.
        models: the models of the environment's terms ready to score with
            (``GenerationPolicy``'s ``models``), or None.
    """

    def __init__(
        self,
        *,
        config: TrainConfig,
        run: str | os.PathLike | None = None,
        reference: list[Scene] | None = None,
        models: dict[str, Any] | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.config, self.run, self.reference = config, run, reference
        self.models = models
        self.every = max(1, config.eval_every // config.n_envs)
        self.seed = HELD_OUT_SEED + config.seed * 1000
        self.policy: GenerationPolicy | None = None

    def _init_callback(self) -> None:
        self.policy = GenerationPolicy(
            model=self.model, config=self.config, run=self.run, models=self.models
        )

    def _on_step(self) -> bool:
        if self.n_calls % self.every == 0:
            self.evaluate()
        return True

    def evaluate(self) -> dict[str, float]:
        """Roll out and measure the held-out episodes now; returns what it logs (without the
        ``eval/`` prefix)."""
        sample = self.policy.sample(self.config.eval_episodes, seed=self.seed, deterministic=True)
        score, terms = self.policy.score(sample.scenes)
        logged: dict[str, Any] = {
            name: float(np.mean(values)) for name, values in {**terms, "score": score}.items()
        }
        logged["validity_rate"] = float(np.mean(terms["validity"] == 1.0))
        if self.reference is not None:
            metrics = evaluate(sample.scenes, self.reference, seed=self.config.seed)
            values = {**metrics, "traffic_c2st_auc": metrics["traffic"]["c2st_auc"]}
            for name in ("c2st_auc", "traffic_c2st_auc", "mmd2", "coverage", "vendi"):
                if values[name] is not None:  # None: too few recordings to measure it
                    logged[name] = float(values[name])
        for name, value in logged.items():
            self.logger.record(f"eval/{name}", value)
        return logged


class AtomicCheckpointCallback(CheckpointCallback):
    """SB3's ``CheckpointCallback`` (model only), each checkpoint written to a temporary file
    and renamed: SB3 writes its zip in place, so a kill during the write left a cut
    checkpoint, and a run killed while writing its first one could not resume."""

    def _on_step(self) -> bool:
        if self.n_calls % self.save_freq == 0:
            import io

            buffer = io.BytesIO()
            self.model.save(buffer)
            atomic_write_bytes(self._checkpoint_path(extension="zip"), buffer.getvalue())
        return True
