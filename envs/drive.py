"""``scenegym/Drive-v0``: drive highway-env's ego vehicle through scenegym scenes.

The environment is highway-env's ``HighwayEnv`` (observation, actions, rewards and traffic
behaviour unchanged) whose road and traffic come from a ``Scene`` instead of highway-env's own
random straight road.
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
from scenegym.scene.scene import Scene, read_scenes
from scenegym.scene.vehicles import Vehicles

__all__ = ["DriveEnv"]


class DriveEnv(HighwayEnv):
    """Drive through generated or recorded scenes with highway-env's dynamics and rewards.

    ## Description
    Each episode starts *in* a scene: its road (lanes, curves, ramps) becomes a highway-env road
    network and its vehicles become highway-env traffic (``IDMVehicle`` by default) with their
    positions, headings, speeds and sizes. One vehicle of the scene is replaced by the
    controlled ego vehicle. Everything else is highway-env's ``highway-v0``.

    ## Action space
    highway-env's ``config["action"]`` (default ``DiscreteMetaAction``: 5 actions, lane left,
    idle, lane right, faster, slower, over target speeds 0, 5, ..., 35 m/s so that the ego can
    hold a queue's speed).

    ## Observation space
    highway-env's ``config["observation"]`` (default ``Kinematics``: 5 vehicles x 5 features
    presence, x, y, vx, vy, normalised, ego first).

    ## Rewards
    highway-env's ``HighwayEnv`` terms: ``collision_reward`` (-1), ``right_lane_reward`` (0.1),
    ``high_speed_reward`` (0.4, linear on ``reward_speed_range`` m/s), normalised to [0, 1] and
    multiplied by ``on_road_reward``; the terms are in ``info["rewards"]``.

    ## Starting state
    ``reset(options={"scene": scene})`` starts in that scene; ``reset()`` takes the next scene
    of the scene source (``scenes``) in order, cycling. The road is placed with its start at the
    origin heading along +x, so highway-env's forward-speed reward means what it says. The ego
    is the vehicle ``options["ego"]`` if given, else the rearmost vehicle.

    ## Episode end
    Terminated when the ego crashes or passes the end of the scene's road; truncated after
    ``config["duration"]`` seconds (40 by default).

    ## Arguments
    - ``scenes``: a list of ``Scene``s or a path to a scenes JSONL file (optional when every
      reset passes a scene).
    - ``config``: highway-env config overrides, as for any highway-env environment.
    - ``render_mode``: ``None`` or ``"rgb_array"``.

    ## Version history
    - v0: first version.
    """

    def __init__(
        self,
        *,
        scenes: Sequence[Scene] | str | os.PathLike | None = None,
        config: dict | None = None,
        render_mode: str | None = None,
    ) -> None:
        if isinstance(scenes, (str, os.PathLike)):
            scenes = read_scenes(scenes)
        self.scenes = list(scenes) if scenes is not None else []
        for i, scene in enumerate(self.scenes):
            if not isinstance(scene, Scene):
                raise TypeError(f"scenes[{i}] must be a Scene, got {type(scene).__name__}")
        self._next = 0
        self.scene: Scene | None = None
        self._ego: int | None = None
        # highway-env resets once while constructing, to define its spaces; that reset uses a
        # placeholder scene and leaves the scene source untouched.
        self._constructing = True
        super().__init__(config=config, render_mode=render_mode)
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
        if scene is None:
            if not self.scenes:
                raise ValueError(
                    "Drive-v0 has no scene to start from: pass scenes=... to gymnasium.make "
                    "or reset(options={'scene': scene})"
                )
            scene = self.scenes[self._next % len(self.scenes)]
            self._next += 1
        if not isinstance(scene, Scene):
            raise TypeError(f"options['scene'] must be a Scene, got {type(scene).__name__}")
        if len(scene.vehicles) == 0:
            raise ValueError("Drive-v0 needs a scene with at least one vehicle to control")
        placed = dataclasses.replace(scene.road, origin=(0.0, 0.0, 0.0))
        self.scene = scene.replace(road=placed)
        return super().reset(seed=seed, options=options or None)

    def _reset(self) -> None:
        scene = self.scene
        built = highway_network(scene.road)
        self.network_map = built
        self.road = HighwayRoad(
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
            resize(vehicle, v.length[i], v.width[i])
            self.road.vehicles.append(vehicle)
        self.ego_index = ego

    def _is_terminated(self) -> bool:
        if super()._is_terminated():
            return True
        s, _ = self.scene.road.cartesian_to_frenet(
            self.vehicle.position[0], -self.vehicle.position[1]
        )
        return bool(s >= self.scene.road.length)

    def _info(self, obs: Any, action: Any = None) -> dict:
        info = super()._info(obs, action)
        info["scene"] = self.scene.id if self.scene is not None else None
        return info
