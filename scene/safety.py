"""How hard drivers must brake: the deceleration rate to avoid a crash (DRAC).

For a follower closing on the vehicle ahead of it in its lane (``leader_follower_gaps``), the
DRAC is the constant deceleration that matches the leader's speed exactly at the leader's rear
bumper, ``(v_follower - v_leader)**2 / (2 * gap)`` (m/s²); it is 0 for a follower that is not
closing (or has no leader), and infinite when the footprints already touch or overlap.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from scenegym.scene.batch import SceneBatch
from scenegym.scene.scene import Scene

__all__ = ["drac"]


def drac(scene: Scene) -> NDArray[np.float64]:
    """Per vehicle, the deceleration (m/s²) it needs to avoid hitting the vehicle ahead.

    >>> from scenegym.scene import Road, Scene, Vehicles
    >>> road = Road.straight(length=300.0, lanes=1)
    >>> cars = Vehicles.from_columns(lane=[0, 0], s=[100.0, 124.5], speed=[30.0, 20.0])
    >>> drac(Scene(road, cars)).tolist()  # 10 m/s closing over a 20 m gap
    [2.5, 0.0]
    """
    follower, leader, gap = SceneBatch.of([scene]).leader_follower()
    needed = np.zeros(len(scene.vehicles))
    closing = np.maximum(scene.vehicles.speed[follower] - scene.vehicles.speed[leader], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(gap > 0.0, closing**2 / (2.0 * gap), np.inf)
    needed[follower] = rate
    return needed
