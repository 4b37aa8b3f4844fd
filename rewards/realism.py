"""Realism rewards: how plausible a scene is under Gaussian mixtures fitted on the reference.

``VehicleRealism`` judges each vehicle's car-following state; ``SceneRealism`` judges the scene
as a whole by its descriptors (vehicle count, density, speeds, headways, gaps, lane use, truck
share and the road's lanes and curvature), the view a classifier two-sample test takes. A
generator can please the first by keeping only a few easy vehicles; the second asks for the
reference's amount and arrangement of traffic.

Three reward terms score with fitted models (0 for every scene without one):

- ``realism``: ``VehicleRealism.batch_scores`` (0 for a scene without vehicles);
- ``scene_realism``: ``SceneRealism.batch_scores``, the scene's descriptors judged together;
- ``prior_realism``: ``ScenePrior.batch_scores``, the percentile of the scene's ELBO under a
  VAE scene prior (or of a GAN prior's discriminator score) among held-out reference scenes
  (``scenegym.generators.prior``).

The per-vehicle model:

A Gaussian mixture is fitted (scikit-learn) on the reference's per-vehicle features (by default
all of ``VEHICLE_FEATURES``: speed, gap, time headway, relative speed, lateral offset, heading,
length and width), with gap and headway on a log scale. Models saved before the offset, heading
and size were added hold the first four and load as they were. Scoring is plain numpy, cheap
enough for an environment's inner loop. A vehicle's log-likelihood is turned into its
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
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from scenegym._io import atomic_write_text
from scenegym.rewards.terms import TermContext, register_term
from scenegym.scene.batch import SceneBatch
from scenegym.scene.descriptors import DESCRIPTORS, GAP_CAP, HEADWAY_CAP
from scenegym.scene.features import VEHICLE_FEATURES, scene_vehicle_features
from scenegym.scene.scene import Scene

__all__ = [
    "REALISM_FEATURES",
    "SCENE_REALISM_FEATURES",
    "PriorRealismTerm",
    "RealismTerm",
    "SceneRealism",
    "SceneRealismTerm",
    "VehicleRealism",
]

REALISM_FEATURES: tuple[str, ...] = tuple(VEHICLE_FEATURES)
"""The per-vehicle features a realism model looks at by default: all of them, so that a
vehicle off its lane centre or at an odd heading is as implausible to the reward as it is to
the evaluation."""

SCENE_REALISM_FEATURES: tuple[str, ...] = tuple(DESCRIPTORS)
"""The scene descriptors the scene realism model looks at (all of ``DESCRIPTORS``)."""

_FORMAT = "scenegym.realism/1"
_SCENE_FORMAT = "scenegym.scene-realism/1"
_LOG_SCALED = [SCENE_REALISM_FEATURES.index(name) for name in ("vehicle_count", "density")]
_GAP = SCENE_REALISM_FEATURES.index("min_gap")


def _transform(features: NDArray[np.float64], names: Sequence[str]) -> NDArray[np.float64]:
    """Model space of the vehicle features ``names``: gap and headway as log(1 + x), the
    rest as they are."""
    out = features[:, [VEHICLE_FEATURES.index(name) for name in names]].astype(np.float64)
    for name, cap in (("gap", GAP_CAP), ("time_headway", HEADWAY_CAP)):
        if name in names:
            i = list(names).index(name)
            out[:, i] = np.log1p(np.clip(out[:, i], 0.0, cap))
    return out


def _scene_transform(features: NDArray[np.float64], names: Sequence[str]) -> NDArray[np.float64]:
    """Model space of scene descriptors (``names`` is always all of them): counts and
    densities as log(1 + x), the smallest gap clipped to [-20 m, GAP_CAP]; the rest as they
    are."""
    out = features.astype(np.float64, copy=True)
    out[:, _LOG_SCALED] = np.log1p(np.maximum(out[:, _LOG_SCALED], 0.0))
    out[:, _GAP] = np.clip(out[:, _GAP], -20.0, GAP_CAP)
    return out


@dataclass(frozen=True, kw_only=True)
class _Mixture:
    """A Gaussian mixture over standardised model-space features, scored as a percentile of
    the reference's own log-likelihoods. Subclasses say what a row is and how rows pool into
    a scene score.

    Attributes:
        mean, scale: ``(d,)`` standardisation of the model-space features.
        weights: ``(k,)`` mixture weights.
        means: ``(k, d)`` component means.
        precisions_cholesky: ``(k, d, d)`` Cholesky factors of the component precisions.
        quantiles: ``(101,)`` percentiles 0..100 of the reference rows' log-likelihoods.
        tail: reference percentile (as a share) below which a row's score falls from 1.
        features: the names of the features modelled (empty: the class's default).
    """

    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    weights: NDArray[np.float64]
    means: NDArray[np.float64]
    precisions_cholesky: NDArray[np.float64]
    quantiles: NDArray[np.float64]
    tail: float = 0.1
    features: tuple[str, ...] = ()

    _format: ClassVar[str]
    _names: ClassVar[tuple[str, ...]]
    _what: ClassVar[str]  # what a row is, for messages

    @classmethod
    def _known_features(cls, features: Any) -> bool:
        """Whether a saved model's feature list is one this kind of model can use."""
        return isinstance(features, list) and tuple(features) == cls._names

    @property
    def names(self) -> tuple[str, ...]:
        """The features modelled."""
        return self.features or self._names

    @staticmethod
    def _model_space(rows: NDArray[np.float64], names: Sequence[str]) -> NDArray[np.float64]:
        raise NotImplementedError

    @staticmethod
    def _rows(batch: SceneBatch) -> NDArray[np.float64]:
        raise NotImplementedError

    @classmethod
    def _fit_rows(
        cls,
        rows: NDArray[np.float64],
        components: int,
        tail: float,
        seed: int,
        features: tuple[str, ...] = (),
    ) -> _Mixture:
        from sklearn.mixture import GaussianMixture

        if not 0.0 < tail <= 1.0:
            raise ValueError(f"tail must be in (0, 1], got {tail!r}")
        if len(rows) < 10 * components:
            raise ValueError(
                f"reference has {len(rows)} {cls._what}; fitting {components} components "
                f"needs at least {10 * components}"
            )
        x = cls._model_space(rows, features or cls._names)
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
            features=tuple(features),
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

    def log_likelihood(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        """Log-density of feature rows (the columns the model is fitted on)."""
        return self._log_likelihood((self._model_space(rows, self.names) - self.mean) / self.scale)

    def _percentile_scores(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        if len(rows) == 0:
            return np.zeros(0)
        percentile = np.interp(self.log_likelihood(rows), self.quantiles, np.linspace(0, 1, 101))
        return np.clip(percentile / self.tail, 0.0, 1.0)

    def score(self, scene: Scene) -> float:
        """The score of ``scene`` in [0, 1]."""
        return float(self.batch_scores(SceneBatch.of([scene]))[0])

    def scores(self, scenes: Sequence[Scene]) -> NDArray[np.float64]:
        """``score`` of each scene, in one vectorised pass."""
        scenes = list(scenes)
        if not scenes:
            return np.zeros(0)
        return self.batch_scores(SceneBatch.of(scenes))

    def batch_scores(self, batch: SceneBatch) -> NDArray[np.float64]:
        """``score`` of each scene of a ``SceneBatch``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters; ``from_dict`` restores the model exactly."""
        return {
            "format": self._format,
            "features": list(self.names),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
            "precisions_cholesky": self.precisions_cholesky.tolist(),
            "quantiles": self.quantiles.tolist(),
            "tail": self.tail,
        }

    @classmethod
    def from_dict(cls, data: Any):
        """Rebuild a model from ``to_dict`` output, checking its format and shapes."""
        if not isinstance(data, dict) or data.get("format") != cls._format:
            raise ValueError(
                f"not a scenegym {cls._what} realism model (expected format {cls._format!r})"
            )
        features = data.get("features", list(cls._names))
        if not cls._known_features(features):
            raise ValueError(
                f"realism model features must be a list of names from {', '.join(cls._names)}"
                f", got {features!r}"
            )
        try:
            model = cls(
                mean=np.array(data["mean"], dtype=np.float64),
                scale=np.array(data["scale"], dtype=np.float64),
                weights=np.array(data["weights"], dtype=np.float64),
                means=np.array(data["means"], dtype=np.float64),
                precisions_cholesky=np.array(data["precisions_cholesky"], dtype=np.float64),
                quantiles=np.array(data["quantiles"], dtype=np.float64),
                tail=float(data["tail"]),
                features=tuple(features),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"realism model is incomplete or malformed: {error}") from None
        k, d = model.means.shape if model.means.ndim == 2 else (0, 0)
        if (
            d != len(model.names)
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
    def load(cls, path: str | os.PathLike):
        """Read a model written by ``save``."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"realism model file {path} does not exist") from None
        except json.JSONDecodeError as error:
            raise ValueError(f"realism model file {path} is not valid JSON: {error}") from None
        return cls.from_dict(data)


@dataclass(frozen=True, kw_only=True)
class VehicleRealism(_Mixture):
    """Per-vehicle realism; build it with ``VehicleRealism.fit(reference)``.

    A vehicle's score is the percentile of its log-likelihood among the reference's vehicles,
    divided by ``tail`` and clipped to [0, 1]; a scene's score is the mean over its vehicles
    (0 without vehicles). See ``_Mixture`` for the attributes.
    """

    _format: ClassVar[str] = _FORMAT
    _names: ClassVar[tuple[str, ...]] = REALISM_FEATURES
    _what: ClassVar[str] = "vehicles"

    @classmethod
    def _known_features(cls, features: Any) -> bool:
        return (
            isinstance(features, list)
            and bool(features)
            and all(name in VEHICLE_FEATURES for name in features)
        )

    @classmethod
    def fit(
        cls,
        reference: Iterable[Scene],
        *,
        components: int = 8,
        tail: float = 0.1,
        max_vehicles: int = 20000,
        seed: int = 0,
        features: Sequence[str] = REALISM_FEATURES,
    ) -> VehicleRealism:
        """Fit on the vehicles of ``reference`` (at most ``max_vehicles``, drawn with ``seed``),
        modelling ``features`` (names from ``VEHICLE_FEATURES``)."""
        features = tuple(features)
        unknown = [name for name in features if name not in VEHICLE_FEATURES]
        if unknown or not features:
            raise ValueError(
                f"features must name vehicle features from {', '.join(VEHICLE_FEATURES)}, "
                f"got {list(features)!r}"
            )
        reference = list(reference)
        rows = SceneBatch.of(reference).vehicle_features() if reference else np.zeros((0, 8))
        rng = np.random.default_rng(seed)
        if len(rows) > max_vehicles:
            rows = rows[rng.choice(len(rows), max_vehicles, replace=False)]
        return cls._fit_rows(rows, components, tail, seed, features)

    @staticmethod
    def _model_space(rows: NDArray[np.float64], names: Sequence[str]) -> NDArray[np.float64]:
        return _transform(rows, names)

    def log_likelihood(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """Log-density of ``(n, 8)`` vehicle features (``VEHICLE_FEATURES`` columns)."""
        return super().log_likelihood(features)

    def vehicle_scores(self, scene: Scene) -> NDArray[np.float64]:
        """``(n,)`` score in [0, 1] of every vehicle of ``scene`` (see the module notes)."""
        return self._percentile_scores(scene_vehicle_features(scene))

    def batch_scores(self, batch: SceneBatch) -> NDArray[np.float64]:
        """``score`` of each scene of a ``SceneBatch``."""
        vehicles = self._percentile_scores(batch.vehicle_features())
        total = np.bincount(batch.scene_of, vehicles, minlength=batch.count)
        return np.where(batch.sizes > 0, total / np.maximum(batch.sizes, 1), 0.0)


@dataclass(frozen=True, kw_only=True)
class SceneRealism(_Mixture):
    """Whole-scene realism; build it with ``SceneRealism.fit(reference)``.

    A scene's score is the percentile of the log-likelihood of its descriptors
    (``SCENE_REALISM_FEATURES``) among the reference's scenes, divided by ``tail`` and clipped
    to [0, 1]: a scene as likely as the typical 90 % of reference scenes scores 1 (default
    ``tail = 0.1``). See ``_Mixture`` for the attributes.
    """

    _format: ClassVar[str] = _SCENE_FORMAT
    _names: ClassVar[tuple[str, ...]] = SCENE_REALISM_FEATURES
    _what: ClassVar[str] = "scenes"

    @classmethod
    def fit(
        cls, reference: Iterable[Scene], *, components: int = 8, tail: float = 0.1, seed: int = 0
    ) -> SceneRealism:
        """Fit on the descriptors of the ``reference`` scenes."""
        reference = list(reference)
        rows = cls._rows(SceneBatch.of(reference)) if reference else np.zeros((0, 11))
        return cls._fit_rows(rows, components, tail, seed)

    @staticmethod
    def _model_space(rows: NDArray[np.float64], names: Sequence[str]) -> NDArray[np.float64]:
        return _scene_transform(rows, names)

    @staticmethod
    def _rows(batch: SceneBatch, described: dict | None = None) -> NDArray[np.float64]:
        described = described if described is not None else batch.describe()
        return np.column_stack([described[name] for name in SCENE_REALISM_FEATURES])

    def batch_scores(self, batch: SceneBatch, described: dict | None = None) -> NDArray:
        """``score`` of each scene of a ``SceneBatch`` (``described``: its ``describe()``
        when the caller has it already)."""
        return self._percentile_scores(self._rows(batch, described))


class RealismTerm:
    """The ``realism`` term: the ``VehicleRealism`` of ``context.models["realism"]``."""

    name = "realism"

    def scores(self, batch: SceneBatch, context: TermContext) -> NDArray[np.float64]:
        model = context.model("realism")
        return np.zeros(batch.count) if model is None else model.batch_scores(batch)


class SceneRealismTerm:
    """The ``scene_realism`` term: the ``SceneRealism`` of ``context.models["scene_realism"]``
    on the scenes' descriptors."""

    name = "scene_realism"

    def scores(self, batch: SceneBatch, context: TermContext) -> NDArray[np.float64]:
        model = context.model("scene_realism")
        if model is None:
            return np.zeros(batch.count)
        return model.batch_scores(batch, context.describe(batch))


class PriorRealismTerm:
    """The ``prior_realism`` term: the ``ScenePrior`` of ``context.models["prior"]``."""

    name = "prior_realism"

    def scores(self, batch: SceneBatch, context: TermContext) -> NDArray[np.float64]:
        model = context.model("prior")
        return np.zeros(batch.count) if model is None else model.batch_scores(batch)


register_term(RealismTerm())
register_term(SceneRealismTerm())
register_term(PriorRealismTerm())
