"""Label-consistent augmentation of renderings: geometry, photometric changes and weather.

``augment(rendering, config, rng, view)`` returns a new ``Rendering``. The geometric part
(rotation about the image centre, scaling, a random crop scaled back to the full size, and a
mirror across the road's axis: top to bottom in the road view, left to right in the vehicle
view, whose ego points up) is one affine map applied with OpenCV to all three images: bilinear
for the RGB picture, nearest-neighbour for the semantic map and the instance mask, so every
pixel of the masks keeps a class id and a vehicle id. The boxes are then recomputed from the
transformed instance mask (``mask_boxes``), so they are exactly the tight boxes of the masks;
corners, oriented boxes and the world-to-pixel transform follow the same affine map. The
photometric part (Gaussian noise, brightness, contrast, rain streaks, fog) changes the RGB
picture only.

The mirror turns right-hand traffic into left-hand traffic (lane order and the side of the
road that ramps join are reversed); it is off by default. Rotations keep traffic plausible:
the scene is the same, seen from a turned camera.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from scenegym.config import check_config, option
from scenegym.datasets.render import PALETTE, Rendering

__all__ = ["AugmentConfig", "augment", "mask_boxes", "photometric", "pixel_boxes", "vehicle_pixels"]


@dataclass(frozen=True, kw_only=True)
class AugmentConfig:
    """How much to change each rendering (all off by default; every field is a key of
    ``--set augment.KEY=VALUE``)."""

    rotate: float = field(
        default=0.0, metadata=option("largest rotation about the image centre (deg)", 0, 180)
    )
    scale: tuple[float, float] = field(
        default=(1.0, 1.0), metadata=option("range of the zoom factor", 0.1, 10)
    )
    crop: float = field(
        default=0.0,
        metadata=option(
            "largest share of the width and height cut away by a random crop, which is then "
            "scaled back to the full image",
            0,
            0.9,
        ),
    )
    mirror: bool = field(
        default=False,
        metadata={"help": "mirror half of the images across the road's axis (left-hand traffic)"},
    )
    noise: float = field(
        default=0.0, metadata=option("largest standard deviation of pixel noise (0-255)", 0, 128)
    )
    brightness: float = field(
        default=0.0, metadata=option("largest brightness shift (0-255)", 0, 255)
    )
    contrast: float = field(
        default=0.0, metadata=option("largest relative change of contrast", 0, 1)
    )
    rain: float = field(
        default=0.0, metadata=option("probability of rain streaks on an image", 0, 1)
    )
    fog: float = field(default=0.0, metadata=option("probability of fog on an image", 0, 1))

    def __post_init__(self) -> None:
        check_config(self)

    @property
    def geometric(self) -> bool:
        """True when the configuration moves pixels (so boxes must be recomputed)."""
        return bool(self.rotate or self.crop or self.mirror or self.scale != (1.0, 1.0))

    @property
    def photometric(self) -> bool:
        """True when the configuration changes the RGB picture's values."""
        return bool(self.noise or self.brightness or self.contrast or self.rain or self.fog)

    @property
    def active(self) -> bool:
        """True when the configuration changes anything."""
        return self.geometric or self.photometric


def vehicle_pixels(instance: NDArray[np.integer]) -> tuple[NDArray, NDArray, NDArray]:
    """Rows, columns and vehicle numbers (id - 1) of the pixels of ``instance`` that show a
    vehicle, in row-major order."""
    flat = instance.ravel()
    # flatnonzero of a boolean array is several times faster than a 2-D nonzero of uint16.
    where = np.flatnonzero(flat != 0)
    rows, cols = np.divmod(where, instance.shape[1])
    return rows, cols, flat[where].astype(np.intp) - 1


def pixel_boxes(rows: NDArray, cols: NDArray, ids: NDArray, count: int) -> tuple[NDArray, NDArray]:
    """``mask_boxes`` from ``vehicle_pixels``' output."""
    boxes = np.zeros((count, 4))
    visible = np.zeros(count, dtype=bool)
    if not len(ids):
        return boxes, visible
    order = np.argsort(ids, kind="stable")
    ids, rows, cols = ids[order], rows[order], cols[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    present = ids[starts]
    boxes[present, 0] = np.minimum.reduceat(cols, starts)
    boxes[present, 1] = np.minimum.reduceat(rows, starts)
    boxes[present, 2] = np.maximum.reduceat(cols, starts) + 1
    boxes[present, 3] = np.maximum.reduceat(rows, starts) + 1
    visible[present] = True
    return boxes, visible


def mask_boxes(instance: NDArray[np.integer], count: int) -> tuple[NDArray, NDArray]:
    """Tight boxes ``(count, 4)`` ``x0, y0, x1, y1`` (px, pixel edges: a vehicle covering
    only pixel ``(col, row)`` has the box ``col, row, col + 1, row + 1``) of the ids
    ``1..count`` in ``instance``, and ``(count,)`` True where an id covers any pixel (boxes of
    the others are 0)."""
    return pixel_boxes(*vehicle_pixels(instance), count)


def _affine(
    config: AugmentConfig, rng: np.random.Generator, width: int, height: int, view: str = "road"
) -> NDArray[np.float64]:
    """``(3, 3)`` pixel-to-pixel map (pixel-edge coordinates): mirror across the road's axis
    (horizontal in the road view, vertical in the vehicle view), rotation, zoom and crop about
    the centre."""
    angle = np.deg2rad(rng.uniform(-config.rotate, config.rotate)) if config.rotate else 0.0
    zoom = rng.uniform(*config.scale) if config.scale != (1.0, 1.0) else 1.0
    cut = rng.uniform(0.0, config.crop) if config.crop else 0.0
    mirror = config.mirror and rng.random() < 0.5
    centre = np.array([width / 2.0, height / 2.0])
    crop_zoom = 1.0 / (1.0 - cut)
    # The crop window's centre may move so the window stays inside the image.
    shift = rng.uniform(-1.0, 1.0, 2) * cut / 2.0 * np.array([width, height]) if cut else 0.0
    to_origin = np.array([[1.0, 0, -centre[0]], [0, 1.0, -centre[1]], [0, 0, 1.0]])
    across = 1 if view == "road" else 0  # the axis the mirror reverses: across the road
    flip = np.eye(3)
    if mirror:
        flip[across, across] = -1.0
    c, s = np.cos(angle), np.sin(angle)
    turn = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    grow = np.diag([zoom * crop_zoom, zoom * crop_zoom, 1.0])
    back = np.array([[1.0, 0, centre[0]], [0, 1.0, centre[1]], [0, 0, 1.0]])
    back[:2, 2] -= np.asarray(shift) * crop_zoom * zoom
    return back @ grow @ turn @ flip @ to_origin


def augment(
    rendering: Rendering, config: AugmentConfig, rng: np.random.Generator, view: str = "road"
) -> Rendering:
    """A changed copy of ``rendering`` (drawn in ``view``: ``"road"`` or ``"vehicle"``, which
    decides the mirror's axis); boxes are the tight boxes of the changed masks."""
    if not config.active:
        return rendering
    if view not in ("road", "vehicle"):
        raise ValueError(f"view must be 'road' or 'vehicle', got {view!r}")
    height, width = rendering.semantic.shape
    semantic, instance, rgb = rendering.semantic, rendering.instance, rendering.rgb
    changes: dict = {}
    if config.geometric:
        matrix = _affine(config, rng, width, height, view)
        m = matrix[:2]
        # OpenCV's maps take pixel centres at whole coordinates; ``m`` takes them at half ones
        # (pixel-edge coordinates, like the boxes and the world transform): x + 0.5 -> A (x +
        # 0.5) + t is x -> A x + t + (A - I) 0.5.
        pixels = np.column_stack([m[:, :2], m[:, 2] + (m[:, :2] - np.eye(2)) @ [0.5, 0.5]])
        size = (width, height)
        nearest = {"flags": cv2.INTER_NEAREST, "borderMode": cv2.BORDER_CONSTANT}
        semantic = cv2.warpAffine(semantic, pixels, size, borderValue=0, **nearest)
        instance = cv2.warpAffine(instance, pixels, size, borderValue=0, **nearest)
        if rgb is not None:
            rgb = cv2.warpAffine(
                rgb,
                pixels,
                size,
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=tuple(int(v) for v in PALETTE[0]),
            )
        corners = rendering.corners @ m[:, :2].T + m[:, 2]
        boxes, visible = mask_boxes(instance, len(rendering.kinds))
        oriented = rendering.oriented_boxes.copy()
        if len(oriented):
            oriented[:, :2] = oriented[:, :2] @ m[:, :2].T + m[:, 2]
            oriented[:, 2:4] *= np.sqrt(abs(np.linalg.det(m[:, :2])))
            # The heading vector (cos, sin) maps through the linear part.
            heading = np.stack([np.cos(oriented[:, 4]), np.sin(oriented[:, 4])], axis=1)
            heading = heading @ m[:, :2].T
            oriented[:, 4] = np.arctan2(heading[:, 1], heading[:, 0])
        transform = matrix @ np.vstack([rendering.transform, [0.0, 0.0, 1.0]])
        changes = {
            "semantic": semantic,
            "instance": instance,
            "boxes": boxes,
            "visible": visible,
            "corners": corners,
            "oriented_boxes": oriented,
            "transform": transform[:2],
        }
    if rgb is not None:
        changes["rgb"] = photometric(rgb, config, rng)
    return dataclasses.replace(rendering, **changes)


def photometric(
    rgb: NDArray[np.uint8], config: AugmentConfig, rng: np.random.Generator
) -> NDArray[np.uint8]:
    """Contrast, brightness, fog, rain and noise on an RGB picture (``augment`` applies them
    after the geometry; a picture painted later from the changed semantic map gets them
    from this function, with the same ``rng``)."""
    if not config.photometric:
        return rgb
    image = rgb.astype(np.float32)
    height, width = image.shape[:2]
    if config.contrast:
        factor = 1.0 + rng.uniform(-config.contrast, config.contrast)
        image = (image - image.mean()) * factor + image.mean()
    if config.brightness:
        image += rng.uniform(-config.brightness, config.brightness)
    if config.fog and rng.random() < config.fog:
        # A haze that thickens towards one side of the image.
        density = rng.uniform(0.3, 0.7)
        ramp = np.linspace(0.4, 1.0, width, dtype=np.float32)
        if rng.random() < 0.5:
            ramp = ramp[::-1]
        alpha = (density * ramp)[None, :, None]
        image = image * (1.0 - alpha) + 215.0 * alpha
    if config.rain and rng.random() < config.rain:
        streaks = np.zeros((height, width), dtype=np.uint8)
        count = max(1, (height * width) // 400)
        starts = rng.uniform(0, [width, height], (count, 2))
        slant = rng.uniform(-0.3, 0.3)
        length = max(3.0, height / 12.0)
        ends = starts + length * np.array([slant, 1.0])
        for a, b in zip(starts.astype(np.int32), ends.astype(np.int32)):
            cv2.line(streaks, tuple(int(v) for v in a), tuple(int(v) for v in b), 255, 1)
        image = np.maximum(image * 0.85, streaks[:, :, None] * 0.8)
    if config.noise:
        sigma = rng.uniform(0.0, config.noise)
        image += rng.normal(0.0, sigma, image.shape).astype(np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
