"""Realism reward: how plausible each vehicle's car-following state is under the reference.

A Gaussian mixture is fitted (scikit-learn) on the reference's per-vehicle ``(speed, gap,
time headway, relative speed)``, with gap and headway on a log scale. Scoring is plain numpy,
cheap enough for an environment's inner loop. A vehicle's log-likelihood is turned into its
percentile among the reference's own vehicles; the vehicle's score is that percentile divided
by ``tail`` and clipped to [0, 1]. So a vehicle as likely as the typical 90 % of reference
vehicles scores 1 (with the default ``tail = 0.1``), and one less likely than every reference
vehicle scores 0. The scene's score is the mean over its vehicles.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scenegym._io import atomic_write_text
from scenegym.envs.batch import SceneBatch
from scenegym.envs.descriptors import GAP_CAP, HEADWAY_CAP
from scenegym.envs.scene import Scene

from .metrics import VEHICLE_FEATURES, scene_vehicle_features

__all__ = ["REALISM_FEATURES", "VehicleRealism"]

REALISM_FEATURES: tuple[str, ...] = ("speed", "gap", "time_headway", "relative_speed")
"""The per-vehicle features the realism model looks at."""

_COLUMNS = [VEHICLE_FEATURES.index(name) for name in REALISM_FEATURES]
_FORMAT = "scenegym.realism/1"


def _transform(features: NDArray[np.float64]) -> NDArray[np.float64]:
    """Model space: speed and relative speed as they are, gap and headway as log(1 + x)."""
    out = features[:, _COLUMNS].astype(np.float64, copy=True)
    out[:, 1] = np.log1p(np.clip(out[:, 1], 0.0, GAP_CAP))
    out[:, 2] = np.log1p(np.clip(out[:, 2], 0.0, HEADWAY_CAP))
    return out


@dataclass(frozen=True)
class VehicleRealism:
    """A fitted realism model; build it with ``VehicleRealism.fit(reference)``.

    Attributes:
        mean, scale: ``(4,)`` standardisation of the model-space features.
        weights: ``(k,)`` mixture weights.
        means: ``(k, 4)`` component means.
        precisions_cholesky: ``(k, 4, 4)`` Cholesky factors of the component precisions.
        quantiles: ``(101,)`` percentiles 0..100 of the reference vehicles' log-likelihoods.
        tail: reference percentile (as a share) below which a vehicle's score falls from 1.
    """

    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    weights: NDArray[np.float64]
    means: NDArray[np.float64]
    precisions_cholesky: NDArray[np.float64]
    quantiles: NDArray[np.float64]
    tail: float = 0.1

    @classmethod
    def fit(
        cls,
        reference: Iterable[Scene],
        *,
        components: int = 8,
        tail: float = 0.1,
        max_vehicles: int = 20000,
        seed: int = 0,
    ) -> VehicleRealism:
        """Fit on the vehicles of ``reference`` (at most ``max_vehicles``, drawn with ``seed``)."""
        from sklearn.mixture import GaussianMixture

        if not 0.0 < tail <= 1.0:
            raise ValueError(f"tail must be in (0, 1], got {tail!r}")
        reference = list(reference)
        features = SceneBatch.of(reference).vehicle_features() if reference else np.zeros((0, 8))
        if len(features) < 10 * components:
            raise ValueError(
                f"reference has {len(features)} vehicles; fitting {components} components "
                f"needs at least {10 * components}"
            )
        rng = np.random.default_rng(seed)
        if len(features) > max_vehicles:
            features = features[rng.choice(len(features), max_vehicles, replace=False)]
        x = _transform(features)
        mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
        z = (x - mean) / scale
        mixture = GaussianMixture(
            n_components=components, covariance_type="full", reg_covar=1e-3, random_state=seed
        ).fit(z)
        model = cls(
            mean=mean,
            scale=scale,
            weights=mixture.weights_,
            means=mixture.means_,
            precisions_cholesky=mixture.precisions_cholesky_,
            quantiles=np.zeros(101),
            tail=float(tail),
        )
        quantiles = np.percentile(model._log_likelihood(z), np.arange(101))
        return cls(**{**model.__dict__, "quantiles": quantiles})

    def _log_likelihood(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        # y[n, k] = P_k^T (z_n - mu_k); log N = -d/2 log 2pi + log det P_k - |y|^2 / 2
        diff = z[:, None, :] - self.means[None, :, :]
        y = np.einsum("nkd,kde->nke", diff, self.precisions_cholesky)
        log_det = np.log(np.diagonal(self.precisions_cholesky, axis1=1, axis2=2)).sum(axis=1)
        d = z.shape[1]
        log_prob = -0.5 * (d * np.log(2 * np.pi) + np.sum(y * y, axis=2)) + log_det
        weighted = log_prob + np.log(self.weights)
        top = weighted.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(weighted - top).sum(axis=1, keepdims=True)))[:, 0]

    def log_likelihood(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """Log-density of ``(n, 8)`` vehicle features (``VEHICLE_FEATURES`` columns)."""
        return self._log_likelihood((_transform(features) - self.mean) / self.scale)

    def vehicle_scores(self, scene: Scene) -> NDArray[np.float64]:
        """``(n,)`` score in [0, 1] of every vehicle of ``scene`` (see the module notes)."""
        return self._percentile_scores(scene_vehicle_features(scene))

    def score(self, scene: Scene) -> float:
        """Mean vehicle score of ``scene`` in [0, 1]; 0 for a scene without vehicles."""
        scores = self.vehicle_scores(scene)
        return float(scores.mean()) if scores.size else 0.0

    def scores(self, scenes: Sequence[Scene]) -> NDArray[np.float64]:
        """``score`` of each scene, in one vectorised pass."""
        scenes = list(scenes)
        if not scenes:
            return np.zeros(0)
        return self.batch_scores(SceneBatch.of(scenes))

    def batch_scores(self, batch: SceneBatch) -> NDArray[np.float64]:
        """``score`` of each scene of a ``SceneBatch``."""
        vehicles = self._percentile_scores(batch.vehicle_features())
        total = np.bincount(batch.scene_of, vehicles, minlength=batch.count)
        return np.where(batch.sizes > 0, total / np.maximum(batch.sizes, 1), 0.0)

    def _percentile_scores(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        if len(features) == 0:
            return np.zeros(0)
        percentile = np.interp(
            self.log_likelihood(features), self.quantiles, np.linspace(0, 1, 101)
        )
        return np.clip(percentile / self.tail, 0.0, 1.0)

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters; ``from_dict`` restores the model exactly."""
        return {
            "format": _FORMAT,
            "features": list(REALISM_FEATURES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
            "precisions_cholesky": self.precisions_cholesky.tolist(),
            "quantiles": self.quantiles.tolist(),
            "tail": self.tail,
        }

    @classmethod
    def from_dict(cls, data: Any) -> VehicleRealism:
        """Rebuild a model from ``to_dict`` output, checking its format and shapes."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"not a scenegym realism model (expected format {_FORMAT!r})")
        try:
            model = cls(
                mean=np.array(data["mean"], dtype=np.float64),
                scale=np.array(data["scale"], dtype=np.float64),
                weights=np.array(data["weights"], dtype=np.float64),
                means=np.array(data["means"], dtype=np.float64),
                precisions_cholesky=np.array(data["precisions_cholesky"], dtype=np.float64),
                quantiles=np.array(data["quantiles"], dtype=np.float64),
                tail=float(data["tail"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"realism model is incomplete or malformed: {error}") from None
        k, d = model.means.shape if model.means.ndim == 2 else (0, 0)
        if (
            d != len(REALISM_FEATURES)
            or model.weights.shape != (k,)
            or model.precisions_cholesky.shape != (k, d, d)
            or model.quantiles.shape != (101,)
        ):
            raise ValueError("realism model arrays have inconsistent shapes")
        return model

    def save(self, path: str | os.PathLike) -> None:
        """Write the model as JSON (atomically)."""
        atomic_write_text(path, json.dumps(self.to_dict()) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> VehicleRealism:
        """Read a model written by ``save``."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"realism model file {path} does not exist") from None
        except json.JSONDecodeError as error:
            raise ValueError(f"realism model file {path} is not valid JSON: {error}") from None
        return cls.from_dict(data)
