"""scenegym.evaluation: how close scenes are to a reference, and how varied.

May import every package but ``agents`` and the CLI: ``scenegym.envs`` (to roll out
environments), ``scenegym.datasets`` (contact sheets), ``scenegym.generators`` (the Fréchet
Scene Distance of a prior), the models, ``scenegym.scene`` and the utilities.

- Metrics (``metrics``; what they share in ``kernels``): fidelity ``c2st_auc``, ``mmd2``,
  ``mmd2_floor``, ``ks_statistics``, ``wasserstein``, ``prdc``, ``frechet_scene_distance``;
  diversity ``vendi``, ``grid_coverage``, ``mean_pairwise_distance``, ``duplicate_rate``;
  ``Standardiser``; and
  ``evaluate``, all of them at once.
- Reports: ``evaluate_to_folder`` (``metrics.json``, ``report.md`` and figures) of the sets
  ``read_scene_sets`` reads from scenes files (at least ``MIN_SCENES`` each); the report opens
  with ``verdict`` (plain words, fixed thresholds) and can draw a run's
  ``plot_training_curves``.
- Summaries: ``summarise``, ``reference_statistics`` (``write_reference_statistics`` beside
  a scenes file, at ``statistics_path``), ``deduplicate``.
"""

from scenegym.evaluation.curves import plot_training_curves
from scenegym.evaluation.metrics import (
    Standardiser,
    c2st_auc,
    duplicate_rate,
    evaluate,
    frechet_scene_distance,
    grid_coverage,
    ks_statistics,
    mean_pairwise_distance,
    mmd2,
    mmd2_floor,
    prdc,
    vendi,
    wasserstein,
)
from scenegym.evaluation.report import MIN_SCENES, evaluate_to_folder, read_scene_sets
from scenegym.evaluation.summary import (
    deduplicate,
    reference_statistics,
    statistics_path,
    summarise,
    write_reference_statistics,
)
from scenegym.evaluation.verdict import FEW_SCENES, verdict

__all__ = [
    "FEW_SCENES",
    "MIN_SCENES",
    "Standardiser",
    "c2st_auc",
    "deduplicate",
    "duplicate_rate",
    "evaluate",
    "evaluate_to_folder",
    "frechet_scene_distance",
    "grid_coverage",
    "ks_statistics",
    "mean_pairwise_distance",
    "mmd2",
    "mmd2_floor",
    "plot_training_curves",
    "prdc",
    "read_scene_sets",
    "reference_statistics",
    "statistics_path",
    "summarise",
    "vendi",
    "verdict",
    "wasserstein",
    "write_reference_statistics",
]
