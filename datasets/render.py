"""Bird's-eye OpenCV renderer: semantic map, instance mask, RGB picture and per-vehicle boxes.

Pixel coordinates are continuous with the origin at the top-left corner of the image: pixel
``(col, row)`` covers ``[col, col + 1) x [row, row + 1)``, the COCO convention. A pixel belongs
to a vehicle exactly when its centre lies inside the vehicle's footprint (a later vehicle wins
where footprints overlap), so the tight box of a vehicle's mask lies inside its axis-aligned
box, and is at most one pixel smaller on each side when the vehicle is not covered.

Views:

- ``"road"``: the whole road, turned so that its start-to-end chord runs left to right; with
  ``resolution=None`` the scale is chosen to fit the road (plus ``margin``) in the image.
- ``"vehicle"``: centred on vehicle ``ego`` and rotated so that it points up.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from scenegym.scene.geometry import corners_from_frames, vehicle_corners, vehicle_frames_many
from scenegym.scene.road import Road, prepare_drawing
from scenegym.scene.scene import Scene
from scenegym.scene.semantic import PALETTE, SEMANTIC_CLASSES
from scenegym.scene.vehicles import KINDS

__all__ = [
    "PALETTE",
    "SEMANTIC_CLASSES",
    "VEHICLE_RESOLUTION",
    "RenderConfig",
    "Rendering",
    "render",
    "render_many",
    "view_transform",
]

VEHICLE_RESOLUTION = 0.125
"""Metres per pixel of a vehicle view when none is given: a car of 4.5 x 1.8 m is 36 x 14 px,
a size detectors learn from."""

_NEXT = np.array([1, 2, 3, 0])  # corner k's edge runs to corner _NEXT[k]
_SHIFT = 4  # fixed-point bits for sub-pixel vertex positions in OpenCV drawing calls
_SCALE = float(1 << _SHIFT)
_ROAD, _MARKING, _FIRST_VEHICLE = 1, 2, 3
# applyColorMap's user table: output channel c of class k is _COLOURS[k, 0, c].
_COLOURS = np.zeros((256, 1, 3), dtype=np.uint8)
_COLOURS[: len(PALETTE), 0] = PALETTE


@dataclass(frozen=True, kw_only=True)
class RenderConfig:
    """How to draw a scene.

    Args:
        width: image width (px).
        height: image height (px).
        resolution: metres per pixel; ``None`` fits the whole road (view ``"road"``) or uses
            ``VEHICLE_RESOLUTION``, 0.125 m/px (view ``"vehicle"``: a car is about 36 x 14 px).
        view: ``"road"`` (whole road) or ``"vehicle"`` (crop centred on vehicle ``ego``).
        ego: the vehicle the ``"vehicle"`` view follows.
        margin: space kept around the road when the scale is fitted (m).
        markings: draw lane markings.
        rgb: also produce the RGB picture.
    """

    width: int = 128
    height: int = 128
    resolution: float | None = None
    view: str = "road"
    ego: int = 0
    margin: float = 2.0
    markings: bool = True
    rgb: bool = True

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 8 <= value <= 16384:
                raise ValueError(
                    f"RenderConfig.{name} must be a whole number of px in [8, 16384], got {value!r}"
                )
        if self.resolution is not None and not (0.001 <= self.resolution <= 100.0):
            raise ValueError(
                "RenderConfig.resolution must be in [0.001, 100] m/px or None, "
                f"got {self.resolution!r}"
            )
        if self.view not in ("road", "vehicle"):
            raise ValueError(f"RenderConfig.view must be 'road' or 'vehicle', got {self.view!r}")
        if self.margin < 0:
            raise ValueError(f"RenderConfig.margin must be >= 0 m, got {self.margin!r}")


@dataclass(frozen=True, kw_only=True)
class Rendering:
    """One rendered scene.

    Attributes:
        semantic: ``(H, W)`` uint8 class ids (``SEMANTIC_CLASSES``).
        instance: ``(H, W)`` uint16; 0 where no vehicle, ``i + 1`` on vehicle ``i``.
        rgb: ``(H, W, 3)`` uint8 RGB picture, or None when not requested.
        boxes: ``(n, 4)`` axis-aligned boxes ``x0, y0, x1, y1`` (px), clipped to the image.
        oriented_boxes: ``(n, 5)`` ``cx, cy, length, width, angle``: centre and size in px,
            angle of the vehicle's heading in the image (rad, from +x towards +y, i.e.
            clockwise on screen). Not clipped.
        corners: ``(n, 4, 2)`` footprint corners (px), front-left first, unclipped.
        visible: ``(n,)`` True where the vehicle covers at least one pixel.
        transform: ``(2, 3)`` affine map from world ``(x, y, 1)`` (m) to pixels.
        kinds: ``(n,)`` kind codes of the vehicles (``KINDS``).
    """

    semantic: NDArray[np.uint8]
    instance: NDArray[np.uint16]
    rgb: NDArray[np.uint8] | None
    boxes: NDArray[np.float64]
    oriented_boxes: NDArray[np.float64]
    corners: NDArray[np.float64]
    visible: NDArray[np.bool_]
    transform: NDArray[np.float64]
    kinds: NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, np.int8))

    def labels(self) -> dict:
        """JSON-ready labels of the visible vehicles (vehicle index, kind, boxes, pixels)."""
        pixels = np.bincount(self.instance.ravel(), minlength=len(self.visible) + 1)[1:]
        return {
            "width": int(self.semantic.shape[1]),
            "height": int(self.semantic.shape[0]),
            "classes": list(SEMANTIC_CLASSES),
            "transform": self.transform.tolist(),
            "objects": [
                {
                    "vehicle": int(i),
                    "instance": int(i) + 1,
                    "kind": KINDS[int(self.kinds[i])],
                    "class_id": _FIRST_VEHICLE + int(self.kinds[i]),
                    "box": [round(float(v), 3) for v in self.boxes[i]],
                    "oriented_box": [round(float(v), 4) for v in self.oriented_boxes[i]],
                    "pixels": int(pixels[i]),
                }
                for i in np.flatnonzero(self.visible)
            ],
        }


def view_transform(
    center: tuple[float, float], rotation: float, resolution: float, width: int, height: int
) -> NDArray[np.float64]:
    """``(2, 3)`` affine map world (m) -> pixels: ``center`` lands in the image middle, the
    world is turned by ``rotation`` (rad, counter-clockwise) and world +y points up."""
    c, s = np.cos(rotation) / resolution, np.sin(rotation) / resolution
    cx, cy = center
    return np.array(
        [
            [c, -s, width / 2.0 - (c * cx - s * cy)],
            [-s, -c, height / 2.0 + (s * cx + c * cy)],
        ]
    )


class _RoadDrawing:
    """World geometry of a road packed for drawing: one point array, split after transform."""

    def __init__(self, road: Road) -> None:
        solid, dashes = road.markings
        pieces = [*road.lane_outlines, *solid]
        self.points = np.concatenate([*pieces, dashes.reshape(-1, 2)])
        self.splits = np.cumsum([len(p) for p in pieces])
        bounds = np.concatenate([[0], self.splits])
        self.slices = [slice(a, b) for a, b in itertools.pairwise(bounds)]
        self.lane_count = len(road.lane_outlines)
        self.dash_count = len(dashes)
        outline = np.concatenate(road.lane_outlines)
        start, end = road.origin, road.end_pose
        chord = np.hypot(end[0] - start[0], end[1] - start[1])
        angle = np.arctan2(end[1] - start[1], end[0] - start[0]) if chord > 1.0 else start[2]
        self.rotation = -float(angle)
        c, s = np.cos(self.rotation), np.sin(self.rotation)
        u = c * outline[:, 0] - s * outline[:, 1]
        v = s * outline[:, 0] + c * outline[:, 1]
        mid_u, mid_v = (u.min() + u.max()) / 2.0, (v.min() + v.max()) / 2.0
        self.center = (c * mid_u + s * mid_v, -s * mid_u + c * mid_v)  # back to world
        self.span = (float(u.max() - u.min()), float(v.max() - v.min()))


_DRAWINGS: dict[int, tuple[weakref.ref, _RoadDrawing]] = {}


def _drawing(road: Road) -> _RoadDrawing:
    """The packed drawing of ``road``, cached while the road object lives."""
    entry = _DRAWINGS.get(id(road))
    if entry is not None and entry[0]() is road:
        return entry[1]
    if len(_DRAWINGS) >= 512:
        _DRAWINGS.clear()
    drawing = _RoadDrawing(road)
    _DRAWINGS[id(road)] = (weakref.ref(road), drawing)
    return drawing


def _road_view(drawing: _RoadDrawing, config: RenderConfig) -> NDArray[np.float64]:
    resolution = config.resolution
    if resolution is None:
        span_u = drawing.span[0] + 2 * config.margin
        span_v = drawing.span[1] + 2 * config.margin
        resolution = max(span_u / config.width, span_v / config.height)
    return view_transform(drawing.center, drawing.rotation, resolution, config.width, config.height)


def _vehicle_view(scene: Scene, config: RenderConfig) -> NDArray[np.float64]:
    n = len(scene.vehicles)
    if not 0 <= config.ego < n:
        raise ValueError(
            f"RenderConfig.ego is {config.ego} but the scene has {n} vehicles "
            f"(use 0..{n - 1}, or view='road')"
        )
    corners = vehicle_corners(scene.road, scene.vehicles.take([config.ego]))[0]
    center = corners.mean(axis=0)
    front = (corners[0] + corners[3]) / 2.0 - center
    heading = float(np.arctan2(front[1], front[0]))
    resolution = VEHICLE_RESOLUTION if config.resolution is None else config.resolution
    return view_transform(
        tuple(center), np.pi / 2.0 - heading, resolution, config.width, config.height
    )


def _to_pixels(points: NDArray[np.float64], transform: NDArray[np.float64]) -> NDArray:
    return points @ transform[:, :2].T + transform[:, 2]


def _fixed(pixels: NDArray[np.float64]) -> NDArray[np.int32]:
    """Continuous pixel coordinates -> OpenCV fixed point (integer coordinates are centres)."""
    return np.rint((pixels - 0.5) * _SCALE).astype(np.int32)


def rasterise_convex(
    corners: NDArray[np.float64], height: int, width: int, image: NDArray | None = None
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Pixels whose centre lies inside each convex quadrilateral, in drawing order.

    ``corners`` is ``(n, 4, 2)`` in pixel coordinates (any winding). Returns the flat pixel
    indices (row * width + col, plus ``image * height * width`` when quadrilateral ``i``
    belongs to image ``image[i]`` of a stack) and the index of the quadrilateral each belongs
    to; assigning them in order draws later quadrilaterals on top. Each image row crossing a
    footprint is one span, found from the edges the row's centre line crosses.
    """
    n = corners.shape[0]
    x0, y0 = corners[:, :, 0], corners[:, :, 1]
    x1, y1 = x0[:, _NEXT], y0[:, _NEXT]
    low = np.maximum(np.ceil(y0.min(axis=1) - 0.5), 0).astype(np.int64)
    high = np.minimum(np.floor(y0.max(axis=1) - 0.5), height - 1).astype(np.int64)
    rows = np.maximum(high - low + 1, 0)
    owner = np.repeat(np.arange(n), rows)
    row = np.arange(owner.size) - np.repeat(np.cumsum(rows) - rows - low, rows)
    # One table row per edge: start x, start y, dx/dy, and the y range it spans (empty for
    # horizontal edges, which never bound a span).
    dy = y1 - y0
    flat = dy == 0.0
    edges = np.empty((n, 4, 5))
    edges[..., 0], edges[..., 1] = x0, y0
    edges[..., 2] = (x1 - x0) / np.where(flat, 1.0, dy)
    edges[..., 3] = np.where(flat, np.inf, np.minimum(y0, y1))
    edges[..., 4] = np.maximum(y0, y1)
    table = edges[owner]  # (spans, 4, 5)
    y = (row + 0.5)[:, None]
    crosses = (table[..., 3] <= y) & (y <= table[..., 4])
    x = table[..., 0] + (y - table[..., 1]) * table[..., 2]
    left = np.where(crosses, x, np.inf).min(axis=1)
    right = np.where(crosses, x, -np.inf).max(axis=1)
    first = np.maximum(np.ceil(left - 0.5), 0.0)
    last = np.minimum(np.floor(right - 0.5), width - 1.0)
    length = np.maximum(last - first + 1.0, 0.0).astype(np.int64)
    span_start = row * width + first.astype(np.int64)
    if image is not None:
        span_start += np.asarray(image, dtype=np.int64)[owner] * (height * width)
    offsets = np.cumsum(length) - length
    pixels = np.repeat(span_start - offsets, length) + np.arange(
        int(offsets[-1] + length[-1]) if length.size else 0
    )
    return pixels, np.repeat(owner, length)


def _boxes(
    corners: NDArray[np.float64], frames: NDArray[np.float64], width: int, height: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Axis-aligned boxes ``(n, 4)`` clipped to the picture, and oriented boxes ``(n, 5)``
    (centre x, y, length, width in px, angle in rad) of vehicle footprints in pixels."""
    n = len(corners)
    boxes = np.empty((n, 4))
    np.maximum(corners.min(axis=1), 0.0, out=boxes[:, :2])
    np.minimum(corners.max(axis=1), [width, height], out=boxes[:, 2:])
    np.minimum(boxes[:, :2], [width, height], out=boxes[:, :2])
    np.maximum(boxes[:, 2:], 0.0, out=boxes[:, 2:])
    oriented = np.empty((n, 5))
    oriented[:, :2] = frames[:, 0]
    oriented[:, 2:4] = 2.0 * np.hypot(frames[:, 1:, 0], frames[:, 1:, 1])
    oriented[:, 4] = np.arctan2(frames[:, 1, 1], frames[:, 1, 0])
    return boxes, oriented


def render_many(scenes: Iterable[Scene], config: RenderConfig | None = None) -> list[Rendering]:
    """Draw many scenes at once; the same arrays as ``render`` one by one, faster.

    Road geometry of all roads is prepared together, vehicles of all scenes are placed and
    rasterised in one vectorised pass into a stack of images, and the RGB pictures come from
    one colour-map call. The returned arrays are views into those stacks.
    """
    config = RenderConfig() if config is None else config
    scenes = list(scenes)
    for i, scene in enumerate(scenes):
        if not isinstance(scene, Scene):
            raise TypeError(f"render expects Scenes, got {type(scene).__name__} at index {i}")
    if not scenes:
        return []
    roads = [scene.road for scene in scenes]
    prepare_drawing(roads)
    height, width = config.height, config.width
    count = len(scenes)
    semantic = np.zeros((count, height, width), dtype=np.uint8)
    instance = np.zeros((count, height, width), dtype=np.uint16)
    transforms = np.empty((count, 2, 3))
    for i, scene in enumerate(scenes):
        drawing = _drawing(scene.road)
        if config.view == "vehicle":
            transforms[i] = _vehicle_view(scene, config)
        else:
            transforms[i] = _road_view(drawing, config)
        _draw_road(semantic[i], drawing, transforms[i], config.markings)

    # Vehicles of all scenes: frames (centre, half-length and half-width vectors) in pixels.
    counts = np.array([len(scene.vehicles) for scene in scenes])
    first = np.cumsum(counts) - counts
    scene_of = np.repeat(np.arange(count), counts)
    frames = vehicle_frames_many(roads, np.arange(count), [scene.vehicles for scene in scenes])
    linear = transforms[scene_of, :, :2]  # (n, 2, 2)
    frames = np.einsum("nij,nkj->nki", linear, frames)
    frames[:, 0] += transforms[scene_of, :, 2]
    corners = corners_from_frames(frames)
    kinds = (
        np.concatenate([scene.vehicles.kind for scene in scenes])
        if counts.sum()
        else np.zeros(0, np.int8)
    )
    # Exact rasterisation (pixel centre inside the footprint), later vehicles on top; the
    # semantic map takes the same pixels so the two can never disagree.
    pixels, owner = rasterise_convex(corners, height, width, image=scene_of)
    instance.ravel()[pixels] = owner - first[scene_of[owner]] + 1
    semantic.ravel()[pixels] = _FIRST_VEHICLE + kinds[owner]

    boxes, oriented = _boxes(corners, frames, width, height)
    # A vehicle is visible when some pixel it was drawn on still carries its id.
    visible = np.zeros(len(corners), dtype=bool)
    drawn_scene = pixels // (height * width)
    visible[instance.ravel()[pixels].astype(np.int64) - 1 + first[drawn_scene]] = True
    rgb = None
    if config.rgb:
        rgb = cv2.applyColorMap(semantic.reshape(count * height, width), _COLOURS)
        rgb = rgb.reshape(count, height, width, 3)

    out = []
    for i in range(count):
        part = slice(first[i], first[i] + counts[i])
        out.append(
            Rendering(
                semantic=semantic[i],
                instance=instance[i],
                rgb=None if rgb is None else rgb[i],
                boxes=boxes[part],
                oriented_boxes=oriented[part],
                corners=corners[part],
                visible=visible[part],
                transform=transforms[i],
                kinds=kinds[part].copy(),
            )
        )
    return out


def _draw_road(
    semantic: NDArray[np.uint8], drawing: _RoadDrawing, transform: NDArray, markings: bool
) -> None:
    fixed = _fixed(_to_pixels(drawing.points, transform))
    dashes = fixed[drawing.splits[-1] :].reshape(-1, 2, 2)
    pieces = [fixed[part] for part in drawing.slices]
    cv2.fillPoly(semantic, pieces[: drawing.lane_count], _ROAD, cv2.LINE_8, _SHIFT)
    if markings:
        if len(pieces) > drawing.lane_count:
            cv2.polylines(
                semantic, pieces[drawing.lane_count :], False, _MARKING, 1, cv2.LINE_8, _SHIFT
            )
        if drawing.dash_count:
            cv2.polylines(semantic, dashes, False, _MARKING, 1, cv2.LINE_8, _SHIFT)


def render(scene: Scene, config: RenderConfig | None = None) -> Rendering:
    """Draw ``scene`` into a semantic map, an instance mask, an RGB picture and boxes.

    Deterministic: the same scene and config give the same arrays, bit for bit. To draw many
    scenes, ``render_many`` is faster.

    >>> from scenegym.scene import Road, Scene, Vehicles
    >>> road = Road.straight(length=60.0, lanes=2)
    >>> scene = Scene(road, Vehicles.from_columns(lane=[1], s=[30.0]))
    >>> out = render(scene, RenderConfig(width=64, height=32))
    >>> out.semantic.shape, out.visible.tolist(), SEMANTIC_CLASSES[out.semantic.max()]
    ((32, 64), [True], 'car')
    """
    if not isinstance(scene, Scene):
        raise TypeError(f"render expects a Scene, got {type(scene).__name__}")
    return render_many([scene], config)[0]
