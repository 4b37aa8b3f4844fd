"""The end of writing a dataset: the files assembled from the shard records (the COCO file,
the YOLO lists, ``SHA256SUMS``) and the manifest that describes the whole, with the counts of
images and labels and the distribution of box sizes in pixels."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scenegym._io import file_sha256
from scenegym._versions import versions
from scenegym.scene.vehicles import KINDS

__all__ = ["DATASET_FORMAT", "box_pixels", "finalise", "write_file"]

DATASET_FORMAT = 1
"""Version of the dataset layout, in the manifest and the COCO file's ``info``."""


def write_file(path: Path, data: bytes, atomic: bool = True) -> None:
    """Write ``data`` to ``path``; ``atomic``: through a temporary name beside ``path`` and a
    rename, so that ``path`` is never a partial file.

    Unlike ``scenegym._io.atomic_write_bytes`` (a random temporary name), the temporary name
    is fixed, so a shard redone after a kill overwrites what the killed run left behind. A
    shard's own samples are written in place (``atomic=False``): a shard counts as finished
    only once its record, written atomically after them, is there, and an unfinished shard
    is written again whole, so a sample file cut short by a kill is always rewritten."""
    tmp = path.with_name(f".{path.name}.tmp") if atomic else path
    try:
        # os.open and os.write: a few microseconds less per file than open(), which matters
        # at four files per sample.
        handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view) :]
        finally:
            os.close(handle)
        if atomic:
            os.replace(tmp, path)
    except OSError as error:
        raise ValueError(
            f"cannot write {path}: {error.strerror}; finished shards are kept, so fix that "
            "and rerun the same command to resume"
        ) from None


def _records(out: Path, shards: int) -> Iterator[dict[str, Any]]:
    for k in range(shards):
        yield json.loads((out / "shards" / f"{k:05d}.json").read_text())


def finalise(
    out: Path, job: dict[str, Any], formats: Sequence[str], shards: int, *, val_share: float
) -> dict:
    """COCO file, YOLO lists, SHA256SUMS and manifest, streamed from the shard records (each
    read once; the COCO images and annotations go to two temporary parts, joined at the end).
    """
    counts = {"scenes": job["n"], "images": 0, "labels": 0, "invalid_scenes": 0}
    per_kind = dict.fromkeys(KINDS, 0)
    sizes: list[list[int]] = []
    coco, yolo = "coco" in formats, "yolo" in formats
    cut = round(job["n"] * (1.0 - val_share))
    image_id = annotation_id = 0
    with contextlib.ExitStack() as stack:
        parts = {
            name: stack.enter_context(open(out / f".{name}.tmp", "w", encoding="utf-8"))
            for name in ("images", "annotations", "train", "val", "sums")
        }
        for record in _records(out, shards):
            counts["invalid_scenes"] += record["invalid"]
            for image in record["images"]:
                image_id += 1
                counts["labels"] += len(image["annotations"])
                sizes += image.get("box_sizes", [])  # shards written before it was recorded
                for category in image["categories"]:
                    per_kind[KINDS[category - 1]] += 1
                if coco:  # {"id": ..., then the entry's own fields
                    head = "," if image_id > 1 else ""
                    parts["images"].write(f'{head}{{"id": {image_id}, {image["coco"][1:]}')
                    for text in image["annotations"]:
                        annotation_id += 1
                        head = "," if annotation_id > 1 else ""
                        parts["annotations"].write(
                            f'{head}{{"id": {annotation_id}, "image_id": {image_id}, {text[1:]}'
                        )
                if yolo:
                    which = "val" if image["scene"] >= cut else "train"
                    parts[which].write(f"./{image['file_name']}\n")
            for name, (digest, _) in record["files"].items():
                parts["sums"].write(f"{digest}  {name}\n")
    counts["images"] = image_id
    written: list[str] = []
    if coco:
        _join_coco(out)
        written.append("annotations.json")
    if yolo:
        _finish_yolo(out)
        written += ["train.txt", "val.txt", "data.yaml"]
    for name in ("images", "annotations", "train", "val"):
        (out / f".{name}.tmp").unlink(missing_ok=True)
    with open(out / ".sums.tmp", "a", encoding="utf-8") as handle:
        for name in written:
            handle.write(f"{file_sha256(out / name)}  {name}\n")
    os.replace(out / ".sums.tmp", out / "SHA256SUMS")
    if coco:
        counts["labels_per_kind"] = per_kind
    else:
        counts.pop("labels")
    manifest = {
        "format": DATASET_FORMAT,
        "source": job["source"],
        "appearance": job.get("appearance"),
        "n": job["n"],
        "seed": job["seed"],
        "config": job["config"],
        "shards": shards,
        "counts": counts,
        "box_pixels": box_pixels(sizes),
        "versions": versions("pycocotools", "pyarrow"),
        "sha256sums": file_sha256(out / "SHA256SUMS"),
    }
    write_file(out / "manifest.json", (json.dumps(manifest, indent=1) + "\n").encode("utf-8"))
    return manifest


def _join_coco(out: Path) -> None:
    """Write ``annotations.json`` from the streamed image and annotation parts."""
    categories = [
        {"id": k + 1, "name": kind, "supercategory": "vehicle"} for k, kind in enumerate(KINDS)
    ]
    head = {"info": {"description": "scenegym dataset", "version": DATASET_FORMAT}}
    tmp = out / ".annotations.json.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(head)[:-1])
        handle.write(', "categories": ' + json.dumps(categories) + ', "images": [')
        with open(out / ".images.tmp", encoding="utf-8") as part:
            shutil.copyfileobj(part, handle)
        handle.write('], "annotations": [')
        with open(out / ".annotations.tmp", encoding="utf-8") as part:
            shutil.copyfileobj(part, handle)
        handle.write("]}\n")
    os.replace(tmp, out / "annotations.json")


def _finish_yolo(out: Path) -> None:
    """Move the YOLO image lists in place and write ``data.yaml``."""
    os.replace(out / ".train.tmp", out / "train.txt")
    os.replace(out / ".val.tmp", out / "val.txt")
    data = (
        "# scenegym dataset: YOLO boxes (class cx cy w h, normalised) in labels/\n"
        "path: .\ntrain: train.txt\nval: val.txt\n"
        f"nc: {len(KINDS)}\nnames:\n" + "".join(f"  {k}: {v}\n" for k, v in enumerate(KINDS))
    )
    write_file(out / "data.yaml", data.encode("utf-8"))


def box_pixels(sizes: Sequence[Sequence[int]]) -> dict[str, Any]:
    """The distribution of box sizes (``(boxes, 2)`` widths and heights in pixels): how many,
    the 5th, 25th, 50th, 75th and 95th percentiles of width, height and the shorter side,
    and the shares of boxes whose shorter side is under 8 and under 16 px (small for most
    detectors)."""
    if not len(sizes):
        return {"boxes": 0}
    wh = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
    short = wh.min(axis=1)
    quantiles = (5, 25, 50, 75, 95)

    def spread(values: np.ndarray) -> dict[str, float]:
        return {f"p{q}": float(v) for q, v in zip(quantiles, np.percentile(values, quantiles))}

    return {
        "boxes": int(wh.shape[0]),
        "width": spread(wh[:, 0]),
        "height": spread(wh[:, 1]),
        "shorter_side": spread(short),
        "shorter_under_8": float(np.mean(short < 8)),
        "shorter_under_16": float(np.mean(short < 16)),
    }
