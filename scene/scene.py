"""The scene: a road, its vehicles and render-only context; JSON and JSONL files of scenes."""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import KW_ONLY, dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from scenegym._checks import check_keys
from scenegym._io import atomic_open
from scenegym.scene.road import Road
from scenegym.scene.vehicles import Vehicles

__all__ = ["SCENE_FORMAT", "Scene", "distinct_roads", "iter_scenes", "read_scenes", "write_scenes"]

SCENE_FORMAT = "scenegym.scene/1"
"""Tag written into every serialised scene; bumped when the layout changes."""

_CONTEXT_TYPES = (str, int, float, bool)


def _unpickle_scene(road: Road, vehicles: Vehicles, context: dict) -> Scene:
    return Scene(road, vehicles, context=context)


@dataclass(frozen=True, eq=False)
class Scene:
    """One driving layout at one instant. Immutable.

    Args:
        road: the carriageway.
        vehicles: the vehicles on it.
        context: render-only facts (for instance ``{"weather": "rain"}``): string keys,
            string / number / bool values. Does not change validity or descriptors.

    >>> scene = Scene(Road.straight(length=100.0, lanes=2), Vehicles.empty())
    >>> Scene.from_json(scene.to_json()) == scene, len(scene.id)
    (True, 12)
    """

    road: Road
    vehicles: Vehicles
    _: KW_ONLY
    context: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.road, Road):
            raise TypeError(f"scene.road must be a Road, got {type(self.road).__name__}")
        if not isinstance(self.vehicles, Vehicles):
            raise TypeError(f"scene.vehicles must be Vehicles, got {type(self.vehicles).__name__}")
        if not isinstance(self.context, Mapping):
            raise TypeError(f"scene.context must be a mapping, got {type(self.context).__name__}")
        for key, value in self.context.items():
            if not isinstance(key, str) or not isinstance(value, _CONTEXT_TYPES):
                raise TypeError(
                    f"scene.context[{key!r}] must map a string to a string, number or bool, "
                    f"got {type(value).__name__}"
                )
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"scene.context[{key!r}] must be a finite number, got {value!r}")
        object.__setattr__(self, "context", MappingProxyType(dict(self.context)))

    @cached_property
    def id(self) -> str:
        """Short content hash (12 hex digits): equal scenes have equal ids."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    @cached_property
    def _json(self) -> str:
        # A scene is immutable, so its canonical text is made once (the id and a dataset's
        # scene column both need it).
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``Scene.from_dict`` inverts it exactly."""
        return {
            "format": SCENE_FORMAT,
            "road": self.road.to_dict(),
            "vehicles": self.vehicles.to_dict(),
            "context": dict(self.context),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Scene:
        """Build a scene from ``to_dict`` output, naming the first field that is wrong."""
        check_keys("scene", data, {"road", "vehicles"}, {"format", "context"})
        tag = data.get("format", SCENE_FORMAT)
        if tag != SCENE_FORMAT:
            raise ValueError(f"scene.format is {tag!r}; this scenegym reads {SCENE_FORMAT!r}")
        return cls(
            road=Road.from_dict(data["road"]),
            vehicles=Vehicles.from_dict(data["vehicles"]),
            context=data.get("context", {}),
        )

    def to_json(self) -> str:
        """Compact canonical JSON (sorted keys). Floats use their shortest exact form."""
        return self._json

    @classmethod
    def from_json(cls, text: str) -> Scene:
        """Parse ``to_json`` output."""
        try:
            data = _loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"scene is not valid JSON: {error}") from None
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> Scene:
        """A copy with ``road``, ``vehicles`` or ``context`` replaced."""
        current = {"road": self.road, "vehicles": self.vehicles, "context": self.context}
        unknown = set(changes) - set(current)
        if unknown:
            raise TypeError(f"Scene has no field {sorted(unknown)[0]!r}")
        return Scene(**{**current, **changes})

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Scene)
            and self.road == other.road
            and self.vehicles == other.vehicles
            # As in the id: 1, 1.0 and True are different context values.
            and _canonical(self.context) == _canonical(other.context)
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self):
        # The read-only context view cannot be pickled; rebuild it from a plain dict.
        return (_unpickle_scene, (self.road, self.vehicles, dict(self.context)))

    def __repr__(self) -> str:
        return (
            f"Scene(id={self.id!r}, lanes={self.road.lane_count}, "
            f"length={self.road.length:.0f} m, vehicles={len(self.vehicles)})"
        )


def distinct_roads(scenes: Iterable[Scene]) -> list[Road]:
    """The distinct roads of ``scenes``, in order of first appearance (equal roads once)."""
    roads: dict[str, Road] = {}
    for scene in scenes:
        roads.setdefault(json.dumps(scene.road.to_dict(), sort_keys=True), scene.road)
    return list(roads.values())


def write_scenes(path: str | os.PathLike, scenes: Iterable[Scene]) -> int:
    """Write scenes as JSON Lines (one scene per line), atomically. Returns the count."""
    count = 0
    with atomic_open(path, "w", encoding="utf-8") as handle:
        for scene in scenes:
            if not isinstance(scene, Scene):
                raise TypeError(f"write_scenes expects Scene objects, got {type(scene).__name__}")
            handle.write(scene.to_json())
            handle.write("\n")
            count += 1
    return count


def check_scenes_file(path: str | os.PathLike) -> Path:
    """``path`` as a ``Path`` when it is a file; a ``ValueError`` saying what it is instead."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(
            f"scenes file {path} is a folder; give the .jsonl file of scenes inside it"
        )
    if not path.is_file():
        raise ValueError(f"scenes file {path} does not exist (expected a .jsonl file of scenes)")
    return path


def iter_scenes(path: str | os.PathLike, *, lines: bool = False) -> Iterator[Any]:
    """Yield the scenes of a JSON Lines file; a bad line raises ``ValueError`` naming it.

    ``lines=True`` yields ``(line number, scene)`` pairs (blank lines are skipped, so the
    numbers can run ahead of the scene count)."""
    path = check_scenes_file(path)
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(
                    f"{path} line {number}: not UTF-8 text; is it compressed or binary? "
                    "Expected a .jsonl file of scenes"
                ) from None
            if not line.strip():
                continue
            try:
                scene = Scene.from_dict(_loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"{path} line {number}: not valid JSON ({error.msg} at column "
                    f"{error.colno}); each line must be one scene as written by 'scenegym sample'"
                ) from None
            except (TypeError, ValueError) as error:
                raise ValueError(f"{path} line {number}: {error}") from None
            yield (number, scene) if lines else scene


def read_scenes(path: str | os.PathLike) -> list[Scene]:
    """All scenes of a JSON Lines file (see ``iter_scenes``)."""
    return list(iter_scenes(path))


def _canonical(context: Mapping[str, Any]) -> str:
    """The context as ``to_json`` writes it, so equality agrees with ``Scene.id``."""
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number; a scene holds finite numbers only")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} overflows a float; a scene holds finite numbers only")
    return value


def _loads(text: str) -> Any:
    """``json.loads`` that rejects ``NaN``, ``Infinity`` and overflowing numbers (``1e999``),
    which Python's json module accepts by default, and nesting too deep to parse."""
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError(
            "JSON nested too deeply to read; a scene nests a few levels only"
        ) from None
