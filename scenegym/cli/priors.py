"""Commands of the learned generative models: fit-prior, sample-prior, fit-appearance."""

from __future__ import annotations

import argparse
from pathlib import Path

from scenegym.cli._common import (
    Commands,
    add_config_options,
    check_out_file,
    config,
    epoch_progress,
    positive_int,
    progress,
    reference_scenes,
    seed_int,
)
from scenegym.generators import (
    AppearanceConfig,
    PriorConfig,
    ScenePrior,
    fit_appearance,
    fit_prior,
    read_pairs,
)
from scenegym.generators.appearance import read_checkpoint
from scenegym.generators.prior import read_checkpoint_config
from scenegym.scene import Scene, read_scenes, violation_counts_many, write_scenes


# ---------------------------------------------------------------------- fit-prior
def add_fit_prior(commands: Commands) -> None:
    """``scenegym fit-prior``: a new or resumed scene prior."""
    parser = commands.add_parser(
        "fit-prior", help="fit a VAE or GAN scene prior on a reference (realism, FSD features)"
    )
    parser.add_argument(
        "--reference",
        type=str,
        nargs="+",
        default=None,
        help="a scenes .jsonl file, CommonRoad .xml files or folders, or 'naturalistic' "
        "(not needed with --resume)",
    )
    parser.add_argument(
        "--kind",
        choices=("vae", "gan"),
        default=None,
        help="kind of prior (default: the config's, vae)",
    )
    parser.add_argument("--out", type=Path, default=None, help="new prior folder")
    parser.add_argument("--resume", type=Path, default=None, help="continue this prior folder")
    add_config_options(parser, "prior config", "PriorConfig", "epochs=80")
    parser.set_defaults(handler=_fit_prior)


def _resumed_prior(args: argparse.Namespace) -> tuple[Path, list[Scene], int]:
    """The folder, reference copy and epochs of ``fit-prior --resume FOLDER``."""
    if args.reference is not None or args.config is not None or args.overrides:
        raise ValueError(
            "--resume continues with the reference and config of the prior folder; leave "
            "out --reference, --config and --set"
        )
    out = args.resume
    reference_file = out / "reference.jsonl"
    if not reference_file.is_file() or not (out / "checkpoint.json").is_file():
        raise ValueError(
            f"{out} is not a prior folder being fitted (it needs reference.jsonl and "
            f"checkpoint.json, written by scenegym fit-prior --out)"
        )
    reference = read_scenes(reference_file)
    return out, reference, read_checkpoint_config(out).epochs


def _new_prior(args: argparse.Namespace) -> tuple[Path, list[Scene], PriorConfig]:
    """The folder, reference and config of a new ``fit-prior --out FOLDER``; the folder keeps
    a copy of the reference, so that ``--resume`` needs nothing else."""
    if args.reference is None:
        raise ValueError("--reference is required for a new prior")
    out = args.out
    if args.kind is not None:  # before the config is built: the epochs follow the kind
        args.overrides = [*args.overrides, f"kind={args.kind}"]
    prior_config = config(PriorConfig, args)
    if (out / "prior.json").exists() or (out / "checkpoint.json").exists():
        raise ValueError(f"{out} already holds a prior; choose a new folder or pass --resume")
    reference, _ = reference_scenes(args.reference)
    out.mkdir(parents=True, exist_ok=True)
    write_scenes(out / "reference.jsonl", reference)
    return out, reference, prior_config


def _fit_prior(args: argparse.Namespace) -> int:
    if (args.out is None) == (args.resume is None):
        raise ValueError("give exactly one of --out (a new prior) and --resume (a prior folder)")
    if args.resume is not None:
        out, reference, epochs = _resumed_prior(args)
        prior_config = None
    else:
        out, reference, prior_config = _new_prior(args)
        epochs = prior_config.epochs
    with progress("fitting prior", epochs) as advance:
        on_epoch = epoch_progress(advance)
        if prior_config is None:
            prior = fit_prior(reference, out, resume=True, on_epoch=on_epoch)
        else:
            prior = fit_prior(reference, out, prior_config, on_epoch=on_epoch)
    last = prior.info["history"][-1]
    losses = ", ".join(f"{key} {value:.4g}" for key, value in last.items() if key != "epoch")
    print(
        f"wrote {out}/: weights.safetensors, prior.json, roads.json, training.png "
        f"({prior.config.kind}, {prior.info['reference_scenes']} reference scenes, "
        f"{last['epoch']} epochs; last epoch: {losses})"
    )
    return 0


# ---------------------------------------------------------------------- sample-prior
def add_sample_prior(commands: Commands) -> None:
    """``scenegym sample-prior``: scenes of a scene prior."""
    parser = commands.add_parser(
        "sample-prior", help="sample scenes from a scene prior (a non-RL baseline generator)"
    )
    parser.add_argument("prior", type=Path, help="prior folder (scenegym fit-prior)")
    parser.add_argument("--n", type=positive_int, default=100, help="number of scenes")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the latent codes")
    parser.add_argument("--out", type=Path, required=True, help="scenes .jsonl file")
    parser.set_defaults(handler=_sample_prior)


def _sample_prior(args: argparse.Namespace) -> int:
    check_out_file(args.out)
    scenes = ScenePrior.load(args.prior).sample(args.n, seed=args.seed)
    write_scenes(args.out, scenes)
    valid = int((violation_counts_many(scenes).sum(axis=1) == 0).sum()) if scenes else 0
    print(f"wrote {len(scenes)} scenes to {args.out} ({valid} valid, {len(scenes) - valid} not)")
    return 0


# ---------------------------------------------------------------------- fit-appearance
def add_fit_appearance(commands: Commands) -> None:
    """``scenegym fit-appearance``: a new or resumed appearance model."""
    parser = commands.add_parser(
        "fit-appearance",
        help="fit a semantic-map-to-picture model (pix2pix-style GAN) on image pairs",
    )
    parser.add_argument(
        "pairs",
        type=Path,
        nargs="?",
        default=None,
        help="folder with semantic/NAME.png class-id maps and images/NAME.png pictures "
        "(not needed with --resume)",
    )
    parser.add_argument("--out", type=Path, default=None, help="new model folder")
    parser.add_argument("--resume", type=Path, default=None, help="continue this model folder")
    add_config_options(parser, "appearance config", "AppearanceConfig", "epochs=80")
    parser.set_defaults(handler=_fit_appearance)


def _appearance_job(args: argparse.Namespace) -> tuple[Path, Path, AppearanceConfig]:
    """The model folder, the pairs folder and the config of ``fit-appearance``."""
    if (args.out is None) == (args.resume is None):
        raise ValueError("give exactly one of --out (a new model) and --resume (a model folder)")
    if args.resume is not None:
        if args.config is not None or args.overrides:
            raise ValueError(
                "--resume continues with the config of the model folder; leave out --config "
                "and --set"
            )
        out = args.resume
        if not (out / "checkpoint.json").is_file():
            raise ValueError(
                f"{out} is not an appearance model being fitted (it has no checkpoint.json; "
                "start one with scenegym fit-appearance PAIRS --out)"
            )
        appearance_config, saved = read_checkpoint(out)
        return out, args.pairs if args.pairs is not None else Path(saved), appearance_config
    if args.pairs is None:
        raise ValueError("give the pairs folder: scenegym fit-appearance PAIRS --out MODEL")
    out = args.out
    if (out / "appearance.json").exists() or (out / "checkpoint.json").exists():
        raise ValueError(
            f"{out} already holds an appearance model; choose a new folder or pass --resume"
        )
    return out, args.pairs, config(AppearanceConfig, args)


def _fit_appearance(args: argparse.Namespace) -> int:
    out, folder, appearance_config = _appearance_job(args)
    pairs = read_pairs(folder)
    print(
        f"{len(pairs.names)} pairs in {folder}"
        + (f" ({pairs.unpaired} semantic maps without a picture skipped)" if pairs.unpaired else "")
    )
    with progress("fitting appearance model", appearance_config.epochs) as advance:
        on_epoch = epoch_progress(advance)
        if args.resume is not None:
            model = fit_appearance(pairs, out, resume=True, on_epoch=on_epoch)
        else:
            model = fit_appearance(pairs, out, appearance_config, on_epoch=on_epoch)
    info = model.info
    print(
        f"wrote {out}/: weights.safetensors, appearance.json, training.png, samples.png "
        f"({info['pairs_count']} pairs, {len(info['history'])} epochs; held-out error "
        f"{info['held_out_error']:.2f} of 255 per channel, painting each class its mean "
        f"colour: {info['class_colour_error']:.2f})"
    )
    print(f"use it: scenegym dataset SOURCE --n N --out DIR --appearance {out}")
    return 0
