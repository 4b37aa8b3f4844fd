"""Adversarial scenes: scenes a given driving agent crashes in, found by driving it.

After CAT (Zhang et al., 2023), which picks, among the traffic a generative model proposes,
what the agent under test fails against: ``adversarial_search`` drives the agent (a trained
Drive-v1 model, or a scripted driver) one episode from every candidate scene, keeps the
scenes it crashes in, and, for ``rounds`` more rounds, edits the candidates it came through
worst (the lowest returns, no crash) with the edits of ``EditedReplay`` (add a car, remove a
vehicle, change a speed, move a vehicle along its lane) and drives it again. Every scene tried
is valid and has a drivable start (``scenegym.agents.teachers.drivable``: broken vehicles
removed, a start the traffic and the ego can survive), so a crash is the agent's, not the
scene's. Candidates worth searching are critical but plausible scenes: a generator's, or the
random space's filtered by ``criticality`` (``critical_candidates``).

The scenes found carry ``adversarial_round`` (0: a candidate as given) and
``adversarial_parent`` (the id of the scene it was edited from) in their context.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scenegym.agents.driving import Driver, check_driver_source, drive_episodes, load_driver
from scenegym.agents.replay import edit_scene
from scenegym.agents.runs import run_path
from scenegym.agents.teachers import drivable
from scenegym.scene.safety import criticality
from scenegym.scene.scene import Scene
from scenegym.scene.space import HighwaySceneSpace

__all__ = [
    "AdversarialSearch",
    "DriverJudge",
    "adversarial_search",
    "critical_candidates",
    "judge_models",
]


@dataclass(kw_only=True)
class DriverJudge:
    """The ``"driver"`` model of the ``adversarial`` reward term (``scenegym.rewards.
    adversarial``): drives ``source`` (a scripted driver's name or a curriculum run folder,
    as ``load_driver`` takes) one Drive-v1 episode from each scene and scores it 1 for a
    crash, ``near * (1 - min TTC / horizon)`` for a near crash (the ego's least
    time-to-collision with the vehicle ahead, s), and 0 where the start was not drivable.
    The driver is loaded at the first ``scores`` and not pickled, so a judge travels to
    ``SubprocVecEnv`` workers as its settings alone."""

    source: str
    near: float = 0.5
    horizon: float = 5.0
    seed: int = 0
    _driver: Driver | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.near < 1 or not self.horizon > 0:
            raise ValueError(
                f"a DriverJudge's near must be in [0, 1) and its horizon above 0, got "
                f"near={self.near}, horizon={self.horizon}"
            )
        self.source = check_driver_source(self.source)  # checked now, loaded at first use

    @property
    def driver(self) -> Driver:
        """The driver, loaded at first use."""
        if self._driver is None:
            self._driver = load_driver(self.source)
        return self._driver

    def scores(self, scenes: Sequence[Scene]) -> np.ndarray:
        """The ``(scenes,)`` adversarial scores of ``scenes`` (see the class notes)."""
        rows = drive_episodes(self.driver, scenes, seed=self.seed)
        crash = np.array([row["crash"] for row in rows])
        closeness = np.array([max(0.0, 1 - row["min_ttc"] / self.horizon) for row in rows])
        drivable = np.array([row["drivable"] for row in rows])
        return drivable * np.maximum(crash, self.near * closeness)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_driver": None}


@dataclass(frozen=True, kw_only=True)
class AdversarialSearch:
    """What ``adversarial_search`` found.

    Attributes:
        scenes: the scenes the agent crashed in, in the order found.
        rounds: per round, ``{"tried", "crashes", "crash_rate"}``.
        tried: every scene driven.
    """

    scenes: list[Scene]
    rounds: list[dict[str, float]] = field(default_factory=list)
    tried: int = 0

    @property
    def crash_rate(self) -> float:
        """Crashes over scenes driven, all rounds together."""
        return len(self.scenes) / self.tried if self.tried else 0.0


def adversarial_search(
    driver: Driver,
    candidates: Sequence[Scene],
    *,
    rounds: int = 1,
    keep: int = 16,
    children: int = 4,
    edits: int = 2,
    seed: int = 0,
) -> AdversarialSearch:
    """Drive ``driver`` from every drivable candidate, then ``rounds`` times from
    ``children`` edits (of ``edits`` random edits each) of the ``keep`` candidates it came
    through worst; the scenes it crashed in (see the module notes)."""
    if rounds < 0 or keep < 1 or children < 1 or edits < 1:
        raise ValueError(
            f"rounds must be at least 0 and keep, children and edits at least 1, got "
            f"rounds={rounds}, keep={keep}, children={children}, edits={edits}"
        )
    rng = np.random.default_rng(seed)
    pool = [scene for scene in map(drivable, candidates) if scene is not None]
    if not pool:
        raise ValueError("no candidate scene is valid with a drivable start; give other scenes")
    found: list[Scene] = []
    log: list[dict[str, float]] = []
    tried = 0
    for number in range(rounds + 1):
        rows = drive_episodes(driver, pool, seed=seed + tried)
        tried += len(pool)
        crashed = [row["crash"] > 0 for row in rows]
        found += [_tag(scene, number) for scene, hit in zip(pool, crashed) if hit]
        log.append(
            {"tried": len(pool), "crashes": sum(crashed), "crash_rate": float(np.mean(crashed))}
        )
        if number == rounds:
            break
        survived = [(row["return"], k) for k, row in enumerate(rows) if not crashed[k]]
        worst = [pool[k] for _, k in sorted(survived)[:keep]]
        pool = []
        for parent in worst:
            for _ in range(children):
                child = drivable(edit_scene(parent, rng, edits))
                if child is not None:
                    pool.append(child.replace(context={**child.context, "parent": parent.id}))
        if not pool:
            break
    return AdversarialSearch(scenes=found, rounds=log, tried=tried)


def _tag(scene: Scene, number: int) -> Scene:
    context = {k: v for k, v in scene.context.items() if k != "parent"}
    context["adversarial_round"] = number
    context["adversarial_parent"] = str(scene.context.get("parent", ""))
    return scene.replace(context=context)


def critical_candidates(
    n: int,
    *,
    target: float = 0.8,
    space: HighwaySceneSpace | None = None,
    seed: int = 0,
    batch: int = 256,
    max_draws: int = 200_000,
    focus: str = "rearmost",
) -> list[Scene]:
    """``n`` scenes of the random space (``space``; default ``HighwaySceneSpace()``) that are
    valid, have a drivable start, and reach ``criticality`` ``target`` without a collision
    in their 5 s rollout: drawn in batches and kept, up to ``max_draws`` draws. ``focus``
    ``"rearmost"`` (the default) measures what involves the ego (the rearmost vehicle, the
    one a driver under test drives), ``"all"`` every pair of the traffic."""
    space = space or HighwaySceneSpace()
    kept: list[Scene] = []
    drawn = 0
    while len(kept) < n:
        if drawn >= max_draws:
            raise ValueError(
                f"only {len(kept)} of {n} scenes reached criticality {target} in {drawn} "
                "draws; lower the target or give a space with more traffic"
            )
        scenes = [s for s in map(drivable, space.sample_many(batch, seed + drawn)) if s]
        drawn += batch
        if not scenes:
            continue
        measures = criticality(scenes, focus=focus)
        good = (measures["criticality"] >= target) & (measures["collision"] == 0)
        kept += [scene for scene, ok in zip(scenes, good) if ok]
    return kept[:n]


def judge_models(models: dict[str, Any], run: str | os.PathLike | None) -> dict[str, Any]:
    """The models of a generation run's ``env_kwargs.models``, ready to score with:
    ``driver`` (a scripted driver's name, a curriculum run folder, absolute or relative to
    the run folder, or a mapping of ``DriverJudge`` settings with its ``source``) becomes a
    ``DriverJudge``; any other model is given as it is."""
    resolved = dict(models)
    driver = resolved.get("driver")
    if isinstance(driver, str):
        driver = {"source": driver}
    if isinstance(driver, dict):
        source = str(driver.get("source", ""))
        if run is not None and run_path(run, source).is_dir():
            source = str(run_path(run, source))
        try:
            resolved["driver"] = DriverJudge(**{**driver, "source": source})
        except TypeError as error:
            raise ValueError(
                f"config.env_kwargs.models.driver: {error}; give a driver's name or run "
                "folder, or a mapping of source, near, horizon and seed"
            ) from None
    return resolved
