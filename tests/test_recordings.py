"""Recorded traffic as scenegym reads it: kinds inferred from sizes where a file types
every vehicle ``car``, size rules that real vehicles pass, the recording kept with every
scene, and splits that never put one recording on both sides."""

from __future__ import annotations

import numpy as np
import pytest

from scenegym.bridges import import_commonroad, write_commonroad
from scenegym.scene import (
    Road,
    Scene,
    Vehicles,
    grouped_split,
    is_valid,
    recording_of,
    rule_report,
)


def _all_cars_recording(path, *, scenario_id="USA_Rec-1_1_T-1"):
    """A recording whose file types every vehicle ``car`` (as converted NGSIM files do): an
    articulated truck of 19 m, a wide pickup, a saloon and a motorcycle."""
    road = Road.straight(length=200.0, lanes=3)
    vehicles = Vehicles.from_columns(
        lane=[0, 1, 2, 1],
        s=[40.0, 90.0, 140.0, 150.0],
        speed=[20.0, 22.0, 25.0, 24.0],
        length=[19.0, 6.1, 4.6, 2.1],
        width=[2.59, 2.56, 1.8, 0.8],
        kind=["car"] * 4,
    )
    return write_commonroad(Scene(road, vehicles), path, scenario_id=scenario_id)


def test_a_file_typing_everything_car_gets_kinds_from_sizes(tmp_path):
    path = _all_cars_recording(tmp_path / "rec.xml")
    scenes, summary = import_commonroad(path)
    (scene,) = scenes
    order = np.argsort(scene.vehicles.s)
    assert [scene.vehicles.kind_names[i] for i in order] == ["truck", "car", "car", "motorcycle"]
    assert summary["kinds_by_size"] == 2
    # Real vehicles pass the rules: the 2.56 m wide pickup is a valid car.
    report = rule_report(scenes)
    assert report["valid_vehicle_share"] == 1.0 and report["examples"] == []
    assert is_valid(scene)


def test_the_size_rule_names_a_car_too_long_for_a_car():
    road = Road.straight(length=100.0, lanes=2)
    vehicles = Vehicles.from_columns(
        lane=[0, 1], s=[30.0, 60.0], length=[19.0, 6.1], width=[2.5, 2.5], kind=["car", "car"]
    )
    report = rule_report([Scene(road, vehicles)])
    assert report["rules"]["size"] == {
        "vehicles": 1,
        "vehicle_share": 0.5,
        "scenes": 1,
        "scene_share": 1.0,
    }
    assert report["valid_vehicle_share"] == 0.5
    assert report["examples"] == [
        "scene 0: size: vehicle 0: 19.00 x 2.50 m is implausible for a car"
    ]


def test_every_imported_scene_names_its_recording(tmp_path):
    _all_cars_recording(tmp_path / "a.xml", scenario_id="USA_Rec-1_1_T-1")
    _all_cars_recording(tmp_path / "b.xml", scenario_id="USA_Rec-2_1_T-1")
    scenes, _ = import_commonroad(tmp_path)
    assert [recording_of(scene) for scene in scenes] == ["USA_Rec-1_1_T-1", "USA_Rec-2_1_T-1"]


def _recorded(recordings: int, per_recording: int) -> list[Scene]:
    road = Road.straight(length=100.0, lanes=2)
    return [
        Scene(road, Vehicles.empty(), context={"recording": f"r{r}", "time": float(t)})
        for r in range(recordings)
        for t in range(per_recording)
    ]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("held_out", [0.2, 0.5, 0.8])
def test_a_grouped_split_never_puts_one_recording_on_both_sides(seed, held_out):
    scenes = _recorded(7, 5)
    fit, held = grouped_split(scenes, held_out, seed=seed)
    fit_recordings = {recording_of(scenes[i]) for i in fit}
    held_recordings = {recording_of(scenes[i]) for i in held}
    assert fit_recordings and held_recordings
    assert not fit_recordings & held_recordings
    assert sorted([*fit, *held]) == list(range(len(scenes)))
    assert len(held_recordings) == max(1, min(6, round(7 * held_out)))


def test_a_split_of_one_recording_is_refused_in_one_line():
    with pytest.raises(ValueError, match=r"^reference holds 1 recording\(s\); a split") as error:
        grouped_split(_recorded(1, 4))
    assert "\n" not in str(error.value)


def test_scenes_without_a_recording_are_each_their_own_group():
    scenes = [Scene(Road.straight(length=100.0 + k, lanes=2), Vehicles.empty()) for k in range(4)]
    fit, held = grouped_split(scenes, 0.5, seed=0)
    assert (len(fit), len(held)) == (2, 2)
