"""Population reward terms in training: a VecEnv wrapper that scores every environment's
finished scenes against one shared archive.

The terms (``novelty``, ``coverage``, and any other registered ``PopulationTerm``) and the
``Archive`` are ``scenegym.rewards.population``'s; they need every environment's finished
scenes, so they are scored here instead of inside the environment (one archive for all
environments, subprocess ones included). At the end of each episode the final scene's
descriptors (``info["descriptors"]``) are scored by every term, the weighted values are added
to that episode's last reward and reported in ``info["reward_terms"]``; then the scene joins
the archive.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from scenegym.rewards.population import DESCRIPTOR_SCALES, Archive
from scenegym.rewards.terms import PopulationTerm, RewardTerm, reward_term

__all__ = ["DESCRIPTOR_SCALES", "Archive", "PopulationReward"]


class PopulationReward(VecEnvWrapper):
    """Add weighted population terms to the last reward of every episode (module notes).

    Args:
        venv: the vectorised generation environments (their episode-end ``info`` must hold
            ``"descriptors"``, as ``DrivingLayoutEnv`` does).
        novelty, coverage: weights of the two terms.
        archive: the shared archive (a new one by default).
        weights: weights of further registered population terms, by name.
    """

    def __init__(
        self,
        venv: VecEnv,
        *,
        novelty: float = 0.0,
        coverage: float = 0.0,
        archive: Archive | None = None,
        weights: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__(venv)
        self.novelty, self.coverage = float(novelty), float(coverage)
        self.weights = {"novelty": self.novelty, "coverage": self.coverage}
        self.weights.update({name: float(weight) for name, weight in (weights or {}).items()})
        self.terms: dict[str, PopulationTerm] = {}
        for name in self.weights:
            term = reward_term(name)
            if isinstance(term, RewardTerm):
                raise ValueError(
                    f"weights: {name!r} is a per-scene term; weight it in the environment's "
                    "reward instead"
                )
            self.terms[name] = term
        self.archive = archive if archive is not None else Archive()

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        observations, rewards, dones, infos = self.venv.step_wait()
        rewards = np.array(rewards, dtype=np.float32)
        for i, done in enumerate(dones):
            descriptors = infos[i].get("descriptors")
            if not done or descriptors is None:
                continue
            point = self.archive.vector(descriptors)
            values = {name: term.score(point, self.archive) for name, term in self.terms.items()}
            rewards[i] += sum(self.weights[name] * value for name, value in values.items())
            infos[i].setdefault("reward_terms", {}).update(values)
            self.archive.add(descriptors)
        return observations, rewards, dones, infos
