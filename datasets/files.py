"""Writing renderings to disk: PNG images, masks and one labels file per image; contact sheets."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from scenegym._io import atomic_write_bytes, atomic_write_text, encode_png
from scenegym.datasets.render import PALETTE, SEMANTIC_CLASSES, RenderConfig, Rendering, render_many
from scenegym.scene.scene import Scene
from scenegym.scene.validity import is_valid
from scenegym.scene.vehicles import KINDS

__all__ = ["contact_sheet", "encode_png", "render_to_folder", "write_rendering"]

FOLDERS = ("images", "semantic", "instance", "labels")
"""Sub-folders of a render output: RGB PNG, class-id PNG, 16-bit instance PNG, labels JSON."""


def write_rendering(out: Path, stem: str, rendering: Rendering, extra: dict) -> None:
    """Write one rendering under ``out/{images,semantic,instance,labels}/stem.*``, atomically."""
    if rendering.rgb is not None:
        atomic_write_bytes(out / "images" / f"{stem}.png", encode_png(rendering.rgb))
    atomic_write_bytes(out / "semantic" / f"{stem}.png", encode_png(rendering.semantic))
    atomic_write_bytes(out / "instance" / f"{stem}.png", encode_png(rendering.instance))
    labels = {**extra, **rendering.labels()}
    atomic_write_text(out / "labels" / f"{stem}.json", json.dumps(labels) + "\n")


def render_to_folder(
    scenes: Iterable[Scene],
    out: str | os.PathLike,
    config: RenderConfig | None = None,
    on_scene: Callable[[], None] | None = None,
    *,
    overwrite: bool = False,
) -> int:
    """Render every scene into ``out`` (files named by scene index); returns the count.

    The files are written into a hidden folder beside ``out`` that becomes ``out`` only when
    every scene is rendered, so a failure or an interruption leaves ``out`` as it was. An
    existing non-empty ``out`` is replaced only with ``overwrite=True``, so no stale file of an
    earlier run survives next to the new ones.
    """
    config = RenderConfig() if config is None else config
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValueError(
            f"output folder {out} is not empty; choose a new folder or pass --overwrite"
        )
    if not out.parent.is_dir():
        raise ValueError(f"cannot create output folder {out}: {out.parent} does not exist")
    try:
        partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as error:
        raise ValueError(f"cannot write into {out.parent}: {error.strerror}") from None
    try:
        for folder in FOLDERS:
            (partial / folder).mkdir()
        count = 0
        for index, scene, rendering in _rendered(scenes, config):
            write_rendering(partial, f"{index:06d}", rendering, {"scene": scene.id, "index": index})
            count += 1
            if on_scene is not None:
                on_scene()
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(partial, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return count


def _rendered(scenes: Iterable[Scene], config: RenderConfig, chunk: int = 256):
    """``(index, scene, rendering)`` for every scene, rendered ``chunk`` scenes at a time with
    ``render_many``; checks that a 'vehicle' view has its ego vehicle first."""
    iterator = iter(scenes)
    index = 0
    while batch := list(itertools.islice(iterator, chunk)):
        for offset, scene in enumerate(batch):
            if (
                isinstance(scene, Scene)
                and config.view == "vehicle"
                and len(scene.vehicles) <= config.ego
            ):
                what = (
                    "no vehicles"
                    if not len(scene.vehicles)
                    else f"{len(scene.vehicles)} vehicles, so vehicle {config.ego} does not exist"
                )
                raise ValueError(
                    f"scene {index + offset} ({scene.id}) has {what}; a 'vehicle' view needs "
                    "its ego vehicle (pick a smaller --ego, or --view road)"
                )
        for scene, rendering in zip(batch, render_many(batch, config)):
            yield index, scene, rendering
            index += 1


def contact_sheet(
    scenes: Sequence[Scene], columns: int = 2, tile: tuple[int, int] = (768, 200)
) -> NDArray[np.uint8]:
    """An RGB grid of whole-road renderings, ``tile`` (width, height) px each before cropping
    to the road, each captioned with its scene id, vehicle count and validity, and a legend
    of the vehicle colours and captions below."""
    if not scenes:
        raise ValueError("contact_sheet needs at least one scene")
    width, height = tile
    renderings = render_many(scenes, RenderConfig(width=width, height=height))
    # Crop every picture to the rows the road covers: a long road fitted into the width
    # leaves most of its height as background.
    spans = []
    for rendering in renderings:
        drawn = np.flatnonzero((rendering.semantic != 0).any(axis=1))
        top, bottom = (drawn[0], drawn[-1] + 1) if drawn.size else (0, height)
        spans.append((max(0, top - 6), min(height, bottom + 6)))
    height = max(bottom - top for top, bottom in spans)
    rows = (len(scenes) + columns - 1) // columns
    caption, legend = 18, 26
    sheet = np.full((rows * (height + caption) + legend, columns * width, 3), 255, np.uint8)
    for i, (scene, rendering, (top, bottom)) in enumerate(zip(scenes, renderings, spans)):
        row, col = divmod(i, columns)
        y, x = row * (height + caption), col * width
        picture = rendering.rgb[top:bottom]
        sheet[y + caption : y + caption + picture.shape[0], x : x + width] = picture
        valid = is_valid(scene)
        text = f"{scene.id}  {len(scene.vehicles)} vehicles  {'valid' if valid else 'INVALID'}"
        colour = (20, 120, 20) if valid else (200, 30, 30)
        _write_text(sheet, text, (x + 4, y + 13), colour)
    _legend(sheet, sheet.shape[0] - legend + 6)
    return sheet


def _legend(sheet: NDArray[np.uint8], y: int) -> None:
    """Swatches of the vehicle kinds' colours, and what the caption colours mean."""
    x = 6
    for kind in KINDS:
        colour = tuple(int(c) for c in PALETTE[SEMANTIC_CLASSES.index(kind)])
        cv2.rectangle(sheet, (x, y + 2), (x + 22, y + 12), colour, thickness=-1)
        _write_text(sheet, kind, (x + 28, y + 12), (40, 40, 40))
        x += 40 + 9 * len(kind)
    _write_text(sheet, "valid: no rule broken", (x + 20, y + 12), (20, 120, 20))
    _write_text(sheet, "INVALID: a validity rule broken", (x + 220, y + 12), (200, 30, 30))


def _write_text(sheet: NDArray[np.uint8], text: str, at: tuple[int, int], colour) -> None:
    cv2.putText(sheet, text, at, cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
