"""OpenSCENARIO and OpenDRIVE export: schema-valid files, read back by scenegym and by
scenariogeneration's own parser, byte for byte repeatable; the critical storyboard scripts
the rollout's cut-in."""

from __future__ import annotations

import numpy as np
import pytest

from scenegym.bridges import (
    OPENSCENARIO_VERSIONS,
    export_openscenario,
    read_openscenario,
    write_openscenario,
)
from scenegym.bridges.openscenario import validate
from scenegym.scene import HighwaySceneSpace, Road, Scene, Vehicles, write_scenes
from tests.test_cli import assert_usage_error, run


@pytest.fixture(scope="module")
def scenes() -> list[Scene]:
    """Random-space scenes: curves, several segments, ramps and every vehicle kind."""
    drawn = list(HighwaySceneSpace().sample_many(40, 11))
    ramps = [
        s
        for s in drawn
        if (s.road.lane_starts > 0).any() or (s.road.lane_ends < s.road.length).any()
    ]
    curved = [s for s in drawn if s.road.max_curvature > 0 and s.road.segment_lengths.size > 1]
    assert ramps and curved
    return [ramps[0], curved[0], *drawn[:4]]


def _cut_in() -> Scene:
    """A car closes on a slow truck and changes lane in front of a slower car."""
    cars = Vehicles.from_columns(
        lane=[0, 1, 1], s=[50.0, 100.0, 140.0], speed=[22.0, 28.0, 15.0], length=[4.5, 4.5, 12]
    )
    return Scene(Road.straight(length=600.0, lanes=2), cars)


@pytest.mark.parametrize("version", OPENSCENARIO_VERSIONS)
def test_every_written_file_is_valid_against_the_official_schemas(scenes, version, tmp_path):
    for storyboard in ("constant", "critical"):
        paths = export_openscenario(
            [*scenes[:3], _cut_in()], tmp_path / storyboard, version=version, storyboard=storyboard
        )
        for path in paths:
            assert validate(path) == [], path
            assert validate(path.with_suffix(".xodr")) == [], path


def test_the_schema_check_finds_a_broken_file(scenes, tmp_path):
    path, _ = write_openscenario(scenes[0], tmp_path / "scene.xosc")
    broken = tmp_path / "broken.xosc"
    broken.write_text(path.read_text().replace("<Init>", "<Start>").replace("</Init>", "</Start>"))
    errors = validate(broken)
    assert errors and "Init" in errors[0]


def test_a_round_trip_gives_the_scene_back(scenes, tmp_path):
    for k, scene in enumerate(scenes):
        path, _ = write_openscenario(scene, tmp_path / f"{k}.xosc")
        back = read_openscenario(path)
        a, b = scene.vehicles, back.vehicles
        for column in ("lane", "kind"):
            np.testing.assert_array_equal(getattr(b, column), getattr(a, column))
        for column in ("s", "d", "heading", "speed", "length", "width"):
            np.testing.assert_allclose(getattr(b, column), getattr(a, column), atol=1e-9)
        road, again = scene.road, back.road
        for field in ("segment_lengths", "segment_curvatures", "lane_widths"):
            np.testing.assert_allclose(getattr(again, field), getattr(road, field), atol=1e-9)
        np.testing.assert_allclose(again.lane_starts, road.lane_starts, atol=1e-6)
        np.testing.assert_allclose(again.lane_ends, road.lane_ends, atol=1e-6)
        np.testing.assert_allclose(again.origin, road.origin, atol=1e-9)
        assert again.speed_limit == pytest.approx(road.speed_limit)


def test_scenariogeneration_reads_the_files_back(scenes, tmp_path):
    from scenariogeneration import xosc

    path, _ = write_openscenario(scenes[1], tmp_path / "scene.xosc")
    parsed = xosc.ParseOpenScenario(str(path))
    assert len(parsed.entities.scenario_objects) == len(scenes[1].vehicles)


def test_the_same_scenes_give_the_same_bytes(scenes, tmp_path):
    first = export_openscenario(scenes[:3], tmp_path / "a", storyboard="critical")
    second = export_openscenario(scenes[:3], tmp_path / "b", storyboard="critical")
    for one, two in zip(first, second):
        assert one.read_bytes() == two.read_bytes()
        assert one.with_suffix(".xodr").read_bytes() == two.with_suffix(".xodr").read_bytes()


def test_the_critical_storyboard_scripts_the_cut_in(tmp_path):
    path, _ = write_openscenario(_cut_in(), tmp_path / "cut.xosc", storyboard="critical")
    text = path.read_text()
    assert "<Story " in text and "AbsoluteTargetLane" in text
    assert 'entityRef="vehicle1"' in text  # the car that changes lane
    constant, _ = write_openscenario(_cut_in(), tmp_path / "plain.xosc")
    assert "<Story " not in constant.read_text()


def test_export_cli_writes_openscenario_and_refuses_bad_options(scenes, tmp_path, capsys):
    source = tmp_path / "scenes.jsonl"
    write_scenes(source, scenes[:2])
    out = tmp_path / "osc"
    status, printed, _ = run(
        ["export", str(source), "--format", "openscenario", "--out", str(out)], capsys
    )
    assert status == 0 and "OpenSCENARIO" in printed
    assert sorted(p.suffix for p in out.iterdir()) == [".xodr", ".xodr", ".xosc", ".xosc"]
    status, _, err = run(["export", str(source), "--format", "opendrive", "--out", "x"], capsys)
    assert "opendrive" in assert_usage_error(status, err)
    with pytest.raises(ValueError, match="version"):
        write_openscenario(scenes[0], tmp_path / "v.xosc", version="2.0")
    with pytest.raises(ValueError, match=".xosc"):
        write_openscenario(scenes[0], tmp_path / "v.xml")


def test_a_file_scenegym_cannot_read_gets_one_clear_line(scenes, tmp_path):
    path, road = write_openscenario(scenes[0], tmp_path / "scene.xosc")
    road.unlink()
    with pytest.raises(ValueError, match="does not exist"):
        read_openscenario(path)
    empty = tmp_path / "empty.xosc"
    empty.write_text("<OpenSCENARIO/>")
    with pytest.raises(ValueError, match="no OpenDRIVE road"):
        read_openscenario(empty)
    garbage = tmp_path / "garbage.xosc"
    garbage.write_text("<OpenSCENARIO>")
    with pytest.raises(ValueError, match="cannot read"):
        read_openscenario(garbage)
