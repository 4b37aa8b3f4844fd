"""Tests of the bird's-eye renderer: masks against boxes, semantics, views and input checks."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from scenegym.datasets import RenderConfig, render, render_many
from scenegym.scene import (
    KINDS,
    PALETTE,
    SEMANTIC_CLASSES,
    HighwaySceneSpace,
    Road,
    Scene,
    Vehicles,
    is_valid,
    validate,
)

ROAD, MARKING, FIRST_VEHICLE = 1, 2, 3

CONFIGS = {
    "road-256x96-fitted": RenderConfig(width=256, height=96),
    "road-512x160-fitted": RenderConfig(width=512, height=160),
    "vehicle-160x160-0.2m": RenderConfig(width=160, height=160, view="vehicle", resolution=0.2),
    "vehicle-96x128-default": RenderConfig(width=96, height=128, view="vehicle"),
}


# ---------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def random_scenes() -> list[Scene]:
    """Scenes of the random highway space, several seeds, with at least one vehicle."""
    space = HighwaySceneSpace()
    scenes = [scene for seed in range(4) for scene in space.sample_many(6, seed)]
    return [scene for scene in scenes if len(scene.vehicles)]


@pytest.fixture(scope="module")
def separate_scenes(random_scenes) -> list[Scene]:
    """The random scenes with every vehicle that overlaps another one removed."""
    separate = []
    for scene in random_scenes:
        overlapping = {i for v in validate(scene) if v.rule == "overlap" for i in v.vehicles}
        keep = [i for i in range(len(scene.vehicles)) if i not in overlapping]
        if keep:
            separate.append(scene.replace(vehicles=scene.vehicles.take(keep)))
    return separate


def mask_box(rendering, index: int) -> np.ndarray:
    """Tight box ``x0, y0, x1, y1`` of vehicle ``index``'s instance-mask pixels (COCO)."""
    rows, cols = np.nonzero(rendering.instance == index + 1)
    return np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], dtype=np.float64)


def fully_inside(rendering, index: int) -> bool:
    corners = rendering.corners[index]
    height, width = rendering.semantic.shape
    return bool(
        corners[:, 0].min() >= 0
        and corners[:, 1].min() >= 0
        and corners[:, 0].max() <= width
        and corners[:, 1].max() <= height
    )


def unoccluded(rendering, index: int) -> bool:
    """No later vehicle (drawn on top) comes within a pixel of vehicle ``index``'s box."""
    box = rendering.boxes[index]
    for other in range(index + 1, len(rendering.boxes)):
        b = rendering.boxes[other]
        if b[0] < box[2] + 2 and box[0] < b[2] + 2 and b[1] < box[3] + 2 and box[1] < b[3] + 2:
            return False
    return True


def renderings(scenes, config):
    for scene in scenes:
        if config.view == "vehicle" and not len(scene.vehicles):
            continue
        yield scene, render(scene, config)


def one_car_scene(**columns) -> Scene:
    road = Road.straight(length=100.0, lanes=2)
    return Scene(road, Vehicles.from_columns(lane=[0], s=[50.0], **columns))


# ---------------------------------------------------------------------- masks and boxes
def test_mask_box_lies_inside_the_vehicle_box_expanded_by_one_pixel(random_scenes):
    worst = 0.0
    for config in CONFIGS.values():
        for _, rendering in renderings(random_scenes, config):
            for i in np.flatnonzero(rendering.visible):
                tight, box = mask_box(rendering, i), rendering.boxes[i]
                excess = np.concatenate([box[:2] - tight[:2], tight[2:] - box[2:]])
                worst = max(worst, float(excess.max()))
    assert worst <= 1.0


def test_mask_of_a_car_holds_exactly_the_pixels_whose_centre_lies_inside_it():
    # 1.7 m x 4.3 m at 0.2 m/px: the box spans x 75.75..84.25, y 69.25..90.75, so the pixel
    # centres inside are columns 76..83 and rows 69..90.
    scene = one_car_scene(width=[1.7], length=[4.3])
    config = RenderConfig(width=160, height=160, view="vehicle", resolution=0.2)
    rendering = render(scene, config)
    np.testing.assert_allclose(rendering.boxes[0], [75.75, 69.25, 84.25, 90.75])
    expected = np.zeros((160, 160), dtype=bool)
    expected[69:91, 76:84] = True
    np.testing.assert_array_equal(rendering.instance == 1, expected)


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_vehicle_box_is_at_most_one_pixel_larger_than_its_mask_box(separate_scenes, config):
    checked = 0
    for scene, rendering in renderings(separate_scenes, config):
        for i in np.flatnonzero(rendering.visible):
            if not (fully_inside(rendering, i) and unoccluded(rendering, i)):
                continue
            tight, box = mask_box(rendering, i), rendering.boxes[i]
            slack = np.concatenate([tight[:2] - box[:2], box[2:] - tight[2:]])
            assert slack.max() <= 1.0, f"scene {scene.id} vehicle {i}: {box} vs mask {tight}"
            checked += 1
    assert checked >= 20


def test_valid_random_scenes_have_vehicle_boxes_at_most_one_pixel_larger_than_masks():
    space = HighwaySceneSpace()
    valid = [s for s in space.sample_many(60, seed=11) if is_valid(s) and len(s.vehicles)]
    assert len(valid) >= 3
    config = RenderConfig(width=160, height=160, view="vehicle", resolution=0.2)
    for scene in valid:
        rendering = render(scene, config)
        for i in np.flatnonzero(rendering.visible):
            if fully_inside(rendering, i) and unoccluded(rendering, i):
                tight, box = mask_box(rendering, i), rendering.boxes[i]
                assert np.all(tight[:2] - box[:2] <= 1.0)
                assert np.all(box[2:] - tight[2:] <= 1.0)


def test_boxes_are_clipped_to_the_image():
    road = Road.straight(length=300.0, lanes=2)
    vehicles = Vehicles.from_columns(lane=[0, 1, 0], s=[150.0, 160.0, 10.0])
    config = RenderConfig(width=64, height=64, view="vehicle", resolution=0.25)
    rendering = render(Scene(road, vehicles), config)
    assert np.all(rendering.boxes >= 0)
    assert np.all(rendering.boxes[:, [0, 2]] <= 64)
    assert np.all(rendering.boxes[:, [1, 3]] <= 64)


# ---------------------------------------------------------------------- semantic map
def test_semantic_map_under_each_instance_mask_is_the_class_of_its_kind(separate_scenes):
    for config in CONFIGS.values():
        for scene, rendering in renderings(separate_scenes, config):
            for i in np.flatnonzero(rendering.visible):
                classes = np.unique(rendering.semantic[rendering.instance == i + 1])
                expected = FIRST_VEHICLE + int(scene.vehicles.kind[i])
                assert classes.tolist() == [expected], f"scene {scene.id} vehicle {i}"


def test_vehicle_classes_appear_only_under_instance_masks(separate_scenes):
    for config in CONFIGS.values():
        for _, rendering in renderings(separate_scenes, config):
            vehicle_pixels = rendering.semantic >= FIRST_VEHICLE
            assert np.all(rendering.instance[vehicle_pixels] > 0)


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_semantic_map_and_instance_mask_agree_on_aligned_separate_vehicles(config):
    road = Road.straight(length=200.0, lanes=3)
    vehicles = Vehicles.from_columns(
        lane=[0, 1, 2, 0, 1, 2],
        s=[20.0, 45.0, 70.0, 100.0, 130.0, 165.0],
        d=[0.0, 0.3, -0.4, 0.25, 0.0, -0.1],
        kind=["car", "truck", "motorcycle", "bus", "car", "truck"],
        length=[4.5, 12.0, 2.2, 12.5, 4.1, 16.0],
        width=[1.8, 2.5, 0.8, 2.55, 1.7, 2.5],
    )
    scene = Scene(road, vehicles)
    for ego in range(len(vehicles)) if config.view == "vehicle" else [0]:
        rendering = render(scene, dataclasses.replace(config, ego=ego))
        on_vehicle = rendering.instance > 0
        kinds = vehicles.kind[rendering.instance[on_vehicle].astype(int) - 1]
        np.testing.assert_array_equal(rendering.semantic[on_vehicle], FIRST_VEHICLE + kinds)
        assert np.all(rendering.semantic[~on_vehicle] < FIRST_VEHICLE)


def test_every_kind_is_drawn_with_its_own_class():
    road = Road.straight(length=200.0, lanes=1)
    vehicles = Vehicles.from_columns(
        lane=[0, 0, 0, 0],
        s=[30.0, 70.0, 110.0, 150.0],
        kind=list(KINDS),
        length=[4.5, 12.0, 2.2, 12.5],
        width=[1.8, 2.5, 0.8, 2.55],
    )
    rendering = render(Scene(road, vehicles), RenderConfig(width=512, height=32))
    for i, kind in enumerate(KINDS):
        classes = np.unique(rendering.semantic[rendering.instance == i + 1])
        assert [SEMANTIC_CLASSES[c] for c in classes] == [kind]


def test_overlapping_cars_are_all_car_pixels_in_the_semantic_map():
    road = Road.straight(length=100.0, lanes=2)
    scene = Scene(road, Vehicles.from_columns(lane=[0, 0], s=[50.0, 52.0]))
    config = RenderConfig(width=160, height=160, view="vehicle", resolution=0.2)
    rendering = render(scene, config)
    assert np.all(rendering.semantic[rendering.instance > 0] == FIRST_VEHICLE)


def test_where_vehicles_overlap_the_semantic_map_shows_the_kind_of_the_visible_instance():
    road = Road.straight(length=100.0, lanes=2)
    # A truck (index 0) under a car (index 1): the instance mask shows the car on the overlap.
    vehicles = Vehicles.from_columns(lane=[0, 0], s=[50.0, 52.0], kind=["truck", "car"])
    config = RenderConfig(width=160, height=160, view="vehicle", resolution=0.2)
    rendering = render(Scene(road, vehicles), config)
    classes = np.unique(rendering.semantic[rendering.instance == 2])
    assert classes.tolist() == [FIRST_VEHICLE + KINDS.index("car")]


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_road_pixels_are_drawn(random_scenes, config):
    for _, rendering in renderings(random_scenes[:6], config):
        assert np.any(rendering.semantic == ROAD)


def test_lane_markings_are_drawn_when_asked():
    scene = one_car_scene()
    rendering = render(scene, RenderConfig(width=256, height=64, markings=True))
    assert np.any(rendering.semantic == MARKING)


def test_lane_markings_are_left_out_when_not_asked():
    scene = one_car_scene()
    rendering = render(scene, RenderConfig(width=256, height=64, markings=False))
    assert not np.any(rendering.semantic == MARKING)
    assert np.any(rendering.semantic == ROAD)


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_rgb_is_the_palette_colour_of_each_semantic_class(random_scenes, config):
    for _, rendering in renderings(random_scenes[:6], config):
        assert rendering.rgb.dtype == np.uint8
        np.testing.assert_array_equal(rendering.rgb, PALETTE[rendering.semantic])


def test_rgb_is_left_out_when_not_asked():
    rendering = render(one_car_scene(), RenderConfig(rgb=False))
    assert rendering.rgb is None


# ---------------------------------------------------------------------- visibility
def test_a_vehicle_far_outside_the_vehicle_view_is_not_visible():
    road = Road.straight(length=1000.0, lanes=2)
    vehicles = Vehicles.from_columns(lane=[0, 1], s=[20.0, 900.0])
    config = RenderConfig(width=128, height=128, view="vehicle", ego=0)
    rendering = render(Scene(road, vehicles), config)
    assert rendering.visible.tolist() == [True, False]
    assert not np.any(rendering.instance == 2)


def test_vehicles_inside_the_view_are_visible():
    road = Road.straight(length=1000.0, lanes=2)
    vehicles = Vehicles.from_columns(lane=[0, 1, 0], s=[20.0, 900.0, 500.0])
    rendering = render(Scene(road, vehicles), RenderConfig(width=1024, height=32))
    assert rendering.visible.tolist() == [True, True, True]


def test_labels_list_only_visible_vehicles():
    road = Road.straight(length=1000.0, lanes=2)
    vehicles = Vehicles.from_columns(lane=[0, 1, 0], s=[20.0, 900.0, 24.0], kind=[0, 0, 1])
    config = RenderConfig(width=128, height=128, view="vehicle", ego=0)
    labels = render(Scene(road, vehicles), config).labels()
    assert [obj["vehicle"] for obj in labels["objects"]] == [0, 2]
    assert [obj["kind"] for obj in labels["objects"]] == ["car", "truck"]


def test_labels_count_the_pixels_of_each_instance():
    rendering = render(one_car_scene(), RenderConfig(width=160, height=160, view="vehicle"))
    (obj,) = rendering.labels()["objects"]
    assert obj["pixels"] == int(np.count_nonzero(rendering.instance == 1))
    assert obj["class_id"] == FIRST_VEHICLE
    assert obj["instance"] == 1


# ---------------------------------------------------------------------- determinism
@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_rendering_a_scene_twice_gives_identical_arrays(random_scenes, config):
    for scene in random_scenes[:4]:
        first, second = render(scene, config), render(scene, config)
        for name in ("semantic", "instance", "rgb", "boxes", "oriented_boxes", "visible"):
            a, b = getattr(first, name), getattr(second, name)
            assert a.dtype == b.dtype
            assert a.tobytes() == b.tobytes(), name


def test_an_equal_scene_read_back_from_json_renders_identically(random_scenes):
    scene = random_scenes[0]
    copy = Scene.from_json(scene.to_json())
    first, second = render(scene), render(copy)
    assert first.semantic.tobytes() == second.semantic.tobytes()
    assert first.instance.tobytes() == second.instance.tobytes()
    assert first.boxes.tobytes() == second.boxes.tobytes()


# ---------------------------------------------------------------------- views
def angle_difference(a: float, b: float) -> float:
    return abs((a - b + np.pi) % (2 * np.pi) - np.pi)


CURVED_ROAD = Road(
    segment_lengths=[60.0, 90.0, 50.0],
    segment_curvatures=[0.0, 0.015, -0.01],
    lane_widths=[3.5, 3.5, 3.5],
    origin=(12.0, -7.0, 0.8),
)


@pytest.mark.parametrize(
    "road",
    [Road.straight(length=200.0, lanes=3), CURVED_ROAD],
    ids=["straight", "curved"],
)
@pytest.mark.parametrize("ego", [0, 1, 2])
def test_vehicle_view_puts_the_ego_centre_at_the_image_centre(road, ego):
    vehicles = Vehicles.from_columns(
        lane=[0, 1, 2], s=[40.0, 110.0, 170.0], d=[0.3, -0.2, 0.0], heading=[0.1, -0.05, 0.0]
    )
    config = RenderConfig(width=200, height=120, view="vehicle", ego=ego, resolution=0.1)
    rendering = render(Scene(road, vehicles), config)
    np.testing.assert_allclose(rendering.oriented_boxes[ego, :2], [100.0, 60.0], atol=1e-9)
    rows, cols = np.nonzero(rendering.instance == ego + 1)
    # Pixel (c, r) has its centre at (c + 0.5, r + 0.5); edges round to whole pixels.
    assert abs(cols.mean() + 0.5 - 100.0) <= 0.5
    assert abs(rows.mean() + 0.5 - 60.0) <= 0.5


@pytest.mark.parametrize(
    "road",
    [Road.straight(length=200.0, lanes=3), CURVED_ROAD],
    ids=["straight", "curved"],
)
@pytest.mark.parametrize("ego", [0, 1, 2])
def test_vehicle_view_points_the_ego_up(road, ego):
    vehicles = Vehicles.from_columns(
        lane=[0, 1, 2], s=[40.0, 110.0, 170.0], heading=[0.1, -0.05, 0.0]
    )
    config = RenderConfig(width=200, height=120, view="vehicle", ego=ego, resolution=0.1)
    rendering = render(Scene(road, vehicles), config)
    assert angle_difference(rendering.oriented_boxes[ego, 4], -np.pi / 2) < 1e-9
    rows, cols = np.nonzero(rendering.instance == ego + 1)
    assert np.ptp(rows) > 2 * np.ptp(cols)  # a 4.5 m x 1.8 m car standing upright


def test_vehicle_view_puts_the_front_of_the_ego_at_the_top():
    config = RenderConfig(width=160, height=160, view="vehicle", resolution=0.2)
    rendering = render(one_car_scene(heading=[0.2]), config)
    front_left, rear_left = rendering.corners[0, 0], rendering.corners[0, 1]
    assert front_left[1] < rear_left[1]


def test_road_view_runs_a_straight_road_from_left_to_right():
    road = Road(
        segment_lengths=[100.0], segment_curvatures=[0.0], lane_widths=[3.5], origin=(5.0, 3.0, 2.0)
    )
    scene = Scene(road, Vehicles.from_columns(lane=[0, 0], s=[20.0, 80.0]))
    rendering = render(scene, RenderConfig(width=256, height=64))
    first, second = rendering.oriented_boxes[:, :2]
    assert second[0] > first[0]
    assert abs(second[1] - first[1]) < 1e-6
    assert angle_difference(rendering.oriented_boxes[0, 4], 0.0) < 1e-9


def test_fitted_road_view_keeps_the_whole_road_in_the_image():
    road = CURVED_ROAD
    ends = Vehicles.from_columns(lane=[0, 2], s=[2.5, road.length - 2.5])
    rendering = render(Scene(road, ends), RenderConfig(width=300, height=100))
    assert rendering.visible.all()
    assert all(fully_inside(rendering, i) for i in range(2))


# ---------------------------------------------------------------------- many and no vehicles
def test_more_than_255_vehicles_get_distinct_16_bit_instance_ids():
    n = 300
    road = Road.straight(length=1010.0, lanes=3)
    lane = np.arange(n) % 3
    s = 5.0 + 10.0 * (np.arange(n) // 3)
    rendering = render(
        Scene(road, Vehicles.from_columns(lane=lane, s=s)), RenderConfig(width=2048, height=64)
    )
    assert rendering.instance.dtype == np.uint16
    assert np.unique(rendering.instance).tolist() == list(range(n + 1))
    assert rendering.visible.all()
    assert len(rendering.labels()["objects"]) == n


def test_instance_mask_is_16_bit_for_few_vehicles_too():
    assert render(one_car_scene()).instance.dtype == np.uint16


def test_a_scene_without_vehicles_renders_road_only():
    scene = Scene(Road.straight(length=100.0, lanes=2), Vehicles.empty())
    rendering = render(scene, RenderConfig(width=128, height=32))
    assert rendering.boxes.shape == (0, 4)
    assert rendering.oriented_boxes.shape == (0, 5)
    assert rendering.visible.shape == (0,)
    assert not rendering.instance.any()
    assert rendering.semantic.max() < FIRST_VEHICLE


def test_labels_of_a_scene_without_vehicles_are_json_with_no_objects():
    scene = Scene(Road.straight(length=100.0, lanes=2), Vehicles.empty())
    labels = render(scene, RenderConfig(width=128, height=32)).labels()
    assert json.loads(json.dumps(labels)) == labels
    assert labels["objects"] == []
    assert (labels["width"], labels["height"]) == (128, 32)


def test_labels_of_random_scenes_are_json_serialisable(random_scenes):
    for scene in random_scenes[:6]:
        labels = render(scene).labels()
        assert json.loads(json.dumps(labels))["classes"] == list(SEMANTIC_CLASSES)


# ---------------------------------------------------------------------- sizes in pixels
@pytest.mark.parametrize("view", ["road", "vehicle"])
@pytest.mark.parametrize("resolution", [0.1, 0.25, 0.5])
def test_oriented_box_size_is_the_vehicle_size_over_the_resolution(view, resolution):
    road = Road.straight(length=120.0, lanes=2)
    vehicles = Vehicles.from_columns(
        lane=[0, 1, 1],
        s=[60.0, 40.0, 80.0],
        length=[4.5, 12.0, 2.2],
        width=[1.8, 2.5, 0.8],
        heading=[0.0, 0.2, -0.1],
        kind=["car", "truck", "motorcycle"],
    )
    config = RenderConfig(width=128, height=128, view=view, resolution=resolution)
    rendering = render(Scene(road, vehicles), config)
    np.testing.assert_allclose(rendering.oriented_boxes[:, 2], vehicles.length / resolution)
    np.testing.assert_allclose(rendering.oriented_boxes[:, 3], vehicles.width / resolution)


def test_image_has_the_configured_shape():
    rendering = render(one_car_scene(), RenderConfig(width=96, height=40))
    assert rendering.semantic.shape == (40, 96)
    assert rendering.instance.shape == (40, 96)
    assert rendering.rgb.shape == (40, 96, 3)


# ---------------------------------------------------------------------- input checks
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("width", 0),
        ("width", 7),
        ("width", 20000),
        ("width", 64.0),
        ("width", True),
        ("height", 4),
        ("height", "64"),
        ("resolution", 0.0),
        ("resolution", -0.25),
        ("resolution", 1000.0),
        ("view", "top"),
        ("margin", -1.0),
    ],
)
def test_render_config_rejects_a_bad_value_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"RenderConfig\.{field}"):
        RenderConfig(**{field: value})


@pytest.mark.parametrize("ego", [2, 99, -1])
def test_vehicle_view_with_an_ego_out_of_range_is_an_error(ego):
    road = Road.straight(length=100.0, lanes=2)
    scene = Scene(road, Vehicles.from_columns(lane=[0, 1], s=[30.0, 60.0]))
    with pytest.raises(ValueError, match="ego"):
        render(scene, RenderConfig(view="vehicle", ego=ego))


def test_vehicle_view_of_a_scene_without_vehicles_is_an_error():
    scene = Scene(Road.straight(length=100.0, lanes=2), Vehicles.empty())
    with pytest.raises(ValueError, match="ego"):
        render(scene, RenderConfig(view="vehicle"))


@pytest.mark.parametrize("thing", [None, "scene", {"road": {}, "vehicles": {}}])
def test_render_of_something_other_than_a_scene_is_a_type_error(thing):
    with pytest.raises(TypeError, match="Scene"):
        render(thing)


def test_render_many_draws_what_render_draws(random_scenes):
    fresh = [Scene.from_json(scene.to_json()) for scene in random_scenes]
    for config in CONFIGS.values():
        together = render_many([Scene.from_json(s.to_json()) for s in fresh], config)
        for scene, batch in zip(fresh, together):
            alone = render(Scene.from_json(scene.to_json()), config)
            assert np.array_equal(alone.semantic, batch.semantic)
            assert np.array_equal(alone.instance, batch.instance)
            assert np.array_equal(alone.boxes, batch.boxes)


def test_road_geometry_of_many_roads_equals_each_road_alone():
    from scenegym.scene import HighwaySpaceConfig
    from scenegym.scene.road import prepare_drawing

    config = HighwaySpaceConfig(ramp_probability=0.7, segments=(1, 4), max_curvature=0.01)
    roads = [scene.road for scene in HighwaySceneSpace(config).sample_many(40, seed=2)]
    together = [Road.from_dict(road.to_dict()) for road in roads]
    prepare_drawing(together)
    for road, batch in zip(roads, together):
        alone = Road.from_dict(road.to_dict())
        assert len(alone.lane_outlines) == len(batch.lane_outlines)
        for a, b in zip(alone.lane_outlines, batch.lane_outlines):
            assert np.array_equal(a, b)
        (solid_a, dashes_a), (solid_b, dashes_b) = alone.markings, batch.markings
        assert len(solid_a) == len(solid_b)
        assert all(np.array_equal(a, b) for a, b in zip(solid_a, solid_b))
        assert np.array_equal(dashes_a, dashes_b)


def test_lane_outline_follows_the_lane_boundaries_on_curves():
    road = Road(
        segment_lengths=[60.0, 90.0],
        segment_curvatures=[0.0, 0.02],
        lane_widths=[3.5, 3.5],
        lane_starts=[0.0, 30.0],
        lane_ends=[150.0, 120.0],
    )
    outline = road.lane_outlines[1]
    s, offset = road.cartesian_to_frenet(outline[:, 0], outline[:, 1])
    assert np.all((s > 30.0 - 1e-6) & (s < 120.0 + 1e-6))
    assert np.all(np.isclose(offset, -3.5) | np.isclose(offset, -7.0))
    # Chords of the arc stay within 2 cm of it.
    mid = (outline[1:] + outline[:-1]) / 2.0
    _, mid_offset = road.cartesian_to_frenet(mid[:, 0], mid[:, 1])
    on_edges = np.isclose(offset[1:], offset[:-1])
    assert np.all(np.abs(mid_offset - offset[1:])[on_edges] < 0.021)
