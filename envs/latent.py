"""The ``latent`` representation: one ``Box`` action is the latent code of a scene prior's
decoder (``scenegym.generators.prior``), decoded onto the episode's road."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from scenegym.envs.representation import OBSERVATION_BOUND, ColumnRepresentation

__all__ = ["LATENT_RANGE", "LatentRepresentation", "load_decoder"]

LATENT_RANGE = 3.0
"""``latent`` actions in [-1, 1] span +-3 standard deviations of the decoder's sampling
Gaussian along each of its whitened axes."""


def load_decoder(decoder: Any) -> Any:
    """The ``ScenePrior`` of the ``latent`` representation: ``decoder`` itself, or loaded
    from the path of a prior folder."""
    from scenegym.generators.prior import ScenePrior  # imports torch

    if isinstance(decoder, (str, os.PathLike)):
        decoder = ScenePrior.load(decoder)
    if not isinstance(decoder, ScenePrior):
        raise ValueError(
            "the latent representation needs decoder=a ScenePrior or the path of a prior "
            f"folder (scenegym fit-prior), got {type(decoder).__name__}"
        )
    return decoder


def _latent_codes(decoder: Any, actions: Any) -> NDArray[np.float64]:
    """Latent codes ``(n, latent_size)`` of ``n`` stacked ``latent`` actions: in the
    whitened coordinates of the decoder's sampling Gaussian times ``LATENT_RANGE``."""
    a = np.clip(np.asarray(actions, dtype=np.float64).reshape(len(actions), -1), -1.0, 1.0)
    return decoder.latent_mean + (LATENT_RANGE * a) @ decoder.latent_scale.T


class LatentRepresentation(ColumnRepresentation):
    """``latent``: ``Box(-1, 1, (latent_size,))``, the latent code of a scene prior in
    whitened coordinates; the decoder turns the codes of all rows into vehicles on their
    roads in one batch (``ScenePrior.decode_on``). One step, like ``oneshot``.
    ``DrivingLayoutEnv``'s docstring is the manual.

    Args:
        decoder: the ``ScenePrior`` whose latent space the actions are in.
        grid, max_vehicles, edit_budget, mean_size, rows: as ``Representation``.
    """

    name = "latent"

    def __init__(self, *, decoder: Any, **settings: Any) -> None:
        super().__init__(**settings)
        self.decoder = decoder
        size = decoder.config.latent_size
        self.action_space = spaces.Box(-1.0, 1.0, (size,), dtype=np.float32)
        self.parts = {
            "grid": spaces.Box(
                -OBSERVATION_BOUND, OBSERVATION_BOUND, self.grid.shape, dtype=np.float32
            )
        }

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "decoder": self.decoder}

    def apply(
        self, actions: Any, rows: NDArray[np.int64] | None = None
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
        """Decode the code of every row onto its road; terminated, with the score as reward."""
        rows = self.every_row if rows is None else rows
        codes = _latent_codes(self.decoder, np.asarray(actions).reshape(rows.size, -1))
        scenes = self.decoder.decode_on(codes, [self.roads[row] for row in rows.tolist()])
        for row, scene in zip(rows.tolist(), scenes):
            self.set_scene(row, scene)
        self.steps[rows] += 1
        ones = np.ones(rows.size, dtype=bool)
        return ones, ~ones, ones
