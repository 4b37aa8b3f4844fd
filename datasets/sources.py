"""Sources of dataset scenes that ``write_dataset`` opens from a job's description: a scenes
file read by line offsets, a scene prior's samples, and the scenes a curriculum run's student
met, with the teacher's record of each."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from scenegym._io import file_sha256
from scenegym.generators.prior import ScenePrior
from scenegym.scene.scene import Scene

__all__ = [
    "CURRICULUM_FIELDS",
    "CurriculumSource",
    "PriorSource",
    "ScenesFile",
    "open_source",
    "source_at",
]


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
    """The source a job's ``source`` description names, opened (scenes files, priors and
    curriculum runs; a run's rollouts, ``scenegym.agents.PolicySource``, are passed opened)."""
    kind = description["kind"]
    if kind == "scenes":
        return ScenesFile(description["path"])
    if kind == "prior":
        return PriorSource(description["path"])
    if kind == "curriculum":
        return CurriculumSource(description["path"])
    raise ValueError(
        f"a dataset source of kind {kind!r} is not opened from its description; pass it "
        "opened (for a run: scenegym.agents.PolicySource(path))"
    )


def source_at(path: str | os.PathLike) -> CurriculumSource | PriorSource | ScenesFile:
    """The source a path names: a curriculum run folder (it holds ``curriculum.json``), a
    prior folder (``prior.json``) or a scenes ``.jsonl`` file. A trained generation run is
    opened with ``scenegym.agents.PolicySource`` (or ``scenegym.agents.dataset_source``)."""
    path = Path(path)
    if path.is_dir() and (path / "curriculum.json").is_file():
        return CurriculumSource(path)
    if path.is_dir() and (path / "prior.json").is_file():
        return PriorSource(path)
    if path.is_dir() and (path / "config.json").is_file():
        raise ValueError(
            f"{path} is a trained run: open it with scenegym.agents.PolicySource({str(path)!r})"
        )
    if path.is_file():
        return ScenesFile(path)
    raise ValueError(
        f"{path} is not a curriculum run folder (curriculum.json), a prior folder (prior.json) "
        "or a scenes .jsonl file"
    )


# ------------------------------------------------------------------------------ curriculum

CURRICULUM_FIELDS: tuple[tuple[str, str], ...] = (
    ("order", "int64"),
    ("step", "int64"),
    ("teacher", "string"),
    ("stage", "int64"),
    ("difficulty", "float64"),
    ("replay", "bool"),
    ("targets", "json"),
)
"""What a curriculum run records of each scene in its context (the keys
``curriculum_order``, ``curriculum_step``, ..., or one ``curriculum`` object of the fields),
with the type of its dataset column: ``difficulty`` may be null (unscored); ``targets`` is an
object of descriptor targets, a JSON text in Parquet."""


class CurriculumSource:
    """The scenes a curriculum run's student met, in the order it met them: scene ``i`` is
    the scene of the ``i``-th smallest ``order`` in ``RUN/scenes.jsonl``. Each comes with the
    teacher's record of it (``labelled``: the ``CURRICULUM_FIELDS``); the scene itself is
    the scene without the record's context keys, so a scene met twice has one id.

    Every line is read once when the source is opened, so a malformed line or a scene
    without its record is named before anything is written."""

    kind = "curriculum"
    fields = CURRICULUM_FIELDS

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.config = _run_config(self.path)
        self.scenes_path = self.path / "scenes.jsonl"
        if not self.scenes_path.is_file():
            raise ValueError(
                f"curriculum run {self.path} has no scenes.jsonl (the scenes its student met, "
                "written as it trains)"
            )
        self.lines = _index_curriculum(self.scenes_path)  # (offset, length, line number)
        self.count = len(self.lines)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": str(self.path),
            # A run trained further is a different source: its scenes' hash is part of the job.
            "sha256": file_sha256(self.scenes_path),
            "config": self.config,
        }

    def check(self, n: int) -> None:
        if not self.count:
            raise ValueError(f"curriculum run {self.path} holds no scenes yet (scenes.jsonl)")
        if n > self.count:
            raise ValueError(
                f"{self.path} holds {self.count} scenes; --n {n} asks for more (use --n "
                f"{self.count} or less)"
            )

    def scenes(self, start: int, stop: int, seed: int, n: int) -> list[Scene]:
        return self.labelled(start, stop, seed, n)[0]

    def labelled(
        self, start: int, stop: int, seed: int, n: int
    ) -> tuple[list[Scene], list[dict[str, Any]]]:
        """Scenes ``start`` to ``stop - 1`` and the teacher's record of each (a dict of the
        ``CURRICULUM_FIELDS``)."""
        scenes, records = [], []
        with open(self.scenes_path, "rb") as handle:
            for offset, length, number in self.lines[start:stop]:
                handle.seek(offset)
                where = f"{self.scenes_path}, line {number}"
                data = _json_line(handle.read(length), where)
                records.append(_curriculum_record(data, where))
                context = _without_record(data["context"])
                try:
                    scenes.append(Scene.from_dict({**data, "context": context}))
                except (ValueError, TypeError, KeyError) as error:
                    raise ValueError(f"{where}: not a scene: {error}") from None
        return scenes, records


def _run_config(path: Path) -> dict[str, Any]:
    """The run's ``curriculum.json``: a JSON object."""
    where = path / "curriculum.json"
    if not where.is_file():
        raise ValueError(f"{path} is not a curriculum run folder: it has no curriculum.json")
    try:
        config = json.loads(where.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{where}: not UTF-8 text") from None
    except ValueError as error:
        raise ValueError(f"{where}: not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{where} must hold a JSON object (the run's config)")
    return config


def _json_line(raw: bytes, where: str) -> dict[str, Any]:
    """One line of a curriculum run's scenes file as a JSON object with a context object."""
    try:
        data = json.loads(raw.decode("utf-8").rstrip("\r\n"))
    except UnicodeDecodeError:
        raise ValueError(f"{where}: not UTF-8 text") from None
    except RecursionError:
        raise ValueError(f"{where}: JSON nested too deeply to read") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: not a scene (each line must be one JSON object)")
    if not isinstance(data.get("context"), dict):
        raise ValueError(
            f"{where}: the scene has no context; a curriculum run's scenes carry the "
            "teacher's record of them in it"
        )
    return data


def _index_curriculum(path: Path) -> list[tuple[int, int, int]]:
    """``(offset, length, line number)`` of every scene of a curriculum run's scenes file,
    sorted by its ``order`` (blank lines are skipped); every line is checked."""
    found: dict[int, tuple[int, int, int]] = {}
    offset = 0
    with open(path, "rb") as handle:
        # Lines end at b"\n" only, as in ScenesFile.
        for number, line in enumerate(handle, 1):
            if line.strip():
                where = f"{path}, line {number}"
                order = _curriculum_record(_json_line(line, where), where)["order"]
                if order in found:
                    raise ValueError(
                        f"{where}: order {order} is also that of line {found[order][2]}; each "
                        "scene has its own place in the curriculum"
                    )
                found[order] = (offset, len(line), number)
            offset += len(line)
    return [found[order] for order in sorted(found)]


def _curriculum_record(data: dict[str, Any], where: str) -> dict[str, Any]:
    """The teacher's record of a scene, checked: each of the ``CURRICULUM_FIELDS`` with its
    type. The record is the scene's ``curriculum_<field>`` context keys, or one
    ``curriculum`` object (or the JSON text of one) of the fields; ``difficulty`` may be
    absent (unscored), ``targets`` absent (none) or the JSON text of its object."""
    context = data["context"]
    record = context.get("curriculum")
    flat = record is None
    if flat:
        record = {k[len(_PREFIX) :]: v for k, v in context.items() if k.startswith(_PREFIX)}
    elif isinstance(record, str):
        record = _json_object(record)
    if not record or not isinstance(record, dict):
        raise ValueError(
            f"{where}: the scene's context holds no curriculum record (curriculum_order, "
            "_step, _teacher, _stage, _replay, ... or a 'curriculum' object of them); is this "
            "a curriculum run's scenes?"
        )

    def label(name: str) -> str:
        return f"context['{_PREFIX}{name}']" if flat else f"context['curriculum']['{name}']"

    record = {"difficulty": None, "targets": {}, **record}
    if isinstance(record["targets"], str):
        parsed = _json_object(record["targets"])
        record["targets"] = record["targets"] if parsed is None else parsed
    missing = [label(name) for name, _ in CURRICULUM_FIELDS if name not in record]
    if missing:
        raise ValueError(f"{where}: the scene lacks {', '.join(missing)}")
    return {
        name: _field(record[name], kind, f"{where}: {label(name)}")
        for name, kind in CURRICULUM_FIELDS
    }


_PREFIX = "curriculum_"


def _json_object(text: str) -> Any:
    """The JSON object ``text`` holds; None when it holds none."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _without_record(context: dict[str, Any]) -> dict[str, Any]:
    """A scene's context without the curriculum's record of it."""
    return {k: v for k, v in context.items() if k != "curriculum" and not k.startswith(_PREFIX)}


def _finite(value: Any) -> bool:
    """A JSON number (not a bool) that a float64 or int64 column holds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return abs(value) < 2**63 if isinstance(value, int) else math.isfinite(value)


_WANTED = {
    "int64": "a whole number",
    "float64": "a finite number or null",
    "string": "a string",
    "bool": "true or false",
    "json": "an object of descriptor names and finite numbers",
}


def _field(value: Any, kind: str, where: str) -> Any:
    """``value`` checked against its column type (``CURRICULUM_FIELDS``)."""
    if kind == "int64":
        ok = isinstance(value, int) and _finite(value)
    elif kind == "float64":
        ok = value is None or _finite(value)
    elif kind == "string":
        ok = isinstance(value, str)
    elif kind == "bool":
        ok = isinstance(value, bool)
    else:  # json: the descriptor targets
        ok = isinstance(value, dict) and all(
            isinstance(k, str) and _finite(v) for k, v in value.items()
        )
    if not ok:
        raise ValueError(f"{where} must be {_WANTED[kind]}, got {json.dumps(value)[:60]}")
    if kind == "float64" and value is not None:
        return float(value)
    if kind == "json":
        return {k: float(v) for k, v in value.items()}
    return value
