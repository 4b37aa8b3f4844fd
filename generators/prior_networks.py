"""The networks of scene priors and their settings: ``PriorConfig``, the VAE over the lane
grid with its reconstruction likelihood, and the GAN's generator and discriminator (torch is
imported inside the builders, when a prior is fitted or loaded)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scenegym._checks import MAX_SEED
from scenegym.config import check_config, option
from scenegym.generators._weights import (
    DEVICE_OPTION,
    torch_device,
)
from scenegym.scene.encoding import CHANNELS, LaneGrid

__all__ = [
    "BOUNDED",
    "KIND_CHANNELS",
    "PriorConfig",
    "as_grid",
    "build_network",
    "prior_device",
    "within_kind",
]


_CONTINUOUS = slice(2, 8)
"""Channels modelled as Gaussians where a vehicle is: s_offset, d, heading, speed, length,
width."""


KIND_CHANNELS = slice(8, len(CHANNELS))


_MIN_LOG_SIGMA = math.log(0.05)
"""Smallest standard deviation of a continuous channel (normalised units): keeps the
likelihood bounded."""


_HALVING = {"kernel_size": (3, 4), "stride": (1, 2), "padding": (1, 1)}
"""The convolution that halves the cells (and its transposed twin, which doubles them)."""


BOUNDED = slice(3, 8)
"""GAN: channels bounded to the reference's range for the generated vehicle's kind: d,
heading, speed, length, width."""


@dataclass(frozen=True, kw_only=True)
class PriorConfig:
    """Settings of a scene prior and its training (every field is a key of ``--set``)."""

    kind: str = field(
        default="vae",
        metadata={
            "help": "vae: a variational autoencoder over the lane grid; gan: a generator and "
            "a spectrally normalised discriminator trained with the hinge loss",
            "choices": ("vae", "gan"),
        },
    )
    lanes: int = field(default=6, metadata=option("lane-grid rows (lanes)", 1, 32))
    cells: int = field(
        default=96, metadata=option("lane-grid cells per lane, a multiple of 8", 8, 4096)
    )
    cell_length: float = field(default=4.0, metadata=option("lane-grid cell length (m)", 0.1, 100))
    latent: int = field(
        default=4, metadata=option("latent channels per block of lanes x 8 cells", 1, 256)
    )
    width: int = field(default=16, metadata=option("channels of the first convolution", 1, 1024))
    beta: float = field(
        default=0.1,
        metadata=option(
            "weight of the KL term in training (below 1: sharper vehicles; the ELBO that "
            "elbo() and score() report always weighs it 1)",
            0,
            100,
        ),
    )
    warmup: int = field(
        default=20,
        metadata=option(
            "epochs over which the KL weight rises linearly from 0 to beta (KL annealing: "
            "without it the decoder learns the vehicles' mean occupancy and the latent stays "
            "unused)",
            0,
            100_000,
        ),
    )
    epochs: int | None = field(
        default=None,
        metadata=option(
            "passes over the reference (null: 40 for a VAE, 100 for a GAN, the measured settings)",
            1,
            100_000,
        ),
    )
    batch_size: int = field(default=16, metadata=option("scenes per gradient step", 1, 65_536))
    learning_rate: float = field(default=2e-3, metadata=option("Adam learning rate", 1e-7, 1.0))
    gan_learning_rate: float = field(
        default=2e-4, metadata=option("Adam learning rate of both GAN networks", 1e-7, 1.0)
    )
    instance_noise: float = field(
        default=0.1,
        metadata=option(
            "GAN: standard deviation of Gaussian noise added to every discriminator input, "
            "falling linearly to 0 over the epochs",
            0,
            10,
        ),
    )
    held_out: float = field(
        default=0.1,
        metadata=option(
            "share of the reference held out for the validation loss and the ELBO calibration",
            0.01,
            0.5,
        ),
    )
    checkpoint_every: int = field(
        default=10, metadata=option("epochs between checkpoints", 1, 100_000)
    )
    device: str = field(default="auto", metadata=DEVICE_OPTION)
    seed: int = field(
        default=0, metadata=option("seed of the split, initialisation and noise", 0, MAX_SEED)
    )
    torch_threads: int = field(
        default=1,
        metadata=option(
            "torch threads of the fit (0: torch's own count, one per core); with one, a fit "
            "gives the same weights on every machine and keeps its share of a shared CPU",
            0,
            256,
        ),
    )

    def __post_init__(self) -> None:
        if self.epochs is None:  # a GAN needs more epochs than a VAE (docs/priors.md)
            object.__setattr__(self, "epochs", 100 if self.kind == "gan" else 40)
        check_config(self)
        if self.cells % 8:
            raise ValueError(f"cells must be a multiple of 8 (three halvings), got {self.cells}")

    @property
    def latent_size(self) -> int:
        """Numbers in one latent code: ``latent`` channels x ``lanes`` x ``cells / 8``."""
        return self.latent * self.lanes * (self.cells // 8)

    @property
    def grid(self) -> LaneGrid:
        return LaneGrid(lanes=self.lanes, cells=self.cells, cell_length=self.cell_length)


def build_network(config: PriorConfig):
    """The module of ``config.kind``: ``_vae_network`` or ``_gan_network``."""
    return _gan_network(config) if config.kind == "gan" else _vae_network(config)


def _upsampler(inputs: int, w: int, channels: int):
    """From ``inputs`` channels per block of 8 cells up to ``channels`` per cell: a 1 x 1
    convolution, then three transposed convolutions (kernel 3 x 4, stride 1 x 2), each
    doubling the cells. The VAE's decoder and the GAN's generator."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(inputs, 2 * w, 1),
        nn.SiLU(),
        nn.ConvTranspose2d(2 * w, 2 * w, **_HALVING),
        nn.SiLU(),
        nn.ConvTranspose2d(2 * w, w, **_HALVING),
        nn.SiLU(),
        nn.ConvTranspose2d(w, channels, **_HALVING),
    )


def _gan_network(config: PriorConfig):
    """The GAN module: a generator with the VAE decoder's layers (from spatial standard-normal
    noise of ``latent_size`` numbers) and a discriminator with the encoder's layers, each
    spectrally normalised, ending in one score per grid."""
    import torch
    from torch import nn
    from torch.nn.utils import spectral_norm

    channels, rows, cells, w = len(CHANNELS), config.lanes, config.cells, config.width
    down = _HALVING

    class SceneGAN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.noise = nn.Unflatten(1, (config.latent, rows, cells // 8))
            self.road = nn.AvgPool2d((1, 8))  # the lane map, one value per block of 8 cells
            # The smallest and largest value of d, heading, speed, length and width of each
            # kind in the reference (fit_prior sets them): a generated vehicle's values lie
            # within its kind's range.
            kinds = len(CHANNELS) - KIND_CHANNELS.start
            self.register_buffer("bounds", torch.zeros(2, BOUNDED.stop - BOUNDED.start, kinds))
            self.generator = _upsampler(config.latent + 1, w, channels)
            self.discriminator = nn.Sequential(
                spectral_norm(nn.Conv2d(channels, w, **down)),
                nn.LeakyReLU(0.2),
                spectral_norm(nn.Conv2d(w, 2 * w, **down)),
                nn.LeakyReLU(0.2),
                spectral_norm(nn.Conv2d(2 * w, 2 * w, **down)),
                nn.LeakyReLU(0.2),
                nn.Flatten(),
                spectral_norm(nn.Linear(2 * w * rows * (cells // 8), 1)),
            )

        def decode(self, z, lanes):
            """Raw outputs for noise ``z`` on roads with lane maps ``lanes`` (n, rows, cells);
            the ``lane`` output is the given map (as logits)."""
            out = self.generator(torch.cat([self.noise(z), self.road(lanes[:, None])], dim=1))
            # The range of the most likely kind (straight-through: its gradient reaches every
            # kind's probability), so a vehicle's size, speed, offset and heading always fit
            # the kind it decodes to.
            kinds = _hard_kinds(torch.softmax(out[:, KIND_CHANNELS], dim=1))
            low, high = torch.einsum("nkrc,bvk->bnvrc", kinds, self.bounds)
            bounded = low + (high - low) * torch.sigmoid(out[:, BOUNDED])
            lane = (lanes[:, None] - 0.5) * 40.0
            return torch.cat([lane, out[:, 1:3], bounded, out[:, KIND_CHANNELS]], dim=1)

        def critic(self, grids):
            return self.discriminator(grids).squeeze(1)

    return SceneGAN()


def as_grid(out, *, hard: bool = False):
    """Raw decoder outputs as lane-grid values: probabilities for ``lane``, ``occupied`` and
    the kinds, ``s_offset`` clamped to [0, 1], the rest as they come.

    ``hard`` (what the GAN's discriminator sees of generated grids): ``lane`` and ``occupied``
    thresholded at 0.5 and the kinds one-hot, with straight-through gradients (the forward
    pass hard, the backward pass that of the probabilities), and every channel after
    ``occupied`` set to 0 where no vehicle is, as in real grids. Without it a discriminator
    tells generated grids from real ones by their soft values alone."""
    import torch

    lane = torch.sigmoid(out[:, 0:1])
    occupancy = torch.sigmoid(out[:, 1:2])
    kinds = torch.softmax(out[:, KIND_CHANNELS], dim=1)
    if hard:
        lane, occupancy, kinds = _hard(lane), _hard(occupancy), _hard_kinds(kinds)
    grid = torch.cat([lane, occupancy, out[:, 2:3].clamp(0.0, 1.0), out[:, 3:8], kinds], dim=1)
    if hard:
        grid = torch.cat([grid[:, :2], grid[:, 2:] * occupancy], dim=1)
    return grid


def within_kind(grid, bounds):
    """``grid`` with d, heading, speed, length and width clamped, cell by cell, into the range
    ``bounds`` ``(2, 5, kinds)`` of the cell's most likely kind (what a VAE's decoded vehicle
    becomes: a car-sized truck or a truck-long car breaks the validity rules)."""
    import torch

    kinds = grid[:, KIND_CHANNELS]
    one_hot = torch.nn.functional.one_hot(kinds.argmax(dim=1), kinds.shape[1]).to(grid.dtype)
    low, high = torch.einsum("nrck,bvk->bnvrc", one_hot, bounds)
    bounded = torch.minimum(torch.maximum(grid[:, BOUNDED], low), high)
    return torch.cat([grid[:, : BOUNDED.start], bounded, grid[:, BOUNDED.stop :]], dim=1)


def _hard(p):
    """``p > 0.5`` as 0/1 in the forward pass, the gradient of ``p`` in the backward pass."""
    return p + ((p > 0.5).to(p.dtype) - p).detach()


def _hard_kinds(kinds):
    """The most likely of the kind probabilities ``(n, kinds, rows, cells)`` one-hot in the
    forward pass, the gradient of the probabilities in the backward pass."""
    import torch

    one_hot = torch.nn.functional.one_hot(kinds.argmax(dim=1), kinds.shape[1])
    return kinds + (one_hot.permute(0, 3, 1, 2).to(kinds.dtype) - kinds).detach()


def _vae_network(config: PriorConfig):
    """The VAE module: a convolutional encoder to ``2 * latent`` numbers (mean, log-variance)
    and a mirrored decoder to one output per grid channel (logits for ``lane``, ``occupied``
    and the kinds; means for the continuous channels), plus one learned log standard deviation
    per continuous channel."""
    import torch
    from torch import nn

    channels, rows, cells, w = len(CHANNELS), config.lanes, config.cells, config.width

    class SceneVAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            down = _HALVING
            self.encoder = nn.Sequential(
                nn.Conv2d(channels, w, **down),
                nn.SiLU(),
                nn.Conv2d(w, 2 * w, **down),
                nn.SiLU(),
                nn.Conv2d(2 * w, 2 * w, **down),
                nn.SiLU(),
                nn.Conv2d(2 * w, 2 * config.latent, 1),
            )
            self.decoder = nn.Sequential(
                nn.Unflatten(1, (config.latent, rows, cells // 8)),
                _upsampler(config.latent, w, channels),
            )
            # One learned log standard deviation per continuous channel, from 1: smaller
            # starting values let those channels crowd out learning where vehicles are.
            self.log_sigma = nn.Parameter(torch.zeros(6))
            # As the GAN's: each kind's range of d, heading, speed, length and width in the
            # reference (fit_prior sets them); decoded vehicles are clamped into it.
            kinds = len(CHANNELS) - KIND_CHANNELS.start
            self.register_buffer("bounds", torch.zeros(2, BOUNDED.stop - BOUNDED.start, kinds))

        def decode(self, z, lanes=None):
            return self.decoder(z)  # the lane map comes out of the code

        def posterior(self, grids):
            mean, log_var = self.encoder(grids).chunk(2, dim=1)
            return mean.flatten(1), log_var.clamp(-12.0, 8.0).flatten(1)

        def negative_elbo(self, grids, noise=None, beta: float = 1.0):
            """Per scene: reconstruction negative log-likelihood + ``beta`` * KL (nats). With
            ``noise`` None the latent is the posterior mean (a deterministic bound)."""
            mean, log_var = self.posterior(grids)
            z = mean if noise is None else mean + noise * (0.5 * log_var).exp()
            out = self.decoder(z)
            reconstruction = _reconstruction_nll(out, grids, self.log_sigma)
            kl = 0.5 * (mean.square() + log_var.exp() - 1.0 - log_var).sum(dim=1)
            return reconstruction + beta * kl, reconstruction, kl

    return SceneVAE()


def _reconstruction_nll(out, grids, log_sigma):
    """Negative log-likelihood of ``grids`` (n, channels, rows, cells) under the decoder's
    ``out``, summed per scene: Bernoulli for ``lane`` and ``occupied`` everywhere; where a
    vehicle is, Gaussian for the continuous channels and categorical for the kind."""
    import torch
    from torch.nn import functional

    lane = functional.binary_cross_entropy_with_logits(out[:, 0], grids[:, 0], reduction="none")
    occupied = grids[:, 1]
    occupancy = functional.binary_cross_entropy_with_logits(out[:, 1], occupied, reduction="none")
    log_sigma = log_sigma.clamp(min=_MIN_LOG_SIGMA).view(1, -1, 1, 1)
    z = (grids[:, _CONTINUOUS] - out[:, _CONTINUOUS]) / log_sigma.exp()
    gaussian = (0.5 * z.square() + log_sigma + 0.5 * math.log(2 * math.pi)).sum(dim=1)
    kind = -(torch.log_softmax(out[:, KIND_CHANNELS], dim=1) * grids[:, KIND_CHANNELS]).sum(dim=1)
    per_cell = lane + occupancy + occupied * (gaussian + kind)
    return per_cell.flatten(1).sum(dim=1)


def prior_device(config: PriorConfig):
    return torch_device(config.device)
