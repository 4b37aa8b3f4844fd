"""scenegym.agents: training generation policies (stable-baselines3) and using them.

May import every package below it: envs, rewards, generators, bridges, datasets, evaluation,
scene. SB3 and torch load on first use of a name below.

- ``train`` with its ``TrainConfig``; ``run_finished``, ``latest_checkpoint``, ``make_env``,
  ``make_vec_env``; ``algorithm_class`` and ``env_kwargs``: the SB3 algorithm and the
  environment arguments a config names.
- Callbacks of a training session (SB3 ``BaseCallback``): ``RewardTermsCallback`` (every
  reward term per rollout), ``ArchiveCallback`` (the population archive saved),
  ``HeldOutCallback`` (held-out evaluations).
- ``GenerationPolicy``: a trained run, ``sample(n, targets=..., seed=...)`` returning a
  ``Sample``, ``score(scenes)``; ``PolicySource``: its rollouts as a source of
  ``scenegym.datasets.write_dataset``.
- Population terms in training: ``PopulationReward``, a VecEnv wrapper that scores finished
  scenes against a shared ``Archive`` (novelty, coverage: ``scenegym.rewards``).
"""

from scenegym._lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": "runs",
    "algorithm_class": "runs",
    "env_kwargs": "runs",
    "latest_checkpoint": "runs",
    "make_env": "train",
    "make_vec_env": "train",
    "run_finished": "train",
    "train": "train",
    "ArchiveCallback": "callbacks",
    "HeldOutCallback": "callbacks",
    "RewardTermsCallback": "callbacks",
    "GenerationPolicy": "policy",
    "Sample": "policy",
    "PolicySource": "source",
    "Archive": "population",
    "PopulationReward": "population",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
