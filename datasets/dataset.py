"""Datasets of rendered scenes: COCO, YOLO and Parquet, written in resumable shards.

``write_dataset(source, out, n, seed, config, workers=...)`` renders ``n`` scenes from a
source (``ScenesFile``, ``PriorSource``, ``CurriculumSource`` or ``PolicySource``, or the path
of a scenes file, prior folder or curriculum run) into::

    OUT/images/0000000-road.png     RGB picture of scene 0, whole-road view
    OUT/semantic/0000000-road.png   class ids (``SEMANTIC_CLASSES``)
    OUT/instance/0000000-road.png   16-bit vehicle ids (0: none, i + 1: vehicle i)
    OUT/labels/0000000-road.txt     YOLO boxes: class cx cy w h, normalised
    OUT/scenes/part-00000.parquet   one row per scene: parameters, descriptors, file paths
                                    (and a curriculum run's record of the scene)
    OUT/annotations.json            COCO: images, boxes, RLE or polygon masks, categories
    OUT/data.yaml, train.txt, val.txt  the YOLO dataset file and its image lists
    OUT/shards/job.json             what is being written (source, n, seed, config)
    OUT/shards/00000.json           a finished shard: its COCO entries and file hashes
    OUT/SHA256SUMS                  every file's hash (``sha256sum -c SHA256SUMS``)
    OUT/manifest.json               seed, source, config, versions, counts; written last

**Shards.** Samples ``k * shard_size`` to ``(k + 1) * shard_size - 1`` are shard ``k``;
``write_shard(job, k)`` makes everything of one shard from the job description alone (the
scenes of shard ``k`` depend only on the source, the seed and ``k``), so the files are
byte-identical whatever the number of workers (torch runs one thread in every process, the
serial one included), and a shard can run in any process or on any
machine that sees the output folder. The shard's record in ``shards/`` is written last,
through a temporary name and a rename, like every file outside a shard. A rerun of the same
command skips shards whose record and files are there and redoes the others, so an
interrupted run (even killed) completes without duplicates or gaps. The COCO file, the YOLO
lists, ``SHA256SUMS`` and the manifest are assembled from the shard records one record at a
time, so memory stays flat in the number of samples.

**Boxes** are the tight boxes of each vehicle's pixels in the instance mask (COCO's
convention), with or without augmentation; a vehicle that covers no pixel has no label.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scenegym._io import file_sha256, locking
from scenegym._ray import check_backend, imap
from scenegym._threads import ignore_interrupts, one_torch_thread, spawn_imap
from scenegym.config import check_config, config_from_mapping, config_to_dict, option
from scenegym.datasets.augment import (
    AugmentConfig,
    augment,
    photometric,
    pixel_boxes,
    vehicle_pixels,
)
from scenegym.datasets.files import encode_png
from scenegym.datasets.manifest import DATASET_FORMAT, finalise, write_file
from scenegym.datasets.render import RenderConfig, Rendering, render_many
from scenegym.datasets.sources import (
    CurriculumSource,
    PriorSource,
    ScenesFile,
    open_source,
    source_at,
)
from scenegym.scene.batch import SceneBatch
from scenegym.scene.scene import Scene
from scenegym.scene.validity import DEFAULT_RULES

__all__ = [
    "FORMATS",
    "CurriculumSource",
    "DatasetConfig",
    "PriorSource",
    "ScenesFile",
    "write_dataset",
    "write_shard",
]

FORMATS = ("coco", "yolo", "parquet")


@dataclass(frozen=True, kw_only=True)
class DatasetConfig:
    """What each sample holds (every field is a key of ``--set``)."""

    width: int = field(default=192, metadata=option("image width (px)", 8, 16384))
    height: int = field(default=384, metadata=option("image height (px)", 8, 16384))
    resolution: float | None = field(
        default=None,
        metadata=option("m/px; null fits the road (road view), 0.125 (vehicle view)", 0.001, 100),
    )
    views: tuple[str, ...] = field(
        default=("vehicle",),
        metadata={
            "help": "vehicle (24 x 48 m around vehicle ego, pointing up: a car is tens of "
            "pixels) and/or road (the whole road: a car is a few pixels)"
        },
    )
    ego: int = field(default=0, metadata=option("the vehicle a vehicle view follows", 0))
    formats: tuple[str, ...] = field(
        default=FORMATS, metadata={"help": "label formats: coco, yolo, parquet"}
    )
    masks: str = field(
        default="rle",
        metadata={
            "help": "COCO masks as run-length encoding or polygons",
            "choices": ("rle", "polygon"),
        },
    )
    val_share: float = field(
        default=0.1, metadata=option("share of scenes in YOLO's val.txt (by scene index)", 0, 1)
    )
    shard_size: int = field(default=256, metadata=option("scenes per shard", 1, 1_000_000))
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        check_config(self)
        for name, allowed in (("views", ("road", "vehicle")), ("formats", FORMATS)):
            values = getattr(self, name)
            if (
                not values
                or any(v not in allowed for v in values)
                or len(set(values)) < len(values)
            ):
                raise ValueError(
                    f"{name} must be a non-empty list of distinct values among "
                    f"{', '.join(allowed)}, got {list(values)!r}"
                )

    def render_config(self, view: str, rgb: bool = True) -> RenderConfig:
        return RenderConfig(
            width=self.width,
            height=self.height,
            resolution=self.resolution,
            view=view,
            ego=self.ego,
            rgb=rgb,
        )


# ------------------------------------------------------------------------------ sources


def _open_appearance(description: dict[str, Any]):
    from scenegym.generators.appearance import AppearanceModel

    model = AppearanceModel.load(description["path"])
    if file_sha256(Path(description["path"]) / "weights.safetensors") != description["sha256"]:
        raise ValueError(
            f"appearance model {description['path']} changed since this dataset was started; "
            "finish it with the model it started with, or pass --overwrite"
        )
    return model


def _describe_appearance(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    from scenegym.generators.appearance import AppearanceModel

    AppearanceModel.load(path)  # a clear error now rather than in a worker
    return {"path": str(path), "sha256": file_sha256(path / "weights.safetensors")}


# ------------------------------------------------------------------------------ one shard


def _mask_stack(
    shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray, owners: np.ndarray,
    visible: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """``(H, W, n)`` uint8 masks of the ``n`` visible vehicles, in Fortran order (the layout
    pycocotools reads), from ``vehicle_pixels``' output."""
    height, width = shape
    rank = np.cumsum(visible) - 1  # vehicle number -> its place among the visible ones
    # (n, W, H) in C order is (H, W, n) in Fortran order.
    planes = np.zeros((int(visible.sum()), width, height), dtype=np.uint8)
    planes[rank[owners], cols, rows] = 1
    return planes.transpose(2, 1, 0)


def _coco_masks(stack: np.ndarray, kind: str) -> list[str]:
    """Each mask of ``stack`` (``_mask_stack``) as the JSON text of its COCO segmentation."""
    from pycocotools import mask as coco_mask

    if not stack.shape[2]:
        return []
    if kind == "rle":
        # Compressed RLE counts use the characters 48-111: of those only the backslash needs
        # escaping in JSON.
        encoded = coco_mask.encode(stack)
        texts = (e["counts"].decode("ascii").replace("\\", "\\\\") for e in encoded)
        return [
            f'{{"size": [{e["size"][0]}, {e["size"][1]}], "counts": "{text}"}}'
            for e, text in zip(encoded, texts)
        ]
    import cv2

    out = []
    for k in range(stack.shape[2]):
        plane = np.ascontiguousarray(stack[:, :, k])
        x, y, w, h = cv2.boundingRect(plane)
        # A contour runs through the centres of the mask's outer pixels, half a pixel inside
        # its edges: traced on the mask four times enlarged, it runs an eighth of a pixel
        # inside them, and the polygon fills back every pixel of the mask (a contour on the
        # mask itself gives back about half of a small vehicle's pixels).
        big = cv2.resize(
            plane[y : y + h, x : x + w], (4 * w, 4 * h), interpolation=cv2.INTER_NEAREST
        )
        contours, _ = cv2.findContours(big, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        polygons = []
        for contour in contours:
            points = (contour.reshape(-1, 2) + 0.5) / 4 + [x, y]
            polygons.append([round(v, 3) for v in points.ravel().tolist()])
        out.append(json.dumps(polygons))
    return out


def _shard_scenes(index: int, shard_size: int, n: int) -> tuple[int, int]:
    """``(start, stop)``: the scene indices of shard ``index``."""
    return index * shard_size, min(n, (index + 1) * shard_size)


def write_shard(
    job: dict[str, Any], index: int, source: Any = None, appearance: Any = None
) -> dict[str, Any]:
    """Write shard ``index`` of ``job`` (as in ``shards/job.json``) and return its record,
    also written to ``shards/{index:05d}.json``. ``source`` and ``appearance`` are the job's,
    opened already (they are opened from the job when not given)."""
    out = Path(job["out"])
    config = config_from_mapping(DatasetConfig, job["config"], name="config")
    seed, n = job["seed"], job["n"]
    start, stop = _shard_scenes(index, config.shard_size, n)
    source = open_source(job["source"]) if source is None else source
    if appearance is None and job.get("appearance"):
        appearance = _open_appearance(job["appearance"])
    fields = tuple(getattr(source, "fields", ()))  # per-scene records some sources add
    if fields:
        scenes, records = source.labelled(start, stop, seed, n)
    else:
        scenes, records = source.scenes(start, stop, seed, n), [{}] * (stop - start)
    files: dict[str, bytes] = {}
    batch = SceneBatch.of(scenes)  # descriptors and validity in one vectorised batch
    descriptors = batch.describe()
    valid = batch.violation_counts(DEFAULT_RULES).sum(axis=1) == 0
    views = _render_views(scenes, config, appearance)
    samples, paths = _augmented(scenes, views, config, seed, start)
    if appearance is not None:
        painted = appearance.translate([sample[3].semantic for sample in samples])
        for k, ((number, view, stem, rendering, rng), rgb) in enumerate(zip(samples, painted)):
            rgb = photometric(rgb, config.augment, rng)
            samples[k] = (number, view, stem, dataclasses.replace(rendering, rgb=rgb), rng)
    images = [
        _sample_files(number, view, stem, rendering, config, files, records[number - start])
        for number, view, stem, rendering, _ in samples
    ]
    if "parquet" in config.formats:
        columns: list[tuple[str, str, Any]] = [
            ("index", "int64", np.arange(start, stop)),
            ("scene_id", "string", [scene.id for scene in scenes]),
            ("vehicles", "int64", [len(scene.vehicles) for scene in scenes]),
            ("valid", "bool", valid),
            ("scene", "string", [scene.to_json() for scene in scenes]),
            *((name, "float64", values) for name, values in descriptors.items()),
            *((f"image_{view}", "string", paths[view]) for view in config.views),
            *_record_columns(fields, records),
        ]
        files[f"scenes/part-{index:05d}.parquet"] = _parquet(columns)
    hashes = {}
    for name, data in files.items():
        write_file(out / name, data, atomic=False)
        hashes[name] = [hashlib.sha256(data).hexdigest(), len(data)]
    record = {
        "shard": index,
        "scenes": [start, stop],
        "invalid": int((~valid).sum()),
        "images": images,
        "files": hashes,
    }
    write_file(out / "shards" / f"{index:05d}.json", json.dumps(record).encode("utf-8"))
    return record


def _record_columns(
    fields: tuple[tuple[str, str], ...], records: list[dict[str, Any]]
) -> list[tuple[str, str, Any]]:
    """The Parquet columns of a source's per-scene records (kind ``json``: JSON text)."""
    columns = []
    for name, kind in fields:
        values = [record[name] for record in records]
        if kind == "json":
            kind, values = "string", [json.dumps(v, sort_keys=True) for v in values]
        columns.append((name, kind, values))
    return columns


def _render_views(
    scenes: list[Scene], config: DatasetConfig, appearance: Any
) -> dict[str, list[Rendering | None]]:
    """Every view of every scene (None where a vehicle view has no ego vehicle)."""
    views: dict[str, list[Rendering | None]] = {}
    for view in config.views:
        # With an appearance model the RGB picture is painted from the semantic map instead.
        render_config = config.render_config(view, rgb=appearance is None)
        drawable = [
            i for i, s in enumerate(scenes) if view == "road" or len(s.vehicles) > config.ego
        ]
        drawn = render_many([scenes[i] for i in drawable], render_config)
        slots: list[Rendering | None] = [None] * len(scenes)
        for i, rendering in zip(drawable, drawn):
            slots[i] = rendering
        views[view] = slots
    return views


def _augmented(
    scenes: list[Scene], views: dict, config: DatasetConfig, seed: int, start: int
) -> tuple[list[tuple], dict[str, list[str | None]]]:
    """The samples ``(scene number, view, stem, augmented rendering, its random draws)`` and
    each view's image path per scene (None where the view is not drawn)."""
    samples = []
    paths: dict[str, list[str | None]] = {view: [] for view in config.views}
    for offset in range(len(scenes)):
        number = start + offset
        for view_number, view in enumerate(config.views):
            rendering = views[view][offset]
            stem = f"{number:07d}-{view}"
            paths[view].append(f"images/{stem}.png" if rendering is not None else None)
            if rendering is None:
                continue
            rng = np.random.default_rng([seed, number, view_number])
            changed = augment(rendering, config.augment, rng, view)
            samples.append((number, view, stem, changed, rng))
    return samples, paths


def _sample_files(
    number: int, view: str, stem: str, rendering: Rendering, config: DatasetConfig, files: dict,
    record: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """Add one sample's pictures and labels to ``files``; returns its image record (with
    ``record``, the source's record of the scene, as fields of its COCO image)."""
    count = len(rendering.kinds)
    pixel_rows, pixel_cols, owners = vehicle_pixels(rendering.instance)
    boxes, visible = pixel_boxes(pixel_rows, pixel_cols, owners, count)
    ids = np.flatnonzero(visible)
    files[f"images/{stem}.png"] = encode_png(rendering.rgb)
    files[f"semantic/{stem}.png"] = encode_png(rendering.semantic)
    files[f"instance/{stem}.png"] = encode_png(rendering.instance)
    kinds = rendering.kinds[ids].astype(int).tolist()
    if "yolo" in config.formats:
        files[f"labels/{stem}.txt"] = _yolo_lines(kinds, boxes[ids], config)
    annotations = []
    if "coco" in config.formats:
        stack = _mask_stack(rendering.instance.shape, pixel_rows, pixel_cols, owners, visible)
        masks = _coco_masks(stack, config.masks)
        areas = np.bincount(owners, minlength=count)[ids].tolist()
        annotations = _coco_annotations(kinds, ids, masks, areas, boxes[ids], rendering)
    entry = {
        "file_name": f"images/{stem}.png",
        "width": config.width,
        "height": config.height,
        "scene": number,
        "view": view,
        **record,
    }
    # The COCO entries as JSON text without their ids (counted over all shards when the
    # COCO file is assembled), so the assembly only joins text.
    return {
        "file_name": entry["file_name"],
        "scene": number,
        "coco": json.dumps(entry),
        "annotations": annotations,
        "categories": [k + 1 for k in kinds] if "coco" in config.formats else [],
        "box_sizes": (boxes[ids, 2:] - boxes[ids, :2]).astype(int).tolist(),  # px, w and h
    }


def _yolo_lines(kinds: list[int], b: NDArray, config: DatasetConfig) -> bytes:
    """YOLO label lines: class and box centre and size, relative to the picture."""
    w, h = config.width, config.height
    table = np.stack(
        [(b[:, 0] + b[:, 2]) / 2 / w, (b[:, 1] + b[:, 3]) / 2 / h,
         (b[:, 2] - b[:, 0]) / w, (b[:, 3] - b[:, 1]) / h],
        axis=1,
    )  # fmt: skip
    lines = "".join(
        f"{k} {x:.6f} {y:.6f} {dx:.6f} {dy:.6f}\n"
        for k, (x, y, dx, dy) in zip(kinds, table.tolist())
    )
    return lines.encode("ascii")


def _coco_annotations(kinds, ids, masks, areas, b: NDArray, rendering: Rendering) -> list[str]:
    """Each COCO annotation as the JSON text json.dumps would give, made by formatting."""
    sizes = np.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1)
    oriented = rendering.oriented_boxes[ids].tolist()  # cx, cy, length, width, angle
    annotations = []
    for k, vehicle, mask, area, (x, y, dx, dy), (cx, cy, cl, cw, ca) in zip(
        kinds, ids.tolist(), masks, areas, sizes.tolist(), oriented
    ):
        annotations.append(
            f'{{"category_id": {k + 1}, "bbox": [{x!r}, {y!r}, {dx!r}, {dy!r}], '
            f'"area": {area}, "segmentation": {mask}, "iscrowd": 0, '
            f'"vehicle": {vehicle}, "oriented_box": '
            f"[{cx:.4f}, {cy:.4f}, {cl:.4f}, {cw:.4f}, {ca:.4f}]}}"
        )
    return annotations


def _parquet(columns: list[tuple[str, str, Any]]) -> bytes:
    """A Parquet file of ``(name, type, values)`` columns (types ``int64``, ``float64``,
    ``bool`` and ``string``; a list of values may hold ``None``s, nulls in Parquet).

    Every shard's part has the same schema, whatever its values: a column of only ``None``s
    inferred by ``pa.array`` would be typed ``null`` and the parts could not be read as one
    table. The arrays are made from their buffers, because ``pa.array`` imports pandas
    (0.27 s in every worker)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, _arrow_type(kind)) for name, kind, _ in columns])
    rows = len(columns[0][2])
    batches = []
    for first in range(0, rows, _PARQUET_BATCH):
        last = min(rows, first + _PARQUET_BATCH)
        arrays = [_arrow_array(kind, values[first:last]) for _, kind, values in columns]
        batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_batches(batches, schema), buffer)
    return buffer.getvalue()


# Rows per Arrow record batch: a string column's offsets are 32-bit, so a batch holds at most
# 2 GiB of text (65,536 scenes of about 3 kB are 200 MB).
_PARQUET_BATCH = 65_536


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa

    return pa.bool_() if kind == "bool" else getattr(pa, kind)()


def _arrow_array(kind: str, values: Any) -> Any:
    import pyarrow as pa

    n = len(values)
    if kind == "string":
        encoded = [b"" if value is None else value.encode("utf-8") for value in values]
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum([len(text) for text in encoded], out=offsets[1:])
        if offsets[-1] >= 2**31:
            raise ValueError("a Parquet batch of scenes holds over 2 GiB of text")
        offsets = offsets.astype(np.int32)
        present = [value is not None for value in values]
        nulls = None if all(present) else pa.py_buffer(np.packbits(present, bitorder="little"))
        buffers = [nulls, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
        return pa.Array.from_buffers(_arrow_type(kind), n, buffers, null_count=present.count(False))
    nulls, missing = None, 0
    if isinstance(values, list) and any(value is None for value in values):
        present = [value is not None for value in values]
        nulls = pa.py_buffer(np.packbits(present, bitorder="little"))
        missing = present.count(False)
        values = [0 if value is None else value for value in values]
    if kind == "bool":
        bits = np.packbits(np.asarray(values, dtype=bool), bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), n, [nulls, pa.py_buffer(bits)], missing)
    data = np.ascontiguousarray(values, dtype=kind)
    return pa.Array.from_buffers(_arrow_type(kind), n, [nulls, pa.py_buffer(data)], missing)


# ------------------------------------------------------------------------------ the job


def _subfolders(formats: list[str]) -> list[str]:
    """The folders a dataset of ``formats`` writes into: no empty one for a format not
    asked for (``labels/``: YOLO, ``scenes/``: Parquet)."""
    only = {"labels": "yolo", "scenes": "parquet"}
    every = ("images", "semantic", "instance", "labels", "scenes", "shards")
    return [sub for sub in every if sub not in only or only[sub] in formats]


def _finished(out: Path, index: int) -> bool:
    """True when shard ``index``'s record and all its files are there, with the sizes and
    SHA-256 hashes the record holds (a file damaged since, even by one bit, redoes the
    shard)."""
    path = out / "shards" / f"{index:05d}.json"
    try:
        record = json.loads(path.read_text())
        return all(
            (out / name).stat().st_size == size and file_sha256(out / name) == digest
            for name, (digest, size) in record["files"].items()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


_WORKER: dict[str, Any] = {}


def _uses_torch(job: dict[str, Any]) -> bool:
    return job["source"]["kind"] not in ("scenes", "curriculum") or bool(job.get("appearance"))


@contextlib.contextmanager
def _one_torch_thread(job: dict[str, Any]):
    """Priors, policies and appearance models run torch with one thread in every process, the
    serial one included (``scenegym._threads.one_torch_thread``), so that a painted pixel is
    the same with ``workers=1`` and ``workers=2``."""
    if not _uses_torch(job):
        yield
        return
    with one_torch_thread():
        yield


def _worker_start(job: dict[str, Any], source: Any) -> None:
    """Keep the job's source and open its appearance model in a worker process. The source
    arrives pickled: a ``ScenesFile`` with its line offsets, so that no worker reads the whole
    file again; priors and runs by their folder, opened again here."""
    ignore_interrupts()
    if _uses_torch(job):
        import torch

        torch.set_num_threads(1)
    _WORKER["job"] = job
    _WORKER["source"] = source
    _WORKER["appearance"] = _open_appearance(job["appearance"]) if job.get("appearance") else None


def _worker_shard(index: int) -> int:
    """Write shard ``index`` in a worker; returns the index."""
    write_shard(_WORKER["job"], index, _WORKER["source"], _WORKER["appearance"])
    return index


@locking("out")
def write_dataset(
    source: Any,
    out: str | os.PathLike,
    n: int,
    seed: int = 0,
    config: DatasetConfig | None = None,
    *,
    workers: int = 1,
    backend: str = "process",
    overwrite: bool = False,
    appearance: str | os.PathLike | None = None,
    on_scenes: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write (or finish writing) a dataset of ``n`` scenes into ``out``; returns the
    manifest. ``source`` is an opened source or the path of one (``sources.source_at``: a
    curriculum run folder, a prior folder or a scenes file). A folder holding the same job
    (source, n, seed, config, appearance model) is resumed; a folder holding anything else is
    refused unless ``overwrite``. With
    ``appearance`` (a folder written by ``fit_appearance``) the RGB pictures are painted from
    the semantic maps by that model instead of in the renderer's flat colours. ``backend``
    ``"ray"`` writes the shards on ``workers`` Ray actors (``scenegym._ray``) instead of
    local processes: the same files, the same resume."""
    config = DatasetConfig() if config is None else config
    out = Path(out)
    if isinstance(source, (str, os.PathLike)):
        source = source_at(source)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    check_backend(backend)
    source.check(n)
    job = {
        "format": DATASET_FORMAT,
        "out": str(out),
        "source": source.describe(),
        "n": n,
        "seed": seed,
        "config": config_to_dict(config),
    }
    if appearance is not None:
        job["appearance"] = _describe_appearance(appearance)
    _prepare(out, job, overwrite)
    shards = math.ceil(n / config.shard_size)
    report = on_scenes if on_scenes is not None else (lambda count: None)
    pending = {}  # unfinished shard -> its number of scenes
    for k in range(shards):
        if not _finished(out, k):
            start, stop = _shard_scenes(k, config.shard_size, n)
            pending[k] = stop - start
    report(n - sum(pending.values()))
    if pending and workers == 1 and backend == "process":
        model = _open_appearance(job["appearance"]) if appearance is not None else None
        with _one_torch_thread(job):
            for k, count in pending.items():
                write_shard(job, k, source, model)
                report(count)
    elif pending:  # worker processes, or Ray actors: the same map
        mapped = imap if backend == "ray" else spawn_imap
        for k in mapped(
            _worker_start, (job, source), _worker_shard, pending, workers, ordered=False
        ):
            report(pending[k])
    return finalise(out, job, config.formats, shards, val_share=config.val_share)


def _identity(job: dict[str, Any]) -> dict[str, Any]:
    """What makes two jobs the same dataset: everything but the paths as they were typed
    (the output folder, the source's and the appearance model's), which depend on the working
    directory; the inputs are known by their hashes."""
    same = {k: v for k, v in job.items() if k != "out"}
    for part in ("source", "appearance"):
        if isinstance(same.get(part), dict):
            same[part] = {k: v for k, v in same[part].items() if k != "path"}
    return same


def _prepare(out: Path, job: dict[str, Any], overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"output {out} is a file; give a folder")
    job_file = out / "shards" / "job.json"
    if out.is_dir() and any(out.iterdir()):
        same = False
        if job_file.is_file():
            try:
                same = _identity(json.loads(job_file.read_text())) == _identity(job)
            except (ValueError, TypeError, AttributeError, RecursionError):
                same = False
        if not same:
            if not overwrite:
                what = "a different dataset" if job_file.is_file() else "other files"
                raise ValueError(
                    f"output folder {out} holds {what}; rerun the command that started it to "
                    "resume, choose a new folder, or pass --overwrite"
                )
            shutil.rmtree(out)
    if not out.parent.is_dir():
        raise ValueError(f"cannot create output folder {out}: {out.parent} does not exist")
    try:
        for sub in _subfolders(job["config"]["formats"]):
            (out / sub).mkdir(parents=True, exist_ok=True)
        if not job_file.is_file():
            write_file(job_file, json.dumps(job, indent=1).encode("utf-8"))
        probe = out / "shards" / ".probe.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise ValueError(f"cannot write into {out}: {error.strerror}") from None
