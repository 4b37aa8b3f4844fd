"""Recorded traffic as scenegym reads it: kinds inferred from sizes where a file types
every vehicle ``car``, size rules that real vehicles pass, the recording kept with every
scene, and splits that never put one recording on both sides."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scenegym.bridges import import_commonroad, write_commonroad
from scenegym.scene import (
    HighwaySpaceConfig,
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
    assert len(held_recordings) == max(1, min(6, int(7 * held_out)))


def test_a_split_of_one_recording_is_refused_in_one_line():
    with pytest.raises(ValueError, match=r"^reference holds 1 recording\(s\); a split") as error:
        grouped_split(_recorded(1, 4))
    assert "\n" not in str(error.value)


def test_scenes_without_a_recording_are_each_their_own_group():
    scenes = [Scene(Road.straight(length=100.0 + k, lanes=2), Vehicles.empty()) for k in range(4)]
    fit, held = grouped_split(scenes, 0.5, seed=0)
    assert (len(fit), len(held)) == (2, 2)


# ---------------------------------------------------------------- floors by recording
def _traffic_by_recording(recordings: int, per_recording: int, *, named: bool) -> list[Scene]:
    """Scenes of ``recordings`` recordings, each with its own speed level (as one stretch of
    road at one time of day has): scenes of one recording resemble each other."""
    rng = np.random.default_rng(3)
    road = Road.straight(length=300.0, lanes=3)
    scenes = []
    for r in range(recordings):
        level = rng.uniform(5.0, 30.0)
        for t in range(per_recording):
            n = 9
            vehicles = Vehicles.from_columns(
                lane=np.arange(n) % 3,
                s=20.0 + 30.0 * np.arange(n) + rng.uniform(0, 5, n),
                speed=level + rng.normal(0.0, 1.0, n),
            )
            context = {"recording": f"rec{r}", "time": float(t)} if named else {"time": float(t)}
            scenes.append(Scene(road, vehicles, context=context))
    return scenes


def test_evaluate_floors_keep_recordings_whole():
    from scenegym.evaluation import evaluate

    named = _traffic_by_recording(12, 8, named=True)
    anonymous = _traffic_by_recording(12, 8, named=False)
    generated = _traffic_by_recording(12, 2, named=False)
    grouped = evaluate(generated, named, seed=0)
    by_scene = evaluate(generated, anonymous, seed=0)
    assert (grouped["floor_split"], grouped["reference_recordings"]) == ("recording", 12)
    assert by_scene["reference_recordings"] == 96  # a scene naming no recording: its own
    assert grouped["recordings"] == 24  # generated scenes name no recording: each its own
    # Halves of whole recordings differ as other traffic does; halves that split recordings
    # share them, and their floor is near zero.
    assert grouped["mmd2_floor"] > 5 * by_scene["mmd2_floor"]
    # One road on both sides: the road part cannot tell them apart.
    assert grouped["road"]["c2st_auc"] <= 0.6


def test_a_grouped_c2st_does_not_tell_recordings_apart_by_memory():
    from scenegym.evaluation import c2st_auc

    # Two sets of one distribution, each of 8 recordings; rows of a recording share its level.
    rng = np.random.default_rng(0)
    levels = rng.normal(0.0, 3.0, (16, 3))
    rows = np.repeat(levels, 25, axis=0) + rng.normal(0.0, 0.1, (400, 3))
    groups = np.repeat(np.arange(16), 25)
    x, y, gx, gy = rows[:200], rows[200:], groups[:200], groups[200:]
    # Folds that split recordings let the classifier recognise each recording's level.
    assert c2st_auc(x, y, seed=0) > 0.9
    assert c2st_auc(x, y, seed=0, groups=(gx, gy)) < 0.75
    # One recording a side leaves no fold to hold one out: no value, not a wrong one.
    assert c2st_auc(x[:25], y[:25], seed=0, groups=(gx[:25], gy[:25])) is None


# ---------------------------------------------------------------- traffic on given roads
def _given_roads() -> list[Road]:
    ramp = Road(
        segment_lengths=[120.0, 90.0],
        segment_curvatures=[0.0, 0.003],
        lane_widths=[3.5, 3.6, 3.4, 3.7],
        lane_starts=[0.0, 0.0, 0.0, 40.0],
        lane_ends=[210.0, 210.0, 210.0, 150.0],
        speed_limit=29.0,
        origin=(12.5, -3.0, 0.7),
    )
    return [ramp, Road.straight(length=180.0, lanes=2)]


def test_sample_on_given_roads_keeps_each_road_bit_for_bit(tiny_run):
    from scenegym.agents import GenerationPolicy

    roads = _given_roads()
    with GenerationPolicy.load(tiny_run) as policy:
        sample = policy.sample(6, seed=3, roads=roads)
        again = policy.sample(6, seed=3, roads=roads)
    assert [scene.road for scene in sample.scenes] == [roads[i % 2] for i in range(6)]
    assert sample.scenes[0].road.to_dict() == roads[0].to_dict()
    assert all(len(scene.vehicles) > 0 for scene in sample.scenes)
    assert [s.id for s in again.scenes] == [s.id for s in sample.scenes]


def test_generate_roads_from_a_scenes_file_and_from_commonroad(tiny_run, tmp_path):
    from scenegym.cli import main
    from scenegym.scene import read_scenes, write_scenes

    roads = _given_roads()
    write_scenes(tmp_path / "roads.jsonl", [Scene(road, Vehicles.empty()) for road in roads])
    assert (
        main([*_generate(tiny_run, tmp_path / "a.jsonl"), "--roads", str(tmp_path / "roads.jsonl")])
        == 0
    )
    scenes = read_scenes(tmp_path / "a.jsonl")
    assert [scene.road for scene in scenes] == [roads[i % 2] for i in range(4)]

    # A CommonRoad map: the road scenegym reads from it, whatever the file's vehicles.
    _all_cars_recording(tmp_path / "map.xml")
    (scene,) = import_commonroad(tmp_path / "map.xml")[0]
    expected = scene.road
    assert (
        main([*_generate(tiny_run, tmp_path / "b.jsonl"), "--roads", str(tmp_path / "map.xml")])
        == 0
    )
    assert all(scene.road == expected for scene in read_scenes(tmp_path / "b.jsonl"))


def _generate(run, out) -> list[str]:
    return ["generate", str(run), "--n", "4", "--seed", "1", "--out", str(out)]


def test_a_road_the_run_cannot_hold_is_one_clear_line(tiny_run, tmp_path, capsys):
    from scenegym.cli import main
    from scenegym.scene import write_scenes

    wide = Road.straight(length=150.0, lanes=9)
    write_scenes(tmp_path / "wide.jsonl", [Scene(wide, Vehicles.empty())])
    assert (
        main(
            [*_generate(tiny_run, tmp_path / "out.jsonl"), "--roads", str(tmp_path / "wide.jsonl")]
        )
        != 0
    )
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "roads[0]: a road of 9 lanes and 150 m does not fit" in error
    assert not (tmp_path / "out.jsonl").exists()


# ---------------------------------------------------------------- a generator fitted to recordings
def _recordings_folder(folder, count: int):
    """``count`` recordings of random highway traffic, each a CommonRoad file of two time
    steps 0.1 s apart."""
    from scenegym.scene import HighwaySceneSpace

    folder.mkdir()
    for k, scene in enumerate(HighwaySceneSpace().sample_many(count, seed=5)):
        write_commonroad(scene, folder / f"rec{k}.xml", scenario_id=f"DEU_Rec-{k + 1}_1_T-1")
    return folder


def test_fit_runs_end_to_end_from_a_commonroad_folder(tmp_path, monkeypatch, capsys):
    from scenegym.cli import main
    from scenegym.scene import read_scenes

    monkeypatch.setenv("SCENEGYM_CACHE", str(tmp_path / "cache"))
    folder = _recordings_folder(tmp_path / "recordings", 10)
    run = tmp_path / "run"
    argv = ["fit", str(folder), "--interval", "0.1", "--held-out", "0.5"]
    assert main([*argv, "--train-steps", "256", "--out", str(run)]) == 0
    assert (
        "generated on the roads of 5 held-out recording(s) (10 scenes)" in capsys.readouterr().out
    )
    fit = read_scenes(run / "reference_fit.jsonl")
    held = read_scenes(run / "reference_held_out.jsonl")
    assert {recording_of(s) for s in fit}.isdisjoint({recording_of(s) for s in held})
    generated = read_scenes(run / "generated_held_out_roads.jsonl")
    assert [s.road for s in generated] == [s.road for s in held]  # the held-out roads, kept
    summary = json.loads((run / "fit.json").read_text())
    assert summary["recordings"] == {"fit": 5, "held_out": 5}
    metrics = json.loads((run / "evaluation" / "metrics.json").read_text())
    assert (metrics["reference_recordings"], metrics["floor_split"]) == (5, "recording")
    assert (run / "evaluation" / "report.md").is_file() and (run / "prior").is_dir()
    config = json.loads((run / "config.json").read_text())
    assert config["env"] == "scenegym/DrivingLayout-edit-v6"
    assert config["env_kwargs"]["roads"] == "reference_fit.jsonl"


def test_fit_refuses_a_reference_of_one_recording_in_one_line(tmp_path, capsys):
    from scenegym.cli import main

    folder = _recordings_folder(tmp_path / "recordings", 1)
    argv = ["fit", str(folder), "--train-steps", "256", "--out", str(tmp_path / "run")]
    assert main(argv) != 0
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "reference holds 1 recording(s); a split that keeps every recording" in error
    assert not (tmp_path / "run").exists()


def test_the_starting_space_is_fitted_to_the_reference():
    from scenegym.scene import space_like

    rng = np.random.default_rng(0)
    road = Road.straight(length=200.0, lanes=3)
    scenes = []
    for _ in range(20):
        n = 12
        kind = np.where(np.arange(n) < 3, 1, 0)  # a quarter trucks
        scenes.append(
            Scene(
                road,
                Vehicles.from_columns(
                    lane=np.arange(n) % 3,
                    s=10.0 + 15.0 * np.arange(n),
                    d=rng.normal(-0.3, 0.5, n),
                    heading=rng.normal(0.0, 0.02, n),
                    speed=rng.normal(12.0, 2.0, n),
                    length=np.where(kind == 1, rng.normal(15.0, 2.0, n), rng.normal(5.0, 0.6, n)),
                    width=np.where(kind == 1, 2.5, rng.normal(2.0, 0.15, n)),
                    kind=kind,
                ),
            )
        )
    space = space_like(scenes)
    assert space.lanes == (3, 3) and space.ramp_probability == 0.0
    assert space.kind_shares["truck"] / sum(space.kind_shares.values()) == pytest.approx(0.25)
    assert space.lateral_mean == pytest.approx(-0.3, abs=0.1)
    assert space.lateral_std == pytest.approx(0.5, abs=0.1)
    assert space.sizes["truck"][0] == pytest.approx(15.0, abs=1.0)
    assert space.sizes["car"][1] == pytest.approx(0.6, abs=0.15)
    assert space.sizes["bus"] == HighwaySpaceConfig().sizes["bus"]  # none: the default


def test_edit_v6_draws_what_it_realigns_and_adds_from_the_space():
    import gymnasium as gym

    import scenegym  # noqa: F401  (registers the environments)

    space = {"lateral_mean": -0.3, "lateral_std": 0.5, "heading_std": 0.02}
    finals = []
    for _ in range(2):
        env = gym.make("scenegym/DrivingLayout-edit-v6", space=space).unwrapped
        env.reset(seed=4)
        for _ in range(64):
            env.step(0)  # realign the vehicle under the cursor, again and again
        finals.append(env.scene)
    scene = finals[0]
    assert scene == finals[1]  # the same seed draws the same
    d, heading = scene.vehicles.d, scene.vehicles.heading
    assert abs(d.mean() + 0.3) < 0.25 and 0.2 < d.std() < 0.8
    assert 0.005 < heading.std() < 0.05
    assert len(set(np.round(scene.vehicles.length, 3))) > len(scene.vehicles) // 2
    v5 = gym.make("scenegym/DrivingLayout-edit-v5", space=space).unwrapped
    v5.reset(seed=4)
    for _ in range(64):
        v5.step(0)
    assert np.all(v5.scene.vehicles.d == 0.0)  # v5 realigns onto the lane centre


def test_a_target_given_alone_is_filled_in_as_the_reference_does_given_it(tmp_path):
    from scenegym.rewards import GoalSpec
    from scenegym.scene import describe_many, write_scenes

    # Reference traffic whose speed falls as density rises.
    road = Road.straight(length=300.0, lanes=2)
    scenes = []
    for count in range(4, 40, 2):
        speed = 30.0 - 0.6 * count
        vehicles = Vehicles.from_columns(
            lane=np.arange(count) % 2,
            s=5.0 + np.arange(count) * (290.0 / count),
            speed=np.full(count, speed),
        )
        scenes.append(Scene(road, vehicles))
    write_scenes(tmp_path / "ref.jsonl", scenes)
    described = describe_many(scenes)
    ranges = {
        name: (float(described[name].min()), float(described[name].max()) + 1.0)
        for name in ("density", "mean_speed")
    }
    goal = GoalSpec(ranges=ranges, reference=str(tmp_path / "ref.jsonl"))
    rng = np.random.default_rng(0)
    dense = [goal.sample_given({"density": 60.0}, rng)["mean_speed"] for _ in range(20)]
    light = [goal.sample_given({"density": 10.0}, rng)["mean_speed"] for _ in range(20)]
    assert max(dense) < 15.0 < min(light)
    assert goal.sample_given({"density": 60.0}, rng)["density"] == 60.0
    with pytest.raises(ValueError, match=r"targets name \['speed'\]"):
        goal.sample_given({"speed": 3.0}, rng)
