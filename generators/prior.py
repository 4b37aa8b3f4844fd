"""Learned scene priors: a VAE or a GAN over the lane grid of reference scenes.

``fit_prior(reference, out)`` trains a ``SceneVAE`` (``kind="vae"``; ``"gan"``: a
``SceneGAN``, see ``docs/priors.md``) on the lane grids (``LaneGrid``) of
reference scenes and writes a prior folder; ``ScenePrior.load(folder)`` reads it back. A prior
gives

- ``elbo(scenes)``: the evidence lower bound of each scene's grid (nats; higher is more
  typical of the reference), and ``score(scenes)``, its percentile among held-out reference
  scenes, a realism score in [0, 1];
- ``encode(scenes)``: latent features (posterior means), the feature space of the Fréchet
  Scene Distance (``scenegym.evaluation.metrics.frechet_distance``);
- ``sample(n, seed)`` and ``decode(latents)``: new scenes from latent codes. ``sample``
  draws the codes from a Gaussian fitted to the posterior means of the training scenes
  (ex-post density estimation): trained with ``beta < 1`` for sharp vehicles, the codes of
  real scenes lie far from the standard normal prior, whose codes decode to near-empty
  scenes.

The network: three convolutions, each halving the cells (kernel 3 x 4, stride 1 x 2), down to
a spatial latent of ``latent`` channels per block of one lane x 8 cells, and three transposed
convolutions back. The reconstruction likelihood is Bernoulli for ``lane`` and ``occupied``
in every cell and, where a vehicle is, Gaussian (one learned standard deviation per channel,
at least 0.05) for ``s_offset``, ``d``, ``heading``, ``speed``, ``length``, ``width`` and
categorical for the kind. Training anneals the KL weight from 0 to ``beta`` over ``warmup``
epochs.

A prior folder::

    PRIOR/prior.json          kind, PriorConfig, grid, ELBO calibration, training history,
                              library versions, the reference's content hash
    PRIOR/roads.json          the reference roads that decoded scenes are placed on
    PRIOR/weights.safetensors the network's weights (safetensors: loading never unpickles)
    PRIOR/checkpoint.*        the latest training state (weights, optimiser, epoch), for
                              ``fit_prior(..., resume=True)``

**From a grid back to a scene** (``decode``), deterministically: the ``lane`` channel's
probabilities pick the road, the reference road whose lane map (where each lane exists, cell by
cell) is nearest in squared error; the ``occupied`` probabilities, set to 0 where that road
has no lane, place vehicles by ``vehicle_cells`` (a peak along the lane whose probability with
its neighbours' reaches 0.5); each such cell becomes one vehicle, with its station, offset,
heading, speed, size and kind read from the other channels as ``LaneGrid.decode`` does, after
offset, heading, speed, length and width are clamped into the range of the cell's most likely
kind in the training scenes (saved with the weights as the buffer ``bounds``).

torch and safetensors are imported when a prior is fitted or loaded, not with ``scenegym``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scenegym._io import atomic_write_text, cache_folder, file_sha256, locking
from scenegym._threads import torch_threads
from scenegym.config import config_from_mapping, config_to_dict
from scenegym.generators._weights import (
    load_checkpoint,
    load_network,
    load_tensors,
    plot_curves,
    read_json,
    recorded_hash,
    save_checkpoint,
    save_tensors,
)
from scenegym.generators.prior_epochs import kept_row, kind_bounds, sample_quality, train_epoch
from scenegym.generators.prior_networks import (
    PriorConfig,
    as_grid,
    build_network,
    prior_device,
    within_kind,
)
from scenegym.scene.batch import SceneBatch
from scenegym.scene.road import Road
from scenegym.scene.scene import Scene
from scenegym.scene.vehicles import Vehicles

__all__ = [
    "PRIOR_FORMAT",
    "PriorConfig",
    "ScenePrior",
    "cached_prior",
    "fit_prior",
    "plot_history",
    "read_checkpoint_config",
    "reference_hash",
    "vehicle_cells",
]


PRIOR_FORMAT = 2
"""Version of the prior folder layout; ``load`` refuses other versions (2: the VAE's weights
hold its kinds' value ranges too)."""


_MIN_HELD_OUT = 5


class ScenePrior:
    """A fitted scene prior: the network, its grid, the roads it decodes onto and the ELBO
    calibration. Build one with ``fit_prior`` or ``ScenePrior.load``."""

    def __init__(
        self,
        *,
        config: PriorConfig,
        network: Any,
        roads: Sequence[Road],
        calibration: ArrayLike,
        latent_mean: ArrayLike,
        latent_scale: ArrayLike,
        info: dict[str, Any] | None = None,
    ) -> None:
        if not roads:
            raise ValueError("a scene prior needs at least one road to decode scenes onto")
        self.config = config
        self.grid = config.grid
        self.network = network.eval()
        self.roads = list(roads)
        self.calibration = np.sort(np.asarray(calibration, dtype=np.float64))
        self.latent_mean = np.asarray(latent_mean, dtype=np.float64)
        self.latent_scale = np.asarray(latent_scale, dtype=np.float64)
        size = config.latent_size
        if self.latent_mean.shape != (size,) or self.latent_scale.shape != (size, size):
            raise ValueError(
                f"latent_mean must have shape ({size},) and latent_scale ({size}, {size}), got "
                f"{self.latent_mean.shape} and {self.latent_scale.shape}"
            )
        self.info = dict(info or {})
        self._device = next(network.parameters()).device
        self._masks = self._lane_maps(self.roads).astype(np.float64)

    # ------------------------------------------------------------------ scoring
    def _grids(self, scenes: Sequence[Scene]) -> NDArray[np.float32]:
        scenes = list(scenes)
        for i, scene in enumerate(scenes):
            if not isinstance(scene, Scene):
                raise TypeError(f"scenes[{i}] must be a Scene, got {type(scene).__name__}")
        return self.grid.encode_many(scenes, drop=True)

    def _batches(self, rows: NDArray, function: Callable, *more: NDArray, size: int = 512):
        """``function`` over ``rows`` (and the aligned ``more`` arrays) in batches of
        ``size``, without gradients; the results as one float64 array."""
        import torch

        results = []
        with torch.no_grad():
            for start in range(0, len(rows), size):
                parts = (rows, *more)
                batch = [
                    torch.from_numpy(np.ascontiguousarray(part[start : start + size])).to(
                        self._device
                    )
                    for part in parts
                ]
                results.append(function(*batch).double().cpu().numpy())
        return np.concatenate(results) if results else np.zeros(0)

    def elbo(self, scenes: Sequence[Scene]) -> NDArray[np.float64]:
        """The evidence lower bound of each scene's lane grid at the posterior mean (nats;
        higher is more typical of the reference): ``-(reconstruction NLL + KL)``. Vehicles
        outside the grid are left out of it. Deterministic."""
        self._need_vae("elbo")
        grids = self._grids(scenes)
        return -self._batches(grids, lambda g: self.network.negative_elbo(g)[0])

    def _need_vae(self, what: str) -> None:
        if self.config.kind != "vae":
            raise ValueError(
                f"{what} needs a VAE prior; this one is a {self.config.kind.upper()} (fit one "
                f"with scenegym fit-prior --kind vae)"
            )

    def _raw_scores(self, grids: NDArray[np.float32]) -> NDArray[np.float64]:
        """The ELBO (VAE) or the discriminator's score (GAN) of each grid."""
        if self.config.kind == "gan":
            return self._batches(grids, self.network.critic)
        return -self._batches(grids, lambda g: self.network.negative_elbo(g)[0])

    def score(self, scenes: Sequence[Scene]) -> NDArray[np.float64]:
        """Realism in [0, 1]: the share of held-out reference scenes whose ELBO (VAE) or
        discriminator score (GAN) is at most each scene's (0.5 is a typical reference scene; 0
        is below every held-out one)."""
        return self._percentiles(self._raw_scores(self._grids(scenes)))

    def batch_scores(self, batch: SceneBatch) -> NDArray[np.float64]:
        """``score`` of every scene of a ``SceneBatch`` (the ``prior_realism`` reward term)."""
        return self._percentiles(self._raw_scores(self.grid.encode_batch(batch, drop=True)[0]))

    def _percentiles(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """The share of the held-out calibration scores at most each of ``values``."""
        return np.searchsorted(self.calibration, values, side="right") / len(self.calibration)

    def encode(self, scenes: Sequence[Scene]) -> NDArray[np.float64]:
        """Posterior means ``(len(scenes), latent)``: the features of the Fréchet Scene
        Distance. VAE priors only."""
        self._need_vae("encode (the features of the Fréchet Scene Distance)")
        grids = self._grids(scenes)
        if len(grids) == 0:
            return np.zeros((0, self.config.latent_size))
        return self._batches(grids, lambda g: self.network.posterior(g)[0])

    # ------------------------------------------------------------------ generating
    def decode_grids(
        self, latents: ArrayLike, lanes: ArrayLike | None = None
    ) -> NDArray[np.float32]:
        """Decoder outputs as lane grids ``(n, channels, lanes, cells)``: probabilities for
        ``lane`` and ``occupied``, ``s_offset`` squashed into [0, 1], kind channels as
        probabilities, the rest as they come. A GAN needs the lane maps ``(n, lanes, cells)``
        of the roads it generates on; a VAE decodes them from the code."""
        z = np.asarray(latents, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.config.latent_size or not np.all(np.isfinite(z)):
            raise ValueError(
                f"latents must be a finite array of shape (n, {self.config.latent_size}), "
                f"got shape {z.shape}"
            )

        if self.config.kind == "gan":
            if lanes is None:
                raise ValueError("a GAN prior generates on given roads: use decode_on")
            maps = np.asarray(lanes, dtype=np.float32).reshape(len(z), *self.grid.shape[1:])
            grids = self._batches(
                z, lambda batch, lane: as_grid(self.network.decode(batch, lane)), maps
            )
        else:
            bounds = self.network.bounds
            grids = self._batches(
                z, lambda batch: within_kind(as_grid(self.network.decode(batch)), bounds)
            )
        return grids.astype(np.float32).reshape(len(z), *self.grid.shape)

    def decode(self, latents: ArrayLike) -> list[Scene]:
        """Scenes of latent codes ``(n, latent)``: each decoded grid on the nearest reference
        road (see the module docstring). VAE priors only: a GAN generates on given roads
        (``decode_on``)."""
        if self.config.kind == "gan":
            raise ValueError("a GAN prior generates on given roads: use decode_on")
        grids = self.decode_grids(latents)
        if len(grids) == 0:
            return []
        lane = grids[:, 0].reshape(len(grids), -1).astype(np.float64)
        distance = (
            (lane**2).sum(axis=1, keepdims=True)
            - 2.0 * lane @ self._masks.T
            + (self._masks**2).sum(axis=1)
        )
        chosen = np.argmin(distance, axis=1)
        return self._place(grids, [self.roads[i] for i in chosen], self._masks[chosen])

    def decode_on(self, latents: ArrayLike, roads: Sequence[Road]) -> list[Scene]:
        """Scenes of latent codes ``(n, latent_size)``, code ``i`` decoded onto ``roads[i]``
        (any road, not only the reference's): vehicles where that road has lanes."""
        roads = list(roads)
        n = len(np.asarray(latents).reshape(-1, self.config.latent_size)) if roads else 0
        if len(roads) != n:
            raise ValueError(f"decode_on needs one road per latent code ({n}), got {len(roads)}")
        if not roads:
            return []
        masks = self._lane_maps(roads)
        return self._place(self.decode_grids(latents, masks), roads, masks)

    def _lane_maps(self, roads: Sequence[Road]) -> NDArray[np.float32]:
        """``(len(roads), lanes * cells)``: 1 where each road has a lane, cell by cell."""
        maps = self.grid.encode_many([Scene(road, Vehicles.empty()) for road in roads])[:, 0]
        return maps.reshape(len(roads), -1)

    def _place(
        self, grids: NDArray[np.float32], roads: Sequence[Road], masks: NDArray
    ) -> list[Scene]:
        """Decoded grids to scenes on ``roads``, with ``masks`` their flattened lane maps.
        Vehicles are kept in every cell a lane covers, in part too: the lane map marks the
        cells whose centre a lane covers, and a vehicle may stand in the last metres of a
        road whose end cuts a cell before its centre."""
        on_road = masks.reshape(len(grids), self.grid.lanes, self.grid.cells) > 0.5
        on_road |= self._partly_covered(roads)
        occupancy = grids[:, 1] * on_road
        if self.config.kind == "gan":  # what its discriminator judged: a threshold at 0.5
            grids[:, 1] = occupancy > 0.5
        else:
            grids[:, 1] = vehicle_cells(occupancy)
        return [self.grid.decode(grid, road) for grid, road in zip(grids, roads)]

    def _partly_covered(self, roads: Sequence[Road]) -> NDArray[np.bool_]:
        """``(len(roads), lanes, cells)``: True where a lane covers any part of a cell."""
        length, cells = self.grid.cell_length, self.grid.cells
        starts = np.arange(cells) * length
        covered = np.zeros((len(roads), self.grid.lanes, cells), dtype=bool)
        for k, road in enumerate(roads):
            n = min(road.lane_count, self.grid.lanes)
            first, last = road.lane_starts[:n, None], road.lane_ends[:n, None]
            covered[k, :n] = (starts < last) & (starts + length > first)
        return covered

    def sample_latents(self, n: int, seed: int = 0) -> NDArray[np.float64]:
        """``n`` latent codes drawn with ``seed`` from the Gaussian fitted to the posterior
        means of the training scenes (``latent_mean``, ``latent_scale``)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a whole number >= 0, got {n!r}")
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal((n, self.config.latent_size))
        return self.latent_mean + noise @ self.latent_scale.T

    def sample(self, n: int, seed: int = 0) -> list[Scene]:
        """``n`` scenes decoded from ``sample_latents(n, seed)``; a GAN generates them on
        reference roads drawn with the same seed."""
        latents = self.sample_latents(n, seed)
        if self.config.kind == "gan":
            rng = np.random.default_rng([seed, 1])
            roads = [self.roads[i] for i in rng.integers(0, len(self.roads), n)]
            return self.decode_on(latents, roads)
        return self.decode(latents)

    # ------------------------------------------------------------------ files
    def save(self, folder: str | os.PathLike) -> None:
        """Write ``prior.json``, ``roads.json`` and ``weights.safetensors`` into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        import torch

        tensors = dict(self.network.state_dict())
        tensors["latent.mean"] = torch.from_numpy(self.latent_mean)
        tensors["latent.scale"] = torch.from_numpy(self.latent_scale)
        save_tensors(folder / "weights.safetensors", tensors)
        atomic_write_text(
            folder / "roads.json", json.dumps([road.to_dict() for road in self.roads]) + "\n"
        )
        meta = {
            "format": PRIOR_FORMAT,
            "kind": self.config.kind,
            "config": config_to_dict(self.config),
            "calibration": self.calibration.tolist(),
            **self.info,
            "weights_sha256": file_sha256(folder / "weights.safetensors"),
        }
        atomic_write_text(folder / "prior.json", json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, folder: str | os.PathLike) -> ScenePrior:
        """Read a prior folder written by ``save`` or ``fit_prior``, on the config's device.
        Raises ``ValueError`` naming the file for a missing, malformed or mismatched part."""
        folder = Path(folder)
        if not folder.is_dir():
            raise ValueError(f"prior {folder} is not a folder (write one with scenegym fit-prior)")
        if not (folder / "prior.json").exists():
            raise ValueError(
                f"{folder} is no scene prior: it has no prior.json (fit one with scenegym "
                "fit-prior)"
            )
        meta = _read_json(folder / "prior.json")
        if not isinstance(meta, dict) or meta.get("format") != PRIOR_FORMAT:
            raise ValueError(
                f"{folder / 'prior.json'} is not a scenegym prior of format {PRIOR_FORMAT}; "
                f"refit it with scenegym fit-prior"
            )
        config = config_from_mapping(PriorConfig, meta.get("config"), name="prior.json config")
        roads_data = _read_json(folder / "roads.json")
        if not isinstance(roads_data, list):
            raise ValueError(f"{folder / 'roads.json'} must hold a list of roads")
        try:
            roads = [Road.from_dict(item) for item in roads_data]
        except (TypeError, ValueError, KeyError) as error:
            raise ValueError(f"{folder / 'roads.json'} holds a malformed road: {error}") from None
        network = build_network(config).to(prior_device(config))
        latent = _load_weights(
            network,
            folder / "weights.safetensors",
            ("latent.mean", "latent.scale"),
            sha256=recorded_hash(meta),
        )
        own = {"format", "kind", "config", "calibration", "weights_sha256"}
        info = {k: v for k, v in meta.items() if k not in own}
        calibration = np.asarray(meta.get("calibration", []), dtype=np.float64)
        if calibration.ndim != 1 or calibration.size == 0 or not np.all(np.isfinite(calibration)):
            raise ValueError(f"{folder / 'prior.json'}: calibration must be a list of finite ELBOs")
        return cls(
            config=config,
            network=network,
            roads=roads,
            calibration=calibration,
            latent_mean=latent[0],
            latent_scale=latent[1],
            info=info,
        )


def vehicle_cells(occupancy: NDArray[np.floating], *, reach: int = 2) -> NDArray[np.float32]:
    """Where decoded occupancy probabilities ``(..., lanes, cells)`` place vehicles: 1 at a
    cell whose probability is the largest within ``reach`` cells along its lane (the first on
    a tie) and whose probability summed with its two neighbours reaches 0.5, else 0.

    A decoder that is unsure of a vehicle's exact cell spreads its probability over a few
    cells, none above 0.5; the vehicle is placed at the peak of that spread once, where a
    cell-by-cell threshold of 0.5 would drop it.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    p = np.asarray(occupancy, dtype=np.float64)
    pad = [(0, 0)] * (p.ndim - 1)
    around = sliding_window_view(
        np.pad(p, [*pad, (reach, reach)], constant_values=-1.0), 2 * reach + 1, axis=-1
    )
    peak = around.argmax(axis=-1) == reach
    mass = sliding_window_view(np.pad(p, [*pad, (1, 1)]), 3, axis=-1).sum(axis=-1)
    return (peak & (mass >= 0.5)).astype(np.float32)


def _gaussian(codes: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean and a scale matrix ``L`` (``L @ L.T`` the covariance, with 1e-3 added to its
    diagonal) of latent codes."""
    mean = codes.mean(axis=0)
    covariance = np.cov(codes, rowvar=False).reshape(len(mean), len(mean))
    covariance += 1e-3 * np.eye(len(mean))
    return mean, np.linalg.cholesky(covariance)


_REMEDY = "fit the prior again with scenegym fit-prior"


def _read_json(path: Path) -> Any:
    return read_json(path, _REMEDY)


def _load_weights(
    network: Any, path: Path, extra: Sequence[str] = (), *, sha256: str | None = None
) -> list[NDArray]:
    """Load ``path`` into ``network``; return the ``extra`` tensors (not the network's) as
    float64 arrays."""
    tensors = load_tensors(path, _REMEDY, sha256)
    for name in extra:
        if name not in tensors:
            raise ValueError(f"{path} lacks the tensor {name!r}; {_REMEDY}")
    extras = [tensors.pop(name).double().numpy() for name in extra]
    load_network(network, tensors, path, _REMEDY, "prior.json config")
    return extras


def read_checkpoint_config(folder: str | os.PathLike) -> PriorConfig:
    """The ``PriorConfig`` of the fit being resumed in ``folder``."""
    path = Path(folder) / "checkpoint.json"
    return _checkpoint_config(_read_json(path), path)


def _checkpoint_config(state: Any, path: Path) -> PriorConfig:
    if not isinstance(state, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return config_from_mapping(PriorConfig, state.get("config"), name="checkpoint config")


def reference_hash(scenes: Sequence[Scene]) -> str:
    """Content hash of a reference: its scene ids in order."""
    return hashlib.sha256("\n".join(scene.id for scene in scenes).encode()).hexdigest()[:16]


def _split(n: int, config: PriorConfig) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    order = np.random.default_rng([config.seed, 1]).permutation(n)
    held = max(_MIN_HELD_OUT, round(n * config.held_out))
    return np.sort(order[held:]), np.sort(order[:held])


def _versions() -> dict[str, str]:
    from scenegym._versions import versions

    return versions("safetensors")


def plot_history(history: list[dict[str, float]], kind: str, path: Path) -> None:
    """The training curves: every loss of ``history`` against the epoch, as a PNG."""
    ylabel = "nats per scene" if kind == "vae" else "hinge loss / score"
    plot_curves(history, path, f"scene prior ({kind}) training", ylabel)


@locking("out")
def fit_prior(
    reference: Sequence[Scene],
    out: str | os.PathLike,
    config: PriorConfig | dict[str, Any] | None = None,
    *,
    resume: bool = False,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> ScenePrior:
    """Fit a scene prior on ``reference`` scenes and write it into the folder ``out``.

    A share ``config.held_out`` of the scenes (at least 5) is held out: for a VAE its mean
    negative ELBO is the validation loss of each epoch, and its ELBOs (a GAN: its
    discriminator scores) calibrate ``ScenePrior.score``. Each epoch's losses are in
    ``prior.info["history"]`` and drawn in ``out/training.png``.
    Every ``checkpoint_every`` epochs the training state is written to ``out/checkpoint.*``;
    ``resume=True`` continues from it and ends with the same weights as an uninterrupted fit
    (on one device: the shuffle and the noise of each epoch depend only on the seed and the
    epoch).

    Args:
        reference: the scenes to learn, at least 10.
        out: the prior folder; with ``resume=False`` it must not hold a prior already.
        config: ``PriorConfig`` or a mapping of its keys; on resume, the folder's config is
            used and a different one is an error.
        resume: continue the checkpoint in ``out``.
        on_epoch: called after each epoch with the epoch number (from 1) and its losses.

    Returns:
        The fitted prior (also saved in ``out``).
    """
    import torch

    reference, out = _checked_reference(reference), Path(out)
    digest = reference_hash(reference)
    config, state = _starting_point(out, _as_config(config), digest, resume)
    device = prior_device(config)
    grids, dropped = config.grid.encode_many(reference, drop=True, return_dropped=True)
    train_index, held_index = _split(len(reference), config)
    data = torch.from_numpy(grids).to(device)
    train_data, held_data = data[train_index], data[held_index]

    train_roads = [reference[i].road for i in train_index]
    networks = _networks(config, device, train_data)
    network = networks["net"]
    optimisers = _optimisers(network, config)
    start_epoch, history = 0, []
    if state is not None:
        load_checkpoint(out, networks, optimisers, state, device, _REMEDY)
        start_epoch, history = int(state["epoch"]), list(state["history"])
    out.mkdir(parents=True, exist_ok=True)

    with torch_threads(config.torch_threads):
        for epoch in range(start_epoch + 1, config.epochs + 1):
            row = train_epoch(network, optimisers, config, epoch, train_data, held_data)
            if config.kind == "gan":
                row |= sample_quality(network, config, epoch, train_data, train_roads)
            history.append(row)
            if "best" in networks and row is kept_row(history, config.epochs):
                networks["best"].load_state_dict(network.state_dict())
            if on_epoch is not None:
                on_epoch(epoch, row)
            if epoch % config.checkpoint_every == 0 or epoch == config.epochs:
                save_checkpoint(out, networks, optimisers, _meta(config, digest, epoch, history))
    if not history:
        save_checkpoint(out, networks, optimisers, _meta(config, digest, config.epochs, history))
    info = {
        "reference": digest,
        "reference_scenes": len(reference),
        "held_out_scenes": len(held_index),
        "vehicles_outside_grid": int(dropped.sum()),
        "history": history,
        "versions": _versions(),
    }
    if "best" in networks and history:
        network = networks["best"]
        info["selected_epoch"] = int(kept_row(history, config.epochs)["epoch"])
    prior = _fitted(network, config, train_data, held_data, train_roads, info)
    prior.save(out)
    plot_history(history, config.kind, out / "training.png")
    return prior


def _networks(config: PriorConfig, device: Any, train_data: Any) -> dict[str, Any]:
    """The network to fit (``net``, initialised from the seed, its kinds' value bounds from
    ``train_data``) and for a GAN a copy for the networks of the epoch it keeps (``best``)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        network = build_network(config).to(device)
    network.bounds.copy_(kind_bounds(train_data))
    networks = {"net": network}
    if config.kind == "gan":
        networks["best"] = build_network(config).to(device)
        networks["best"].load_state_dict(network.state_dict())
    return networks


def _meta(config: PriorConfig, digest: str, epoch: int, history: list) -> dict:
    """What a checkpoint records beside the weights and optimiser states."""
    return {
        "config": config_to_dict(config),
        "reference": digest,
        "epoch": epoch,
        "history": history,
    }


def _checked_reference(reference: Sequence[Scene]) -> list[Scene]:
    reference = list(reference)
    for i, scene in enumerate(reference):
        if not isinstance(scene, Scene):
            raise TypeError(f"reference[{i}] must be a Scene, got {type(scene).__name__}")
    if len(reference) < 2 * _MIN_HELD_OUT:
        raise ValueError(
            f"reference must hold at least {2 * _MIN_HELD_OUT} scenes, got {len(reference)}"
        )
    return reference


def _as_config(config: PriorConfig | dict[str, Any] | None) -> PriorConfig:
    if config is None:
        return PriorConfig()
    if isinstance(config, PriorConfig):
        return config
    return config_from_mapping(PriorConfig, config, name="prior config")


def _starting_point(
    out: Path, config: PriorConfig, digest: str, resume: bool
) -> tuple[PriorConfig, dict[str, Any] | None]:
    """The config to fit with and, on resume, the checkpoint's state (None otherwise)."""
    if not resume:
        if (out / "prior.json").exists() or (out / "checkpoint.json").exists():
            raise ValueError(f"{out} already holds a prior; choose a new folder or pass --resume")
        return config, None
    state = _read_json(out / "checkpoint.json")
    saved = _checkpoint_config(state, out / "checkpoint.json")
    if config != PriorConfig() and config != saved:
        raise ValueError(
            f"resume uses the config saved in {out / 'checkpoint.json'}; the one given "
            f"differs (leave it out to resume)"
        )
    if state.get("reference") != digest:
        raise ValueError(
            f"{out} was fitted on a different reference (hash {state.get('reference')}, "
            f"this one {digest}); resume with the same reference"
        )
    return saved, state


def _optimisers(network: Any, config: PriorConfig) -> dict[str, Any]:
    import torch

    if config.kind == "gan":
        adam = {"lr": config.gan_learning_rate, "betas": (0.0, 0.9)}
        return {
            "opt": torch.optim.Adam(network.generator.parameters(), **adam),
            "opt_d": torch.optim.Adam(network.discriminator.parameters(), **adam),
        }
    return {"opt": torch.optim.Adam(network.parameters(), lr=config.learning_rate)}


def _fitted(network, config: PriorConfig, train_data, held_data, roads, info) -> ScenePrior:
    """The prior of a trained network: calibrated on the held-out grids, and for a VAE with
    the Gaussian of its training scenes' posterior means to sample codes from."""
    import torch

    network.eval()
    with torch.no_grad():
        if config.kind == "gan":
            calibration = network.critic(held_data).double().cpu().numpy()
        else:
            calibration = -network.negative_elbo(held_data)[0].double().cpu().numpy()
            codes = network.posterior(train_data)[0].double().cpu().numpy()
    if config.kind == "gan":  # the generator's own noise
        latent_mean, latent_scale = np.zeros(config.latent_size), np.eye(config.latent_size)
    else:
        latent_mean, latent_scale = _gaussian(codes)
    return ScenePrior(
        config=config,
        network=network,
        roads=roads,
        calibration=calibration,
        latent_mean=latent_mean,
        latent_scale=latent_scale,
        info=info,
    )


def cached_prior(
    reference: Sequence[Scene],
    config: PriorConfig | None = None,
    *,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[ScenePrior, Path]:
    """The prior of ``reference`` and ``config`` from the cache, fitted on first use.

    The cache folder is ``cache_folder() / "priors" / KEY`` (``$SCENEGYM_CACHE`` or
    ``~/.cache/scenegym``), ``KEY`` a hash of the reference's content, the config and the
    torch version; an interrupted first fit resumes from its checkpoint. Returns the prior
    and its folder.
    """
    import torch

    config = PriorConfig() if config is None else config
    reference = list(reference)
    blob = json.dumps(
        {
            "format": PRIOR_FORMAT,
            "reference": reference_hash(reference),
            "config": config_to_dict(config),
            "torch": torch.__version__,
        },
        sort_keys=True,
    )
    folder = cache_folder() / "priors" / hashlib.sha256(blob.encode()).hexdigest()[:16]
    if (folder / "prior.json").is_file():
        try:
            return ScenePrior.load(folder), folder
        except ValueError:
            pass  # a damaged cache entry: fit it again below
        import shutil

        shutil.rmtree(folder)
    resume = (folder / "checkpoint.json").is_file()
    return fit_prior(reference, folder, config, resume=resume, on_epoch=on_epoch), folder
