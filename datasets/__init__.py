"""scenegym.datasets: scenes turned into samples and datasets.

May import ``scenegym.scene``, ``scenegym.generators`` and the utilities.

- Rendering: ``render`` (a ``Scene`` and a ``RenderConfig`` to a ``Rendering``: semantic map,
  instance mask, RGB picture, boxes), ``render_many``, ``view_transform``.
- Files: ``render_to_folder``, ``write_rendering``, ``contact_sheet``, ``encode_png``.
- Augmentation: ``augment`` with its ``AugmentConfig``.
- Datasets: ``write_dataset`` (COCO, YOLO, Parquet in resumable shards) with its
  ``DatasetConfig``; sources (``sources``) ``ScenesFile``, ``PriorSource`` and
  ``CurriculumSource`` (the scenes a curriculum run's student met, with the teacher's record of
  each; a generation run's is ``scenegym.agents.PolicySource``).
"""

from scenegym.datasets.augment import AugmentConfig, augment
from scenegym.datasets.dataset import (
    FORMATS,
    CurriculumSource,
    DatasetConfig,
    PriorSource,
    ScenesFile,
    write_dataset,
)
from scenegym.datasets.files import contact_sheet, encode_png, render_to_folder, write_rendering
from scenegym.datasets.render import RenderConfig, Rendering, render, render_many, view_transform

__all__ = [
    "FORMATS",
    "AugmentConfig",
    "CurriculumSource",
    "DatasetConfig",
    "PriorSource",
    "RenderConfig",
    "Rendering",
    "ScenesFile",
    "augment",
    "contact_sheet",
    "encode_png",
    "render",
    "render_many",
    "render_to_folder",
    "view_transform",
    "write_dataset",
    "write_rendering",
]
