"""Quality of a trained generation policy against the random sampler, on the reference.

Trains one policy with the options given (timed: ``train_s``), samples 1,000 scenes from it
(deterministic, seed 1; timed: ``policy_samples_per_s``, scenes returned per second)
and 1,000 from the random sampler of the same space (seed 0), and evaluates both with
``scenegym.evaluation.metrics.evaluate`` against the naturalistic reference (2,000 scenes, seed
0). With ``--goals``, goal targets are taken from reference scenes (``GoalSpec.reference``):
the reference is split by simulated run in halves, targets come from the first, evaluation is
against the second, and the policy is also asked for each second-half scene's descriptors
(goal error per descriptor, as a share of its range); with ``--start goal`` the starting
scenes alone are measured too. Without goals, the realism model sees the whole reference and
evaluation is against the scenes of half its runs. One JSON object is printed. These
are the runs of the quality tables of docs/BENCHMARKS.md, for example::

    G=vehicle_count,density,mean_speed,std_speed,min_time_headway,median_time_headway,\
min_gap,lane_occupancy_spread,truck_share,max_curvature,lane_count
    .venv/bin/python benchmarks/quality.py --realism 0.5 --goal-weight 2 --start goal \
        --placement even --goals $G --start-candidates 16 --space '{"vehicles": [0, 96]}' \
        --max-vehicles 96 --steps 500000 --edit-budget 32    # the quickstart's settings
    .venv/bin/python benchmarks/quality.py --realism 0.5 --goal-weight 2 --start goal \
        --placement even --goals $G
    .venv/bin/python benchmarks/quality.py --roads reference --realism 0.5
    .venv/bin/python benchmarks/quality.py --roads reference --realism 0.5 --scene-realism 1
    .venv/bin/python benchmarks/quality.py --roads reference --realism 0.5 \\
        --goals density,mean_speed,median_time_headway,min_gap
    .venv/bin/python benchmarks/quality.py --env scenegym/DrivingLayout-latent-v0 \\
        --realism 0.5 --prior-realism 0.5 --goal-weight 2 --goals $G --steps 100000

Every evaluation includes the Fréchet Scene Distance in the features of a VAE prior fitted
on the training half (``cached_prior``, the quickstart's); the latent environment decodes
with that prior.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

METRICS = ("validity_rate", "c2st_auc", "mmd2", "fsd", "fsd_floor", "coverage", "vendi")
REFERENCE_ROADS = {
    "lanes": (2, 5),
    "length": (200.0, 320.0),
    "max_curvature": 0.002,
    "ramp_probability": 0.0,
    "lane_width": (3.4, 3.75),
}
"""A scene space whose roads are drawn like the reference's (see scenegym.bridges.reference)."""


def main() -> dict:
    import numpy as np

    from scenegym.agents.policy import GenerationPolicy
    from scenegym.agents.training import train
    from scenegym.bridges import naturalistic_reference
    from scenegym.config import config_from_mapping, config_to_dict
    from scenegym.evaluation.metrics import evaluate
    from scenegym.rewards import SceneRealism, VehicleRealism
    from scenegym.scene import HighwaySceneSpace, HighwaySpaceConfig, grouped_split, write_scenes
    from scenegym.scene.descriptors import describe_many

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="scenegym/DrivingLayout-edit-v5")
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--roads", choices=("default", "reference"), default="default")
    parser.add_argument("--validity", type=float, default=1.0)
    parser.add_argument("--realism", type=float, default=0.5)
    parser.add_argument("--scene-realism", type=float, default=0.0)
    parser.add_argument("--prior-realism", type=float, default=0.0)
    parser.add_argument("--goals", default="", help="descriptors, comma-separated")
    parser.add_argument("--goal-weight", type=float, default=1.0)
    parser.add_argument("--edit-budget", type=int, default=64)
    parser.add_argument("--start", choices=("space", "goal"), default="space")
    parser.add_argument("--start-candidates", type=int, default=1)
    parser.add_argument("--max-vehicles", type=int, default=40)
    parser.add_argument("--window", type=int, default=None, help="cells of the cursor view")
    parser.add_argument("--placement", choices=("uniform", "even", "following"), default="uniform")
    parser.add_argument(
        "--space",
        type=json.loads,
        default={},
        help='more space options as JSON, e.g. {"lateral_std": 0.1}',
    )
    args = parser.parse_args()

    roads = REFERENCE_ROADS if args.roads == "reference" else {}
    options = {**roads, "placement": args.placement, **args.space}
    space = HighwaySceneSpace(config_from_mapping(HighwaySpaceConfig, options, name="space"))
    reference = naturalistic_reference(2000, 0)
    goals = [name for name in args.goals.split(",") if name]
    # Scenes of one simulated run share its road and traffic: the split keeps runs whole.
    fit_index, test_index = grouped_split(reference, 0.5, seed=0)
    fit_on = [reference[i] for i in fit_index] if goals else reference
    test_on = [reference[i] for i in test_index]
    weights = {
        "validity": args.validity,
        "realism": args.realism,
        "scene_realism": args.scene_realism,
        "prior_realism": args.prior_realism,
        "goal": args.goal_weight if goals else 0.0,
    }
    from scenegym.generators.prior import cached_prior

    prior, prior_folder = cached_prior(fit_on)
    files = {"realism.json": json.dumps(VehicleRealism.fit(fit_on, seed=0).to_dict())}
    env_kwargs = {
        "space": config_to_dict(space.config),
        "realism": "realism.json",
        "reward": {"weights": weights},
        "edit_budget": args.edit_budget,
        "start": args.start,
        "start_candidates": args.start_candidates,
        "max_vehicles": args.max_vehicles,
    }
    if args.window is not None:
        env_kwargs["window"] = args.window
    if args.scene_realism > 0:
        files["scene_realism.json"] = json.dumps(SceneRealism.fit(fit_on, seed=0).to_dict())
        env_kwargs["scene_realism"] = "scene_realism.json"
    if args.prior_realism > 0:
        env_kwargs["prior"] = str(prior_folder)
    if "-latent-" in args.env:
        env_kwargs["decoder"] = str(prior_folder)  # one step: edit_budget plays no part
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "run"
        if goals:
            write_scenes(Path(folder) / "goals.jsonl", fit_on)
            described = describe_many(fit_on)
            ranges = {
                name: [
                    float(np.percentile(described[name], 1)),
                    float(np.percentile(described[name], 99)) + 1e-6,
                ]
                for name in goals
            }
            env_kwargs["goal"] = {"ranges": ranges, "reference": str(Path(folder) / "goals.jsonl")}
        config = {
            "env": args.env,
            "env_kwargs": env_kwargs,
            "total_steps": args.steps,
            "n_envs": 16,
            "n_steps": 128,
            "batch_size": 256,
            "checkpoint_every": 10**7,
            "eval_every": 10**7,
            "net_arch": [64, 64],
            "seed": 0,
        }
        start = time.perf_counter()
        train(config, run, files=files)
        trained = time.perf_counter() - start
        policy = GenerationPolicy.load(run)
        policy.sample(16, seed=0, deterministic=True)  # warm-up
        start = time.perf_counter()
        generated = policy.sample(1000, seed=1, deterministic=True).scenes
        sampled = time.perf_counter() - start
        if goals:
            # Asked for each held-out scene's descriptors: how close each comes (goal error).
            asked = [dict(zip(goals, row)) for row in _descriptors(test_on, goals)]
            answered = policy.sample(len(asked), targets=asked, seed=1, deterministic=True)
            # The starting scenes alone: the policy's environment asked for the same targets,
            # no edits.
            starts = []
            if args.start == "goal":
                env = policy.make_env()
                for i, want in enumerate(asked):
                    env.reset(seed=1 + i, options={"targets": want})
                    starts.append(env.scene)
    random = list(space.sample_many(1000, 0))
    samples = {"policy": generated, "random sampler": random}
    errors = {}
    if goals:
        samples["policy asked for the held-out scenes"] = answered.scenes
        errors["policy asked for the held-out scenes"] = _shares(answered.goal_errors)
        if args.start == "goal":
            samples["starting scenes for the held-out targets"] = starts
            errors["starting scenes for the held-out targets"] = _goal_shares(starts, asked, ranges)
    results = {}
    for name, scenes in samples.items():
        metrics = evaluate(scenes, test_on, prior=prior)
        results[name] = {key: round(float(metrics[key]), 4) for key in METRICS}
        if name in errors:
            results[name]["goal_error_share_of_range"] = errors[name]
    return {
        **results,
        "train_s": round(trained, 1),
        "policy_samples_per_s": round(len(generated) / sampled, 1),
        "settings": {key: value for key, value in vars(args).items()},
    }


def _descriptors(scenes, names):
    from scenegym.scene.descriptors import describe_many

    described = describe_many(scenes)
    return list(zip(*(described[name].tolist() for name in names)))


def _shares(goal_errors: dict) -> dict[str, float]:
    return {name: round(error["range_share"], 4) for name, error in goal_errors.items()}


def _goal_shares(scenes, asked, ranges) -> dict[str, float]:
    """Mean |descriptor - target| of each scene against its own targets, per range width."""
    import numpy as np

    names = list(asked[0])
    got = np.array(_descriptors(scenes, names))
    wanted = np.array([[want[name] for name in names] for want in asked])
    width = np.array([ranges[name][1] - ranges[name][0] for name in names])
    share = np.abs(got - wanted).mean(axis=0) / width
    return {name: round(float(value), 4) for name, value in zip(names, share)}


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=2)
    sys.stdout.write("\n")
