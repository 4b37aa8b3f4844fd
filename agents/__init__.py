"""scenegym.agents: training generation policies (stable-baselines3) and using them.

May import every package below it: envs, rewards, generators, bridges, datasets, evaluation,
scene. SB3 and torch load on first use of a name below.

- ``train`` with its ``TrainConfig``; ``latest_checkpoint``, ``make_env``; ``bring_inputs``
  (a new run's input files copied into it).
- ``GenerationPolicy``: a trained run, ``sample(n, targets=..., seed=...)``; its targets
  checked with ``check_targets`` or taken from example scenes with ``targets_like``;
  ``PolicySource``: its rollouts as a source of ``scenegym.datasets.write_dataset``, and
  ``dataset_source``, the source a path names.
- Population terms: ``PopulationReward`` over a shared ``Archive`` (novelty, coverage).
- Recipes: ``fit_generator`` (a generator learnt from any reference scenes) and
  ``quickstart`` (the whole pipeline, returning a ``QuickstartResult``), reporting through a
  ``RecipeProgress``.
"""

from scenegym._lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": "train",
    "latest_checkpoint": "train",
    "make_env": "train",
    "train": "train",
    "bring_inputs": "inputs",
    "GenerationPolicy": "policy",
    "Sample": "policy",
    "check_targets": "goals",
    "targets_like": "goals",
    "PolicySource": "source",
    "dataset_source": "source",
    "Archive": "population",
    "PopulationReward": "population",
    "QUICKSTART_MIN_REFERENCE": "recipes",
    "QuickstartResult": "recipes",
    "RecipeProgress": "recipes",
    "fit_generator": "recipes",
    "quickstart": "recipes",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
