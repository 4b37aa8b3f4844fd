"""scenegym.agents: training generation policies (stable-baselines3) and using them.

May import every package below it: envs, rewards, generators, bridges, datasets, evaluation,
scene. SB3 and torch load on first use of a name below.

- ``train`` with its ``TrainConfig``; ``latest_checkpoint``, ``make_env``.
- ``GenerationPolicy``: a trained run, ``sample(n, targets=..., seed=...)``;
  ``PolicySource``: its rollouts as a source of ``scenegym.datasets.write_dataset``.
- Population terms: ``PopulationReward`` over a shared ``Archive`` (novelty, coverage).
"""

from scenegym._lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": "train",
    "latest_checkpoint": "train",
    "make_env": "train",
    "train": "train",
    "GenerationPolicy": "policy",
    "Sample": "policy",
    "PolicySource": "source",
    "Archive": "population",
    "PopulationReward": "population",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
