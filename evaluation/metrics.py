"""Evaluation metrics: how close generated scenes are to a reference, and how varied they are.

Two feature views are used. *Vehicle features* (``VEHICLE_FEATURES``) describe each vehicle in
its traffic context and are pooled over all scenes of a sample; *scene features*
(``SCENE_FEATURES``, the descriptors) summarise each scene in one row. Distances and kernels
work on features standardised with the reference's mean and spread (``Standardiser``), so every
generator is measured in the same units. ``evaluate`` runs them all and returns plain floats;
``docs/metrics.md`` tabulates what each one measures, its range and its ideal value.

In every two-sample function ``x`` is the generated sample and ``y`` the reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.distance import cdist, pdist

from scenegym._checks import check_whole
from scenegym.evaluation.kernels import (
    MIN_STD,
    Standardiser,
    as_pair,
    as_sample,
    check_bandwidth,
    check_names,
    group_ids,
    median_bandwidth,
    mmd2_unbiased,
    rbf_kernel,
    rng_from,
    side_groups,
    split_halves,
    subsample,
    subsample_index,
)
from scenegym.scene.features import (
    ROAD_FEATURES,
    SCENE_FEATURES,
    TRAFFIC_FEATURES,
    VEHICLE_FEATURES,
    as_scenes,
    scene_features,
    scene_vehicle_features,
    vehicle_features,
)
from scenegym.scene.groups import group_codes, group_names
from scenegym.scene.scene import Scene
from scenegym.scene.validity import violation_counts_many

__all__ = [
    "C2ST_MIN_ROWS",
    "GRID_FEATURES",
    "MIN_STD",
    "ROAD_FEATURES",
    "SCENE_FEATURES",
    "TRAFFIC_FEATURES",
    "VEHICLE_FEATURES",
    "Standardiser",
    "c2st_auc",
    "duplicate_rate",
    "evaluate",
    "frechet_distance",
    "frechet_scene_distance",
    "grid_coverage",
    "ks_statistics",
    "mean_pairwise_distance",
    "median_bandwidth",
    "mmd2",
    "mmd2_floor",
    "prdc",
    "scene_features",
    "scene_vehicle_features",
    "vehicle_features",
    "vendi",
    "wasserstein",
]


GRID_FEATURES: tuple[str, ...] = ("density", "mean_speed", "min_time_headway", "lane_count")
"""Descriptors that span the grid of ``grid_coverage``: how crowded, how fast, how close the
closest follower, how wide the road."""


C2ST_MIN_ROWS = 10
"""Fewest rows per side ``c2st_auc`` accepts: below it cross-validated AUC is mostly noise."""


def mmd2(
    x: ArrayLike,
    y: ArrayLike,
    *,
    bandwidth: float | None = None,
    max_points: int = 2000,
    seed: int = 0,
) -> float:
    """Squared maximum mean discrepancy between two samples (unbiased estimate, RBF kernel).

    Both samples are standardised with ``y``'s statistics; each is subsampled to
    ``max_points`` rows with a generator seeded by ``seed``. The kernel is
    ``exp(-|a - b|^2 / (2 h^2))``; ``h`` defaults to the median heuristic on the pooled
    standardised subsamples.

    Args:
        x: ``(n, n_features)`` generated sample, n >= 2.
        y: ``(m, n_features)`` reference sample, m >= 2.
        bandwidth: ``h`` in standardised units; pass one fixed value (``evaluate`` uses the
            reference's median heuristic) to compare several generators with one kernel.
        max_points: rows per side at most.
        seed: seed of the subsamples and of the median heuristic.

    Returns:
        About 0 (it can be slightly negative) when both samples come from one distribution,
        at most 2. Ideal: ``mmd2_floor`` at the same sample sizes. It is sensitive to any
        difference between the distributions (location, spread, shape, correlations) at the
        length scale of the kernel; compare values only at equal sample sizes and bandwidth.
    """
    x, y = as_pair(x, y, min_rows=2)
    max_points = check_whole("max_points", max_points, 2)
    scaler = Standardiser.fit(y)
    rng = rng_from(seed)
    a = scaler.transform(subsample(rng, x, max_points))
    b = scaler.transform(subsample(rng, y, max_points))
    if bandwidth is None:
        bandwidth = median_bandwidth(np.vstack([a, b]), seed=seed)
    return mmd2_unbiased(a, b, check_bandwidth(bandwidth))


def mmd2_floor(
    y: ArrayLike,
    *,
    groups: ArrayLike | None = None,
    repeats: int = 5,
    bandwidth: float | None = None,
    max_points: int = 2000,
    seed: int = 0,
) -> float:
    """MMD² between two random halves of the reference, averaged over ``repeats`` splits.

    It is the value a generator that reproduces the reference exactly gets at the same sample
    size, so report ``mmd2`` next to it rather than against 0. The floor shrinks as the
    sample grows: compare ``mmd2`` and its floor at equal sizes (``evaluate`` does).

    Rows of one scene are not independent (one road, one flow speed), so with vehicle features
    pass ``groups``, the scene index of each row: the halves are then split by scene, as two
    independent sets of scenes are, and the floor counts the within-scene similarity that an
    ideal generator's MMD² also carries. Split by row, the halves share scenes and the floor
    comes out too low.

    Args:
        y: ``(m, n_features)`` reference sample.
        groups: ``(m,)`` integer group (scene) of each row; None: every row is its own group.
        repeats: random splits to average (>= 1).
        bandwidth: RBF bandwidth in standardised units; None: median heuristic on ``y``.
        max_points: rows per half at most; both halves are cut to the same row count.
        seed: seed of the splits, subsamples and median heuristic.

    Returns:
        The mean MMD² over the splits (about 0 for independent rows, above 0 for grouped ones).
    """
    y = as_sample("y", y, min_rows=4)
    ids = group_ids("groups", groups, len(y))
    distinct = np.unique(ids)
    if len(distinct) < 2:
        raise ValueError(f"groups must name at least 2 distinct groups, got {len(distinct)}")
    repeats = check_whole("repeats", repeats, 1)
    max_points = check_whole("max_points", max_points, 2)
    scaler = Standardiser.fit(y)
    standard = scaler.transform(y)
    if bandwidth is None:
        bandwidth = median_bandwidth(standard, seed=seed)
    bandwidth = check_bandwidth(bandwidth)
    rng = rng_from(seed)
    values = []
    for _ in range(repeats):
        in_a, in_b = split_halves(rng, distinct, ids, len(distinct) // 2)
        size = min(int(in_a.sum()), int(in_b.sum()), max_points)
        if size < 2:
            raise ValueError(
                f"y splits into halves of fewer than 2 rows ({int(in_a.sum())} and "
                f"{int(in_b.sum())}); mmd2_floor needs more rows per group"
            )
        a = subsample(rng, standard[in_a], size)
        b = subsample(rng, standard[in_b], size)
        values.append(mmd2_unbiased(a, b, bandwidth))
    return float(np.mean(values))


def c2st_auc(
    x: ArrayLike,
    y: ArrayLike,
    *,
    seed: int = 0,
    folds: int = 5,
    groups: tuple[ArrayLike, ArrayLike] | None = None,
) -> float | None:
    """Classifier two-sample test: how well a classifier tells generated rows from reference.

    The larger side is subsampled to the size of the smaller (balanced classes), both are
    standardised with ``y``'s statistics, and a gradient-boosted tree ensemble (scikit-learn's
    ``HistGradientBoostingClassifier``, 100 iterations; it sees non-linear differences such
    as a narrower spread or a missing mode) is scored by ``folds``-fold stratified
    cross-validated ROC AUC (mean over folds); the leaf size shrinks with the sample (20 to
    2 rows) so small samples can still be split.

    With ``groups`` the folds keep each recording whole (``StratifiedGroupKFold``): else a
    classifier tells recordings apart by memory (docs/metrics.md).

    Args:
        x: ``(n, n_features)`` generated scene features, n >= ``C2ST_MIN_ROWS``.
        y: ``(m, n_features)`` reference scene features, m >= ``C2ST_MIN_ROWS``.
        seed: seed of the subsample, the folds and the classifier.
        folds: cross-validation folds, 2 to the balanced size (with ``groups``: at most
            the recordings of the side with fewer, and at least 2 of them).
        groups: None, or ``(groups_x, groups_y)``: one id per row of each; an id on both
            sides is one group (traffic generated on a recording's road goes with it).

    Returns:
        None with ``groups`` where a side holds fewer than 2 recordings; else the ROC AUC in
        [0, 1]. Ideal 0.5 (indistinguishable), 1.0 perfectly separable, below 0.5 noise (two
        samples of one distribution spread by about 0.04 over seeds at 200 rows per side,
        0.03 at 400). Sensitive to any difference a classifier can learn, joint ones
        included; insensitive to a generator that copies reference scenes.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    x, y = as_pair(x, y)
    for name, sample in (("x", x), ("y", y)):
        if len(sample) < C2ST_MIN_ROWS:
            raise ValueError(
                f"{name} has {len(sample)} rows; c2st_auc needs at least {C2ST_MIN_ROWS} "
                "scenes per side"
            )
    n = min(len(x), len(y))
    folds = check_whole("folds", folds, 2)
    if folds > n:
        raise ValueError(f"folds must be at most {n} (the balanced size), got {folds}")
    rng = rng_from(seed)
    scaler = Standardiser.fit(y)
    kept_x, kept_y = subsample_index(rng, len(x), n), subsample_index(rng, len(y), n)
    features = scaler.transform(np.vstack([x[kept_x], y[kept_y]]))
    labels = np.repeat([1, 0], n)
    ids = None if groups is None else side_groups(groups, (len(x), len(y)), (kept_x, kept_y))
    if ids is not None:
        fewest = min(len(np.unique(ids[:n])), len(np.unique(ids[n:])))
        if fewest < 2:
            return None  # no fold could hold out a recording of each side
        folds = min(folds, fewest)
    train_rows = 2 * n * (folds - 1) // folds
    classifier = HistGradientBoostingClassifier(
        max_iter=100,
        min_samples_leaf=int(np.clip(train_rows // 20, 2, 20)),
        early_stopping=False,
        random_state=seed,
    )
    if ids is None:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    # A few hundred rows are too few to share among OpenMP threads: one thread is as fast
    # when the machine is idle and many times faster when other processes hold the cores.
    with threadpool_limits(limits=1, user_api="openmp"):
        scores = cross_val_score(
            classifier, features, labels, groups=ids, cv=splitter, scoring="roc_auc"
        )
    return float(np.mean(scores))


def ks_statistics(x: ArrayLike, y: ArrayLike, names: Sequence[str]) -> dict[str, float]:
    """Two-sample Kolmogorov-Smirnov statistic per column (``scipy.stats.ks_2samp``).

    Args:
        x: ``(n, n_features)`` generated sample.
        y: ``(m, n_features)`` reference sample.
        names: ``n_features`` column names, the keys of the result.

    Returns:
        ``{name: D}`` with D in [0, 1]: the largest gap between the two empirical CDFs. Ideal
        0 (noise about ``1.36 * sqrt(1/n + 1/m)``). Sensitive to any difference of one
        column's distribution, blind to correlations between columns, scale-free.
    """
    from scipy.stats import ks_2samp

    x, y = as_pair(x, y)
    names = check_names(names, x.shape[1])
    return {
        name: float(ks_2samp(x[:, j], y[:, j], method="asymp").statistic)
        for j, name in enumerate(names)
    }


def wasserstein(x: ArrayLike, y: ArrayLike, names: Sequence[str]) -> dict[str, float]:
    """1-Wasserstein (earth mover's) distance per column, in reference standard deviations.

    Columns are standardised with ``y``'s statistics, then compared with
    ``scipy.stats.wasserstein_distance``.

    Args:
        x: ``(n, n_features)`` generated sample.
        y: ``(m, n_features)`` reference sample.
        names: ``n_features`` column names, the keys of the result.

    Returns:
        ``{name: W}`` with W >= 0 (unbounded): how far, on average, mass has to move to turn
        one column's distribution into the other. Ideal 0. Grows with the size of a shift
        (unlike KS, which saturates at 1); sensitive to tails; blind to correlations.
    """
    from scipy.stats import wasserstein_distance

    x, y = as_pair(x, y)
    names = check_names(names, x.shape[1])
    scaler = Standardiser.fit(y)
    a, b = scaler.transform(x), scaler.transform(y)
    return {name: float(wasserstein_distance(a[:, j], b[:, j])) for j, name in enumerate(names)}


def prdc(
    x: ArrayLike,
    y: ArrayLike,
    *,
    k: int = 5,
    max_points: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """Precision, recall, density and coverage (Naeem et al. 2020) with the reference as the
    real manifold.

    Both samples are standardised with ``y``'s statistics. A real row's radius is the distance
    to its ``k``-th nearest real neighbour; a generated row's radius the same among generated
    rows. With ``1[.]`` true when a strict inequality holds:

    - precision: share of generated rows within some real row's radius (realism);
    - recall: share of real rows within some generated row's radius (diversity);
    - density: generated rows counted by how many real radii contain them, / k (realism,
      robust to real outliers; 1 for matching distributions, can exceed 1);
    - coverage: share of real rows whose nearest generated row lies within the real row's
      radius (diversity, robust to generated outliers).

    Args:
        x: ``(n, n_features)`` generated sample, n > k.
        y: ``(m, n_features)`` reference sample, m > k.
        k: neighbours of the radius (Naeem et al. use 5).
        max_points: rows per side at most (a seeded subsample above it).
        seed: seed of the subsamples.

    Returns:
        ``{"precision", "recall", "coverage"}`` in [0, 1] and ``"density"`` in [0, m / k];
        ideal about 1 for each. The values depend on the sample sizes and ``k``: compare at
        equal sizes (``evaluate`` passes as many generated rows as reference rows).
    """
    x, y = as_pair(x, y)
    k = check_whole("k", k, 1)
    max_points = check_whole("max_points", max_points, 2)
    for name, sample in (("x", x), ("y", y)):
        if len(sample) <= k:
            raise ValueError(f"{name} must have more than k={k} rows, got {len(sample)}")
    rng = rng_from(seed)
    scaler = Standardiser.fit(y)
    fake = scaler.transform(subsample(rng, x, max_points))
    real = scaler.transform(subsample(rng, y, max_points))
    # Column k of the partitioned distances skips the row itself (distance 0, column 0).
    real_radius = np.partition(cdist(real, real), k, axis=1)[:, k]
    fake_radius = np.partition(cdist(fake, fake), k, axis=1)[:, k]
    real_fake = cdist(real, fake)  # (n_real, n_fake)
    inside_real = real_fake < real_radius[:, None]
    return {
        "precision": float(inside_real.any(axis=0).mean()),
        "recall": float((real_fake < fake_radius[None, :]).any(axis=1).mean()),
        "density": float(inside_real.sum(axis=0).mean() / k),
        "coverage": float((real_fake.min(axis=1) < real_radius).mean()),
    }


def vendi(x: ArrayLike, *, bandwidth: float, max_points: int = 2000, seed: int = 0) -> float:
    """Vendi score: the effective number of distinct rows, ``exp(-sum(l * log l))`` over the
    eigenvalues ``l`` of ``K / n`` for the RBF similarity ``K`` (Friedman and Dieng 2023).

    Args:
        x: ``(n, n_features)`` sample, as given (``evaluate`` standardises with the reference).
        bandwidth: RBF bandwidth in the units of ``x``. Pass the same value for every sample
            compared (``evaluate`` uses the reference's median heuristic); the score depends
            on it.
        max_points: rows used at most (a seeded subsample above it); the cost is O(n^3).
        seed: seed of the subsample.

    Returns:
        A float in [1, n]: 1 when all rows are equal, n when they are all much farther apart
        than ``bandwidth``. Higher is more diverse; the ideal is the reference's score at the
        same n (``vendi_reference`` in ``evaluate``). Sensitive to clusters and repeats, blind
        to whether the rows are realistic.
    """
    x = as_sample("x", x)
    bandwidth = check_bandwidth(bandwidth)
    x = subsample(rng_from(seed), x, check_whole("max_points", max_points, 1))
    eigenvalues = np.linalg.eigvalsh(rbf_kernel(x, x, bandwidth) / len(x))
    eigenvalues = eigenvalues[eigenvalues > 1e-12]
    eigenvalues = eigenvalues / eigenvalues.sum()
    entropy = -np.sum(eigenvalues * np.log(eigenvalues))
    return float(np.clip(np.exp(entropy), 1.0, len(x)))


def grid_coverage(
    x: ArrayLike,
    y: ArrayLike,
    *,
    bins: int = 8,
    features: Sequence[str] = GRID_FEATURES,
) -> float:
    """Share of the descriptor-grid cells occupied by the reference that ``x`` also occupies.

    Each chosen descriptor is cut into ``bins`` equal bins between the reference's 1st and
    99th percentiles; values outside go to the edge bins. A cell is one combination of bins.

    Args:
        x: ``(n, len(SCENE_FEATURES))`` generated scene features (``scene_features``).
        y: ``(m, len(SCENE_FEATURES))`` reference scene features.
        bins: bins per descriptor.
        features: descriptor names spanning the grid (default ``GRID_FEATURES``: density,
            mean_speed, min_time_headway, lane_count).

    Returns:
        A share in [0, 1]. Higher is better; 1 means every kind of scene the reference holds
        (at this resolution) is generated. Even a sample from the reference's own
        distribution stays below 1 when cells hold few reference scenes, so compare at equal
        sample sizes. Sensitive to missing modes; blind to what happens outside the
        reference's cells (unrealistic scenes do not lower it).
    """
    x, y = as_pair(x, y)
    if x.shape[1] != len(SCENE_FEATURES):
        raise ValueError(
            f"x and y must be scene features with {len(SCENE_FEATURES)} columns "
            f"({', '.join(SCENE_FEATURES)}), got shape {x.shape}"
        )
    bins = check_whole("bins", bins, 1)
    if isinstance(features, str):
        raise TypeError(f"features must be a sequence of descriptor names, got {features!r}")
    unknown = [f for f in features if f not in SCENE_FEATURES]
    if unknown or not features or len(set(features)) != len(features):
        raise ValueError(
            f"features must be distinct descriptor names from {SCENE_FEATURES}, got {features!r}"
        )
    columns = [SCENE_FEATURES.index(f) for f in features]
    x, y = x[:, columns], y[:, columns]
    low, high = np.percentile(y, [1.0, 99.0], axis=0)
    width = np.where(high > low, (high - low) / bins, 1.0)

    def cells(sample: NDArray) -> NDArray:
        index = np.clip(np.floor((sample - low) / width), 0, bins - 1).astype(np.int64)
        return np.unique(np.ravel_multi_index(index.T, (bins,) * len(columns)))

    reference_cells = cells(y)
    return float(np.isin(reference_cells, cells(x)).mean())


def mean_pairwise_distance(x: ArrayLike, *, max_points: int = 2000, seed: int = 0) -> float:
    """Mean Euclidean distance between distinct rows.

    Args:
        x: ``(n, n_features)`` sample, n >= 2, as given (``evaluate`` passes scene features
            standardised with the reference, so the unit is one reference standard deviation).
        max_points: rows used at most (a seeded subsample above it).
        seed: seed of the subsample.

    Returns:
        A distance >= 0; 0 when all rows are equal. Higher is more spread out; the reference's
        own value is the natural target. Dominated by outliers and by the columns that vary
        most; blind to clusters (two far clumps score high).
    """
    x = as_sample("x", x, min_rows=2)
    x = subsample(rng_from(seed), x, check_whole("max_points", max_points, 2))
    return float(pdist(x).mean())


def duplicate_rate(scenes: Iterable[Scene]) -> float:
    """Share of scenes whose ``scene.id`` already appeared earlier in ``scenes``.

    Returns:
        A share in [0, 1); ideal 0. ``n`` copies of one scene give ``(n - 1) / n``. Sensitive
        only to exact repeats (equal content), not to near-copies.
    """
    scenes = as_scenes("scenes", scenes, min_count=1)
    return 1.0 - len({scene.id for scene in scenes}) / len(scenes)


def frechet_distance(x: ArrayLike, y: ArrayLike) -> float:
    """Fréchet distance between Gaussians fitted to the rows of ``x`` and of ``y``.

    ``|mu_x - mu_y|^2 + Tr(S_x + S_y - 2 (S_x S_y)^(1/2))`` with sample means ``mu`` and
    covariances ``S`` (the FID formula). In feature space of a scene prior
    (``ScenePrior.encode``) it is the Fréchet Scene Distance. 0 for equal moments; biased
    upwards for small samples, so compare values at equal sizes and against a floor
    (``evaluate``'s ``fsd_floor``).

    Args:
        x, y: ``(rows, features)`` arrays, at least 2 rows each, equal widths.

    Returns:
        A float >= 0.
    """
    a, b = as_pair(x, y, min_rows=2)
    mean = a.mean(axis=0) - b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    # Tr (S_a S_b)^(1/2) = sum of the square roots of the eigenvalues of the symmetric
    # R S_b R, R = S_a^(1/2): stable for the singular covariances of few rows in many features.
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    inner = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2.0), 0.0, None)).sum()
    value = float(mean @ mean + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_root)
    return max(value, 0.0)


def frechet_scene_distance(
    scenes: Sequence[Scene],
    reference: Sequence[Scene],
    features: Any,
    *,
    seed: int = 0,
    splits: int = 5,
) -> tuple[float, float]:
    """Fréchet Scene Distance of ``scenes`` to ``reference`` and its floor, at equal sizes.

    ``h = min(len(scenes), len(reference) // 2)``. In each of ``splits`` random splits the
    reference is cut into disjoint sets A and B of ``h`` scenes and ``h`` generated scenes G
    are drawn; the result is the mean ``frechet_distance`` of G to A and, as the floor, of B
    to A (what a generator that matches the reference scores at this size).

    Args:
        scenes, reference: at least 2 and 4 scenes.
        features: a callable from a list of scenes to ``(scenes, features)`` rows, such as
            ``ScenePrior.encode``.
        seed: seed of the splits.

    Returns:
        ``(fsd, fsd_floor)``.
    """
    scenes = as_scenes("scenes", scenes, min_count=2)
    reference = as_scenes("reference", reference, min_count=4)
    if not callable(features):
        raise TypeError(
            f"features must be callable (scenes -> rows), got {type(features).__name__}"
        )
    x, y = np.asarray(features(scenes)), np.asarray(features(reference))
    rng = np.random.default_rng([seed, 7])
    half = min(len(scenes), len(reference) // 2)
    values, floors = [], []
    for _ in range(splits):
        order = rng.permutation(len(reference))
        a, b = y[order[:half]], y[order[half : 2 * half]]
        g = x[rng.choice(len(scenes), size=half, replace=False)]
        values.append(frechet_distance(g, a))
        floors.append(frechet_distance(b, a))
    return float(np.mean(values)), float(np.mean(floors))


def evaluate(
    scenes: Iterable[Scene], reference: Iterable[Scene], *, seed: int = 0, prior: Any = None
) -> dict[str, Any]:
    """Every metric of generated ``scenes`` against ``reference`` scenes, as plain floats.

    Vehicle features (``VEHICLE_FEATURES``) feed ``mmd2``, ``ks`` and ``wasserstein``; scene
    features (``SCENE_FEATURES``) the rest. Features are standardised with the reference's
    statistics and kernels use its median-heuristic bandwidth, so results of different
    generators against one reference are comparable.

    Equal sizes where a metric depends on them, and floors that keep recordings whole:

    - The reference is split into halves A and B by recording (``recording_of``; by scene
      with fewer than 2 recordings: ``floor_split`` says which); ``reference_recordings`` and
      ``recordings`` count the recordings of each side.
    - ``mmd2`` and ``mmd2_floor``: in each of 5 random splits, ``h`` generated scenes G are
      drawn (``h``: as many as A holds, at most all of them); all three are cut to one
      vehicle count (at most 2000); ``mmd2`` is the mean of MMD²(G, A), ``mmd2_floor`` the
      mean of MMD²(B, A). A generator that matches the reference has ``mmd2 ≈ mmd2_floor``.
    - PRDC, ``vendi``, ``vendi_reference`` and ``grid_coverage``: the larger side is
      subsampled to the size of the smaller; ``c2st_auc`` balances its classes the same way.
      ``c2st_floor``: the C2ST of B against A of the first split.
    - ``road`` and ``traffic``: realism in two parts: ``c2st_auc`` on the road's descriptors
      (``ROAD_FEATURES``) alone, and ``c2st_auc`` and PRDC on the others
      (``TRAFFIC_FEATURES``) with their floors (B against A): the traffic put on the roads.
    - ``ks``, ``wasserstein``, ``mean_pairwise_distance`` (up to 2000 scenes), ``validity_rate``
      and ``duplicate_rate`` use every scene.

    Args:
        scenes: generated scenes, at least ``C2ST_MIN_ROWS`` (10).
        reference: reference scenes, at least ``C2ST_MIN_ROWS``.
        seed: seed of every subsample, split and classifier; the same seed and inputs give
            the same result.
        prior: a ``ScenePrior``: adds ``fsd`` and ``fsd_floor`` (``frechet_scene_distance``
            in its ``encode`` features); the other metrics do not depend on it.

    Returns:
        A JSON-ready dict: ``scenes``, ``reference_scenes``, ``recordings``,
        ``reference_recordings`` (counts), ``floor_split``, ``validity_rate``, ``c2st_auc``,
        ``c2st_floor``, ``mmd2``, ``mmd2_floor``, ``precision``, ``recall``, ``density``,
        ``coverage``, ``vendi``, ``vendi_reference``, ``grid_coverage``,
        ``mean_pairwise_distance``, ``duplicate_rate`` (floats; counts as ints), ``road``,
        ``traffic``, ``ks`` and ``wasserstein`` (``{name: float}``; see above).
    """
    scenes = as_scenes("scenes", scenes, min_count=C2ST_MIN_ROWS)
    reference = as_scenes("reference", reference, min_count=C2ST_MIN_ROWS)
    rng = rng_from(seed)
    halves = _ReferenceHalves(reference)

    x_vehicles, y_vehicles = vehicle_features(scenes), vehicle_features(reference)
    generated_mmd2, floor_mmd2 = _split_mmd2(
        scenes, reference, halves, (x_vehicles, y_vehicles), rng, seed
    )

    rows = (scene_features(scenes), scene_features(reference))
    groups = (group_names(scenes, "generated"), group_names(reference, "reference"))
    scene_level = _scene_metrics(rows, groups, rng, seed)
    parts = _parts(rows, groups, halves, seed)
    result = {
        "scenes": len(scenes),
        "reference_scenes": len(reference),
        "recordings": len(group_codes(scenes)[1]),
        "reference_recordings": halves.count,
        "floor_split": halves.unit,
        "validity_rate": float(np.mean(violation_counts_many(scenes).sum(axis=1) == 0)),
        "c2st_auc": scene_level.pop("c2st_auc"),
        "c2st_floor": parts.pop("c2st_floor"),
        "mmd2": generated_mmd2,
        "mmd2_floor": floor_mmd2,
        **scene_level,
        "duplicate_rate": duplicate_rate(scenes),
        **parts,
        "ks": _per_feature(ks_statistics, x_vehicles, y_vehicles),
        "wasserstein": _per_feature(wasserstein, x_vehicles, y_vehicles),
    }
    if prior is not None:
        result["fsd"], result["fsd_floor"] = frechet_scene_distance(
            scenes, reference, prior.encode, seed=seed
        )
    return result


def _per_feature(metric, x: NDArray, y: NDArray) -> dict[str, float | None]:
    """``metric`` per vehicle feature; None for each when ``x`` holds no vehicle."""
    if len(x) == 0:
        return dict.fromkeys(VEHICLE_FEATURES)
    return metric(x, y, VEHICLE_FEATURES)


class _ReferenceHalves:
    """Random splits of the reference into two halves that keep recordings whole (by scene
    when it holds fewer than 2 recordings)."""

    def __init__(self, reference: list[Scene]) -> None:
        codes, names = group_codes(reference)
        self.count = len(names)
        self.unit = "recording" if self.count >= 2 else "scene"
        self.scene_group = codes if self.count >= 2 else np.arange(len(reference))
        self.groups = int(self.scene_group.max()) + 1

    def split(self, rng: np.random.Generator) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """Scene masks of halves A and B (an odd group out is left out)."""
        ids = self.scene_group
        return split_halves(rng, np.arange(self.groups), ids, self.groups // 2)


def _split_mmd2(
    scenes: list[Scene],
    reference: list[Scene],
    halves: _ReferenceHalves,
    vehicle_rows: tuple[NDArray[np.float64], NDArray[np.float64]],
    rng: np.random.Generator,
    seed: int,
) -> tuple[float | None, float]:
    """``evaluate``'s ``mmd2`` and ``mmd2_floor``: vehicle features pooled over scenes, the
    reference split into halves A and B (``halves``), 5 times. ``mmd2`` is None when the
    generated scenes hold fewer than 2 vehicles in all (a generator of empty roads)."""
    x_vehicles, y_vehicles = vehicle_rows
    if len(y_vehicles) < 2:
        raise ValueError(f"reference must hold at least 2 vehicles in all, got {len(y_vehicles)}")
    empty = len(x_vehicles) < 2
    if empty:
        x_vehicles = y_vehicles  # stands in so the floor's splits are drawn as always
    y_scene = np.repeat(np.arange(len(reference)), [len(s.vehicles) for s in reference])
    x_groups = np.repeat(np.arange(len(scenes)), [len(s.vehicles) for s in scenes])
    drawable = len(scenes)
    if empty:
        x_groups, drawable = y_scene, len(reference)
    vehicle_scaler = Standardiser.fit(y_vehicles)
    x_standard, y_standard = (
        vehicle_scaler.transform(x_vehicles),
        vehicle_scaler.transform(y_vehicles),
    )
    vehicle_bandwidth = median_bandwidth(y_standard, seed=seed)
    generated_values, floor_values = [], []
    for _ in range(5):
        scenes_a, scenes_b = halves.split(rng)
        in_a, in_b = scenes_a[y_scene], scenes_b[y_scene]
        drawn = min(drawable, max(1, int(scenes_a.sum())))
        in_g = np.isin(x_groups, rng.choice(drawable, size=drawn, replace=False))
        size = min(int(in_a.sum()), int(in_b.sum()), int(in_g.sum()), 2000)
        if size < 2:
            continue  # a split whose scenes hold fewer than 2 vehicles says nothing
        a = subsample(rng, y_standard[in_a], size)
        b = subsample(rng, y_standard[in_b], size)
        g = subsample(rng, x_standard[in_g], size)
        generated_values.append(mmd2_unbiased(g, a, vehicle_bandwidth))
        floor_values.append(mmd2_unbiased(b, a, vehicle_bandwidth))
    if not generated_values:
        raise ValueError(
            "scenes and reference hold too few vehicles to compare half the reference with "
            "the generated scenes (fewer than 2 vehicles per side)"
        )
    generated = None if empty else float(np.mean(generated_values))
    return generated, float(np.mean(floor_values))


def _parts(
    rows: tuple[NDArray[np.float64], NDArray[np.float64]],
    groups: tuple[list[str], list[str]],
    halves: _ReferenceHalves,
    seed: int,
) -> dict[str, Any]:
    """``evaluate``'s ``c2st_floor`` and its ``road`` and ``traffic`` parts, from the scene
    features and groups of the generated and the reference scenes."""
    x, y = rows
    gx, gy = np.array(groups[0]), np.array(groups[1])
    road = [SCENE_FEATURES.index(name) for name in ROAD_FEATURES]
    traffic = [SCENE_FEATURES.index(name) for name in TRAFFIC_FEATURES]
    rng = rng_from(seed)
    in_a, in_b = halves.split(rng)
    a, b = y[in_a], y[in_b]
    floor_ok = min(len(a), len(b)) >= C2ST_MIN_ROWS
    halves_groups = (gy[in_b], gy[in_a])
    size = min(len(x), len(y))
    quality = prdc(subsample(rng, x[:, traffic], size), subsample(rng, y[:, traffic], size))
    parts: dict[str, Any] = {
        "c2st_floor": c2st_auc(b, a, seed=seed, groups=halves_groups) if floor_ok else None,
        "road": {"c2st_auc": c2st_auc(x[:, road], y[:, road], seed=seed, groups=(gx, gy))},
        "traffic": {
            "c2st_auc": c2st_auc(x[:, traffic], y[:, traffic], seed=seed, groups=(gx, gy)),
            "c2st_floor": (
                c2st_auc(b[:, traffic], a[:, traffic], seed=seed, groups=halves_groups)
                if floor_ok
                else None
            ),
            **quality,
        },
    }
    if floor_ok:
        size = min(len(a), len(b))
        floor = prdc(subsample(rng, b[:, traffic], size), subsample(rng, a[:, traffic], size))
        parts["traffic"].update({f"{key}_floor": value for key, value in floor.items()})
    return parts


def _scene_metrics(
    rows: tuple[NDArray[np.float64], NDArray[np.float64]],
    groups: tuple[list[str], list[str]],
    rng: np.random.Generator,
    seed: int,
) -> dict[str, float]:
    """``evaluate``'s scene-level metrics from the scene features (and groups) of the
    generated and the reference scenes, with equal sizes for those that depend on them."""
    x_scenes, y_scenes = rows
    scene_scaler = Standardiser.fit(y_scenes, names=SCENE_FEATURES)
    size = min(len(x_scenes), len(y_scenes))
    # The reference's subsample depends on its size alone, so sets of one size are measured
    # against the same reference scenes (and show the same reference Vendi score).
    x_equal = subsample(rng, x_scenes, size)
    y_equal = subsample(np.random.default_rng([seed, size]), y_scenes, size)
    scene_bandwidth = median_bandwidth(scene_scaler.transform(y_scenes), seed=seed)
    quality = prdc(x_equal, y_equal, k=5, seed=seed)
    return {
        "c2st_auc": c2st_auc(x_scenes, y_scenes, seed=seed, groups=groups),
        "precision": quality["precision"],
        "recall": quality["recall"],
        "density": quality["density"],
        "coverage": quality["coverage"],
        "vendi": vendi(scene_scaler.transform(x_equal), bandwidth=scene_bandwidth, seed=seed),
        "vendi_reference": vendi(
            scene_scaler.transform(y_equal), bandwidth=scene_bandwidth, seed=seed
        ),
        "grid_coverage": grid_coverage(x_equal, y_equal),
        "mean_pairwise_distance": mean_pairwise_distance(
            scene_scaler.transform(x_scenes), seed=seed
        ),
    }
