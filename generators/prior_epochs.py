"""One epoch of fitting a scene prior (VAE or GAN), and how a GAN fit picks the epoch it
keeps. ``scenegym.generators.prior.fit_prior`` runs them; torch is imported inside."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scenegym.generators.prior_networks import BOUNDED, KIND_CHANNELS, PriorConfig, as_grid
from scenegym.scene.encoding import CHANNELS
from scenegym.scene.road import Road
from scenegym.scene.validity import is_valid

__all__ = [
    "SELECTION_GRIDS",
    "gan_epoch",
    "kept_row",
    "kind_bounds",
    "sample_quality",
    "train_epoch",
    "vae_epoch",
]


def kind_bounds(grids):
    """``(2, channels, kinds)``: the smallest and largest normalised value of each ``BOUNDED``
    channel per kind over the occupied cells of ``grids`` (a kind absent from them gets the
    range of all kinds)."""
    import torch

    occupied = grids[:, 1] > 0.5
    values = grids[:, BOUNDED].permute(1, 0, 2, 3)  # (channels, n, rows, cells)
    every = values[:, occupied]
    kinds = len(CHANNELS) - KIND_CHANNELS.start
    bounds = torch.zeros(2, len(values), kinds, device=grids.device)
    if not every.shape[1]:
        return bounds
    for k in range(kinds):
        mine = values[:, occupied & (grids[:, KIND_CHANNELS.start + k] > 0.5)]
        chosen = mine if mine.shape[1] else every
        bounds[0, :, k], bounds[1, :, k] = chosen.min(dim=1).values, chosen.max(dim=1).values
    return bounds


def vae_epoch(network, optimisers, config, epoch, train_data, held_data, order, noise_rng):
    """One VAE epoch: the ELBO with the annealed KL weight; the losses per scene."""
    import torch

    optimiser = optimisers["opt"]
    device = train_data.device
    total = reconstruction_total = kl_total = 0.0
    beta = config.beta * min(1.0, epoch / config.warmup) if config.warmup else config.beta
    for start in range(0, len(order), config.batch_size):
        batch = train_data[order[start : start + config.batch_size].to(device)]
        noise = torch.randn(len(batch), config.latent_size, generator=noise_rng).to(device)
        loss, reconstruction, kl = network.negative_elbo(batch, noise, beta=beta)
        optimiser.zero_grad(set_to_none=True)
        loss.mean().backward()
        optimiser.step()
        total += float(loss.detach().sum())
        reconstruction_total += float(reconstruction.detach().sum())
        kl_total += float(kl.detach().sum())
    network.eval()
    with torch.no_grad():
        held_loss = float(network.negative_elbo(held_data)[0].mean())
    n = len(train_data)
    return {
        "loss": total / n,
        "reconstruction": reconstruction_total / n,
        "kl": kl_total / n,
        "held_out_loss": held_loss,
    }


def gan_epoch(network, optimisers, config, epoch, train_data, held_data, order, noise_rng):
    """One GAN epoch, hinge loss: a discriminator step, then a generator step, per batch;
    instance noise on every discriminator input. Returns the mean losses and the mean
    discriminator score of held-out reference grids and of generated ones."""
    import torch
    from torch.nn import functional

    device = train_data.device
    sigma = config.instance_noise * max(0.0, 1.0 - (epoch - 1) / config.epochs)

    def noisy(grids):
        if sigma == 0:
            return grids
        return grids + sigma * torch.randn(grids.shape, generator=noise_rng).to(device)

    d_total = g_total = 0.0
    batches = 0
    for start in range(0, len(order), config.batch_size):
        real = train_data[order[start : start + config.batch_size].to(device)]
        z = torch.randn(len(real), config.latent_size, generator=noise_rng).to(device)
        fake = as_grid(network.decode(z, real[:, 0]), hard=True)  # on the real roads
        d_loss = (
            functional.relu(1.0 - network.critic(noisy(real))).mean()
            + functional.relu(1.0 + network.critic(noisy(fake.detach()))).mean()
        )
        optimisers["opt_d"].zero_grad(set_to_none=True)
        d_loss.backward()
        optimisers["opt_d"].step()
        g_loss = -network.critic(noisy(fake)).mean()
        optimisers["opt"].zero_grad(set_to_none=True)
        g_loss.backward()
        optimisers["opt"].step()
        d_total += float(d_loss.detach())
        g_total += float(g_loss.detach())
        batches += 1
    network.eval()
    with torch.no_grad():
        z = torch.randn(len(held_data), config.latent_size, generator=noise_rng).to(device)
        generated = as_grid(network.decode(z, held_data[:, 0]), hard=True)
        held = float(network.critic(held_data).mean())
        made = float(network.critic(generated).mean())
    return {
        "d_loss": d_total / batches,
        "g_loss": g_total / batches,
        "critic_held_out": held,
        "critic_generated": made,
        "instance_noise": sigma,
    }


SELECTION_GRIDS = 256
"""GAN: training scenes on whose roads the generator places vehicles after each epoch, to
measure how near its scenes lie to them (``sample_quality``)."""


def sample_quality(network, config, epoch: int, grids, roads: Sequence[Road]) -> dict:
    """GAN: the generator's scenes on the roads of up to 256 training scenes (their lane
    ``grids``) against those scenes: ``count_distance``, the 1-Wasserstein distance between
    the numbers of vehicles per scene, as a share of the training scenes' mean number;
    ``invalid_share``, the share of generated scenes that break a validity rule; and
    ``sample_error``, their sum (what a fit keeps the least of: ``kept_row``)."""
    import torch
    from scipy.stats import wasserstein_distance

    grids, roads = grids[:SELECTION_GRIDS], list(roads)[:SELECTION_GRIDS]
    noise = torch.Generator(device="cpu").manual_seed(config.seed * 1_000_003 + epoch + 500_009)
    network.eval()
    with torch.no_grad():
        z = torch.randn(len(grids), config.latent_size, generator=noise).to(grids.device)
        made = as_grid(network.decode(z, grids[:, 0]), hard=True)
        made[:, 1] *= grids[:, 0]  # vehicles only where the road has a lane
    made = made.double().cpu().numpy()
    real = grids[:, 1].double().cpu().numpy().sum((1, 2))
    counts = made[:, 1].sum((1, 2))
    count = wasserstein_distance(counts, real) / max(float(real.mean()), 1.0)
    scenes = [config.grid.decode(grid, road) for grid, road in zip(made, roads)]
    invalid = 1.0 - float(np.mean([is_valid(scene) for scene in scenes]))
    return {"count_distance": count, "invalid_share": invalid, "sample_error": count + invalid}


def kept_row(history: list[dict[str, float]], epochs: int) -> dict[str, float]:
    """GAN: the row of the epoch whose networks a fit keeps: of the second half of the fit
    (the first has the discriminator still learning under strong instance noise), the first
    of least ``sample_error``; the last epoch while the fit is in its first half."""
    late = [row for row in history if row["epoch"] > epochs // 2] or history[-1:]
    return min(late, key=lambda row: row["sample_error"])


def train_epoch(
    network, optimisers, config: PriorConfig, epoch: int, train_data, held_data
) -> dict:
    """Train one epoch; returns its row of the history. The shuffle and the noise depend only
    on the seed and the epoch, so a resumed fit ends as an uninterrupted one."""
    import torch

    network.train()
    order = torch.from_numpy(
        np.random.default_rng([config.seed, 2, epoch]).permutation(len(train_data))
    )
    noise_rng = torch.Generator(device="cpu").manual_seed(config.seed * 1_000_003 + epoch)
    epoch_of = gan_epoch if config.kind == "gan" else vae_epoch
    row = {"epoch": epoch}
    row |= epoch_of(network, optimisers, config, epoch, train_data, held_data, order, noise_rng)
    return row
