"""Fuzzing the inputs a user hands scenegym: every generated input ends in success or one
clear line with exit status 2, never a traceback and never a silently wrong output."""

import contextlib
import io
import json
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenegym.cli import main
from scenegym.scene import HighwaySceneSpace, Scene

_SCENE = json.loads(next(iter(HighwaySceneSpace().sample_many(1, 0))).to_json())

_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.recursive(st.lists(st.none(), max_size=1), lambda inner: st.lists(inner, max_size=1)),
)
"""Values that stand where a number, a list or an object belongs."""


def _leaves(data, path=()):
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(data, list) and data:
        for index, value in enumerate(data):
            yield from _leaves(value, (*path, index))
    yield path


@st.composite
def broken_scenes(draw):
    """A valid scene's JSON with 1 to 3 places replaced, a key dropped or an extra added."""
    data = json.loads(json.dumps(_SCENE))
    places = [p for p in _leaves(data) if p]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(places))
        holder = data
        try:
            for key in path[:-1]:
                holder = holder[key]
            action = draw(st.sampled_from(["replace", "drop", "add"]))
            if action == "replace":
                holder[path[-1]] = draw(_ODD)
            elif action == "drop" and isinstance(holder, dict):
                del holder[path[-1]]
            elif isinstance(holder, dict):
                holder[draw(st.text(max_size=4))] = draw(_ODD)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this place
    return data


def _cli(argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main([str(a) for a in argv])
        except SystemExit as stop:  # argparse's own usage errors
            status = stop.code
    return status, err.getvalue()


def _one_clear_line(status: int, err: str) -> None:
    assert status in (0, 2), (status, err)
    assert "Traceback" not in err, err
    if status == 2:
        lines = [line for line in err.splitlines() if line.startswith("scenegym")]
        assert len(lines) == 1 and "error" in lines[0], err


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=broken_scenes())
def test_scene_json_is_read_or_refused_with_a_named_reason(data):
    try:
        scene = Scene.from_dict(data)
    except (TypeError, ValueError) as error:
        message = str(error)
        assert message and "\n" not in message
        return
    # Accepted: every value is a finite number within its physical range, and it round-trips.
    again = Scene.from_json(scene.to_json())
    assert again == scene
    for name in ("s", "d", "heading", "speed", "length", "width"):
        assert np.isfinite(getattr(scene.vehicles, name)).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=broken_scenes())
def test_commands_that_read_scenes_succeed_or_say_one_line(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.jsonl"
        path.write_text(json.dumps(data) + "\n")
        for argv in (
            ["describe", path],
            ["render", path, "--out", Path(folder) / "r", "--overwrite"],
            ["export", path, "--format", "commonroad", "--out", Path(folder) / "x"],
        ):
            _one_clear_line(*_cli(argv))


_KEYS = st.sampled_from(
    ["lanes", "vehicles", "lane_width", "length", "kind_shares.truck", "speed", "nothing", ""]
)
_VALUES = st.one_of(
    st.sampled_from(["[3,4]", "[4,3]", "true", "null", "1e999", "-1", "[1,2,3]", "{a: 1}", "x"]),
    st.integers(-(10**25), 10**25).map(str),
    st.text(max_size=6),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=_KEYS, value=_VALUES, seed=st.integers(-5, 10**22))
def test_sample_options_succeed_or_say_one_line(key, value, seed):
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "s.jsonl"
        argv = ["sample", "--n", "2", "--seed", seed, "--out", out, "--set", f"{key}={value}"]
        status, err = _cli(argv)
        _one_clear_line(status, err)
        if status == 0:  # written scenes read back
            assert len(out.read_text().splitlines()) == 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    attribute=st.sampled_from(["timeStepSize", "x", "y", "orientation", "width", "length"]),
    value=st.sampled_from(["0", "-1", "nan", "inf", "1e300", "", "abc", "1e-300"]),
    which=st.integers(0, 5),
)
def test_commonroad_files_import_or_are_skipped_with_a_reason(attribute, value, which):
    from scenegym.bridges import write_commonroad

    scene = Scene.from_dict(_SCENE)
    with tempfile.TemporaryDirectory() as folder:
        xml = write_commonroad(scene, Path(folder) / "scene.xml")
        text = xml.read_text()
        # Change the which-th occurrence of the attribute or element, as a damaged file would.
        for pattern in (f'{attribute}="', f"<{attribute}>"):
            start = -1
            for _ in range(which + 1):
                start = text.find(pattern, start + 1)
            if start >= 0:
                begin = start + len(pattern)
                end = text.index('"' if pattern.endswith('"') else "<", begin)
                text = text[:begin] + value + text[end:]
                break
        xml.write_text(text)
        status, err = _cli(["import", xml, "--interval", "1", "--out", Path(folder) / "s.jsonl"])
        _one_clear_line(status, err)
