"""What the metrics share: feature samples checked on the way in, ``Standardiser`` (the
reference's units), the RBF kernel with its median bandwidth, and the unbiased MMD² estimate."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.distance import cdist, pdist

from scenegym._checks import as_float_array, check_keys, check_whole
from scenegym.scene.scene import Scene

__all__ = [
    "MIN_STD",
    "Standardiser",
    "as_pair",
    "as_sample",
    "check_bandwidth",
    "check_names",
    "group_ids",
    "median_bandwidth",
    "mmd2_unbiased",
    "rbf_kernel",
    "rng_from",
    "side_groups",
    "split_halves",
    "subsample",
    "subsample_index",
]


MIN_STD = 1e-9
"""Floor of the per-column spread in ``Standardiser``, so constant columns do not divide by 0."""


def as_sample(name: str, value: Any, *, min_rows: int = 1) -> NDArray[np.float64]:
    """``value`` as a finite 2-D float array with at least ``min_rows`` rows and one column."""
    if isinstance(value, Scene) or (
        isinstance(value, Sequence) and value and isinstance(value[0], Scene)
    ):
        raise TypeError(
            f"{name} must be a 2-D array of features, got scenes; "
            "turn them into features with vehicle_features(...) or scene_features(...)"
        )
    array = as_float_array(name, value, ndim=2)
    if array.shape[0] < min_rows or array.shape[1] == 0:
        raise ValueError(
            f"{name} must have at least {min_rows} row(s) and 1 column (one row per sample), "
            f"got shape {array.shape}"
        )
    return array


def as_pair(x: Any, y: Any, *, min_rows: int = 1) -> tuple[NDArray, NDArray]:
    x = as_sample("x", x, min_rows=min_rows)
    y = as_sample("y", y, min_rows=min_rows)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must have the same number of columns (features), "
            f"got x with shape {x.shape} and y with shape {y.shape}"
        )
    return x, y


def check_bandwidth(bandwidth: Any) -> float:
    if (
        isinstance(bandwidth, bool)
        or not isinstance(bandwidth, (int, float, np.integer, np.floating))
        or not np.isfinite(bandwidth)
        or bandwidth <= 0
    ):
        raise ValueError(
            f"bandwidth must be a finite number > 0 (in standardised units), got {bandwidth!r}"
        )
    return float(bandwidth)


def check_names(names: Any, width: int) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise TypeError(f"names must be a sequence of strings, got {type(names).__name__}")
    names = tuple(names)
    if len(names) != width or not all(isinstance(n, str) for n in names):
        raise ValueError(f"names must be {width} strings, one per column, got {names!r}")
    return names


def rng_from(seed: Any) -> np.random.Generator:
    return np.random.default_rng(check_whole("seed", seed, 0))


def subsample(rng: np.random.Generator, array: NDArray, size: int) -> NDArray:
    """At most ``size`` rows of ``array``, drawn without replacement."""
    if len(array) <= size:
        return array
    return array[np.sort(rng.choice(len(array), size=size, replace=False))]


@dataclass(frozen=True, kw_only=True)
class Standardiser:
    """Per-column mean and spread of a reference sample: the statistics saved with a reference.

    ``transform(x) = (x - mean) / std``. Fit it on the reference and apply it to every
    generated sample, so all generators are measured in the same units. A column whose spread
    is below ``MIN_STD`` (constant in the reference) keeps ``MIN_STD``: any generated value
    that differs there lands very far away, which distance-based metrics then treat as
    unrealistic.

    Args:
        mean: ``(n_features,)`` column means.
        std: ``(n_features,)`` column standard deviations, each >= ``MIN_STD``.
        names: optional ``n_features`` column names, kept with the statistics so a saved
            file says what its columns are.

    >>> scaler = Standardiser.fit([[0.0, 5.0], [2.0, 5.0]], names=("a", "b"))
    >>> scaler.transform([[1.0, 5.0], [3.0, 5.0]]).tolist()
    [[0.0, 0.0], [2.0, 0.0]]
    >>> Standardiser.from_dict(scaler.to_dict()) == scaler
    True
    """

    mean: NDArray[np.float64]
    std: NDArray[np.float64]
    names: tuple[str, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        mean = as_float_array("mean", self.mean)
        std = as_float_array("std", self.std)
        if mean.shape != std.shape or mean.size == 0:
            raise ValueError(
                f"mean and std must be non-empty and of one length, got {mean.size} and {std.size}"
            )
        if np.any(std < MIN_STD):
            raise ValueError(f"std must be >= {MIN_STD:g} in every column, got {std.tolist()}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        if self.names is not None:
            object.__setattr__(self, "names", check_names(self.names, mean.size))

    @classmethod
    def fit(cls, reference: ArrayLike, *, names: Sequence[str] | None = None) -> Standardiser:
        """Fit on ``reference``, an ``(n, n_features)`` array with n >= 1."""
        reference = as_sample("reference", reference)
        return cls(
            mean=reference.mean(axis=0),
            std=np.maximum(reference.std(axis=0), MIN_STD),
            names=None if names is None else tuple(names),
        )

    @property
    def width(self) -> int:
        """Number of columns."""
        return int(self.mean.size)

    def transform(self, x: ArrayLike) -> NDArray[np.float64]:
        """``(n, n_features)`` -> the same shape, standardised."""
        x = as_float_array("x", x, ndim=2)
        if x.shape[1] != self.width:
            raise ValueError(
                f"x must have {self.width} columns as the reference had, got shape {x.shape}"
            )
        return (x - self.mean) / self.std

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_dict`` inverts it exactly."""
        return {
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "names": None if self.names is None else list(self.names),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Standardiser:
        """Rebuild from ``to_dict`` output; unknown or missing keys raise ``ValueError``."""
        check_keys("standardiser", data, {"mean", "std"}, {"names"})
        return cls(mean=data["mean"], std=data["std"], names=data.get("names"))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Standardiser)
            and np.array_equal(self.mean, other.mean)
            and np.array_equal(self.std, other.std)
            and self.names == other.names
        )

    __hash__ = None  # type: ignore[assignment]


def median_bandwidth(x: ArrayLike, *, max_points: int = 1000, seed: int = 0) -> float:
    """The median heuristic: median Euclidean distance between distinct rows of ``x``.

    Args:
        x: ``(n, n_features)`` array, n >= 2, usually standardised with the reference.
        max_points: rows used at most (a seeded subsample above it).
        seed: seed of the subsample.

    Returns:
        A bandwidth > 0 in the units of ``x``. When more than half of the pairs coincide the
        median is 0; then the mean of the non-zero distances is used, and 1.0 when all rows
        are equal.
    """
    x = as_sample("x", x, min_rows=2)
    x = subsample(rng_from(seed), x, check_whole("max_points", max_points, 2))
    distances = pdist(x)
    median = float(np.median(distances))
    if median > 0:
        return median
    positive = distances[distances > 0]
    return float(positive.mean()) if positive.size else 1.0


def rbf_kernel(a: NDArray, b: NDArray, bandwidth: float) -> NDArray[np.float64]:
    """``exp(-|a - b|^2 / (2 h^2))`` for every pair of rows."""
    return np.exp(cdist(a, b, "sqeuclidean") / (-2.0 * bandwidth**2))


def mmd2_unbiased(a: NDArray, b: NDArray, bandwidth: float) -> float:
    m, n = len(a), len(b)
    # The diagonals are exp(0) = 1; the unbiased estimate leaves them out.
    kaa = (rbf_kernel(a, a, bandwidth).sum() - m) / (m * (m - 1))
    kbb = (rbf_kernel(b, b, bandwidth).sum() - n) / (n * (n - 1))
    kab = rbf_kernel(a, b, bandwidth).mean()
    return float(kaa + kbb - 2.0 * kab)


def group_ids(name: str, groups: Any, rows: int) -> NDArray[np.int64]:
    if groups is None:
        return np.arange(rows)
    ids = np.asarray(groups)
    if ids.shape != (rows,) or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(
            f"{name} must be {rows} whole numbers (the scene index of each row), "
            f"got an array of shape {ids.shape} and dtype {ids.dtype}"
        )
    return ids


def split_halves(
    rng: np.random.Generator, groups: NDArray, ids: NDArray, count: int
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Row masks of two disjoint random sets of ``count`` of ``groups`` each (``ids``: the
    group of each row)."""
    order = rng.permutation(groups)
    return np.isin(ids, order[:count]), np.isin(ids, order[count : 2 * count])


def subsample_index(rng: np.random.Generator, length: int, size: int) -> NDArray[np.int64]:
    """The rows ``subsample`` keeps of ``length`` rows (the same draws)."""
    if length <= size:
        return np.arange(length)
    return np.sort(rng.choice(length, size=size, replace=False))


def side_groups(
    groups: tuple[ArrayLike, ArrayLike],
    sizes: tuple[int, int],
    kept: tuple[NDArray[np.int64], NDArray[np.int64]],
) -> NDArray[np.int64]:
    """One group code per kept row of both sides; an id on both sides is one group."""
    if not isinstance(groups, tuple) or len(groups) != 2:
        raise TypeError("groups must be (groups_x, groups_y), one id per row of each side")
    kept_ids = []
    for side, (values, size, index) in enumerate(zip(groups, sizes, kept)):
        values = np.asarray(values)
        if values.shape != (size,):
            raise ValueError(
                f"groups[{side}] holds {values.size} ids for {size} rows; give one per row"
            )
        kept_ids.append(values[index].astype(str))
    _, codes = np.unique(np.concatenate(kept_ids), return_inverse=True)
    return codes
