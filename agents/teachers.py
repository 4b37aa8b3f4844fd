"""Curriculum teachers: who decides which scene a driving agent (the *student*) meets next.

Every teacher follows one small interface, so that any two can be compared at an equal budget
of student environment steps:

- ``propose()`` returns the next scene for the student, its context saying where it came
  from (``curriculum_teacher``, ``_stage``, ``_difficulty``, ``_targets``, ``_replay``);
- ``update(episodes)`` hands the teacher the student's results (``Episode``: return, crash,
  arrival, distance and a regret estimate) on scenes it proposed;
- ``state()`` / ``load_state(state)`` round-trip everything a teacher has learnt, its random
  state included, through plain JSON, so a resumed run continues the same curriculum;
- ``stats()``: numbers worth logging (buffer size, mean score, bandit choices).

The teachers of this module draw fresh scenes: ``RandomTeacher`` (domain randomisation over
the random scene space), ``ReplayTeacher`` (the scenes of a reference in random order) and
``GeneratorTeacher`` (a trained generation policy sampled without targets). Prioritised and
edited replay are in ``scenegym.agents.replay``, the goal-directed teacher in
``scenegym.agents.bandit``. Fresh scenes pass ``drivable``: vehicles breaking a validity rule
are removed (``scenegym.scene.repair``) and a scene whose start the student could not survive
(``scenegym.envs.drive.start_report``) is drawn again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scenegym.envs.drive import start_report
from scenegym.scene.scene import Scene, read_scenes
from scenegym.scene.space import HighwaySceneSpace, HighwaySpaceConfig
from scenegym.scene.validity import repair

__all__ = [
    "CURRICULUM_PREFIX",
    "DRAWS",
    "Episode",
    "GeneratorTeacher",
    "RandomTeacher",
    "ReplayTeacher",
    "Teacher",
    "curriculum_context",
    "curriculum_info",
    "drivable",
    "with_curriculum",
    "without_curriculum",
]

DRAWS = 50
"""How many draws a teacher makes for one drivable scene before it gives up with an error."""


@dataclass(frozen=True, kw_only=True)
class Episode:
    """The student's result on one scene a teacher proposed.

    Attributes:
        scene: the id of the scene as proposed (``Scene.id``, curriculum context included).
        ret: the undiscounted return (``Drive-v1``: 1 for an arrival, less for a crash).
        crashed, arrived: how the episode ended (neither: the time limit).
        distance: metres driven along the road.
        steps: decisions taken.
        score: a regret estimate where the trainer has one (the mean positive advantage of
            the episode's steps under the student's value function), else None.
    """

    scene: str
    ret: float
    crashed: bool
    arrived: bool
    distance: float = 0.0
    steps: int = 0
    score: float | None = None

    def regret(self) -> float:
        """The episode's regret estimate: ``score`` when known, else the return an arrival
        earns (1) less this return."""
        return float(self.score) if self.score is not None else 1.0 - float(self.ret)


def drivable(scene: Scene) -> Scene | None:
    """``scene`` with the vehicles that break a validity rule removed, or None when the rest
    still has no vehicle or a start the student cannot survive (the ego: the rearmost)."""
    scene, _ = repair(scene)
    if len(scene.vehicles) == 0:
        return None
    ego = int(np.argmin(scene.vehicles.s))
    return scene if start_report(scene, ego)["drivable"] else None


CURRICULUM_PREFIX = "curriculum_"
"""Context keys a teacher sets on the scenes it proposes: ``curriculum_teacher``,
``curriculum_stage``, ``curriculum_difficulty`` (absent while unscored),
``curriculum_targets`` (JSON text), ``curriculum_replay`` and ``curriculum_proposal`` (the
teacher's serial number of the proposal); the trainer adds
``curriculum_order`` and ``curriculum_step`` when the student meets the scene."""


def without_curriculum(scene: Scene) -> Scene:
    """``scene`` without the curriculum's context keys."""
    context = {k: v for k, v in scene.context.items() if not k.startswith(CURRICULUM_PREFIX)}
    return scene.replace(context=context)


def with_curriculum(
    scene: Scene,
    *,
    teacher: str,
    proposal: int,
    stage: int = 0,
    difficulty: float | None = None,
    targets: Mapping[str, float] | None = None,
    replay: bool = False,
) -> Scene:
    """``scene`` with the curriculum's context keys set (see ``CURRICULUM_PREFIX``);
    ``proposal`` (the teacher's count of proposals) tells apart two proposals of one scene."""
    info: dict[str, Any] = {
        "teacher": teacher,
        "proposal": int(proposal),
        "stage": int(stage),
        "targets": json.dumps(dict(targets or {}), sort_keys=True),
        "replay": bool(replay),
    }
    if difficulty is not None:
        info["difficulty"] = float(difficulty)
    context = without_curriculum(scene).context
    return scene.replace(context={**context, **curriculum_context(info)})


def curriculum_context(info: Mapping[str, Any]) -> dict[str, Any]:
    """``info`` as curriculum context keys."""
    return {CURRICULUM_PREFIX + key: value for key, value in info.items()}


def curriculum_info(scene: Scene) -> dict[str, Any]:
    """The curriculum context keys of ``scene`` without their prefix (targets parsed)."""
    n = len(CURRICULUM_PREFIX)
    info = {k[n:]: v for k, v in scene.context.items() if k.startswith(CURRICULUM_PREFIX)}
    if "targets" in info:
        info["targets"] = json.loads(info["targets"])
    return info


class Teacher:
    """The interface every teacher follows (see the module notes), with the shared parts:
    ``rng`` (a numpy ``Generator`` whose state is saved), ``proposed`` (scenes proposed so
    far) and ``rejected`` (draws that were not drivable)."""

    name = "teacher"

    def __init__(self, *, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.proposed = 0
        self.rejected = 0

    def propose(self) -> Scene:
        """The next scene for the student."""
        scene = self._next()
        self.proposed += 1
        return scene

    def _next(self) -> Scene:
        raise NotImplementedError

    def update(self, episodes: Sequence[Episode]) -> None:
        """Learn from the student's results (nothing, for teachers that do not adapt)."""

    def discard_pending(self) -> None:
        """Forget the proposals whose results will never come (a resumed run's environments
        start afresh); teachers that track proposals override it."""

    def stats(self) -> dict[str, float]:
        """Numbers to log after an update."""
        return {"proposed": float(self.proposed), "rejected": float(self.rejected)}

    def state(self) -> dict[str, Any]:
        """Everything the teacher has learnt, as JSON-ready data."""
        return {
            "name": self.name,
            "rng": self.rng.bit_generator.state,
            "proposed": self.proposed,
            "rejected": self.rejected,
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state`` (written by ``state()`` of a teacher built the same way)."""
        if state.get("name") != self.name:
            raise ValueError(
                f"the saved teacher state is a {state.get('name')!r} teacher's, not a "
                f"{self.name!r} teacher's; resume with the run's own config"
            )
        self.rng.bit_generator.state = state["rng"]
        self.proposed = int(state["proposed"])
        self.rejected = int(state["rejected"])

    def _drivable(self, draw) -> Scene:
        """The first drivable scene of up to ``DRAWS`` calls of ``draw()``."""
        for _ in range(DRAWS):
            scene = drivable(draw())
            if scene is not None:
                return scene
            self.rejected += 1
        raise ValueError(
            f"the {self.name} teacher drew {DRAWS} scenes in a row whose start the student "
            "cannot survive (broken rules or traffic closing faster than it can brake); "
            "check its scene space or generator"
        )


class RandomTeacher(Teacher):
    """Domain randomisation: scenes of the random scene space (the baseline).

    Args:
        space: ``HighwaySpaceConfig`` or its fields as a mapping (default: the default space).
        targets: descriptor targets every scene follows (``HighwaySceneSpace.sample``).
    """

    name = "random"

    def __init__(
        self,
        space: HighwaySpaceConfig | Mapping | None = None,
        *,
        seed: int = 0,
        targets: Mapping[str, float] | None = None,
    ):
        super().__init__(seed=seed)
        self.targets = dict(targets) if targets else None
        if isinstance(space, Mapping):
            from scenegym.config import config_from_mapping

            space = config_from_mapping(HighwaySpaceConfig, dict(space), name="space")
        self.space = HighwaySceneSpace(space or HighwaySpaceConfig())

    def draw(self, targets: Mapping[str, float] | None = None) -> Scene:
        """A drivable scene of the space (following ``targets`` where given)."""
        return self._drivable(lambda: self.space.sample(self.rng, targets))

    def _next(self) -> Scene:
        return with_curriculum(self.draw(self.targets), teacher=self.name, proposal=self.proposed)


def reference_scenes(scenes: Sequence[Scene] | str | os.PathLike, name: str) -> list[Scene]:
    """The drivable scenes of ``scenes`` (a list or a scenes file), or a clear error."""
    if isinstance(scenes, (str, os.PathLike)):
        name = f"{name} {scenes}"
        scenes = read_scenes(scenes)
    kept = [scene for scene in map(drivable, scenes) if scene is not None]
    if not kept:
        raise ValueError(
            f"{name} holds no scene the student can start in ({len(scenes)} scenes, none "
            "drivable); give scenes with vehicles and a survivable start"
        )
    return kept


class ReplayTeacher(Teacher):
    """The scenes of a reference (naturalistic or recordings), in random order: each pass
    over them is a new permutation. With ``mix`` and a ``fresh`` teacher, that share of the
    proposals are the fresh teacher's (generated or random scenes mixed into recordings; their
    ``stage`` is 1).

    Args:
        scenes: the scenes or a scenes file; only drivable ones are kept.
        mix: share of proposals taken from ``fresh``.
        fresh: the teacher of the mixed-in scenes.
    """

    name = "replay"

    def __init__(
        self,
        scenes: Sequence[Scene] | str | os.PathLike,
        *,
        seed: int = 0,
        mix: float = 0.0,
        fresh: Teacher | None = None,
    ):
        super().__init__(seed=seed)
        self.scenes = reference_scenes(scenes, "the replay teacher's scenes")
        self._order: list[int] = []
        if mix and fresh is None:
            raise ValueError("a replay teacher with mix needs a fresh teacher")
        self.mix, self.fresh = float(mix), fresh

    def _next(self) -> Scene:
        if self.mix and self.rng.random() < self.mix:
            scene = without_curriculum(self.fresh.propose())
            return with_curriculum(scene, teacher=self.name, stage=1, proposal=self.proposed)
        if not self._order:
            self._order = self.rng.permutation(len(self.scenes)).tolist()
        scene = self.scenes[self._order.pop()]
        return with_curriculum(scene, teacher=self.name, proposal=self.proposed)

    def state(self) -> dict[str, Any]:
        fresh = self.fresh.state() if self.fresh is not None else None
        return super().state() | {"order": list(self._order), "fresh": fresh}

    def load_state(self, state: Mapping[str, Any]) -> None:
        super().load_state(state)
        self._order = [int(i) for i in state["order"]]
        if self.fresh is not None:
            self.fresh.load_state(state["fresh"])


class GeneratorTeacher(Teacher):
    """A trained generation policy sampled without targets (``GenerationPolicy.sample``,
    ``batch`` scenes at a time from consecutive seeds, invalid ones repaired).

    Args:
        run: the generation run folder (or ``policy``: the run, loaded).
        batch: scenes generated per call of the policy.
        targets: descriptor targets of every scene (a goal-conditioned run).
    """

    name = "generator"

    def __init__(
        self,
        run: str | os.PathLike | None = None,
        *,
        seed: int = 0,
        batch: int = 16,
        targets: Mapping[str, float] | None = None,
        policy: Any = None,
    ) -> None:
        super().__init__(seed=seed)
        if policy is None:
            from scenegym.agents.policy import GenerationPolicy

            policy = GenerationPolicy.load(run)
        self.policy = policy
        self.batch = int(batch)
        self.targets = dict(targets) if targets else None
        self._seed = int(seed) * 1_000_003 % (2**31)  # the first seed of the next batch
        self._queue: list[Scene] = []
        self._taken = 0  # scenes taken from the current batch

    def generate(self) -> list[Scene]:
        """The next ``batch`` generated scenes, from the next seeds."""
        sample = self.policy.sample(
            self.batch, targets=self.targets, seed=self._seed, invalid="repair"
        )
        self._seed += self.batch
        return sample.scenes

    def _next(self) -> Scene:
        scene = self._drivable(self._generated)
        return with_curriculum(scene, teacher=self.name, proposal=self.proposed)

    def _generated(self) -> Scene:
        if not self._queue:
            self._queue = self.generate()
            self._taken = 0
        self._taken += 1
        return self._queue.pop(0)

    def state(self) -> dict[str, Any]:
        left = len(self._queue)
        return super().state() | {"seed": self._seed, "taken": self._taken, "left": left}

    def load_state(self, state: Mapping[str, Any]) -> None:
        super().load_state(state)
        self._seed, self._queue = int(state["seed"]), []
        if int(state["left"]):  # generate the current batch again and skip what was taken
            self._seed -= self.batch
            self._queue = self.generate()[int(state["taken"]) :]
            self._taken = int(state["taken"])
