"""``scenegym/Drive-v1``: drive highway-env's ego vehicle through scenegym scenes.

The environment is highway-env's ``HighwayEnv`` (observation, actions and traffic behaviour
unchanged) whose road and traffic come from a ``Scene`` instead of highway-env's own random
straight road, and whose task is to reach the end of the scene's road without a crash
(``scenegym/Drive-v0`` keeps highway-env's rewards).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from highway_env.envs.highway_env import HighwayEnv
from highway_env.road.road import Road as HighwayRoad
from highway_env.utils import class_from_path

from scenegym.bridges.highway import highway_network, resize
from scenegym.scene.geometry import vehicle_poses
from scenegym.scene.road import Road
from scenegym.scene.safety import drac
from scenegym.scene.scene import Scene, read_scenes
from scenegym.scene.validity import validate
from scenegym.scene.vehicles import Vehicles

__all__ = [
    "EGO_BRAKING",
    "ROAD_AHEAD",
    "TASKS",
    "TRAFFIC_BRAKING",
    "DriveEnv",
    "start_report",
]


TASKS: dict[int, dict[str, Any]] = {
    0: {
        "progress_reward": 0.0,
        "collision_reward": -1.0,
        "right_lane_reward": 0.1,
        "high_speed_reward": 0.4,
        "normalize_reward": True,
    },
    1: {
        "progress_reward": 1.0,
        "collision_reward": -1.0,
        "right_lane_reward": 0.0,
        "high_speed_reward": 0.0,
        "normalize_reward": False,
        # A scenegym road is split into highway-env sections at curves and lane ends;
        # without this, traffic does not see a leader a few metres past a joint.
        "neighbour_vehicles_connected_lanes": True,
    },
}
"""The reward settings of each version of the task (any of them can be overridden)."""

EGO_BRAKING = 5.0
"""Hardest braking (m/s²) the ego keeps up: SLOWER lowers its target speed 5 m/s a second."""

TRAFFIC_BRAKING = 6.0
"""Hardest braking (m/s²) of highway-env's traffic (``IDMVehicle.ACC_MAX``)."""

ROAD_AHEAD = 10.0
"""Least road (m) ahead of the ego's start for an episode to be a drive."""


class DriveEnv(HighwayEnv):
    """Drive through generated or recorded scenes with highway-env's dynamics.

    ## Description
    Each episode starts *in* a scene: its road (lanes, curves, ramps) becomes a highway-env road
    network and its vehicles become highway-env traffic (``IDMVehicle`` by default) with their
    positions, headings, speeds and sizes. One vehicle of the scene is replaced by the
    controlled ego vehicle, whose task is to drive to the end of the scene's road without a
    crash. Observation, actions and traffic behaviour are highway-env's ``highway-v0``.

    ## Action space
    highway-env's ``config["action"]`` (default ``DiscreteMetaAction``: 5 actions, lane left,
    idle, lane right, faster, slower, over target speeds 0, 5, ..., 35 m/s so that the ego can
    hold a queue's speed).

    ## Observation space
    highway-env's ``config["observation"]`` (default ``Kinematics``: 5 vehicles x 5 features
    presence, x, y, vx, vy, normalised, ego first).

    ## Rewards
    Each step's reward is the weighted sum of the terms in ``info["rewards"]``:
    ``progress_reward`` (1; the share of the ego's distance to the finish covered in this step,
    so the terms of a whole arrival sum to 1), ``collision_reward`` (-1, on the step of a
    crash) and highway-env's ``high_speed_reward`` and ``right_lane_reward`` (0 by default;
    per step, linear on ``reward_speed_range`` m/s and on the lane index). Arriving is the
    best an episode can do, a crash the worst, and crawling earns only the distance it covers.
    Version 0 used highway-env's rewards unchanged (normalised to [0, 1] per step, no
    progress), under which crawling to the time limit out-earned arriving.

    ## Starting state
    ``reset(options={"scene": scene})`` starts in that scene; ``reset()`` takes the next scene
    of the scene source (``scenes``) in order, cycling, or of ``scene_feed`` when one is set.
    The road is placed with its start at the origin heading along +x. The ego is the vehicle
    ``options["ego"]`` if given, else the rearmost vehicle. A start is *drivable* when the
    scene keeps every validity rule, no other vehicle needs to brake harder than highway-env's
    traffic can (``TRAFFIC_BRAKING``, 6 m/s²) to avoid its leader, and the ego needs no more
    than it can brake (``EGO_BRAKING``, 5 m/s²); ``info["drivable"]`` says which, and the reset
    info's ``start_issues`` says why not.

    ## Speed
    ``config={"simulation_frequency": 5, "traffic_collisions": False}`` are highway-env's
    ``highway-fast-v0`` settings: about three times as many steps a second.
    ``config={"indexed_road": True}`` drives the traffic on scenegym's Frenet-indexed road
    (the naturalistic reference's): the same IDM and MOBIL, a neighbour search that sees
    across section joints, several times faster with many vehicles or on curved roads.

    ## Episode end
    Terminated when the ego crashes (``info["crashed"]``) or its centre passes the end of the
    scene's road (``info["arrived"]``); truncated after ``config["duration"]`` seconds (40 by
    default). ``info["distance"]`` is the distance driven along the road (m) and
    ``info["scene"]`` the id of the scene as given (before its road was placed at the origin).

    ## Arguments
    - ``scenes``: a list of ``Scene``s or a path to a scenes JSONL file (optional when every
      reset passes a scene or a feed is set).
    - ``config``: highway-env config overrides, as for any highway-env environment.
    - ``render_mode``: ``None`` or ``"rgb_array"``.
    - ``version``: the task's reward settings (``TASKS``); ``scenegym/Drive-v0`` is version 0.

    ## Version history
    - v1: progress reward, arrival, drivable starts, traffic that sees its leader across
      section joints (highway-env's ``neighbour_vehicles_connected_lanes``).
    - v0: first version (highway-env's rewards).
    """

    def __init__(
        self,
        *,
        scenes: Sequence[Scene] | str | os.PathLike | None = None,
        config: dict | None = None,
        render_mode: str | None = None,
        version: int = 1,
    ) -> None:
        if version not in TASKS:
            raise ValueError(f"Drive version must be one of {sorted(TASKS)}, got {version!r}")
        if isinstance(scenes, (str, os.PathLike)):
            scenes = read_scenes(scenes)
        self.scenes = list(scenes) if scenes is not None else []
        for i, scene in enumerate(self.scenes):
            if not isinstance(scene, Scene):
                raise TypeError(f"scenes[{i}] must be a Scene, got {type(scene).__name__}")
        self._next = 0
        self.scene_feed: list[Scene] = []
        self._start: dict[str, Any] = {"drivable": True, "start_issues": []}
        self._progress = (0.0, 0.0, 1.0)  # start station, last station, distance to finish
        self._station_at: tuple[float, float] = (-1.0, 0.0)  # (time, station) cache
        self._step_progress = 0.0
        self.scene: Scene | None = None
        self.scene_id: str | None = None
        self._ego: int | None = None
        # highway-env resets once while constructing, to define its spaces; that reset uses a
        # placeholder scene and leaves the scene source untouched.
        self._constructing = True
        super().__init__(config={**TASKS[version], **(config or {})}, render_mode=render_mode)
        self._constructing = False

    @classmethod
    def default_config(cls) -> dict:
        config = super().default_config()
        # Scenes hold queues as well as free flow: the ego's target speeds span 0-35 m/s, so
        # "idle" keeps roughly the speed the scene gave it instead of jumping to 20 m/s.
        config["action"] = {
            "type": "DiscreteMetaAction",
            "target_speeds": [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0],
        }
        # Set False to check traffic vehicles for collisions with the ego only, as
        # highway-env's highway-fast-v0 does (about a fifth of a step's time in dense scenes).
        config["traffic_collisions"] = True
        # True: scenegym's Frenet-indexed road (``scenegym.bridges.traffic.IndexedRoad``):
        # one lane update for all vehicles, binary-search neighbours that see across section
        # joints, collision checks between close vehicles only; highway-env's IDM and MOBIL
        # unchanged. Several times faster in dense traffic and on curved roads.
        config["indexed_road"] = False
        return config

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        options = dict(options or {})
        scene = options.pop("scene", None)
        self._ego = options.pop("ego", None)
        if scene is None and self._constructing:
            scene = Scene(
                Road.straight(length=200.0, lanes=3),
                Vehicles.from_columns(lane=[1], s=[20.0], speed=[25.0]),
            )
        if scene is None and self.scene_feed:
            scene = self.scene_feed.pop(0)
        elif scene is None:
            if not self.scenes:
                raise ValueError(
                    "Drive has no scene to start from: pass scenes=... to gymnasium.make, "
                    "set scene_feed, or reset(options={'scene': scene})"
                )
            scene = self.scenes[self._next % len(self.scenes)]
            self._next += 1
        if not isinstance(scene, Scene):
            raise TypeError(f"options['scene'] must be a Scene, got {type(scene).__name__}")
        if len(scene.vehicles) == 0:
            raise ValueError("Drive-v0 needs a scene with at least one vehicle to control")
        self.scene_id = scene.id
        placed = dataclasses.replace(scene.road, origin=(0.0, 0.0, 0.0))
        self.scene = scene.replace(road=placed)
        observation, info = super().reset(seed=seed, options=options or None)
        info["start_issues"] = list(self._start["start_issues"])
        return observation, info

    def _reset(self) -> None:
        scene = self.scene
        built = highway_network(scene.road)
        self.network_map = built
        indexed = bool(self.config["indexed_road"])
        road_class = _indexed_road() if indexed else HighwayRoad
        self.road = road_class(
            network=built.network,
            np_random=self.np_random,
            record_history=self.config["show_trajectories"],
        )
        v = scene.vehicles
        ego = int(np.argmin(v.s)) if self._ego is None else int(self._ego)
        if not 0 <= ego < len(v):
            raise ValueError(
                f"options['ego'] must be a vehicle index in 0..{len(v) - 1}, got {ego}"
            )
        x, y, heading = vehicle_poses(scene.road, v)
        other_class = class_from_path(self.config["other_vehicles_type"])
        if indexed:
            other_class = _lane_updated_by_road(other_class)
        self.controlled_vehicles = []
        for i in range(len(v)):
            position, yaw, speed = (
                [float(x[i]), float(-y[i])],
                float(-heading[i]),
                float(v.speed[i]),
            )
            if i == ego:
                vehicle = self.action_type.vehicle_class(self.road, position, yaw, speed)
                self.controlled_vehicles.append(vehicle)
            else:
                vehicle = other_class(self.road, position, yaw, speed)
                if hasattr(vehicle, "randomize_behavior"):
                    vehicle.randomize_behavior()
                vehicle.check_collisions = bool(self.config["traffic_collisions"])
            resize(vehicle, v.length[i], v.width[i])
            self.road.vehicles.append(vehicle)
        self.ego_index = ego
        if indexed:
            self.road.attach(built)
        self._start = start_report(scene, ego)
        start = float(v.s[ego])
        self._progress = (start, start, max(scene.road.length - start, 1.0))
        self._station_at = (self.time, start)
        self._step_progress = 0.0

    def feed(self, scenes: Sequence[Scene]) -> int:
        """Queue ``scenes`` for the next resets (before ``scenes``); returns the queue length.
        A vector environment reaches it with ``env_method("feed", scenes)``."""
        for i, scene in enumerate(scenes):
            if not isinstance(scene, Scene):
                raise TypeError(f"feed[{i}] must be a Scene, got {type(scene).__name__}")
        self.scene_feed.extend(scenes)
        return len(self.scene_feed)

    def station(self) -> float:
        """The ego's station along the scene's road (m), computed once per step."""
        if self._station_at[0] != self.time:
            s, _ = self.scene.road.cartesian_to_frenet(
                self.vehicle.position[0], -self.vehicle.position[1]
            )
            now = float(np.asarray(s).reshape(-1)[0])
            start, last, to_go = self._progress
            end = self.scene.road.length
            self._step_progress = (min(now, end) - min(last, end)) / to_go
            self._progress = (start, now, to_go)
            self._station_at = (self.time, now)
        return self._station_at[1]

    def _rewards(self, action: Any) -> dict[str, float]:
        rewards = super()._rewards(action)
        self.station()
        rewards["progress_reward"] = self._step_progress
        return rewards

    def _reward(self, action: Any) -> float:
        if not self.config["progress_reward"]:
            return super()._reward(action)
        return float(
            sum(
                self.config.get(name, 0.0) * value
                for name, value in self._rewards(action).items()
                if name != "on_road_reward"
            )
        )

    def _arrived(self) -> bool:
        return not self.vehicle.crashed and self.station() >= self.scene.road.length

    def _is_terminated(self) -> bool:
        return bool(super()._is_terminated() or self._arrived())

    def _info(self, obs: Any, action: Any = None) -> dict:
        info = super()._info(obs, action)
        info["scene"] = self.scene_id
        info["arrived"] = self._arrived()
        info["distance"] = self.station() - self._progress[0]
        info["drivable"] = self._start["drivable"]
        return info


def _indexed_road():
    from scenegym.bridges.traffic import IndexedRoad

    return IndexedRoad


_LANE_UPDATED: dict[type, type] = {}


def _skip_lane_search(vehicle) -> None:
    """After a step the road updates every vehicle's lane at once (``IndexedRoad.refresh``)."""


def _lane_updated_by_road(vehicle_class: type) -> type:
    """``vehicle_class`` without its own search over every lane after each step."""
    if vehicle_class not in _LANE_UPDATED:
        _LANE_UPDATED[vehicle_class] = type(
            f"Indexed{vehicle_class.__name__}",
            (vehicle_class,),
            {"on_state_update": _skip_lane_search},
        )
    return _LANE_UPDATED[vehicle_class]


def start_report(scene: Scene, ego: int) -> dict[str, Any]:
    """Whether a scene's start is drivable with ``ego`` as the ego vehicle, and why not
    (see ``DriveEnv``'s starting state)."""
    issues = [f"{violation.rule}: {violation.reason}" for violation in validate(scene)[:3]]
    needed = drac(scene)
    others = np.delete(np.arange(len(needed)), ego)
    hard = others[needed[others] > TRAFFIC_BRAKING]
    if hard.size:
        worst = int(hard[np.argmax(needed[hard])])
        issues.append(
            f"{hard.size} vehicle(s) must brake harder than {TRAFFIC_BRAKING:g} m/s² to avoid "
            f"the vehicle ahead (vehicle {worst}: {needed[worst]:.1f} m/s²)"
        )
    ahead = scene.road.length - float(scene.vehicles.s[ego])
    if ahead < ROAD_AHEAD:
        issues.append(
            f"the ego starts {ahead:.1f} m before the end of the road; an episode needs at "
            f"least {ROAD_AHEAD:g} m ahead"
        )
    if needed[ego] > EGO_BRAKING:
        issues.append(
            f"the ego must brake at {needed[ego]:.1f} m/s² to avoid the vehicle ahead, more "
            f"than its {EGO_BRAKING:g} m/s²"
        )
    return {"drivable": not issues, "start_issues": issues}
