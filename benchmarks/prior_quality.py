"""The scene priors: fit time, samples/s, and their samples evaluated beside other generators.

The embedded naturalistic reference (2,000 scenes, seed 0) is split as the quickstart splits it:
the scenes of half its simulated runs (``grouped_split``, seed 0) fit the prior, the other
runs are held out. The prior is
fitted with the default ``PriorConfig`` (timed), then ``--n`` scenes are sampled from it
(timed, against the random sampler of the default space in the same run) and evaluated with
``scenegym.evaluation.metrics.evaluate`` against the held-out half, with the prior's Fréchet Scene
Distance. A GAN prior (``--gan-epochs``, 0 to skip it) is fitted on the same half, timed, sampled
and evaluated in the same feature space (the VAE's). With ``--generated FILE.jsonl`` (for
example the quickstart's ``generated.jsonl``) those scenes are evaluated too, in the same table.

Goal error of generators that cannot be asked for targets (``goal_error_unasked``): scene
``i`` of each set against the descriptors of held-out scene ``i``, for the eleven goal
descriptors of the quickstart, as a share of each descriptor's range (1st to 99th percentile
of the fitting half) — the error of ignoring the target, the baseline for the goal error of a
goal-conditioned policy asked for the held-out scenes (``benchmarks/quality.py --goals``).

Run::

    .venv/bin/python benchmarks/prior_quality.py [--n 1000] [--gan-epochs 100] \
        [--generated quickstart/generated.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

GOALS = (
    "vehicle_count",
    "density",
    "mean_speed",
    "std_speed",
    "min_time_headway",
    "median_time_headway",
    "min_gap",
    "lane_occupancy_spread",
    "truck_share",
    "max_curvature",
    "lane_count",
)
KEYS = (
    "validity_rate",
    "c2st_auc",
    "mmd2",
    "mmd2_floor",
    "fsd",
    "fsd_floor",
    "coverage",
    "vendi",
    "vendi_reference",
)


def main() -> dict:
    import numpy as np
    import torch

    from scenegym.bridges import naturalistic_reference
    from scenegym.evaluation.metrics import evaluate
    from scenegym.generators.prior import fit_prior
    from scenegym.scene import HighwaySceneSpace, grouped_split, read_scenes
    from scenegym.scene.validity import RULES, violation_counts_many

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--generated", type=Path, nargs="*", default=[])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gan-epochs", type=int, default=100)
    args = parser.parse_args()

    reference = naturalistic_reference(2000, 0)
    fit_index, held_index = grouped_split(reference, 0.5, seed=0)  # by simulated run
    fit_on = [reference[i] for i in fit_index]
    held_out = [reference[i] for i in held_index]
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        prior = fit_prior(fit_on, Path(folder) / "prior", {"seed": args.seed})
        fit_seconds = time.perf_counter() - start
    prior.sample(8, seed=0)  # warm-up
    start = time.perf_counter()
    vae = prior.sample(args.n, seed=args.seed)
    vae_seconds = time.perf_counter() - start
    space = HighwaySceneSpace()
    start = time.perf_counter()
    random_scenes = list(space.sample_many(args.n, args.seed))
    random_seconds = time.perf_counter() - start

    sets = {"VAE prior": vae, "random sampler": random_scenes}
    gan = {}
    if args.gan_epochs:
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            config = {"kind": "gan", "epochs": args.gan_epochs, "seed": args.seed}
            gan_prior = fit_prior(fit_on, Path(folder) / "gan", config)
            gan["fit_seconds"] = time.perf_counter() - start
        gan_prior.sample(8, seed=0)
        start = time.perf_counter()
        sets["GAN prior"] = gan_prior.sample(args.n, seed=args.seed)
        gan["samples_per_s"] = args.n / (time.perf_counter() - start)
        gan["epochs"] = args.gan_epochs
        gan["final_history"] = gan_prior.info["history"][-1]
        gan["held_out_mean_score"] = float(gan_prior.score(held_out).mean())
        gan["random_sampler_mean_score"] = float(gan_prior.score(random_scenes).mean())
    for path in args.generated:
        sets[str(path)] = read_scenes(path)[: args.n]
    from scenegym.scene.descriptors import describe_many

    fit_described = describe_many(fit_on)
    low = np.array([np.percentile(fit_described[g], 1) for g in GOALS])
    width = np.array([np.percentile(fit_described[g], 99) for g in GOALS]) - low + 1e-6
    held_described = describe_many(held_out)
    wanted = np.column_stack([held_described[g] for g in GOALS])
    results = {}
    for name, scenes in sets.items():
        metrics = evaluate(scenes, held_out, seed=args.seed, prior=prior)
        results[name] = {key: metrics[key] for key in KEYS}
        results[name]["mean_vehicles"] = float(np.mean([len(s.vehicles) for s in scenes]))
        # The share of scenes that break each rule (a scene may break several).
        broken = violation_counts_many(scenes) > 0
        results[name]["broken"] = dict(zip(RULES, broken.mean(axis=0).round(3).tolist()))
        described = describe_many(scenes)
        got = np.column_stack([described[g] for g in GOALS])
        k = min(len(got), len(wanted))
        share = np.abs(got[:k] - wanted[:k]).mean(axis=0) / width
        results[name]["goal_error_unasked"] = dict(zip(GOALS, share.round(4).tolist()))
    real = prior.elbo(held_out)
    result = {
        "reference_fit_scenes": len(fit_on),
        "held_out_scenes": len(held_out),
        "fit_seconds": fit_seconds,
        "epochs": prior.config.epochs,
        "torch_threads": torch.get_num_threads(),
        "final_history": prior.info["history"][-1],
        "vae_samples_per_s": args.n / vae_seconds,
        "random_sampler_samples_per_s": args.n / random_seconds,
        "held_out_mean_score": float(prior.score(held_out).mean()),
        "random_sampler_mean_score": float(prior.score(random_scenes).mean()),
        "elbo_auc_held_out_vs_random": float(
            np.mean(real[:, None] > prior.elbo(random_scenes)[None, :])
        ),
        "gan": gan,
        "reference_mean_vehicles": float(np.mean([len(s.vehicles) for s in held_out])),
        "generators": results,
    }
    json.dump(result, sys.stdout, indent=2)
    print()
    return result


if __name__ == "__main__":
    main()
