"""Bridge between scenegym scenes and highway-env roads and vehicles, both ways.

highway-env draws in screen coordinates (y points down), so its lane 0 is the top lane and
higher lane ids lie to the right of the driving direction, as scenegym's do. The bridge mirrors
the y axis: a scenegym world point ``(x, y)`` with heading ``h`` is the highway-env point
``(x, -y)`` with heading ``-h``. Each stretch of road between segment joints and lane ends is
one highway-env edge ``("s{i}", "s{i+1}")`` holding the lanes that exist there, left to right;
straight segments become ``StraightLane``s and arcs ``CircularLane``s.

highway-env caches a vehicle's ``diagonal`` from its ``LENGTH`` and ``WIDTH`` when the vehicle is
created; ``resize`` sets all three so collision checks use the real size.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scenegym.scene.geometry import vehicle_poses
from scenegym.scene.road import Road
from scenegym.scene.scene import Scene
from scenegym.scene.vehicles import Vehicles, kind_code

__all__ = [
    "HighwayNetwork",
    "from_highway",
    "highway_network",
    "resize",
    "to_highway",
    "vehicles_from_highway",
]


def _highway_env():
    try:
        import highway_env  # noqa: F401
        from highway_env.road import lane as lane_module
        from highway_env.road import road as road_module
    except ImportError as error:  # pragma: no cover - highway-env is a dependency
        raise ImportError(
            f"the highway-env bridge needs highway-env ({error}); "
            "install it with: pip install highway-env"
        ) from None
    return lane_module, road_module


@dataclass(kw_only=True)
class HighwayNetwork:
    """A highway-env ``RoadNetwork`` built from a scenegym ``Road``, with the index maps.

    Attributes:
        network: the highway-env road network.
        road: the scenegym road it was built from.
        stations: ``(n_sections + 1,)`` section boundaries along the reference line (m).
        lanes: per section, the scenegym lane index of each highway-env lane id.
    """

    network: Any
    road: Road
    stations: NDArray[np.float64]
    lanes: list[list[int]]

    def lane_index(self, lane: int, s: float) -> tuple[str, str, int]:
        """The highway-env lane index of scenegym lane ``lane`` at station ``s`` (m)."""
        section = int(
            np.clip(np.searchsorted(self.stations, s, side="right") - 1, 0, len(self.lanes) - 1)
        )
        if lane not in self.lanes[section]:
            raise ValueError(f"lane {lane} does not exist at s={s:.1f} m")
        return f"s{section}", f"s{section + 1}", self.lanes[section].index(lane)


def _mirror(x, y):
    return np.asarray(x, dtype=np.float64), -np.asarray(y, dtype=np.float64)


def highway_network(road: Road, *, splits: tuple[float, ...] = ()) -> HighwayNetwork:
    """Build the highway-env road network of ``road`` (see the module notes).

    ``splits`` adds section boundaries at these stations (m), for instance where a stretch
    with its own speed limit begins.
    """
    lane_module, road_module = _highway_env()
    line = lane_module.LineType
    joints = np.concatenate(
        [road.segment_starts, road.lane_starts, road.lane_ends, [road.length], list(splits)]
    )
    stations = np.unique(np.clip(np.round(joints, 9), 0.0, road.length))
    network = road_module.RoadNetwork()
    lanes_per_section: list[list[int]] = []
    for i, (a, b) in enumerate(itertools.pairwise(stations)):
        mid = (a + b) / 2.0
        present = [int(k) for k in np.flatnonzero(road.lanes_at([mid])[:, 0])]
        lanes_per_section.append(present)
        segment = int(np.searchsorted(road.segment_starts, mid, side="right") - 1)
        curvature = float(road.segment_curvatures[segment])
        for order, lane in enumerate(present):
            centre = road.lane_centers[lane]
            left = line.CONTINUOUS_LINE if order == 0 else line.STRIPED
            right = line.CONTINUOUS_LINE if order == len(present) - 1 else line.STRIPED
            kwargs = {
                "width": float(road.lane_widths[lane]),
                "line_types": [left, right],
                "speed_limit": road.speed_limit,
            }
            xs, ys, _ = road.frenet_to_cartesian([a, b], [centre, centre])
            hx, hy = _mirror(xs, ys)
            if abs(curvature) < 1e-9:
                lane_object = lane_module.StraightLane((hx[0], hy[0]), (hx[1], hy[1]), **kwargs)
            else:
                # Circle centre of the segment, then phases in the mirrored frame.
                x0, y0, h0 = road.segment_poses[segment]
                cx, cy = x0 - np.sin(h0) / curvature, y0 + np.cos(h0) / curvature
                hcx, hcy = float(cx), float(-cy)
                radius = abs(1.0 / curvature - centre)
                clockwise = curvature < 0.0  # a left turn here is clockwise on screen
                direction = 1.0 if clockwise else -1.0
                start_phase = float(np.arctan2(hy[0] - hcy, hx[0] - hcx))
                sweep = abs(curvature) * (b - a)
                lane_object = lane_module.CircularLane(
                    (hcx, hcy),
                    radius,
                    start_phase,
                    start_phase + direction * sweep,
                    clockwise=clockwise,
                    **kwargs,
                )
            network.add_lane(f"s{i}", f"s{i + 1}", lane_object)
    return HighwayNetwork(network=network, road=road, stations=stations, lanes=lanes_per_section)


def resize(vehicle: Any, length: float, width: float) -> None:
    """Give a highway-env vehicle a footprint of ``length`` x ``width`` m, diagonal included."""
    vehicle.LENGTH = float(length)
    vehicle.WIDTH = float(width)
    vehicle.diagonal = float(np.hypot(length, width))


def to_highway(
    scene: Scene, *, vehicle_class: Any = None, np_random: np.random.RandomState | None = None
) -> tuple[Any, HighwayNetwork, list[Any]]:
    """A highway-env ``Road`` holding the scene's vehicles (in scene order).

    Args:
        scene: the scene.
        vehicle_class: highway-env vehicle class to create (default ``Vehicle``: kinematic,
            no behaviour; pass ``IDMVehicle`` for traffic that drives by itself).
        np_random: the random state highway-env's behaviour models draw from.

    Returns:
        The highway-env road, the network map, and the created vehicles.
    """
    _, road_module = _highway_env()
    from highway_env.vehicle.kinematics import Vehicle

    vehicle_class = Vehicle if vehicle_class is None else vehicle_class
    built = highway_network(scene.road)
    highway_road = road_module.Road(
        network=built.network,
        np_random=np_random if np_random is not None else np.random.RandomState(0),
        record_history=False,
    )
    v = scene.vehicles
    x, y, heading = vehicle_poses(scene.road, v)
    hx, hy = _mirror(x, y)
    created = []
    for i in range(len(v)):
        vehicle = vehicle_class(highway_road, [hx[i], hy[i]], float(-heading[i]), float(v.speed[i]))
        resize(vehicle, v.length[i], v.width[i])
        vehicle.scenegym_kind = int(v.kind[i])
        highway_road.vehicles.append(vehicle)
        created.append(vehicle)
    return highway_road, built, created


def vehicles_from_highway(road: Road, highway_vehicles: list[Any]) -> Vehicles:
    """scenegym ``Vehicles`` of highway-env vehicles on a network built from ``road``.

    Positions go through the Frenet projection of ``road``; a vehicle's lane is the lane
    that exists at its station and contains its centre (the nearest such lane when the
    centre is between lanes). Kinds come from ``scenegym_kind`` when a vehicle has one,
    else from its length (over 7 m: truck).
    """
    n = len(highway_vehicles)
    if n == 0:
        return Vehicles.empty()
    position = np.array([vehicle.position for vehicle in highway_vehicles], dtype=np.float64)
    yaw = -np.array([vehicle.heading for vehicle in highway_vehicles], dtype=np.float64)
    x, y = position[:, 0], -position[:, 1]
    s, offset = road.cartesian_to_frenet(x, y)
    _, _, reference_heading = road.reference_pose(s)
    lane = road.nearest_lane(s, offset)
    length = np.array([vehicle.LENGTH for vehicle in highway_vehicles], dtype=np.float64)
    width = np.array([vehicle.WIDTH for vehicle in highway_vehicles], dtype=np.float64)
    truck = kind_code("truck")
    kind = np.array(
        [
            getattr(vehicle, "scenegym_kind", truck if vehicle.LENGTH > 7.0 else 0)
            for vehicle in highway_vehicles
        ]
    )
    heading = (yaw - reference_heading + np.pi) % (2 * np.pi) - np.pi
    return Vehicles(
        lane=lane,
        s=s,
        d=offset - road.lane_centers[lane],
        heading=heading,
        speed=np.array([vehicle.speed for vehicle in highway_vehicles], dtype=np.float64),
        length=length,
        width=width,
        kind=kind,
    )


def from_highway(road: Road, highway_road: Any, context: dict | None = None) -> Scene:
    """The scene of every vehicle on a highway-env road built from ``road``."""
    return Scene(
        road, vehicles_from_highway(road, list(highway_road.vehicles)), context=context or {}
    )
