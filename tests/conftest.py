"""Hand-written scenes shaped like recorded freeway traffic, shared by the tests.

The layouts follow what recordings of busy freeways show: five main lanes 3.5-3.7 m wide, an
auxiliary lane between an on-ramp and an off-ramp, stop-and-go queues with 2-5 m gaps, vehicles
a little off their lane centre, a few mid-way through a lane change, trucks and motorcycles.
Every vehicle row below is written by hand.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import settings

from scenegym.bridges import ReferenceConfig
from scenegym.scene import Road, Scene, Vehicles, kind_code

SMALL_REFERENCE = ReferenceConfig(
    lanes=(2, 4),
    road_length=800.0,
    window=(150.0, 220.0),
    warmup=10.0,
    snapshots_per_run=4,
    windows_per_snapshot=2,
    interval=2.0,
)
"""A reference simulation small enough for tests (a few seconds for 60 scenes)."""

# (kind, length m, width m, gap to the vehicle behind m, offset from lane centre m,
#  heading to the lane rad, speed m/s); the first gap is measured from the lane start.
_CONGESTED_LANES: dict[int, list[tuple]] = {
    0: [  # leftmost lane: slow but moving
        ("car", 4.9, 1.9, 6.0, 0.15, 0.00, 7.8),
        ("car", 4.5, 1.8, 9.5, -0.10, 0.01, 8.2),
        ("car", 5.2, 2.0, 11.0, 0.25, -0.01, 8.6),
        ("motorcycle", 2.1, 0.8, 7.5, 0.60, 0.02, 8.9),
        ("car", 4.6, 1.8, 8.0, 0.05, 0.00, 8.4),
        ("car", 4.3, 1.7, 12.5, -0.30, 0.00, 9.1),
        ("car", 4.8, 1.9, 10.0, 0.10, 0.01, 9.4),
        ("car", 4.4, 1.8, 13.0, 0.00, 0.00, 9.8),
    ],
    1: [  # queue: 2-5 m gaps at walking pace
        ("car", 4.7, 1.8, 3.0, -0.20, 0.00, 2.1),
        ("car", 4.5, 1.8, 2.4, 0.10, 0.01, 2.4),
        ("truck", 16.5, 2.55, 3.8, 0.05, 0.00, 2.2),
        ("car", 4.2, 1.7, 4.6, -0.15, 0.00, 2.9),
        ("car", 5.0, 1.9, 2.1, 0.30, -0.02, 3.1),
        ("car", 4.6, 1.8, 3.3, 0.00, 0.00, 3.0),
        ("car", 4.8, 1.85, 4.9, -0.25, 0.01, 3.6),
        ("car", 4.4, 1.75, 2.8, 0.15, 0.00, 3.4),
        ("car", 4.5, 1.8, 3.6, 0.00, 0.00, 3.9),
    ],
    2: [
        ("car", 4.6, 1.8, 2.5, 0.20, 0.00, 1.2),
        ("car", 4.9, 1.9, 2.2, -0.10, 0.00, 1.0),
        ("bus", 12.2, 2.55, 4.1, 0.00, 0.00, 1.5),
        ("car", 4.3, 1.75, 3.0, 0.35, 0.01, 1.9),
        ("car", 4.7, 1.85, 2.6, -0.20, 0.00, 2.0),
        ("car", 4.5, 1.8, 4.4, 0.10, 0.00, 2.6),
        ("car", 4.4, 1.8, 2.9, 0.00, -0.01, 2.3),
        ("car", 5.1, 2.0, 3.5, -0.30, 0.00, 2.8),
    ],
    3: [  # one car half-way into lane 4, turned towards it
        ("truck", 18.0, 2.6, 4.0, -0.10, 0.00, 0.8),
        ("car", 4.5, 1.8, 2.3, 0.20, 0.00, 0.9),
        ("car", 4.6, 1.8, 3.1, -0.85, -0.09, 1.6),
        ("car", 4.8, 1.9, 4.7, 0.05, 0.00, 1.4),
        ("truck", 9.5, 2.5, 3.4, 0.00, 0.00, 1.1),
        ("car", 4.3, 1.7, 2.6, 0.15, 0.01, 1.7),
        ("car", 4.7, 1.8, 3.9, -0.20, 0.00, 2.0),
    ],
    4: [
        ("car", 4.6, 1.8, 5.0, 0.10, 0.00, 0.5),
        ("car", 4.4, 1.8, 2.0, -0.15, 0.00, 0.4),
        ("truck", 13.6, 2.55, 3.2, 0.20, 0.00, 0.6),
        ("car", 4.9, 1.9, 4.1, 0.00, 0.00, 1.3),
        ("car", 4.5, 1.8, 2.7, 0.40, 0.02, 1.0),
        ("car", 4.2, 1.7, 3.4, -0.10, 0.00, 1.5),
        ("car", 4.7, 1.85, 4.8, 0.00, 0.00, 1.9),
    ],
    5: [  # auxiliary lane from the on-ramp (s = 60 m) to the off-ramp (s = 240 m)
        ("car", 4.5, 1.8, 8.0, 0.30, 0.03, 6.5),
        ("car", 4.8, 1.9, 14.0, 0.10, 0.02, 7.1),
        ("car", 4.6, 1.8, 11.0, -0.20, 0.00, 5.8),
        ("truck", 10.2, 2.5, 9.0, 0.00, 0.00, 4.9),
        ("car", 4.4, 1.75, 6.0, 0.25, -0.01, 5.2),
    ],
}

_FREE_FLOW_LANES: dict[int, list[tuple]] = {
    0: [
        ("car", 4.7, 1.85, 12.0, 0.10, 0.00, 33.5),
        ("car", 4.5, 1.8, 48.0, -0.20, 0.00, 34.2),
        ("car", 4.9, 1.9, 39.0, 0.00, 0.01, 31.8),
        ("motorcycle", 2.2, 0.85, 55.0, 0.45, 0.00, 36.0),
        ("car", 4.4, 1.8, 42.0, 0.15, 0.00, 32.9),
    ],
    1: [
        ("car", 4.6, 1.8, 20.0, 0.00, 0.00, 29.0),
        ("truck", 16.4, 2.55, 35.0, -0.10, 0.00, 24.5),
        ("car", 4.3, 1.7, 31.0, 0.30, 0.04, 27.9),
        ("car", 4.8, 1.9, 44.0, -0.05, 0.00, 28.8),
        ("car", 4.5, 1.8, 37.0, 0.00, 0.00, 30.1),
    ],
    2: [
        ("truck", 16.5, 2.55, 8.0, 0.00, 0.00, 23.0),
        ("truck", 16.2, 2.55, 28.0, 0.10, 0.00, 22.6),
        ("car", 4.6, 1.8, 33.0, -0.25, 0.00, 25.4),
        ("bus", 12.0, 2.55, 40.0, 0.05, 0.00, 24.1),
        ("car", 4.4, 1.8, 36.0, 0.00, -0.01, 26.0),
    ],
    3: [  # on-ramp merging into lane 2 before s = 140 m
        ("car", 4.5, 1.8, 15.0, 0.20, 0.05, 21.0),
        ("car", 4.7, 1.85, 26.0, 0.05, 0.03, 22.5),
        ("truck", 11.0, 2.5, 30.0, 0.00, 0.02, 19.8),
    ],
}


def _build(road: Road, lanes: dict[int, list[tuple]]) -> Scene:
    columns: dict[str, list] = {k: [] for k in ("lane", "s", "d", "heading", "speed")}
    columns |= {"length": [], "width": [], "kind": []}
    for lane, rows in lanes.items():
        rear = float(road.lane_starts[lane])  # rear bumper limit of the next vehicle
        for kind, length, width, gap, d, heading, speed in rows:
            s = rear + gap + length / 2
            rear = s + length / 2
            for key, value in zip(
                ("lane", "s", "d", "heading", "speed", "length", "width", "kind"),
                (lane, s, d, heading, speed, length, width, kind_code(kind)),
            ):
                columns[key].append(value)
    return Scene(road, Vehicles(**columns), context={"source": "hand-written"})


def congested_freeway() -> Scene:
    """A 280 m section of a 5-lane freeway in stop-and-go traffic with an auxiliary lane."""
    road = Road(
        segment_lengths=[120.0, 160.0],
        segment_curvatures=[0.0, 1.0 / 1500.0],
        lane_widths=[3.6, 3.7, 3.6, 3.55, 3.5, 3.65],
        lane_starts=[0.0, 0.0, 0.0, 0.0, 0.0, 60.0],
        lane_ends=[280.0, 280.0, 280.0, 280.0, 280.0, 240.0],
        speed_limit=29.0,
        origin=(512.0, -80.0, 0.35),
    )
    return _build(road, _CONGESTED_LANES)


def free_flow_curve() -> Scene:
    """A curved 3-lane motorway at speed with a 140 m on-ramp lane."""
    road = Road(
        segment_lengths=[90.0, 140.0, 80.0],
        segment_curvatures=[0.0, -1.0 / 900.0, 1.0 / 1200.0],
        lane_widths=[3.75, 3.75, 3.7, 3.6],
        lane_starts=[0.0, 0.0, 0.0, 0.0],
        lane_ends=[310.0, 310.0, 310.0, 140.0],
        speed_limit=36.1,
    )
    return _build(road, _FREE_FLOW_LANES)


@pytest.fixture
def congested() -> Scene:
    return congested_freeway()


@pytest.fixture
def free_flow() -> Scene:
    return free_flow_curve()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


# CI runs the property tests on fixed examples so a red build always reproduces; locally they
# explore new examples on every run.
if os.environ.get("CI"):
    settings.register_profile("ci", derandomize=True, deadline=None)
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def tiny_prior(tmp_path_factory):
    """A scene prior fitted in a second on 30 random scenes: enough for interfaces, not
    quality."""
    from scenegym.generators.prior import fit_prior
    from scenegym.scene import HighwaySceneSpace

    scenes = list(HighwaySceneSpace().sample_many(30, 0))
    folder = tmp_path_factory.mktemp("tiny-prior") / "prior"
    return fit_prior(scenes, folder, {"epochs": 2, "width": 4, "latent": 1})


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A run folder trained for 128 steps: a real policy to sample from, not a good one."""
    from scenegym.agents.training import train

    config = {
        "env_kwargs": {"edit_budget": 4},
        "total_steps": 128,
        "n_envs": 2,
        "n_steps": 64,
        "batch_size": 64,
        "net_arch": [8, 8],
    }
    folder = tmp_path_factory.mktemp("tiny-run") / "run"
    train(config, folder)
    return folder
