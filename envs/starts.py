"""Starting the episodes of scene-generation environments: their starting scenes drawn at
once (from the scene space, or nearest the goal targets among several candidates) and the
goal targets stacked for scoring. ``envs`` are ``DrivingLayoutEnv`` instances configured
alike and sharing one representation (one environment, or those of a
``DrivingLayoutVecEnv``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scenegym.rewards import goal_scores
from scenegym.scene.batch import RoadBatch, SceneBatch
from scenegym.scene.descriptors import describe_batch
from scenegym.scene.scene import Scene
from scenegym.scene.vehicles import Vehicles

__all__ = ["goal_targets", "start_episodes"]


def goal_targets(envs: Sequence[Any]) -> NDArray[np.float64] | None:
    """``(envs, k)`` goal targets of goal-conditioned environments (configured alike), in
    the order of the goal's names; None without a goal in the observation."""
    first = envs[0]
    if "goal" not in first.spaces.parts.spaces:
        return None
    names = first.goal.names
    return np.array([[env.targets[name] for name in names] for env in envs])


def start_episodes(
    envs: Sequence[Any],
    seeds: Sequence[int | None],
    options: Sequence[dict | None],
) -> None:
    """Reset ``envs`` (configured alike and sharing one representation: one environment, or
    those of a ``DrivingLayoutVecEnv``) with ``seeds`` and ``options``, but for scoring and
    observing the starting scenes.

    The starting scenes of all of them are drawn at once (``HighwaySceneSpace.sample_roads``
    and ``sample_vehicles_many``) and the goal starts' candidates described and scored in
    one batch; each environment draws from its own generator, so the starting scenes are
    those of the environments reset one by one. Their representation starts them
    (``Representation.restart``)."""
    scenes, later = [], []
    for env, seed, option in zip(envs, seeds, options):
        scene, targets_later = env.open_episode(seed, option)
        scenes.append(scene)
        later.append(targets_later)
    drawn = [k for k, scene in enumerate(scenes) if scene is None]
    if drawn:
        for k, scene in zip(drawn, _draw_starts([envs[k] for k in drawn])):
            scenes[k] = scene
    for env, option, targets_later in zip(envs, options, later):
        if targets_later:
            env.targets = env.draw_targets(option or {})
    representation = envs[0].representation
    if any(env.representation is not representation for env in envs):
        raise ValueError("start_episodes needs environments that share one representation")
    representation.restart(
        np.array([env.row for env in envs], dtype=np.int64),
        scenes,
        [env.np_random for env in envs],
    )


def _draw_starts(envs: Sequence[Any]) -> list[Scene]:
    """The starting scenes of ``envs`` drawn from their scene space with their generators.

    A goal start (``start="goal"``, ``start_candidates`` K > 1) draws one road for the
    targets and K vehicle sets on it, and starts from the set whose descriptors come nearest
    the targets (goal score; the first of equals) -- nearest, not the best score: candidates
    picked for validity as well leave the small gaps of crowded targets unmet, and the
    policy repairs overlaps. Representations that make the vehicles themselves start from
    the road alone."""
    first = envs[0]
    goal_first = first.start == "goal"
    rngs = [env.np_random for env in envs]
    targets = [env.targets for env in envs] if goal_first else None
    roads = first.space.sample_roads(rngs, targets)
    # A given road replaces the drawn one (drawn all the same: a seed draws the same
    # vehicles whatever the other environments are given).
    roads = [road if env.given_road is None else env.given_road for env, road in zip(envs, roads)]
    if not first.representation.keeps_vehicles:
        return [Scene(road, Vehicles.empty()) for road in roads]
    count = first.start_candidates if goal_first else 1
    sizes, columns = first.space.sample_vehicles_many(roads, rngs, targets, count)
    pick = np.zeros(len(envs), dtype=np.int64)
    if count > 1:
        batch = SceneBatch(
            RoadBatch(roads),
            road_of=np.repeat(np.arange(len(envs)), count),
            sizes=np.repeat(sizes, count),
            columns=columns,
        )
        now = describe_batch(batch, first.goal.names)
        scores = goal_scores(
            np.column_stack([now[name] for name in first.goal.names]),
            np.repeat(goal_targets(envs), count, axis=0),
            first.goal,
        ).reshape(len(envs), count)
        pick = np.argmax(scores, axis=1)
    ends = np.cumsum(sizes * count)
    scenes = []
    for road, n, end, k in zip(roads, sizes.tolist(), ends.tolist(), pick.tolist()):
        start = end - n * count + n * k
        vehicles = Vehicles.unchecked({name: v[start : start + n] for name, v in columns.items()})
        scenes.append(Scene(road, vehicles))
    return scenes
