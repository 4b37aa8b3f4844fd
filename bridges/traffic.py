"""highway-env classes specialised for fast, bumper-aware traffic on a scenegym road: the
vehicles and the road of the naturalistic reference's simulation. Importing this module
imports highway-env; ``scenegym.bridges.reference`` imports it when it simulates."""

from __future__ import annotations

import numpy as np
from highway_env.road.road import Road as HighwayRoad
from highway_env.vehicle.behavior import IDMVehicle

__all__ = ["IndexedRoad", "SizedIDMVehicle"]


class SizedIDMVehicle(IDMVehicle):
    """IDM with the jam gap measured bumper to bumper, so long vehicles keep it too.

    The lane is updated for all vehicles at once by ``IndexedRoad.refresh`` instead of
    by a search over every lane of the network after each vehicle's step.
    """

    jam_gap = 3.0

    def desired_gap(self, ego_vehicle, front_vehicle=None, projected=True):
        base = super().desired_gap(ego_vehicle, front_vehicle, projected)
        front_length = front_vehicle.LENGTH if front_vehicle is not None else 0.0
        return (
            base
            - self.DISTANCE_WANTED
            + getattr(ego_vehicle, "jam_gap", 3.0)
            + (ego_vehicle.LENGTH + front_length) / 2.0
        )

    def on_state_update(self) -> None:
        pass

    def step(self, dt: float) -> None:
        super().step(dt)
        # Explicit integration can overshoot a full stop; vehicles do not reverse.
        self.speed = max(self.speed, 0.0)


class IndexedRoad(HighwayRoad):
    """highway-env road whose neighbour search uses scenegym's Frenet frame.

    ``refresh`` projects every vehicle once per step; ``neighbour_vehicles`` then answers
    from per-lane sorted stations (a binary search instead of a scan of all vehicles),
    and sees leaders across section joints. A vehicle counts on a lane when its centre is
    within half the lane width plus 1 m of the lane centre, as highway-env's ``on_lane``.
    """

    def attach(self, built) -> None:
        self.built = built
        self.scenegym_road = built.road
        # A section without lanes (before the first lane starts or after the last one ends,
        # as on recorded roads) borrows the lanes of the nearest section that has some.
        has = [k for k, lanes in enumerate(built.lanes) if lanes]
        self.lane_section = [
            min(has, key=lambda h: (abs(h - k), -h)) if has else k for k in range(len(built.lanes))
        ]
        self.refresh()

    def refresh(self) -> None:
        road = self.scenegym_road
        vehicles = self.vehicles
        self.row = {id(vehicle): i for i, vehicle in enumerate(vehicles)}
        if vehicles:
            position = np.array([v.position for v in vehicles], dtype=np.float64)
            s, offset = road.cartesian_to_frenet(position[:, 0], -position[:, 1])
        else:
            s, offset = np.zeros(0), np.zeros(0)
        self.s, self.offset = s, offset
        clipped = np.clip(s, 0.0, road.length)
        self.lane = road.nearest_lane(s, offset)
        distance = np.abs(offset[None, :] - road.lane_centers[:, None])
        on_lane = distance <= road.lane_widths[:, None] / 2.0 + 1.0
        self.members = []
        for lane in range(road.lane_count):
            index = np.flatnonzero(on_lane[lane])
            order = index[np.argsort(s[index], kind="stable")]
            self.members.append((order, s[order]))
        # Lane index of each vehicle in highway-env terms: section by station, id by lane.
        built = self.built
        section = np.clip(
            np.searchsorted(built.stations, clipped, side="right") - 1, 0, len(built.lanes) - 1
        )
        for i, vehicle in enumerate(vehicles):
            section_i = self.lane_section[section[i]]
            lanes = built.lanes[section_i]
            if not lanes:  # a road without any lane: keep highway-env's own lane
                continue
            lane = int(self.lane[i])
            if lane not in lanes:
                lane = min(lanes, key=lambda k: abs(k - lane))
            index = (f"s{section_i}", f"s{section_i + 1}", lanes.index(lane))
            if vehicle.lane_index != index:
                vehicle.lane_index = index
                vehicle.lane = built.network.get_lane(index)

    def neighbour_vehicles(self, vehicle, lane_index=None):
        lane_index = lane_index or vehicle.lane_index
        if not lane_index:
            return None, None
        section = int(lane_index[0][1:])
        lane = self.built.lanes[section][lane_index[2]]
        row = self.row.get(id(vehicle))
        if row is None:
            return super().neighbour_vehicles(vehicle, lane_index)
        order, stations = self.members[lane]
        s = self.s[row]
        front = rear = None
        k = int(np.searchsorted(stations, s, side="left"))
        for j in range(k, len(order)):
            if order[j] != row:
                front = self.vehicles[order[j]]
                break
        for j in range(k - 1, -1, -1):
            if order[j] != row and stations[j] < s:
                rear = self.vehicles[order[j]]
                break
        return front, rear

    def step(self, dt: float) -> None:
        for vehicle in self.vehicles:
            vehicle.step(dt)
        self.refresh()
        # Collisions only between vehicles close enough to touch.
        n = len(self.vehicles)
        if n < 2:
            return
        position = np.array([v.position for v in self.vehicles])
        reach = np.array([v.diagonal / 2.0 + abs(v.speed) * dt for v in self.vehicles])
        i, j = np.triu_indices(n, k=1)
        close = np.sum((position[i] - position[j]) ** 2, axis=1) < (reach[i] + reach[j]) ** 2
        for a, b in zip(i[close], j[close]):
            self.vehicles[a].handle_collisions(self.vehicles[b], dt)
