"""scenegym.agents: training generation policies (stable-baselines3) and using them.

May import every package below it: evaluation, envs, datasets, rewards, generators, bridges,
scene. SB3 and torch load on first use of a name below.

- Training (``training``): ``train`` with its ``TrainConfig``; ``run_finished``,
  ``latest_checkpoint``, ``make_env``, ``make_vec_env``; ``algorithm_class`` and
  ``env_kwargs``: the SB3 algorithm and the environment arguments a config names;
  ``bring_inputs`` (a new run's input files copied into it).
- Callbacks of a training session (SB3 ``BaseCallback``): ``RewardTermsCallback`` (every
  reward term per rollout), ``ArchiveCallback`` (the population archive saved),
  ``HeldOutCallback`` (held-out evaluations).
- ``GenerationPolicy``: a trained run, ``sample(n, targets=..., seed=...)`` returning a
  ``Sample``, ``score(scenes)``; its targets checked with ``check_targets`` or taken from
  example scenes with ``targets_like``; ``PolicySource``: its rollouts as a source of
  ``scenegym.datasets.write_dataset``, and ``dataset_source``, the source a path names.
- Population terms in training: ``PopulationReward``, a VecEnv wrapper that scores finished
  scenes against a shared archive (``scenegym.rewards.Archive``: novelty, coverage).
- Curricula for driving agents: ``train_curriculum`` trains an SB3 student on
  ``scenegym/Drive-v1`` with a teacher (``CurriculumConfig``, ``TEACHERS``,
  ``build_teacher``): ``RandomTeacher`` (domain randomisation), ``ReplayTeacher``,
  ``GeneratorTeacher``, ``PrioritisedReplay`` (PLR), ``EditedReplay`` (ACCEL) and
  ``GoalTeacher`` (a learning-progress bandit over descriptor targets), all following
  ``Teacher`` and learning from ``Episode`` results; ``evaluate_drivers`` judges trained
  and scripted drivers on test scenes with confidence intervals.
- Recipes: ``fit_generator`` (a generator learnt from any reference scenes),
  ``fit_reference`` (split by recording, fit, train on the reference's roads, generate on
  the held-out roads and evaluate there, returning a ``FitResult``) and ``quickstart`` (the
  whole pipeline, returning a ``QuickstartResult``), reporting through a ``RecipeProgress``.
"""

from scenegym._lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": "runs",
    "algorithm_class": "runs",
    "env_kwargs": "runs",
    "latest_checkpoint": "runs",
    "make_env": "training",
    "make_vec_env": "training",
    "run_finished": "training",
    "train": "training",
    "ArchiveCallback": "callbacks",
    "HeldOutCallback": "callbacks",
    "RewardTermsCallback": "callbacks",
    "bring_inputs": "inputs",
    "GenerationPolicy": "policy",
    "Sample": "policy",
    "check_targets": "goals",
    "targets_like": "goals",
    "PolicySource": "source",
    "dataset_source": "source",
    "PopulationReward": "population",
    "QUICKSTART_MIN_REFERENCE": "recipes",
    "QuickstartResult": "recipes",
    "RecipeProgress": "recipes",
    "fit_generator": "recipes",
    "FitResult": "fitting",
    "fit_reference": "fitting",
    "quickstart": "recipes",
    "CurriculumConfig": "curriculum",
    "TEACHERS": "curriculum",
    "build_teacher": "curriculum",
    "train_curriculum": "student",
    "Episode": "teachers",
    "Teacher": "teachers",
    "RandomTeacher": "teachers",
    "ReplayTeacher": "teachers",
    "GeneratorTeacher": "teachers",
    "PrioritisedReplay": "replay",
    "EditedReplay": "replay",
    "GoalTeacher": "bandit",
    "evaluate_drivers": "driving",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
