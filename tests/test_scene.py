"""Scenes: immutability, lossless JSON, JSONL files and their errors."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenegym.scene import KINDS, Road, Scene, Vehicles, iter_scenes, read_scenes, write_scenes
from scenegym.scene.vehicles import PHYSICAL_RANGES

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


def _within(name: str) -> st.SearchStrategy:
    """Any float a vehicle's ``name`` may hold (rule-breaking ones included)."""
    low, high, _ = PHYSICAL_RANGES[name]
    return st.floats(low, high, exclude_min=low == 0.0, allow_nan=False)


@st.composite
def scenes(draw):
    n = draw(st.integers(0, 12))
    columns = {
        name: draw(st.lists(_within(name), min_size=n, max_size=n)) for name in PHYSICAL_RANGES
    }
    vehicles = Vehicles(
        lane=draw(st.lists(st.integers(-2, 6), min_size=n, max_size=n)),
        kind=draw(st.lists(st.integers(0, len(KINDS) - 1), min_size=n, max_size=n)),
        **columns,
    )
    lanes = draw(st.integers(1, 5))
    length = draw(st.floats(1.0, 1e4))
    widths = draw(st.lists(st.floats(1.0, 8.0), min_size=lanes, max_size=lanes))
    # Less than a full circle, and a right-turn radius above the carriageway width (see Road).
    curvature = st.floats(-0.2, 0.2).filter(
        lambda k: abs(k * length) < 6.2 and -k * sum(widths) < 0.95
    )
    road = Road(
        segment_lengths=[length],
        segment_curvatures=[draw(curvature)],
        lane_widths=widths,
        speed_limit=draw(st.floats(1.0, 60.0)),
        origin=(draw(st.floats(-1e8, 1e8)), draw(st.floats(-1e8, 1e8)), draw(st.floats(-4, 4))),
    )
    context = draw(st.dictionaries(st.text(max_size=5), st.one_of(st.text(max_size=5), finite)))
    return Scene(road, vehicles, context=context)


@settings(max_examples=80, deadline=None)
@given(scene=scenes())
def test_json_round_trip_is_lossless(scene):
    again = Scene.from_json(scene.to_json())
    assert again == scene
    assert again.to_json() == scene.to_json()
    assert again.id == scene.id


def test_scene_id_changes_when_a_vehicle_moves(congested):
    moved = congested.replace(
        vehicles=congested.vehicles.replace(
            s=congested.vehicles.s + np.eye(1, len(congested.vehicles))[0] * 0.01
        )
    )
    assert moved.id != congested.id
    assert Scene.from_json(congested.to_json()).id == congested.id


def test_scene_is_immutable(congested):
    with pytest.raises(AttributeError):
        congested.road = None
    with pytest.raises(ValueError, match="read-only"):
        congested.vehicles.speed[0] = 99.0
    with pytest.raises(TypeError):
        congested.context["weather"] = "rain"


def test_jsonl_file_round_trip(tmp_path, congested, free_flow):
    path = tmp_path / "scenes.jsonl"
    assert write_scenes(path, [congested, free_flow]) == 2
    assert read_scenes(path) == [congested, free_flow]
    assert len(path.read_text().splitlines()) == 2


def test_malformed_line_is_reported_with_its_number(tmp_path, congested):
    path = tmp_path / "scenes.jsonl"
    path.write_text(congested.to_json() + "\n{not json\n")
    scenes = iter_scenes(path)
    assert next(scenes) == congested
    with pytest.raises(ValueError, match=r"line 2: not valid JSON"):
        next(scenes)


def test_unknown_key_is_named(tmp_path, congested):
    data = congested.to_dict()
    data["vehicles"]["colour"] = ["red"] * len(congested.vehicles)
    path = tmp_path / "scenes.jsonl"
    path.write_text(json.dumps(data) + "\n")
    with pytest.raises(ValueError, match=r"line 1: vehicles has unknown key 'colour'"):
        read_scenes(path)


def test_columns_of_different_lengths_are_rejected():
    with pytest.raises(ValueError, match="vehicles.s has 1 values but vehicles.lane has 2"):
        Vehicles.from_columns(lane=[0, 1], s=[3.0])


def test_unknown_vehicle_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown vehicle kind 'tank'"):
        Vehicles.from_columns(lane=[0], s=[3.0], kind=["tank"])


def test_missing_scenes_file_gives_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        read_scenes(tmp_path / "nope.jsonl")


def test_failed_write_keeps_the_old_file(tmp_path, congested):
    path = tmp_path / "scenes.jsonl"
    write_scenes(path, [congested])
    before = path.read_bytes()
    with pytest.raises(TypeError):
        write_scenes(path, [congested, "not a scene"])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["scenes.jsonl"]


def test_negative_zero_gives_the_same_file_and_id_as_zero():
    road = Road.straight(length=100.0, lanes=2)
    tilted = Road(
        segment_lengths=[100.0],
        segment_curvatures=[-0.0],
        lane_widths=[3.5, 3.5],
        origin=(0.0, -0.0, -0.0),
    )
    a = Scene(road, Vehicles.from_columns(lane=[0], s=[10.0], d=[0.0], speed=[5.0]))
    b = Scene(tilted, Vehicles.from_columns(lane=[0], s=[10.0], d=[-0.0], speed=[5.0]))
    assert a == b
    assert a.to_json() == b.to_json() and a.id == b.id
