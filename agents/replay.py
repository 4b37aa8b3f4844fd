"""Teachers that replay the scenes the student learns most from.

``PrioritisedReplay`` follows Prioritized Level Replay (Jiang et al., 2021): a buffer of scenes
scored by the student's regret on them; each proposal replays a buffer scene (with probability
``replay_share`` once the buffer holds ``min_fill`` scenes) or draws a new one from its
source (the random space or a generator). A replayed scene is picked with probability
``(1 - staleness) * P_score + staleness * P_stale``: ``P_score`` ranks the scores
(``rank ** (-1 / temperature)``), ``P_stale`` grows with the proposals since the scene was
last played. A scored scene enters a full buffer in place of the lowest-scored one when it
scores higher. By default the student trains on new and replayed scenes alike (PLR's original
form); with the curriculum option ``robust`` ("robust" PLR) new scenes are only played to be
scored and the student trains on the replayed ones (``scenegym.agents.robust``).

``EditedReplay`` follows ACCEL (Parker-Holder et al., 2022): part of the new scenes are edits
of buffer scenes (picked as replays are) by a few scene edits: add a car in a lane, remove a
vehicle, change a vehicle's speed, move a vehicle along its lane; each edit keeps the scene
drivable or is drawn again. An edited scene's ``stage`` is its parent's plus one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from scenegym.agents.teachers import (
    DRAWS,
    Episode,
    Teacher,
    with_curriculum,
    without_curriculum,
)
from scenegym.scene.scene import Scene
from scenegym.scene.vehicles import Vehicles

__all__ = ["EDITS", "EditedReplay", "PrioritisedReplay", "edit_scene", "replay_weights"]

EDITS = ("add", "remove", "speed", "shift")
"""The scene edits of ``EditedReplay``."""


def replay_weights(
    scores: Sequence[float], last: Sequence[int], now: int, temperature: float, staleness: float
) -> np.ndarray:
    """PLR's replay distribution over buffer entries with ``scores`` last played at proposal
    ``last`` (see the module notes); ``now`` is the current proposal count."""
    from scipy.stats import rankdata

    scores = np.asarray(scores, dtype=np.float64)
    rank = rankdata(-scores, method="average")  # equal scores, equal weight
    by_score = rank ** (-1.0 / temperature)
    by_score /= by_score.sum()
    age = np.maximum(now - np.asarray(last, dtype=np.float64), 0.0)
    by_age = age / age.sum() if age.sum() > 0 else np.full(scores.size, 1.0 / scores.size)
    return (1.0 - staleness) * by_score + staleness * by_age


class PrioritisedReplay(Teacher):
    """Prioritised replay of scenes from ``source`` (see the module notes).

    Args:
        source: the teacher whose scenes are new (``RandomTeacher`` or ``GeneratorTeacher``).
        buffer_size: scenes kept.
        replay_share: probability that a proposal is a replay once ``min_fill`` scenes wait.
        min_fill: buffer scenes needed before replays start.
        temperature: PLR's rank temperature beta (smaller: more greedy on the top scores).
        staleness: PLR's staleness weight rho.
    """

    name = "plr"

    def __init__(
        self,
        source: Teacher,
        *,
        seed: int = 0,
        buffer_size: int = 128,
        replay_share: float = 0.5,
        min_fill: int = 16,
        temperature: float = 0.3,
        staleness: float = 0.3,
    ) -> None:
        super().__init__(seed=seed)
        if not temperature > 0:
            raise ValueError(f"teacher_options.temperature must be above 0, got {temperature}")
        if not 1 <= min_fill <= buffer_size:
            raise ValueError(
                f"teacher_options.min_fill must be from 1 to buffer_size ({buffer_size}), "
                f"got {min_fill}"
            )
        for name, share in (("replay_share", replay_share), ("staleness", staleness)):
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"teacher_options.{name} must be from 0 to 1, got {share}")
        self.source = source
        self.buffer_size, self.replay_share, self.min_fill = buffer_size, replay_share, min_fill
        self.temperature, self.staleness = temperature, staleness
        self.buffer: list[dict[str, Any]] = []  # scene (dict), score, last, stage
        # proposed id: [base id, stage, the scene as a dict when it is new (not in the buffer)]
        self._pending: dict[str, list] = {}
        self.replays = 0

    def _pick(self) -> int:
        weights = replay_weights(
            [entry["score"] for entry in self.buffer],
            [entry["last"] for entry in self.buffer],
            self.proposed,
            self.temperature,
            self.staleness,
        )
        return int(self.rng.choice(len(self.buffer), p=weights))

    def _next(self) -> Scene:
        if len(self.buffer) >= self.min_fill and self.rng.random() < self.replay_share:
            entry = self.buffer[self._pick()]
            entry["last"] = self.proposed
            self.replays += 1
            scene = Scene.from_dict(entry["scene"])
            return self._track(scene, entry["stage"], replay=True, score=entry["score"])
        scene, stage = self._new()
        return self._track(scene, stage, replay=False, score=None, keep=True)

    def _new(self) -> tuple[Scene, int]:
        return without_curriculum(self.source.propose()), 0

    def _track(
        self, scene: Scene, stage: int, *, replay: bool, score: float | None, keep: bool = False
    ) -> Scene:
        proposed = with_curriculum(
            scene,
            teacher=self.name,
            proposal=self.proposed,
            stage=stage,
            difficulty=score,
            replay=replay,
        )
        self._pending[proposed.id] = [scene.id, stage, scene.to_dict() if keep else None]
        return proposed

    def update(self, episodes: Sequence[Episode]) -> None:
        index = {entry["key"]: entry for entry in self.buffer}
        for episode in episodes:
            known = self._pending.pop(episode.scene, None)
            if known is None:
                continue
            key, stage, scene = known
            score = episode.regret()
            if key in index:
                index[key]["score"] = score
                continue
            if scene is None:  # a replayed scene that has left the buffer since
                continue
            entry = {"key": key, "scene": scene, "score": score, "last": self.proposed}
            entry["stage"] = stage
            if len(self.buffer) < self.buffer_size:
                self.buffer.append(entry)
            else:
                lowest = min(range(len(self.buffer)), key=lambda i: self.buffer[i]["score"])
                if score <= self.buffer[lowest]["score"]:
                    continue
                self.buffer[lowest] = entry
            index[key] = entry

    def discard_pending(self) -> None:
        self._pending = {}

    def stats(self) -> dict[str, float]:
        scores = [entry["score"] for entry in self.buffer]
        return super().stats() | {
            "buffer": float(len(self.buffer)),
            "buffer_score": float(np.mean(scores)) if scores else 0.0,
            "replays": float(self.replays),
        }

    def state(self) -> dict[str, Any]:
        return super().state() | {
            "source": self.source.state(),
            "buffer": self.buffer,
            "pending": self._pending,
            "replays": self.replays,
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        super().load_state(state)
        self.source.load_state(state["source"])
        self.buffer = [dict(entry) for entry in state["buffer"]]
        self._pending = {key: list(value) for key, value in state["pending"].items()}
        self.replays = int(state["replays"])


def edit_scene(scene: Scene, rng: np.random.Generator, edits: int = 2) -> Scene:
    """``scene`` after ``edits`` random edits (``EDITS``), each picked uniformly."""
    for _ in range(edits):
        scene = _EDIT[EDITS[int(rng.integers(len(EDITS)))]](scene, rng)
    return scene


def _add(scene: Scene, rng: np.random.Generator) -> Scene:
    road, v = scene.road, scene.vehicles
    s = float(rng.uniform(0.0, road.length))
    lanes = np.flatnonzero(road.lanes_at([s])[:, 0])
    lane = int(rng.choice(lanes))
    same = v.lane == lane
    speed = float(np.median(v.speed[same])) if same.any() else float(np.median(v.speed))
    columns = {name: getattr(v, name) for name in ("lane", "s", "d", "heading", "speed")}
    columns |= {name: getattr(v, name) for name in ("length", "width", "kind")}
    added = {"lane": lane, "s": s, "d": 0.0, "heading": 0.0, "speed": speed}
    added |= {"length": 4.6, "width": 1.85, "kind": 0}
    joined = {name: np.append(columns[name], added[name]) for name in columns}
    return scene.replace(vehicles=Vehicles(**joined))


def _remove(scene: Scene, rng: np.random.Generator) -> Scene:
    v = scene.vehicles
    if len(v) < 2:
        return scene
    keep = np.arange(len(v)) != int(rng.integers(len(v)))
    return scene.replace(vehicles=v.take(keep))


def _speed(scene: Scene, rng: np.random.Generator) -> Scene:
    v = scene.vehicles
    speed = v.speed.copy()
    i = int(rng.integers(len(v)))
    speed[i] = max(0.0, speed[i] * float(rng.uniform(0.7, 1.3)))
    return scene.replace(vehicles=v.replace(speed=speed))


def _shift(scene: Scene, rng: np.random.Generator) -> Scene:
    v = scene.vehicles
    s = v.s.copy()
    i = int(rng.integers(len(v)))
    s[i] = float(np.clip(s[i] + rng.uniform(-10.0, 10.0), 0.0, scene.road.length))
    return scene.replace(vehicles=v.replace(s=s))


_EDIT = {"add": _add, "remove": _remove, "speed": _speed, "shift": _shift}


class EditedReplay(PrioritisedReplay):
    """Prioritised replay whose new scenes are, with probability ``edit_share`` once the
    buffer holds scenes, ``edits`` random edits of a buffer scene (ACCEL; see the notes)."""

    name = "accel"

    def __init__(self, source: Teacher, *, edit_share: float = 0.5, edits: int = 2, **kwargs):
        super().__init__(source, **kwargs)
        self.edit_share, self.edits = edit_share, edits
        self.edited = 0

    def _new(self) -> tuple[Scene, int]:
        if not self.buffer or self.rng.random() >= self.edit_share:
            return super()._new()
        entry = self.buffer[self._pick()]
        parent = Scene.from_dict(entry["scene"])
        for _ in range(DRAWS):  # an edit the repair undid is drawn again
            child = self._drivable(lambda: edit_scene(parent, self.rng, self.edits))
            if child.id != parent.id:
                break
        self.edited += 1
        return child, int(entry["stage"]) + 1

    def stats(self) -> dict[str, float]:
        return super().stats() | {"edited": float(self.edited)}

    def state(self) -> dict[str, Any]:
        return super().state() | {"edited": self.edited}

    def load_state(self, state: Mapping[str, Any]) -> None:
        super().load_state(state)
        self.edited = int(state["edited"])
