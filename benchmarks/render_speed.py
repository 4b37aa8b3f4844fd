"""Rendering throughput of scenegym's OpenCV renderer, next to a matplotlib peer.

What it measures
----------------
Images per second on one CPU core for bird's-eye pictures of random highway scenes
(``HighwaySceneSpace`` with a fixed vehicle count), square images of ``--size`` px.

- scenegym: ``scenegym.datasets.render(scene, RenderConfig(width=S, height=S))``. One image is
  the full output: semantic map, instance mask, RGB picture and per-vehicle boxes.
- matplotlib: the same scenes drawn into the same size with the Agg backend and persistent
  artists (one figure, one PolyCollection of lane outlines, one LineCollection of solid lines
  and dashes, one PolyCollection of vehicle footprints coloured by kind). Per scene only the
  artists' data are updated, then ``fig.canvas.draw()`` and the RGBA buffer is taken. This
  produces an RGB picture only.

scenegym's headline rate renders a new ``Scene`` object for every image (parsed from JSON
before timing), as when scenes come from a file, so all road geometry is computed inside the
timed call, with ``render_many`` over the whole set (``scenegym_one_by_one_images_per_s``: the
same with ``render`` called per scene); ``scenegym_same_road_images_per_s`` renders the same
objects again, which reuses road geometry (a generator moving vehicles on a kept road). For
matplotlib the road outlines, markings and vehicle corners are computed and mapped to pixels
*beforehand* with the
``transform`` of scenegym's rendering of that scene, so both draw the same view and only
matplotlib's drawing is timed (in its favour). Each side runs a warm-up pass, then
``--repeats`` timed passes; the best pass is reported (and the median for reference).
``rgb_agreement`` is an untimed check that the two pictures show the same thing: the share of
equal RGB pixels, over the whole image and over the pixels either side drew on (matplotlib
draws thicker 1 px lines).

The process is pinned to its first allowed CPU core where the OS supports it, and OpenCV is
limited to one thread. One JSON object is printed to stdout.

Run::

    .venv/bin/python benchmarks/render_speed.py
    .venv/bin/python benchmarks/render_speed.py --n-scenes 500 --size 256 --repeats 7
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import cv2
import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure

import scenegym
from scenegym.datasets import RenderConfig, render, render_many
from scenegym.datasets.render import PALETTE
from scenegym.scene import HighwaySceneSpace, HighwaySpaceConfig, Scene, vehicle_corners

TARGET_IMAGES_PER_S = 5000.0
_ROAD, _MARKING, _FIRST_VEHICLE = 1, 2, 3  # PALETTE rows (SEMANTIC_CLASSES order)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-scenes", type=int, default=200, help="distinct scenes (200)")
    parser.add_argument("--vehicles", type=int, default=20, help="vehicles per scene (20)")
    parser.add_argument("--size", type=int, default=128, help="square image side in px (128)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per renderer (5)")
    parser.add_argument("--seed", type=int, default=0, help="scene seed (0)")
    parser.add_argument(
        "--matplotlib-scenes",
        type=int,
        default=200,
        help="scenes per matplotlib pass, cycling through the scene set if needed (200)",
    )
    args = parser.parse_args(argv)
    for name in ("n_scenes", "size", "repeats", "matplotlib_scenes"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.vehicles < 0 or args.seed < 0:
        parser.error("--vehicles and --seed must be >= 0")
    return args


def _pin_to_one_core() -> int | None:
    """Pin this process to its first allowed core; the core id, or None where not possible."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
    except (OSError, ValueError):
        return None
    return core


def _time_passes(draw_pass: Callable[[], None], count: int, repeats: int) -> list[float]:
    """Images/s of each of ``repeats`` timed passes of ``count`` images, after one warm-up."""
    draw_pass()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        draw_pass()
        rates.append(count / (time.perf_counter() - start))
    return rates


def _to_pixels(points: np.ndarray, transform: np.ndarray) -> np.ndarray:
    return points @ transform[:, :2].T + transform[:, 2]


class _MatplotlibPeer:
    """One Agg figure of S x S px with persistent artists; only their data change per scene."""

    def __init__(self, size: int) -> None:
        colors = PALETTE.astype(np.float64) / 255.0
        self.vehicle_colors = np.concatenate(
            [colors[_FIRST_VEHICLE:], np.ones((len(colors) - _FIRST_VEHICLE, 1))], axis=1
        )
        self.figure = Figure(figsize=(1.0, 1.0), dpi=size, facecolor=colors[0])
        self.canvas = FigureCanvasAgg(self.figure)
        ax = self.figure.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        ax.set_xlim(0.0, size)  # pixel coordinates: origin at the top-left image corner
        ax.set_ylim(size, 0.0)
        options = {"antialiased": False}
        self.lanes = PolyCollection(
            [], facecolors=[colors[_ROAD]], edgecolors="none", linewidths=0.0, zorder=1, **options
        )
        self.lines = LineCollection(
            [], colors=[colors[_MARKING]], linewidths=72.0 / size, zorder=2, **options
        )
        self.vehicles = PolyCollection([], edgecolors="none", linewidths=0.0, zorder=3, **options)
        for artist in (self.lanes, self.lines, self.vehicles):
            ax.add_collection(artist, autolim=False)
        self.canvas.draw()
        width, height = self.canvas.get_width_height()
        if (width, height) != (size, size):
            raise RuntimeError(f"matplotlib canvas is {width}x{height} px, expected {size}x{size}")

    def prepare(self, scene: Scene, transform: np.ndarray) -> tuple:
        """Pixel-space geometry and vehicle colours of ``scene`` (untimed)."""
        road = scene.road
        solid, dashes = road.markings
        lanes = [_to_pixels(outline, transform) for outline in road.lane_outlines]
        lines = [_to_pixels(line, transform) for line in solid]
        lines += list(_to_pixels(dashes.reshape(-1, 2), transform).reshape(-1, 2, 2))
        corners = _to_pixels(vehicle_corners(road, scene.vehicles), transform)
        colors = self.vehicle_colors[scene.vehicles.kind]
        return lanes, lines, corners, colors

    def draw(self, prepared: tuple) -> np.ndarray:
        lanes, lines, corners, colors = prepared
        self.lanes.set_verts(lanes)
        self.lines.set_segments(lines)
        self.vehicles.set_verts(corners)
        self.vehicles.set_facecolor(colors)
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba())


def main(argv: Sequence[str] | None = None) -> dict:
    args = _parse(argv)
    pinned_core = _pin_to_one_core()
    cv2.setNumThreads(1)
    size = args.size

    space = HighwaySceneSpace(HighwaySpaceConfig(vehicles=(args.vehicles, args.vehicles)))
    scenes = list(space.sample_many(args.n_scenes, args.seed))
    config = RenderConfig(width=size, height=size)

    # scenegym, as when rendering scenes read from a file: every image is of a new Scene
    # object (parsed from JSON before timing), so nothing the renderer derives from a road is
    # reused between images. The whole render call is timed.
    def fresh_copies():
        copies = [
            [Scene.from_json(scene.to_json()) for scene in scenes] for _ in range(args.repeats + 1)
        ]
        return iter(copies)

    batches = fresh_copies()

    def scenegym_pass() -> None:
        render_many(next(batches), config)

    scenegym_rates = _time_passes(scenegym_pass, len(scenes), args.repeats)

    singles = fresh_copies()

    def single_pass() -> None:
        for scene in next(singles):
            render(scene, config)

    single_rates = _time_passes(single_pass, len(scenes), args.repeats)

    # scenegym drawing the same Scene objects again (a generator that keeps its road and
    # moves vehicles, or several views of one scene): road geometry is reused.
    def same_road_pass() -> None:
        render_many(scenes, config)

    same_road_rates = _time_passes(same_road_pass, len(scenes), args.repeats)

    # matplotlib: geometry in pixels from scenegym's view of each scene, prepared untimed.
    peer = _MatplotlibPeer(size)
    order = [i % len(scenes) for i in range(args.matplotlib_scenes)]
    references = {i: render(scenes[i], config) for i in sorted(set(order))}
    prepared = {i: peer.prepare(scenes[i], references[i].transform) for i in references}
    jobs = [prepared[i] for i in order]

    def matplotlib_pass() -> None:
        for job in jobs:
            peer.draw(job)

    matplotlib_rates = _time_passes(matplotlib_pass, len(jobs), args.repeats)

    # Untimed check that both sides drew the same picture: share of equal RGB pixels, over the
    # whole image and over the pixels either side drew something on (not background).
    whole, drawn = [], []
    background = PALETTE[0]
    for i in list(references)[:20]:
        picture = peer.draw(prepared[i])[..., :3]
        equal = np.all(picture == references[i].rgb, axis=-1)
        used = (references[i].semantic != 0) | np.any(picture != background, axis=-1)
        whole.append(float(equal.mean()))
        drawn.append(float(equal[used].mean()) if used.any() else 1.0)

    best = max(scenegym_rates)
    best_matplotlib = max(matplotlib_rates)
    result = {
        "scenegym_images_per_s": round(best, 1),
        "scenegym_images_per_s_median": round(statistics.median(scenegym_rates), 1),
        "scenegym_one_by_one_images_per_s": round(max(single_rates), 1),
        "scenegym_same_road_images_per_s": round(max(same_road_rates), 1),
        "matplotlib_images_per_s": round(best_matplotlib, 1),
        "matplotlib_images_per_s_median": round(statistics.median(matplotlib_rates), 1),
        "ratio": round(best / best_matplotlib, 2),
        "target_images_per_s": TARGET_IMAGES_PER_S,
        "meets_target": bool(best >= TARGET_IMAGES_PER_S),
        "rgb_agreement": {
            "scenes": len(whole),
            "all_pixels": round(statistics.fmean(whole), 4),
            "drawn_pixels": round(statistics.fmean(drawn), 4),
        },
        "settings": {
            "n_scenes": args.n_scenes,
            "vehicles": args.vehicles,
            "width": size,
            "height": size,
            "repeats": args.repeats,
            "seed": args.seed,
            "matplotlib_scenes": args.matplotlib_scenes,
            "pinned": pinned_core is not None,
            "pinned_core": pinned_core,
            "opencv_threads": cv2.getNumThreads(),
            "scenegym_image": "semantic + instance + RGB + boxes",
            "scenegym_scenes": "a new Scene object per image, drawn with render_many over all "
            "scenes (headline) or render one by one; the same objects again (same_road)",
            "matplotlib_image": "RGBA buffer (RGB picture only), Agg, persistent artists, "
            "no antialiasing",
            "statistic": "best of repeats after one warm-up pass",
        },
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "opencv": cv2.__version__,
            "matplotlib": matplotlib.__version__,
            "scenegym": scenegym.__version__,
        },
        "machine": {"arch": platform.machine(), "cpus": os.cpu_count()},
    }
    return result


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=2)
    sys.stdout.write("\n")
