"""A trained run as a source of ``scenegym.datasets.write_dataset``: its policy's rollouts; and
the source a path names, whichever kind it is."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from scenegym._io import file_sha256
from scenegym.agents.policy import GenerationPolicy
from scenegym.agents.runs import latest_checkpoint
from scenegym.datasets.sources import CurriculumSource, PriorSource, ScenesFile
from scenegym.scene.scene import Scene

__all__ = ["PolicySource", "dataset_source"]


class PolicySource:
    """Scenes rolled out by a trained run's policy: scene ``i`` is the rollout seeded
    ``seed + i`` (as ``scenegym generate --seed``), invalid ones repaired by default."""

    kind = "run"

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        targets: dict[str, float] | None = None,
        invalid: str = "repair",
    ) -> None:
        if invalid not in ("report", "repair"):
            raise ValueError(
                f"invalid must be 'report' or 'repair' for a dataset (one sample per scene), "
                f"got {invalid!r}"
            )
        self.path = Path(path)
        self.targets = dict(targets or {})
        self.invalid = invalid
        self.policy = GenerationPolicy.load(self.path)

    def __reduce__(self) -> tuple[Any, ...]:
        # A worker process loads the run again from its folder.
        return (_reopen, (self.path, self.targets, self.invalid))

    def describe(self) -> dict[str, Any]:
        config = json.loads((self.path / "config.json").read_text())
        model = self.path / "model.zip"
        if not model.is_file():  # GenerationPolicy.load took the newest checkpoint
            model = latest_checkpoint(self.path)
        return {
            "kind": self.kind,
            "path": str(self.path),
            # A run trained further is a different source: its model's hash is part of the job.
            "model": model.name,
            "model_sha256": file_sha256(model),
            "config": config,
            "targets": self.targets,
            "invalid": self.invalid,
        }

    def check(self, n: int) -> None:
        pass

    def scenes(self, start: int, stop: int, seed: int, n: int) -> list[Scene]:
        # Scenes start..stop-1 of generate's n: its batches are rolled out and cut, because a
        # rollout's action noise (and a reference goal's targets) depend on all n.
        sample = self.policy.sample(
            n, targets=self.targets or None, seed=seed, invalid=self.invalid, part=(start, stop)
        )
        return sample.scenes


def dataset_source(
    path: str | os.PathLike,
    targets: dict[str, float] | None = None,
    *,
    name: str = "targets",
) -> PolicySource | PriorSource | ScenesFile | CurriculumSource:
    """The source of ``write_dataset`` that ``path`` names: a run folder (it holds
    ``config.json``: its policy's rollouts, asked for ``targets``), a curriculum run folder
    (``curriculum.json``: the scenes its student met, in that order), a prior folder (it
    holds ``prior.json``: the prior's samples) or a scenes ``.jsonl`` file. ``name`` is what
    the messages call ``targets``, which only a run takes."""
    path = Path(path)
    if path.is_dir() and (path / "config.json").is_file():
        return PolicySource(path, targets=targets)
    if path.is_dir() and (path / "curriculum.json").is_file():
        source: PriorSource | ScenesFile | CurriculumSource = CurriculumSource(path)
    elif path.is_dir() and (path / "prior.json").is_file():
        source = PriorSource(path)
    elif path.is_file():
        source = ScenesFile(path)
    else:
        raise ValueError(
            f"{path} is not a run folder (config.json), a curriculum run folder "
            "(curriculum.json), a prior folder (prior.json) or a scenes .jsonl file"
        )
    if targets:
        if isinstance(source, CurriculumSource):
            raise ValueError(
                f"{name} is for a generation run; a curriculum run's scenes are written as "
                "its student met them"
            )
        raise ValueError(f"{name} needs a run folder as the source")
    return source


def _reopen(path: Path, targets: dict[str, float], invalid: str) -> PolicySource:
    return PolicySource(path, targets=targets, invalid=invalid)
