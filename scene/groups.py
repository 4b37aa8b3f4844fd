"""Recordings as groups: scenes cut from one recording (or one simulated run) share a road
and its traffic, so a held-out set, a floor or a split that is to mean "other traffic" must
keep each recording whole on one side.

``recording_of`` names the group of a scene: ``scene.context["recording"]`` where an import
or the naturalistic simulation wrote it (or where traffic generated on a recording's road
names that recording, as ``scenegym fit`` does); otherwise the scene stands alone (a generated or
hand-made scene is its own group, even where two scenes are equal: a generator that repeats
one scene has drawn it many times).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from scenegym.scene.scene import Scene

__all__ = ["group_codes", "group_names", "grouped_split", "recording_of"]


def recording_of(scene: Scene) -> str | None:
    """The recording (or simulated run) ``scene`` was cut from; None when its context names
    none."""
    recording = scene.context.get("recording")
    return None if recording is None else str(recording)


def group_names(scenes: Sequence[Scene], prefix: str) -> list[str]:
    """The group of each scene by name: its recording, or ``"PREFIX scene INDEX"`` for a scene
    without one (names of two sets compare across them: scenes generated on a recording's
    road and named after it are one group with that recording's scenes)."""
    names = []
    for index, scene in enumerate(scenes):
        recording = recording_of(scene)
        names.append(f"{prefix} scene {index}" if recording is None else f"recording {recording}")
    return names


def group_codes(scenes: Sequence[Scene]) -> tuple[NDArray[np.int64], list[str]]:
    """The group index of each scene (in order of first appearance) and the group names (a
    scene without a recording is a group of its own, named ``"scene <index>"``)."""
    names: dict[str, int] = {}
    codes = []
    for index, scene in enumerate(scenes):
        recording = recording_of(scene)
        key = f"scene {index}" if recording is None else f"recording {recording}"
        codes.append(names.setdefault(key, len(names)))
    labels = [key.removeprefix("recording ") for key in names]
    return np.array(codes, dtype=np.int64), labels


def grouped_split(
    scenes: Sequence[Scene], held_out: float = 0.5, *, seed: int = 0, name: str = "reference"
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Indices of the scenes to fit on and of the scenes held out, split by recording: a
    random ``held_out`` share of the recordings (rounded down; at least one on each side)
    goes to the held out side, whole. ``ValueError`` when ``scenes`` hold fewer than two
    recordings (``name`` is what the message calls them).

    >>> from scenegym.scene import Road, Scene, Vehicles
    >>> road = Road.straight(length=100.0, lanes=1)
    >>> scenes = [
    ...     Scene(road, Vehicles.empty(), context={"recording": r, "time": t})
    ...     for r in "abc" for t in range(2)
    ... ]
    >>> fit, held = grouped_split(scenes, 1 / 3)
    >>> sorted({recording_of(scenes[i]) for i in held}), len(fit)
    (['c'], 4)
    """
    if not 0.0 < float(held_out) < 1.0:
        raise ValueError(f"held_out must be a share between 0 and 1, got {held_out!r}")
    codes, names = group_codes(scenes)
    if len(names) < 2:
        raise ValueError(
            f"{name} holds {len(names)} recording(s); a split that keeps every recording on "
            "one side needs at least 2 (import more recordings, or give each scene a "
            "context 'recording')"
        )
    order = np.random.default_rng(seed).permutation(len(names))
    count = min(len(names) - 1, max(1, int(len(names) * float(held_out))))
    held_groups = np.zeros(len(names), dtype=bool)
    held_groups[order[:count]] = True
    held = held_groups[codes]
    return np.flatnonzero(~held), np.flatnonzero(held)
