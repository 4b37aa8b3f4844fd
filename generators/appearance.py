"""Appearance models: from semantic maps to RGB pictures, learned from pairs of them.

``fit_appearance(pairs, out, config)`` trains a pix2pix-style conditional GAN on a folder of
(semantic map, image) pairs and writes a model folder; ``AppearanceModel.load(folder)`` reads
it back and ``translate(semantic_maps)`` paints RGB pictures for new maps, such as those the
renderer draws for generated scenes (``scenegym dataset ... --appearance MODEL``).

A pairs folder::

    PAIRS/semantic/NAME.png   class ids (``SEMANTIC_CLASSES``: 0 background, 1 road,
                              2 lane marking, 3 car, 4 truck, 5 motorcycle, 6 bus), one channel
    PAIRS/images/NAME.png     the picture of the same place (.png, .jpg or .jpeg), same size

which is the layout of a ``scenegym dataset`` folder; a pair is a semantic map and the image of
the same stem. The appearance a model learns is the appearance of its pairs: trained on the
renderer's own flat-coloured pictures it learns those colours, and realistic pictures need the
user's real images, annotated with scenegym's classes.

The network: a U-Net generator in pix2pix's layout (``depth`` strided 4 x 4 convolutions,
each halving the image, from ``width`` channels doubling to at most ``8 * width``; as many
strided 4 x 4 transposed convolutions back up, each joined with the encoder's features of its
size; instance normalisation; tanh output) plus a learned colour per class (a 1 x 1
convolution of the one-hot map added before the tanh), so the U-Net learns texture and shading
on top of each class's colour; and a PatchGAN discriminator scoring (semantic map, picture)
pairs patch by patch. The generator's loss is the least-squares GAN loss times
``adversarial`` plus the L1 distance to the real picture times ``l1`` (pix2pix's weighting is
1 and 100; ``adversarial=0`` trains the generator on L1 alone, without a discriminator). Each
epoch trains on one random ``crop`` x ``crop`` window of every training pair (mirrored
left-right half the time when ``flip``); translation runs on whole images of any size, padded
to a multiple of ``2 ** depth``. Translation is deterministic (no dropout, no noise input): a
semantic map has one picture.

A model folder::

    MODEL/appearance.json       format, AppearanceConfig, classes, training history, the held-out
                                errors, the pairs' hash, library versions
    MODEL/weights.safetensors   the generator's weights (loading never unpickles)
    MODEL/training.png          the held-out error and the losses of each epoch
    MODEL/samples.png           held-out pairs: semantic map, real picture, translated picture
    MODEL/checkpoint.*          the latest training state, for ``fit_appearance(resume=True)``

torch and safetensors are imported when a model is fitted or loaded, not with ``scenegym``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scenegym._checks import MAX_SEED
from scenegym._io import atomic_write_text, file_sha256
from scenegym._threads import torch_threads
from scenegym._versions import versions
from scenegym.config import check_config, config_from_mapping, config_to_dict, option
from scenegym.generators._weights import (
    DEVICE_OPTION,
    load_checkpoint,
    load_network,
    load_tensors,
    plot_curves,
    read_json,
    recorded_hash,
    save_checkpoint,
    save_tensors,
    torch_device,
)
from scenegym.scene.semantic import PALETTE, SEMANTIC_CLASSES

__all__ = [
    "AppearanceConfig",
    "AppearanceModel",
    "Pairs",
    "fit_appearance",
    "read_checkpoint",
    "read_pairs",
]

APPEARANCE_FORMAT = 1
"""Version of the model folder layout; ``load`` refuses other versions."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_REMEDY = "fit the model again with scenegym fit-appearance"
_MIN_HELD_OUT = 1


@dataclass(frozen=True, kw_only=True)
class AppearanceConfig:
    """Settings of an appearance model and its training (every field is a key of ``--set``)."""

    width: int = field(default=16, metadata=option("channels of the first convolution", 1, 512))
    depth: int = field(
        default=4, metadata=option("halvings of the image in the U-Net's encoder", 1, 8)
    )
    crop: int = field(
        default=128,
        metadata=option(
            "side of the square training window (px), a multiple of 2 ** (depth + 1)", 4, 4096
        ),
    )
    epochs: int = field(default=40, metadata=option("passes over the training pairs", 1, 100_000))
    batch_size: int = field(default=4, metadata=option("pairs per training step", 1, 4096))
    learning_rate: float = field(
        default=1e-3, metadata=option("Adam's learning rate (both networks)", 1e-6, 1.0)
    )
    l1: float = field(
        default=100.0, metadata=option("weight of the L1 distance to the real picture", 0, 1e6)
    )
    adversarial: float = field(
        default=1.0,
        metadata=option("weight of the GAN loss (0: L1 alone, no discriminator)", 0, 1e6),
    )
    flip: bool = field(
        default=True, metadata={"help": "mirror half of the training windows left-right"}
    )
    held_out: float = field(
        default=0.1,
        metadata=option("share of the pairs held out for the validation error", 0.0, 0.5),
    )
    checkpoint_every: int = field(
        default=5, metadata=option("epochs between checkpoints", 1, 100_000)
    )
    device: str = field(default="auto", metadata=DEVICE_OPTION)
    seed: int = field(
        default=0, metadata=option("seed of the split, initialisation and crops", 0, MAX_SEED)
    )
    torch_threads: int = field(
        default=1,
        metadata=option(
            "torch threads of the fit (0: torch's own count, one per core); with one, a fit "
            "keeps its share of a shared CPU instead of spinning against other jobs",
            0,
            256,
        ),
    )

    def __post_init__(self) -> None:
        check_config(self)
        step = 2 ** (self.depth + 1)
        if self.crop % step:
            raise ValueError(
                f"crop must be a multiple of 2 ** (depth + 1) = {step}, got {self.crop}"
            )

    @property
    def multiple(self) -> int:
        """Translated images are padded to a multiple of this many pixels."""
        return 2**self.depth


# ----------------------------------------------------------------------------- networks


def _channels(config: AppearanceConfig) -> list[int]:
    return [min(config.width * 2**i, 8 * config.width) for i in range(config.depth)]


def _generator(config: AppearanceConfig):
    import torch
    from torch import nn

    classes = len(SEMANTIC_CLASSES)
    channels = _channels(config)

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.down = nn.ModuleList()
            inputs = classes
            for i, out in enumerate(channels):
                layers: list[nn.Module] = [nn.Conv2d(inputs, out, 4, 2, 1)]
                if i:
                    layers.append(nn.InstanceNorm2d(out, affine=True))
                layers.append(nn.LeakyReLU(0.2))
                self.down.append(nn.Sequential(*layers))
                inputs = out
            self.up = nn.ModuleList()
            for i in reversed(range(1, config.depth)):  # back to the size of encoder level i
                self.up.append(
                    nn.Sequential(
                        nn.ConvTranspose2d(inputs, channels[i - 1], 4, 2, 1),
                        nn.InstanceNorm2d(channels[i - 1], affine=True),
                        nn.ReLU(),
                    )
                )
                inputs = 2 * channels[i - 1]  # joined with the encoder's features
            self.head = nn.ConvTranspose2d(inputs, 3, 4, 2, 1)
            # Each class's own colour, learned: the U-Net adds texture and shading to it.
            self.colour = nn.Conv2d(classes, 3, 1)

        def forward(self, x):
            features, h = [], x
            for layer in self.down:
                h = layer(h)
                features.append(h)
            h = features.pop()
            for layer in self.up:
                h = torch.cat([layer(h), features.pop()], dim=1)
            return torch.tanh(self.head(h) + self.colour(x))

    return UNet()


def _discriminator(config: AppearanceConfig):
    from torch import nn

    w = config.width
    inputs = len(SEMANTIC_CLASSES) + 3

    def block(a: int, b: int, stride: int, norm: bool = True) -> list[nn.Module]:
        layers: list[nn.Module] = [nn.Conv2d(a, b, 4, stride, 1)]
        if norm:
            layers.append(nn.InstanceNorm2d(b, affine=True))
        return [*layers, nn.LeakyReLU(0.2)]

    return nn.Sequential(
        *block(inputs, w, 2, norm=False),
        *block(w, 2 * w, 2),
        *block(2 * w, 4 * w, 1),
        nn.Conv2d(4 * w, 1, 4, 1, 1),
    )


def _one_hot(semantic, classes: int):
    """``(n, H, W)`` integer class ids to ``(n, classes, H, W)`` float one-hot maps."""
    import torch

    return torch.nn.functional.one_hot(semantic.long(), classes).permute(0, 3, 1, 2).float()


# ----------------------------------------------------------------------------- pairs


@dataclass(kw_only=True)
class Pairs:
    """Semantic maps and pictures read from a pairs folder (``read_pairs``)."""

    names: list[str]
    semantic: list[NDArray[np.uint8]]
    images: list[NDArray[np.uint8]]
    digest: str
    folder: str = ""
    unpaired: int = 0


def _read_image(path: Path, flags: int) -> NDArray:
    import cv2

    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, flags) if data.size else None
    if image is None:
        raise ValueError(f"{path} is not a readable image (PNG or JPEG)")
    return image


def read_pairs(folder: str | os.PathLike) -> Pairs:
    """The (semantic map, picture) pairs of ``folder`` (``semantic/`` and ``images/``,
    matched by file stem). Raises ``ValueError`` naming the file for a missing folder, an
    unreadable image, a semantic map that is not one channel of class ids, or a picture of
    another size than its map."""
    import cv2

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"pairs folder {folder} does not exist")
    semantic_dir, image_dir = folder / "semantic", folder / "images"
    for sub in (semantic_dir, image_dir):
        if not sub.is_dir():
            raise ValueError(
                f"pairs folder {folder} has no {sub.name}/ folder (it needs semantic/NAME.png "
                "class-id maps and images/NAME.png pictures, as scenegym dataset writes)"
            )
    images = {p.stem: p for p in sorted(image_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    maps = sorted(p for p in semantic_dir.iterdir() if p.suffix.lower() == ".png")
    paired = [p for p in maps if p.stem in images]
    if not paired:
        raise ValueError(
            f"{folder} holds no pair: no semantic/NAME.png has an images/NAME.png (or .jpg)"
        )
    classes = len(SEMANTIC_CLASSES)
    digest = hashlib.sha256()
    names, semantic, pictures = [], [], []
    for path in paired:
        label = _read_image(path, cv2.IMREAD_UNCHANGED)
        if label.ndim != 2:
            raise ValueError(
                f"{path} has {label.shape[2]} channels; a semantic map is one channel of class "
                f"ids 0-{classes - 1} ({', '.join(SEMANTIC_CLASSES)})"
            )
        top = int(label.max())
        if top >= classes:
            raise ValueError(
                f"{path} holds class id {top}; scenegym's classes are 0-{classes - 1} "
                f"({', '.join(SEMANTIC_CLASSES)}): map the labels to them first"
            )
        image_path = images[path.stem]
        picture = _read_image(image_path, cv2.IMREAD_COLOR)
        if picture.shape[:2] != label.shape:
            raise ValueError(
                f"{image_path} is {picture.shape[1]}x{picture.shape[0]} px but its semantic map "
                f"{path} is {label.shape[1]}x{label.shape[0]}; a pair must be the same size"
            )
        names.append(path.stem)
        semantic.append(label.astype(np.uint8))
        pictures.append(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB))
        digest.update(path.stem.encode() + b"\0")
        digest.update(semantic[-1].tobytes())
        digest.update(pictures[-1].tobytes())
    unpaired = len(maps) - len(paired)
    folder_name = str(folder.resolve())
    return Pairs(
        names=names,
        semantic=semantic,
        images=pictures,
        digest=digest.hexdigest()[:16],
        folder=folder_name,
        unpaired=unpaired,
    )


# ----------------------------------------------------------------------------- the model


class AppearanceModel:
    """A fitted appearance model: the generator and its config. Build one with
    ``fit_appearance`` or ``AppearanceModel.load``."""

    def __init__(
        self, *, config: AppearanceConfig, generator: Any, info: dict[str, Any] | None = None
    ) -> None:
        self.config = config
        self.generator = generator.eval()
        self.info = dict(info or {})
        self._device = next(generator.parameters()).device

    def translate(
        self, semantic: Sequence[NDArray[np.integer]] | NDArray[np.integer], batch: int = 16
    ) -> list[NDArray[np.uint8]]:
        """RGB pictures ``(H, W, 3)`` uint8 of semantic maps ``(H, W)`` (class ids), each the
        size of its map. Maps of one size are translated ``batch`` at a time."""
        import torch

        maps = [np.asarray(m) for m in semantic]
        classes = len(SEMANTIC_CLASSES)
        for i, m in enumerate(maps):
            if m.ndim != 2 or not np.issubdtype(m.dtype, np.integer):
                raise ValueError(f"semantic map {i} must be a 2-D array of class ids")
            if m.size and (m.min() < 0 or m.max() >= classes):
                raise ValueError(f"semantic map {i} holds ids outside 0-{classes - 1}")
        out: list[NDArray[np.uint8] | None] = [None] * len(maps)
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, m in enumerate(maps):
            by_size.setdefault(m.shape, []).append(i)
        step = self.config.multiple
        with torch.no_grad():
            for (height, width), indices in by_size.items():
                pad_h, pad_w = -height % step, -width % step
                for k in range(0, len(indices), batch):
                    chunk = indices[k : k + batch]
                    stack = np.stack([maps[i] for i in chunk]).astype(np.int64)
                    stack = np.pad(stack, ((0, 0), (0, pad_h), (0, pad_w)), mode="edge")
                    x = _one_hot(torch.from_numpy(stack).to(self._device), classes)
                    y = self.generator(x)[:, :, :height, :width]
                    pixels = ((y + 1.0) * 127.5).round().clamp(0, 255).byte()
                    for i, picture in zip(chunk, pixels.permute(0, 2, 3, 1).cpu().numpy()):
                        out[i] = np.ascontiguousarray(picture)
        return out  # type: ignore[return-value]

    def save(self, folder: str | os.PathLike) -> None:
        """Write ``appearance.json`` and ``weights.safetensors`` into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_tensors(folder / "weights.safetensors", dict(self.generator.state_dict()))
        meta = {
            "format": APPEARANCE_FORMAT,
            "config": config_to_dict(self.config),
            "classes": list(SEMANTIC_CLASSES),
            **self.info,
            "weights_sha256": file_sha256(folder / "weights.safetensors"),
        }
        atomic_write_text(folder / "appearance.json", json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, folder: str | os.PathLike) -> AppearanceModel:
        """Read a model folder written by ``fit_appearance``, on the config's device.
        Raises ``ValueError`` naming the file for a missing, malformed or mismatched part."""
        folder = Path(folder)
        if not folder.is_dir():
            raise ValueError(
                f"appearance model {folder} is not a folder (write one with scenegym "
                "fit-appearance)"
            )
        if not (folder / "appearance.json").is_file():
            raise ValueError(
                f"{folder} is not an appearance model (it has no appearance.json; write one "
                "with scenegym fit-appearance PAIRS --out MODEL)"
            )
        meta = read_json(folder / "appearance.json", _REMEDY)
        if not isinstance(meta, dict) or meta.get("format") != APPEARANCE_FORMAT:
            raise ValueError(
                f"{folder / 'appearance.json'} is not a scenegym appearance model of format "
                f"{APPEARANCE_FORMAT}; {_REMEDY}"
            )
        if meta.get("classes") != list(SEMANTIC_CLASSES):
            raise ValueError(
                f"{folder / 'appearance.json'} was trained on the classes "
                f"{meta.get('classes')}, not scenegym's {list(SEMANTIC_CLASSES)}; {_REMEDY}"
            )
        config = config_from_mapping(
            AppearanceConfig, meta.get("config"), name="appearance.json config"
        )
        generator = _generator(config).to(torch_device(config.device))
        path = folder / "weights.safetensors"
        tensors = load_tensors(path, _REMEDY, recorded_hash(meta))
        load_network(generator, tensors, path, _REMEDY, "appearance.json config")
        own = {"format", "config", "classes", "weights_sha256"}
        info = {k: v for k, v in meta.items() if k not in own}
        return cls(config=config, generator=generator, info=info)


# ----------------------------------------------------------------------------- fitting


def _split(n: int, config: AppearanceConfig) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    if n < 2:
        raise ValueError(f"an appearance model needs at least 2 pairs, got {n}")
    order = np.random.default_rng([config.seed, 1]).permutation(n)
    held = min(n - 1, max(_MIN_HELD_OUT, round(n * config.held_out)))
    return np.sort(order[held:]), np.sort(order[:held])


def _windows(
    pairs: Pairs, index: NDArray[np.int64], config: AppearanceConfig, epoch: int
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """One random ``crop`` window of every pair in ``index`` (in a shuffled order), mirrored
    half the time when ``flip``: ``(n, crop, crop)`` maps and ``(n, crop, crop, 3)`` pictures.
    """
    rng = np.random.default_rng([config.seed, 2, epoch])
    order = rng.permutation(index)
    c = config.crop
    maps = np.empty((len(order), c, c), dtype=np.uint8)
    pictures = np.empty((len(order), c, c, 3), dtype=np.uint8)
    for k, i in enumerate(order):
        height, width = pairs.semantic[i].shape
        top, left = rng.integers(0, height - c + 1), rng.integers(0, width - c + 1)
        window = (slice(top, top + c), slice(left, left + c))
        maps[k], pictures[k] = pairs.semantic[i][window], pairs.images[i][window]
        if config.flip and rng.random() < 0.5:
            maps[k], pictures[k] = maps[k][:, ::-1], pictures[k][:, ::-1]
    return maps, pictures


def _class_colour_error(pairs: Pairs, train: NDArray, held: NDArray) -> float:
    """Mean absolute error (0-255) on the held-out pairs of painting every pixel the mean
    colour of its class in the training pairs: the best any per-pixel lookup can do."""
    classes = len(SEMANTIC_CLASSES)
    sums, counts = np.zeros((classes, 3)), np.zeros(classes)
    for i in train:
        labels = pairs.semantic[i].ravel()
        sums += np.stack(
            [np.bincount(labels, pairs.images[i][..., c].ravel(), classes) for c in range(3)], 1
        )
        counts += np.bincount(labels, minlength=classes)
    colours = sums / np.maximum(counts, 1)[:, None]
    errors = [np.abs(colours[pairs.semantic[i]] - pairs.images[i]).mean() for i in held]
    return float(np.mean(errors))


def _held_out_error(model: AppearanceModel, pairs: Pairs, held: NDArray) -> float:
    painted = model.translate([pairs.semantic[i] for i in held])
    return float(
        np.mean(
            [np.abs(p.astype(np.float64) - pairs.images[i]).mean() for p, i in zip(painted, held)]
        )
    )


def _samples_sheet(model: AppearanceModel, pairs: Pairs, held: NDArray, path: Path) -> None:
    """Up to 4 held-out pairs, one row each: the semantic map in the renderer's colours, the
    real picture and the translated picture."""
    import cv2

    from scenegym._io import encode_png

    chosen = list(held[:4])
    painted = model.translate([pairs.semantic[i] for i in chosen])
    rows = []
    for i, picture in zip(chosen, painted):
        palette = np.zeros((256, 3), dtype=np.uint8)
        palette[: len(PALETTE)] = PALETTE
        rows.append(np.hstack([palette[pairs.semantic[i]], pairs.images[i], picture]))
    width = max(r.shape[1] for r in rows)
    rows = [cv2.copyMakeBorder(r, 0, 2, 0, width - r.shape[1], cv2.BORDER_CONSTANT) for r in rows]
    from scenegym._io import atomic_write_bytes

    atomic_write_bytes(path, encode_png(np.vstack(rows)))


def read_checkpoint(folder: str | os.PathLike) -> tuple[AppearanceConfig, str]:
    """The config and the pairs folder of the fit being resumed in ``folder``."""
    path = Path(folder) / "checkpoint.json"
    state = read_json(path, "start the fit again with scenegym fit-appearance PAIRS --out")
    if not isinstance(state, dict):
        raise ValueError(f"{path} must hold a JSON object")
    config = config_from_mapping(AppearanceConfig, state.get("config"), name="checkpoint config")
    return config, str(state.get("pairs_folder", ""))


def fit_appearance(
    pairs: str | os.PathLike | Pairs,
    out: str | os.PathLike,
    config: AppearanceConfig | dict[str, Any] | None = None,
    *,
    resume: bool = False,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> AppearanceModel:
    """Fit an appearance model on the pairs of a folder (or ``read_pairs``' result) and write
    it into the folder ``out``.

    A share ``config.held_out`` of the pairs (at least one) is held out: each epoch's row of
    ``model.info["history"]`` holds the mean absolute error (0-255) of translating them,
    beside the training losses; ``info["class_colour_error"]`` is the same error for painting
    each class its mean training colour, the baseline a useful model beats on real pictures.
    Every ``checkpoint_every`` epochs the training state is written to ``out/checkpoint.*``;
    ``resume=True`` continues from it and ends with the same weights as an uninterrupted fit
    on the same device.

    Args:
        pairs: a pairs folder (``semantic/`` and ``images/``) or its ``Pairs``.
        out: the model folder; with ``resume=False`` it must not hold a model already.
        config: ``AppearanceConfig`` or a mapping of its keys; on resume, the folder's config
            is used and a different one is an error.
        resume: continue the checkpoint in ``out``.
        on_epoch: called after each epoch with the epoch number (from 1) and its row.
    """

    if not isinstance(pairs, Pairs):
        pairs = read_pairs(pairs)
    out = Path(out)
    config, state = _starting_point(out, _as_config(config), pairs, resume)
    _check_crop(pairs, config)
    with torch_threads(config.torch_threads):
        return _fit(pairs, out, config, state, on_epoch)


def _fit(
    pairs: Pairs,
    out: Path,
    config: AppearanceConfig,
    state: dict[str, Any] | None,
    on_epoch: Callable[[int, dict[str, float]], None] | None,
) -> AppearanceModel:
    """``fit_appearance`` from its checked inputs (``state``: a checkpoint's, or None)."""
    import torch

    device = torch_device(config.device)
    train, held = _split(len(pairs.names), config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        generator = _generator(config).to(device)
        discriminator = _discriminator(config).to(device)
    adam = {"lr": config.learning_rate, "betas": (0.5, 0.999)}
    optimisers = {"opt_g": torch.optim.Adam(generator.parameters(), **adam)}
    if config.adversarial:
        optimisers["opt_d"] = torch.optim.Adam(discriminator.parameters(), **adam)
    networks = {"g": generator, "d": discriminator}
    start_epoch, history = 0, []
    if state is not None:
        load_checkpoint(out, networks, optimisers, state, device, _REMEDY)
        start_epoch, history = int(state["epoch"]), list(state["history"])
    out.mkdir(parents=True, exist_ok=True)

    model = AppearanceModel(config=config, generator=generator)
    for epoch in range(start_epoch + 1, config.epochs + 1):
        losses = _epoch(networks, optimisers, config, pairs, train, epoch)
        row = {"epoch": epoch, "held_out_error": _held_out_error(model, pairs, held), **losses}
        history.append(row)
        if on_epoch is not None:
            on_epoch(epoch, row)
        if epoch % config.checkpoint_every == 0 or epoch == config.epochs:
            save_checkpoint(out, networks, optimisers, _meta(config, pairs, epoch, history))
    generator.eval()
    if not history:
        save_checkpoint(out, networks, optimisers, _meta(config, pairs, config.epochs, history))
    model.info = {
        "pairs": pairs.digest,
        "pairs_folder": pairs.folder,
        "pairs_count": len(pairs.names),
        "held_out_pairs": [pairs.names[i] for i in held],
        "held_out_error": history[-1]["held_out_error"] if history else None,
        "class_colour_error": _class_colour_error(pairs, train, held),
        "history": history,
        "versions": versions("safetensors"),
    }
    model.save(out)
    plot_curves(history, out / "training.png", "appearance model training", "0-255 / loss")
    _samples_sheet(model, pairs, held, out / "samples.png")
    return model


def _as_config(config: AppearanceConfig | dict[str, Any] | None) -> AppearanceConfig:
    if config is None:
        return AppearanceConfig()
    if isinstance(config, AppearanceConfig):
        return config
    return config_from_mapping(AppearanceConfig, config, name="appearance config")


def _starting_point(
    out: Path, config: AppearanceConfig, pairs: Pairs, resume: bool
) -> tuple[AppearanceConfig, dict[str, Any] | None]:
    """The config to fit with and, on resume, the checkpoint's state (None otherwise)."""
    if not resume:
        if (out / "appearance.json").exists() or (out / "checkpoint.json").exists():
            raise ValueError(
                f"{out} already holds an appearance model; choose a new folder or resume"
            )
        return config, None
    state = read_json(out / "checkpoint.json", _REMEDY)
    if not isinstance(state, dict):
        raise ValueError(f"{out / 'checkpoint.json'} must hold a JSON object")
    saved = config_from_mapping(AppearanceConfig, state.get("config"), name="checkpoint config")
    if config != AppearanceConfig() and config != saved:
        raise ValueError(
            f"resume uses the config saved in {out / 'checkpoint.json'}; the one given "
            "differs (leave it out to resume)"
        )
    if state.get("pairs") != pairs.digest:
        raise ValueError(
            f"{out} was fitted on different pairs (hash {state.get('pairs')}, these "
            f"{pairs.digest}); resume with the same pairs folder"
        )
    return saved, state


def _meta(config: AppearanceConfig, pairs: Pairs, epoch: int, history: list) -> dict:
    """What a checkpoint records beside the weights and optimiser states."""
    return {
        "config": config_to_dict(config),
        "pairs": pairs.digest,
        "pairs_folder": pairs.folder,
        "epoch": epoch,
        "history": history,
    }


def _check_crop(pairs: Pairs, config: AppearanceConfig) -> None:
    small = [
        (n, s.shape) for n, s in zip(pairs.names, pairs.semantic) if min(s.shape) < config.crop
    ]
    if small:
        name, (height, width) = small[0]
        raise ValueError(
            f"pair {name} is {width}x{height} px, smaller than the training window crop="
            f"{config.crop}; set crop to a multiple of {2 ** (config.depth + 1)} of at most "
            f"{min(height, width)} (--set crop=...)"
        )


def _epoch(networks, optimisers, config: AppearanceConfig, pairs: Pairs, train, epoch: int):
    """Train one epoch on random windows of the training pairs; returns its mean losses
    (``train_l1`` in 0-255 units, and the adversarial losses when the fit has them)."""
    import torch

    generator, discriminator = networks["g"], networks["d"]
    device = next(generator.parameters()).device
    classes = len(SEMANTIC_CLASSES)
    generator.train()
    discriminator.train()
    maps, pictures = _windows(pairs, train, config, epoch)
    totals = {"l1": 0.0, "g_gan": 0.0, "d_loss": 0.0}
    steps = 0
    for k in range(0, len(maps), config.batch_size):
        x = _one_hot(torch.from_numpy(maps[k : k + config.batch_size]).to(device), classes)
        real = torch.from_numpy(pictures[k : k + config.batch_size]).to(device)
        real = real.permute(0, 3, 1, 2).float() / 127.5 - 1.0
        fake = generator(x)
        if config.adversarial:
            d_real = discriminator(torch.cat([x, real], 1))
            d_fake = discriminator(torch.cat([x, fake.detach()], 1))
            d_loss = 0.5 * ((d_real - 1).square().mean() + d_fake.square().mean())
            optimisers["opt_d"].zero_grad(set_to_none=True)
            d_loss.backward()
            optimisers["opt_d"].step()
            g_gan = (discriminator(torch.cat([x, fake], 1)) - 1).square().mean()
            totals["d_loss"] += float(d_loss.detach())
            totals["g_gan"] += float(g_gan.detach())
        else:
            g_gan = fake.new_zeros(())
        l1 = (fake - real).abs().mean()
        loss = config.adversarial * g_gan + config.l1 * l1
        optimisers["opt_g"].zero_grad(set_to_none=True)
        loss.backward()
        optimisers["opt_g"].step()
        totals["l1"] += float(l1.detach()) * 127.5  # in 0-255 units
        steps += 1
    generator.eval()
    row = {"train_l1": totals["l1"] / steps}
    if config.adversarial:
        row["g_gan"] = totals["g_gan"] / steps
        row["d_loss"] = totals["d_loss"] / steps
    return row
