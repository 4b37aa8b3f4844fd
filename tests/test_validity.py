"""Validity rules: each rule with a violating and a valid case; real traffic passes."""

import numpy as np
import pytest

from scenegym.scene import RULES, Road, Scene, ValidityRules, Vehicles, is_valid, validate
from scenegym.scene.validity import overlapping_pairs, violation_counts

ROAD = Road(
    segment_lengths=[200.0],
    segment_curvatures=[0.0],
    lane_widths=[3.5, 3.5, 3.5],
    lane_starts=[0.0, 0.0, 50.0],
    lane_ends=[200.0, 200.0, 150.0],
)


def scene_of(**columns) -> Scene:
    return Scene(ROAD, Vehicles.from_columns(**columns))


def rules_broken(scene: Scene) -> set[str]:
    return {violation.rule for violation in validate(scene)}


def test_hand_written_congested_freeway_has_no_violations(congested):
    assert validate(congested) == []
    assert 25 <= len(congested.vehicles) <= 60


def test_hand_written_free_flow_curve_has_no_violations(free_flow):
    assert validate(free_flow) == []


def test_bumper_to_bumper_queue_with_two_metre_gaps_is_valid():
    s = 10.0 + np.arange(20) * (4.5 + 2.0)
    assert is_valid(scene_of(lane=np.zeros(20, int), s=s, speed=np.full(20, 1.0)))


def test_overlapping_vehicles_are_a_violation():
    scene = scene_of(lane=[0, 0], s=[50.0, 53.0], speed=[5.0, 5.0])
    [violation] = validate(scene)
    assert violation.rule == "overlap" and violation.vehicles == (0, 1)


def test_touching_bumpers_are_not_an_overlap():
    assert is_valid(scene_of(lane=[0, 0], s=[50.0, 54.5], speed=[5.0, 5.0]))


def test_rotated_boxes_overlap_only_when_they_really_do():
    # Two cars side by side in one lane-pair, one turned towards the other.
    apart = scene_of(lane=[0, 1], s=[50.0, 50.0], d=[-0.2, 0.3], heading=[-0.1, 0.0])
    assert "overlap" not in rules_broken(apart)
    touching = scene_of(lane=[0, 1], s=[50.0, 50.0], d=[-1.2, 1.0], heading=[-0.3, 0.0])
    assert "overlap" in rules_broken(touching)


def test_separating_axis_test_matches_a_pixel_check(rng):
    corners = []
    for _ in range(40):
        cx, cy, heading = rng.uniform(0, 12), rng.uniform(0, 12), rng.uniform(-np.pi, np.pi)
        length, width = rng.uniform(2, 6), rng.uniform(1, 2.5)
        local = np.array([[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]]) * [length, width]
        rot = np.array([[np.cos(heading), -np.sin(heading)], [np.sin(heading), np.cos(heading)]])
        corners.append(local @ rot.T + [cx, cy])
    corners = np.array(corners)
    pairs = {tuple(p) for p in overlapping_pairs(corners).tolist()}
    grid = np.stack(np.meshgrid(np.linspace(-4, 16, 400), np.linspace(-4, 16, 400)), -1)

    def inside(box):
        edges = np.roll(box, -1, axis=0) - box
        rel = grid[..., None, :] - box
        return np.all(edges[:, 0] * rel[..., 1] - edges[:, 1] * rel[..., 0] >= 0, axis=-1)

    masks = [inside(box) for box in corners]
    for i in range(len(corners)):
        for j in range(i + 1, len(corners)):
            if np.any(masks[i] & masks[j]):
                assert (i, j) in pairs  # the pixel check finds only real overlaps


def test_vehicle_in_a_lane_that_has_not_begun_is_a_violation():
    assert "lane" in rules_broken(scene_of(lane=[2], s=[20.0], speed=[20.0]))
    assert is_valid(scene_of(lane=[2], s=[100.0], speed=[20.0]))


def test_lane_index_that_does_not_exist_is_a_violation():
    assert "lane" in rules_broken(scene_of(lane=[7], s=[20.0], speed=[20.0]))
    assert "lane" in rules_broken(scene_of(lane=[-1], s=[20.0], speed=[20.0]))


def test_centre_outside_its_lane_is_a_violation():
    assert "lane" in rules_broken(scene_of(lane=[1], s=[20.0], d=[2.0], speed=[20.0]))
    assert is_valid(scene_of(lane=[1], s=[20.0], d=[1.5], speed=[20.0]))


def test_footprint_over_the_road_edge_is_off_road():
    # Lane 0 is the leftmost lane: d = +1.7 puts half the car over the left edge.
    assert "off_road" in rules_broken(scene_of(lane=[0], s=[20.0], d=[1.7], speed=[20.0]))
    assert is_valid(scene_of(lane=[0], s=[20.0], d=[0.6], speed=[20.0]))


def test_vehicle_beyond_the_road_end_is_off_road():
    assert "off_road" in rules_broken(scene_of(lane=[0], s=[205.0], speed=[20.0]))
    assert "off_road" in rules_broken(scene_of(lane=[0], s=[-3.0], speed=[20.0]))


def test_right_edge_follows_the_auxiliary_lane():
    # Lane 1 at s=20: no lane 2 yet, so its right edge is the road edge.
    assert "off_road" in rules_broken(scene_of(lane=[1], s=[20.0], d=[-1.7], speed=[20.0]))
    assert is_valid(scene_of(lane=[1], s=[100.0], d=[-1.7], speed=[20.0]))


def test_heading_far_from_the_lane_is_a_violation():
    assert "heading" in rules_broken(scene_of(lane=[1], s=[20.0], heading=[0.9], speed=[5.0]))
    assert is_valid(scene_of(lane=[1], s=[20.0], heading=[0.15], speed=[5.0]))


@pytest.mark.parametrize("speed", [-1.0, 75.0])
def test_impossible_speed_is_a_violation(speed):
    assert rules_broken(scene_of(lane=[0], s=[20.0], speed=[speed])) == {"speed"}


def test_standing_vehicle_is_valid():
    assert is_valid(scene_of(lane=[0], s=[20.0], speed=[0.0]))


@pytest.mark.parametrize(
    ("kind", "length", "width", "valid"),
    [
        ("car", 4.5, 1.8, True),
        ("car", 12.0, 1.8, False),
        ("car", 4.5, 3.2, False),
        ("truck", 18.5, 2.55, True),
        ("motorcycle", 2.2, 0.8, True),
        ("motorcycle", 4.5, 1.8, False),
        ("bus", 3.0, 2.5, False),
    ],
)
def test_implausible_size_for_the_kind_is_a_violation(kind, length, width, valid):
    scene = scene_of(lane=[1], s=[60.0], speed=[10.0], length=[length], width=[width], kind=[kind])
    assert ("size" not in rules_broken(scene)) == valid


def test_violation_names_vehicle_and_reason():
    scene = scene_of(lane=[0, 0], s=[20.0, 120.0], speed=[20.0, 90.0])
    [violation] = validate(scene)
    assert violation.vehicles == (1,)
    assert str(violation) == "speed: vehicle 1: speed 90.0 m/s is outside [0, 60] m/s"


def test_rules_can_be_loosened():
    scene = scene_of(lane=[0], s=[20.0], speed=[70.0])
    assert not is_valid(scene)
    assert is_valid(scene, ValidityRules(max_speed=80.0))


def test_counts_cover_every_rule_and_agree_with_validate(rng):
    from scenegym.scene import HighwaySceneSpace

    for scene in HighwaySceneSpace().sample_many(30, seed=5):
        counts = violation_counts(scene)
        assert list(counts) == list(RULES)
        assert sum(counts.values()) == len(validate(scene))


def test_empty_scene_is_valid():
    assert validate(Scene(ROAD, Vehicles.empty())) == []


def test_repair_removes_the_fewest_vehicles_to_make_a_scene_valid():
    from scenegym.scene.validity import repair

    # Vehicle 1 overlaps both neighbours; removing it alone fixes the scene.
    scene = scene_of(lane=[0, 0, 0], s=[50.0, 53.0, 56.0], speed=[5.0, 5.0, 5.0])
    fixed, removed = repair(scene)
    assert removed == 1 and is_valid(fixed)
    assert fixed.vehicles.s.tolist() == [50.0, 56.0]
    assert repair(fixed) == (fixed, 0)
