"""Evaluation metrics: exact values on hand-made inputs, and separation of a sample from the
reference's distribution, a shifted one and a mode-collapsed one.

Thresholds sit between the ranges each metric took over 20 seeds at these sample sizes
(200 per side), so they hold for other seeds too, not only the ones fixed here.
"""

import json

import numpy as np
import pytest

from scenegym.evaluation.metrics import (
    C2ST_MIN_ROWS,
    SCENE_FEATURES,
    VEHICLE_FEATURES,
    Standardiser,
    c2st_auc,
    duplicate_rate,
    evaluate,
    grid_coverage,
    ks_statistics,
    mean_pairwise_distance,
    median_bandwidth,
    mmd2,
    mmd2_floor,
    prdc,
    scene_features,
    vehicle_features,
    vendi,
    wasserstein,
)
from scenegym.scene import (
    DESCRIPTORS,
    GAP_CAP,
    HEADWAY_CAP,
    HighwaySceneSpace,
    HighwaySpaceConfig,
    Road,
    Scene,
    Vehicles,
    describe,
)

N = 200
WIDTH = len(SCENE_FEATURES)
SHIFTED_SPACE = HighwaySceneSpace(HighwaySpaceConfig(flow_speed=(0.8, 1.5), vehicles=(30, 60)))
"""Faster and denser traffic than the default space: a clearly shifted distribution."""


# ------------------------------------------------------------------------------ samples


@pytest.fixture(scope="module")
def gaussians() -> dict[str, np.ndarray]:
    """Reference N(0, I); same: N(0, I); shifted: N(1.5, I); collapsed: one row repeated."""
    rng = np.random.default_rng(7)
    return {
        "reference": rng.normal(size=(N, WIDTH)),
        "same": rng.normal(size=(N, WIDTH)),
        "shifted": rng.normal(size=(N, WIDTH)) + 1.5,
        "collapsed": np.repeat(rng.normal(size=(1, WIDTH)), N, axis=0),
    }


@pytest.fixture(scope="module")
def scenes() -> dict[str, list[Scene]]:
    """Reference and same: the default space; shifted: ``SHIFTED_SPACE``; collapsed: one scene
    of the default space repeated."""
    space = HighwaySceneSpace()
    same = list(space.sample_many(N, seed=2))
    return {
        "reference": list(space.sample_many(N, seed=1)),
        "same": same,
        "shifted": list(SHIFTED_SPACE.sample_many(N, seed=2)),
        "collapsed": [same[0]] * N,
    }


@pytest.fixture(scope="module")
def vehicle_rows(scenes) -> dict[str, np.ndarray]:
    return {name: vehicle_features(sample) for name, sample in scenes.items()}


@pytest.fixture(scope="module")
def scene_rows(scenes) -> dict[str, np.ndarray]:
    return {name: scene_features(sample) for name, sample in scenes.items()}


def _scene(lane, s, speed, length=None) -> Scene:
    road = Road.straight(length=600.0, lanes=3)
    n = len(lane)
    vehicles = Vehicles.from_columns(
        lane=lane,
        s=s,
        speed=speed,
        length=np.full(n, 4.0) if length is None else length,
        d=np.linspace(-0.2, 0.2, n),
        heading=np.linspace(-0.01, 0.01, n),
    )
    return Scene(road, vehicles)


# ----------------------------------------------------------------------------- features


def test_vehicle_features_have_one_row_per_vehicle_of_every_scene(scenes):
    features = vehicle_features(scenes["same"][:5])
    assert features.shape == (sum(len(s.vehicles) for s in scenes["same"][:5]), 8)
    assert len(VEHICLE_FEATURES) == 8


def test_vehicle_features_of_a_follower_hold_gap_headway_and_relative_speed():
    # Lane 0: 4 m cars at 100 m (13 m/s) and 130 m (15 m/s): gap 26 m, headway 2 s.
    # Lane 1: a 12 m truck at 200 m (12 m/s), a 4 m car 1 m behind it at 10 m/s: 0.1 s.
    scene = _scene(
        lane=[0, 0, 1, 1],
        s=[100.0, 130.0, 200.0, 191.0],
        speed=[13.0, 15.0, 12.0, 10.0],
        length=[4.0, 4.0, 12.0, 4.0],
    )
    features = vehicle_features([scene])
    assert features[0, :4] == pytest.approx([13.0, 26.0, 2.0, 2.0])
    assert features[3, :4] == pytest.approx([10.0, 1.0, 0.1, 2.0])


def test_vehicle_features_carry_offset_heading_and_size_columns():
    scene = _scene(lane=[0, 1], s=[100.0, 200.0], speed=[10.0, 20.0], length=[4.0, 12.0])
    features = vehicle_features([scene])
    v = scene.vehicles
    assert features[:, 4:].tolist() == np.column_stack([v.d, v.heading, v.length, v.width]).tolist()


def test_a_vehicle_without_a_leader_gets_the_capped_gap_and_headway_and_no_relative_speed():
    features = vehicle_features([_scene(lane=[0, 1], s=[100.0, 100.0], speed=[20.0, 30.0])])
    assert features[:, 1:4].tolist() == [[GAP_CAP, HEADWAY_CAP, 0.0]] * 2


def test_a_stopped_follower_gets_the_capped_headway():
    features = vehicle_features([_scene(lane=[0, 0], s=[100.0, 120.0], speed=[0.0, 5.0])])
    assert features[0, 2] == HEADWAY_CAP


def test_an_overlapping_follower_gets_zero_headway_and_a_negative_gap():
    features = vehicle_features([_scene(lane=[0, 0], s=[100.0, 103.0], speed=[10.0, 10.0])])
    assert features[0, 1] == pytest.approx(-1.0)
    assert features[0, 2] == 0.0


def test_gaps_beyond_the_cap_are_capped_but_headways_use_the_full_gap():
    features = vehicle_features([_scene(lane=[0, 0], s=[100.0, 404.0], speed=[50.0, 50.0])])
    assert features[0, 1] == GAP_CAP
    assert features[0, 2] == pytest.approx(300.0 / 50.0)


def test_no_scenes_give_an_empty_feature_table():
    assert vehicle_features([]).shape == (0, 8)
    assert scene_features([]).shape == (0, WIDTH)


def test_scene_features_are_the_descriptors_in_descriptor_order(scenes):
    sample = scenes["same"][:3]
    expected = [[describe(scene)[name] for name in DESCRIPTORS] for scene in sample]
    assert scene_features(sample).tolist() == expected
    assert SCENE_FEATURES == tuple(DESCRIPTORS)


def test_standardiser_gives_the_reference_zero_mean_and_unit_spread(gaussians):
    scaler = Standardiser.fit(gaussians["shifted"])
    standard = scaler.transform(gaussians["shifted"])
    assert np.allclose(standard.mean(axis=0), 0.0) and np.allclose(standard.std(axis=0), 1.0)


def test_standardiser_round_trips_through_json(gaussians):
    scaler = Standardiser.fit(gaussians["reference"], names=SCENE_FEATURES)
    restored = Standardiser.from_dict(json.loads(json.dumps(scaler.to_dict())))
    assert restored == scaler
    assert restored.transform(gaussians["same"]).tolist() == (
        scaler.transform(gaussians["same"]).tolist()
    )


def test_standardiser_floors_the_spread_of_a_constant_column():
    scaler = Standardiser.fit([[1.0, 3.0], [2.0, 3.0]])
    assert scaler.std[1] == 1e-9
    assert np.isfinite(scaler.transform([[1.0, 4.0]])).all()


# ----------------------------------------------------------------------------------- MMD


def test_mmd2_separates_gaussian_samples(gaussians):
    y = gaussians["reference"]
    assert abs(mmd2(gaussians["same"], y)) < 0.01
    assert mmd2(gaussians["shifted"], y) > 0.2
    assert mmd2(gaussians["collapsed"], y) > 0.2


def test_mmd2_separates_vehicle_features_of_scenes(vehicle_rows):
    y = vehicle_rows["reference"]
    assert abs(mmd2(vehicle_rows["same"], y)) < 0.005
    assert mmd2(vehicle_rows["shifted"], y) > 0.03
    assert mmd2(vehicle_rows["collapsed"], y) > 0.01


def test_mmd2_of_a_gaussian_sample_split_in_halves_is_near_its_floor(gaussians):
    y = gaussians["reference"]
    split = mmd2(y[: N // 2], y[N // 2 :])
    assert abs(split - mmd2_floor(y)) < 0.01  # a shift scores above 0.2


def test_mmd2_of_scenes_split_in_halves_is_near_the_floor_split_by_scene(scenes, vehicle_rows):
    y = vehicle_rows["reference"]
    groups = np.repeat(np.arange(N), [len(s.vehicles) for s in scenes["reference"]])
    cut = int(np.searchsorted(groups, N // 2))
    split = mmd2(y[:cut], y[cut:])
    assert abs(split - mmd2_floor(y, groups=groups)) < 0.01  # a shift scores above 0.03


def test_mmd2_floor_split_by_scene_is_above_the_floor_split_by_vehicle(scenes, vehicle_rows):
    # Vehicles of one scene resemble each other; halves that share scenes hide that.
    y = vehicle_rows["reference"]
    groups = np.repeat(np.arange(N), [len(s.vehicles) for s in scenes["reference"]])
    assert mmd2_floor(y, groups=groups) > mmd2_floor(y) + 1e-4


def test_mmd2_is_the_same_for_the_same_seed(gaussians):
    x, y = gaussians["same"], gaussians["reference"]
    assert mmd2(x, y, max_points=50, seed=3) == mmd2(x, y, max_points=50, seed=3)


# ---------------------------------------------------------------------------------- C2ST


# Over seeds, the AUC of two samples of one distribution spreads by about 0.04 at 200 per side
# (1-3 % of seeds land outside 0.5 +- 0.1) and 0.03 at 400, so these tests use 400.


@pytest.fixture(scope="module")
def large_scene_rows() -> tuple[np.ndarray, np.ndarray]:
    space = HighwaySceneSpace()
    return scene_features(space.sample_many(400, seed=3)), scene_features(
        space.sample_many(400, seed=4)
    )


def test_c2st_auc_is_near_one_half_for_scenes_of_the_same_distribution(large_scene_rows):
    assert c2st_auc(*large_scene_rows) == pytest.approx(0.5, abs=0.1)


def test_c2st_auc_is_near_one_half_for_gaussians_of_the_same_distribution():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(400, WIDTH)), rng.normal(size=(400, WIDTH))
    assert c2st_auc(x, y) == pytest.approx(0.5, abs=0.1)


def test_c2st_auc_is_above_0_9_for_shifted_samples(gaussians, scene_rows):
    assert c2st_auc(gaussians["shifted"], gaussians["reference"]) > 0.9
    assert c2st_auc(scene_rows["shifted"], scene_rows["reference"]) > 0.9


def test_c2st_auc_is_above_0_9_for_collapsed_samples(gaussians, scene_rows):
    assert c2st_auc(gaussians["collapsed"], gaussians["reference"]) > 0.9
    assert c2st_auc(scene_rows["collapsed"], scene_rows["reference"]) > 0.9


def test_c2st_auc_picks_out_a_sample_drawn_with_repeats(large_scene_rows):
    # Rows drawn with replacement from one sample repeat, and the classifier learns the
    # repeats (why a policy asks for each reference scene once before any twice).
    x, y = large_scene_rows
    repeated = x[np.random.default_rng(0).integers(len(x), size=len(x))]
    assert c2st_auc(repeated, y) > 0.65
    assert c2st_auc(x, y) < 0.6


def test_c2st_auc_balances_unequal_sample_sizes(large_scene_rows):
    x, y = large_scene_rows
    assert c2st_auc(x[:100], y) == pytest.approx(0.5, abs=0.15)  # spread 0.05 at 100


# ------------------------------------------------------------------------ KS, Wasserstein


def test_ks_statistics_separate_vehicle_features_of_scenes(vehicle_rows):
    y = vehicle_rows["reference"]
    assert max(ks_statistics(vehicle_rows["same"], y, VEHICLE_FEATURES).values()) < 0.15
    assert max(ks_statistics(vehicle_rows["shifted"], y, VEHICLE_FEATURES).values()) > 0.25
    assert max(ks_statistics(vehicle_rows["collapsed"], y, VEHICLE_FEATURES).values()) > 0.25


def test_ks_statistics_separate_gaussian_samples(gaussians):
    names = [f"c{j}" for j in range(WIDTH)]
    y = gaussians["reference"]
    assert max(ks_statistics(gaussians["same"], y, names).values()) < 0.25
    assert min(ks_statistics(gaussians["shifted"], y, names).values()) > 0.4
    assert max(ks_statistics(gaussians["collapsed"], y, names).values()) > 0.5


def test_wasserstein_separates_vehicle_features_of_scenes(vehicle_rows):
    y = vehicle_rows["reference"]
    assert max(wasserstein(vehicle_rows["same"], y, VEHICLE_FEATURES).values()) < 0.35
    assert max(wasserstein(vehicle_rows["shifted"], y, VEHICLE_FEATURES).values()) > 0.5
    assert max(wasserstein(vehicle_rows["collapsed"], y, VEHICLE_FEATURES).values()) > 0.5


def test_wasserstein_of_a_shift_is_its_size_in_reference_standard_deviations(gaussians):
    y = gaussians["reference"]
    distances = wasserstein(y + 2.0 * y.std(axis=0), y, [f"c{j}" for j in range(WIDTH)])
    assert list(distances.values()) == pytest.approx([2.0] * WIDTH)


# ---------------------------------------------------------------------------------- PRDC


def test_prdc_of_the_same_distribution_is_near_one(gaussians, scene_rows):
    for x, y in (
        (gaussians["same"], gaussians["reference"]),
        (scene_rows["same"], scene_rows["reference"]),
    ):
        values = prdc(x, y)
        assert min(values["precision"], values["recall"], values["coverage"]) > 0.8
        assert values["density"] == pytest.approx(1.0, abs=0.2)


def test_prdc_of_a_collapsed_sample_has_low_recall_and_coverage(gaussians, scene_rows):
    for x, y in (
        (gaussians["collapsed"], gaussians["reference"]),
        (scene_rows["collapsed"], scene_rows["reference"]),
    ):
        values = prdc(x, y)
        assert values["recall"] < 0.05 and values["coverage"] < 0.2


def test_prdc_of_a_shifted_sample_has_low_precision_and_coverage(gaussians, scene_rows):
    values = prdc(gaussians["shifted"], gaussians["reference"])
    assert values["precision"] < 0.4 and values["coverage"] < 0.2
    values = prdc(scene_rows["shifted"], scene_rows["reference"])
    assert values["density"] < 0.7 and values["coverage"] < 0.6


def test_prdc_of_a_sample_against_itself_is_perfect(gaussians):
    values = prdc(gaussians["reference"], gaussians["reference"])
    assert values == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}


# --------------------------------------------------------------------------------- Vendi


def test_vendi_of_identical_points_is_one():
    assert vendi(np.ones((50, 3)), bandwidth=1.0) == pytest.approx(1.0)


def test_vendi_of_far_apart_points_is_their_count():
    points = np.arange(40.0)[:, None] * 100.0
    assert vendi(points, bandwidth=1.0) == pytest.approx(40.0)


def test_vendi_of_collapsed_scenes_is_far_below_the_reference(scene_rows):
    scaler = Standardiser.fit(scene_rows["reference"])
    bandwidth = median_bandwidth(scaler.transform(scene_rows["reference"]))
    reference = vendi(scaler.transform(scene_rows["reference"]), bandwidth=bandwidth)
    same = vendi(scaler.transform(scene_rows["same"]), bandwidth=bandwidth)
    collapsed = vendi(scaler.transform(scene_rows["collapsed"]), bandwidth=bandwidth)
    assert collapsed == pytest.approx(1.0)
    assert same == pytest.approx(reference, rel=0.3)
    assert reference > 4.0


def test_vendi_does_not_change_when_a_sample_is_shifted(gaussians):
    x = gaussians["same"]
    assert vendi(x + 5.0, bandwidth=3.0) == pytest.approx(vendi(x, bandwidth=3.0))


# -------------------------------------------------------------------------- grid coverage


def test_grid_coverage_separates_scene_samples(scene_rows):
    y = scene_rows["reference"]
    assert grid_coverage(scene_rows["same"], y) > 0.35
    assert grid_coverage(scene_rows["shifted"], y) < 0.35


def test_grid_coverage_of_a_collapsed_sample_is_low(gaussians, scene_rows):
    assert grid_coverage(scene_rows["collapsed"], scene_rows["reference"]) < 0.05
    assert grid_coverage(gaussians["collapsed"], gaussians["reference"], bins=3) < 0.05


def test_grid_coverage_of_gaussians_is_lower_for_a_shifted_sample(gaussians):
    y = gaussians["reference"]
    assert grid_coverage(gaussians["same"], y, bins=3) > 0.7
    assert grid_coverage(gaussians["shifted"], y, bins=3) < 0.5


def test_grid_coverage_of_the_reference_itself_is_one(scene_rows):
    y = scene_rows["reference"]
    assert grid_coverage(y, y) == 1.0


# --------------------------------------------------------------------- distance, repeats


def test_mean_pairwise_distance_of_two_points_is_their_distance():
    assert mean_pairwise_distance([[0.0, 0.0], [3.0, 4.0]]) == pytest.approx(5.0)


def test_mean_pairwise_distance_of_a_collapsed_sample_is_zero(gaussians):
    assert mean_pairwise_distance(gaussians["collapsed"]) == 0.0
    assert mean_pairwise_distance(gaussians["same"]) > 3.0


def test_duplicate_rate_of_a_repeated_scene(scenes):
    assert duplicate_rate(scenes["collapsed"]) == pytest.approx((N - 1) / N)


def test_duplicate_rate_of_distinct_scenes_is_zero(scenes):
    assert duplicate_rate(scenes["same"]) == 0.0


# ------------------------------------------------------------------------------ evaluate

KEYS = {
    "scenes",
    "reference_scenes",
    "recordings",
    "reference_recordings",
    "floor_split",
    "validity_rate",
    "c2st_auc",
    "c2st_floor",
    "road",
    "traffic",
    "mmd2",
    "mmd2_floor",
    "precision",
    "recall",
    "density",
    "coverage",
    "vendi",
    "vendi_reference",
    "grid_coverage",
    "mean_pairwise_distance",
    "duplicate_rate",
    "ks",
    "wasserstein",
}


@pytest.fixture(scope="module")
def report(scenes) -> dict:
    return evaluate(scenes["same"][:60], scenes["reference"][:80], seed=4)


def test_evaluate_returns_every_metric_as_json(report):
    assert set(report) == KEYS
    assert set(report["road"]) == {"c2st_auc"}
    assert set(report["traffic"]) == {"c2st_auc", "c2st_floor"} | {
        f"{name}{suffix}"
        for name in ("precision", "recall", "density", "coverage")
        for suffix in ("", "_floor")
    }
    assert set(report["ks"]) == set(report["wasserstein"]) == set(VEHICLE_FEATURES)
    assert json.loads(json.dumps(report, allow_nan=False)) == report


def test_evaluate_is_the_same_for_the_same_seed(scenes, report):
    assert evaluate(scenes["same"][:60], scenes["reference"][:80], seed=4) == report


def test_evaluate_ranks_the_same_distribution_above_shifted_and_collapsed_samples(scenes):
    reference = scenes["reference"]
    same, shifted, collapsed = (
        evaluate(scenes[k], reference) for k in ("same", "shifted", "collapsed")
    )
    for worse in (shifted, collapsed):
        assert worse["c2st_auc"] > same["c2st_auc"] + 0.3
        assert worse["mmd2"] > same["mmd2"] + 0.004
        assert worse["coverage"] < same["coverage"] - 0.3
    assert same["mmd2"] == pytest.approx(same["mmd2_floor"], abs=0.005)
    assert collapsed["vendi"] == pytest.approx(1.0) and collapsed["duplicate_rate"] > 0.99


# ---------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mmd2(np.zeros((0, 3)), np.ones((5, 3))), "x must have at least 2"),
        (lambda: mmd2(np.ones((5, 3)), np.zeros((0, 3))), "y must have at least 2"),
        (lambda: mmd2([], np.ones((5, 3))), "x must be a 2-D array"),
        (lambda: mmd2(np.ones((5, 3)), np.ones((5, 4))), "x and y must have the same number"),
        (lambda: ks_statistics(np.ones((5, 3)), np.ones((5, 4)), "abc"), "x and y"),
        (lambda: prdc(np.ones((5, 2)), np.ones((9, 3))), "x and y"),
        (lambda: c2st_auc(np.ones((9, 2)), np.ones((50, 2))), "x has 9 rows"),
        (lambda: c2st_auc(np.ones((50, 2)), np.ones((3, 2))), "y has 3 rows"),
        (lambda: mmd2(np.ones((5, 3)), np.ones((5, 3)), bandwidth=0.0), "bandwidth"),
        (lambda: vendi(np.ones((5, 3)), bandwidth=-1.0), "bandwidth"),
        (lambda: vendi(np.zeros((0, 3)), bandwidth=1.0), "x must have at least 1"),
        (lambda: prdc(np.ones((5, 3)), np.ones((50, 3)), k=5), "x must have more than k=5"),
        (lambda: ks_statistics(np.ones((5, 2)), np.ones((5, 2)), ["a"]), "names"),
        (lambda: grid_coverage(np.ones((5, 3)), np.ones((5, 3))), "scene features"),
        (
            lambda: grid_coverage(np.ones((5, WIDTH)), np.ones((5, WIDTH)), features=["speed"]),
            "features",
        ),
        (lambda: mmd2_floor(np.ones((8, 2)), groups=np.zeros(8, int)), "groups"),
        (lambda: mmd2_floor(np.ones((8, 2)), groups=np.zeros(3, int)), "groups"),
        (lambda: mmd2(np.ones((5, 3)), np.ones((5, 3)), seed=-1), "seed"),
        (lambda: Standardiser.fit(np.ones((5, 3))).transform(np.ones((5, 2))), "x must have 3"),
        (lambda: Standardiser.from_dict({"mean": [0.0], "std": [1.0], "x": 1}), "unknown key"),
        (lambda: duplicate_rate([]), "scenes must hold at least 1"),
    ],
)
def test_bad_arrays_raise_value_error_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_evaluate_rejects_fewer_scenes_than_c2st_needs(scenes):
    with pytest.raises(ValueError, match=f"scenes must hold at least {C2ST_MIN_ROWS}"):
        evaluate(scenes["same"][:5], scenes["reference"])


def test_evaluate_rejects_too_few_reference_scenes(scenes):
    with pytest.raises(ValueError, match="reference must hold at least"):
        evaluate(scenes["same"], scenes["reference"][:3])


def test_evaluate_rejects_what_is_not_a_scene(scenes):
    with pytest.raises(TypeError, match=r"scenes\[1\] must be a Scene"):
        evaluate([scenes["same"][0], "scene", *scenes["same"][2:20]], scenes["reference"])


def test_metrics_on_arrays_reject_scenes_with_a_hint(scenes):
    with pytest.raises(TypeError, match="vehicle_features"):
        mmd2(scenes["same"], scenes["reference"])
