"""Sources of dataset scenes that ``write_dataset`` opens from a job's description: a scenes
file read by line offsets, and a scene prior's samples."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from scenegym._io import file_sha256
from scenegym.generators.prior import ScenePrior
from scenegym.scene.scene import Scene

__all__ = ["PriorSource", "ScenesFile", "open_source"]


class ScenesFile:
    """Scenes from a JSONL file: sample ``i`` is line ``i`` (the file must hold ``n`` lines)."""

    kind = "scenes"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ValueError(f"scenes file {self.path} does not exist (expected a .jsonl file)")
        self.offsets = [0]
        with open(self.path, "rb") as handle:
            for line in handle:
                self.offsets.append(self.offsets[-1] + len(line))
        self.count = len(self.offsets) - 1

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": str(self.path), "sha256": file_sha256(self.path)}

    def check(self, n: int) -> None:
        if n > self.count:
            raise ValueError(
                f"{self.path} holds {self.count} scenes; --n {n} asks for more (use --n "
                f"{self.count} or less)"
            )

    def scenes(self, start: int, stop: int, seed: int, n: int) -> list[Scene]:
        with open(self.path, "rb") as handle:
            handle.seek(self.offsets[start])
            data = handle.read(self.offsets[stop] - self.offsets[start])
        out = []
        # Lines end at b"\n" only, as the offsets count them: str.splitlines would also split
        # at characters JSON strings may hold raw (U+2028, U+0085, ...).
        for number, line in enumerate(data.split(b"\n")[: stop - start], start + 1):
            try:
                out.append(Scene.from_dict(json.loads(line.decode("utf-8"))))
            except (ValueError, TypeError, KeyError) as error:
                raise ValueError(f"{self.path}, line {number}: not a scene: {error}") from None
        return out


class PriorSource:
    """Scenes sampled from a scene prior folder; shard ``k`` draws with seed ``(seed, k)``."""

    kind = "prior"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.prior = ScenePrior.load(self.path)

    def __reduce__(self) -> tuple[Any, ...]:
        # A worker process opens the prior again from its folder.
        return (type(self), (self.path,))

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": str(self.path),
            "sha256": file_sha256(self.path / "weights.safetensors"),
        }

    def check(self, n: int) -> None:
        pass

    def scenes(self, start: int, stop: int, seed: int, n: int) -> list[Scene]:
        shard_seed = int(np.random.SeedSequence([seed, start]).generate_state(1)[0])
        return self.prior.sample(stop - start, seed=shard_seed)


def open_source(description: dict[str, Any]):
    """The source a job's ``source`` description names, opened (scenes files and priors; a
    run's rollouts, ``scenegym.agents.PolicySource``, are passed opened)."""
    kind = description["kind"]
    if kind == "scenes":
        return ScenesFile(description["path"])
    if kind == "prior":
        return PriorSource(description["path"])
    raise ValueError(
        f"a dataset source of kind {kind!r} is not opened from its description; pass it "
        "opened (for a run: scenegym.agents.PolicySource(path))"
    )
