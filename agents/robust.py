"""A PPO student that learns only from the steps it is told to keep: "robust" prioritised
replay (Jiang et al., 2021), where episodes on new scenes are played to score the scenes but
their transitions take no part in the gradient updates; only replayed scenes train the student.

``KeptRolloutBuffer`` is SB3's rollout buffer with a ``keep`` mask of its steps (all kept
after each reset); its minibatches are drawn from the kept steps alone. Returns and
advantages are still computed over every step, so an episode's regret score (value loss) is
the same whether its steps are kept or not. ``ReplayOnlyPPO`` uses that buffer and skips
the update of a rollout with no kept step. The curriculum callback sets the mask at the end
of each rollout from the scenes each environment drove.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.type_aliases import RolloutBufferSamples

__all__ = ["KeptRolloutBuffer", "ReplayOnlyPPO"]

_TENSORS = ("observations", "actions", "values", "log_probs", "advantages", "returns")
"""The rollout arrays SB3 flattens (environment-major) before drawing minibatches."""


class KeptRolloutBuffer(RolloutBuffer):
    """SB3's ``RolloutBuffer`` whose minibatches hold only the steps where ``keep`` (shape
    ``(buffer_size, n_envs)``) is true."""

    def reset(self) -> None:
        super().reset()
        self.keep = np.ones((self.buffer_size, self.n_envs), dtype=bool)

    def kept(self) -> int:
        """How many steps of the rollout train the model."""
        return int(self.keep.sum())

    def get(self, batch_size: int | None = None) -> Generator[RolloutBufferSamples, None, None]:
        if not self.full:
            raise RuntimeError("the rollout buffer is read before its rollout is complete")
        if not self.generator_ready:
            for name in _TENSORS:
                self.__dict__[name] = self.swap_and_flatten(self.__dict__[name])
            self.generator_ready = True
        # swap_and_flatten orders the steps environment by environment, as keep.T does; the
        # shuffle uses numpy's global generator, which SB3 seeds, as SB3's own buffer does
        kept = np.flatnonzero(self.keep.T.reshape(-1))
        indices = np.random.permutation(kept)  # noqa: NPY002
        size = batch_size or max(len(indices), 1)
        for start in range(0, len(indices), size):
            yield self._get_samples(indices[start : start + size])


class ReplayOnlyPPO(PPO):
    """SB3's PPO on a ``KeptRolloutBuffer``: it trains on the kept steps of each rollout and
    not at all on a rollout with none (logged as ``train/kept_steps``)."""

    def _setup_model(self) -> None:
        # Also on load, where SB3 calls this after filling in the saved fields.
        self.rollout_buffer_class = KeptRolloutBuffer
        super()._setup_model()

    def train(self) -> None:
        kept = self.rollout_buffer.kept()
        self.logger.record("train/kept_steps", kept)
        if kept:
            super().train()
