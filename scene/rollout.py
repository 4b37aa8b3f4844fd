"""Rolling scenes forward: every vehicle driven by IDM and MOBIL as highway-env drives its
``IDMVehicle``, for all vehicles of many scenes at once in numpy.

The model (``DriverModel``, highway-env's parameters by default) is highway-env's:

- **following** (IDM): ``a = a_max (1 - (v / v0)^delta) - a_max (s* / d)^2`` with the
  desired gap ``s* = d0 + v T + v dv / (2 sqrt(a_max b))``, where ``d`` is the distance
  between the centres along the vehicle's lane, ``dv`` the closing speed along its heading
  and ``v0`` its speed at the start (its target speed) capped at the road's limit; while it
  changes lane, the smaller of the accelerations behind the leaders of both lanes; clipped
  to ``acc_max``;
- **lane changes** (MOBIL): once every ``lane_change_delay`` s (each vehicle's clock starts
  at a phase set by its position, as highway-env's), a vehicle faster than 1 m/s moves to a
  neighbouring lane when the new follower would brake less than ``max_braking_imposed`` and
  its own gain (plus ``politeness`` times its followers') is at least ``min_acc_gain``; a
  change is dropped when another vehicle is already changing into the same lane within its
  desired gap; and, as in highway-env, no change is decided in the last 2.5 m before a
  joint of the road's sections (segment joints, lane starts and ends), where highway-env's
  vehicle already aims at the next section's lane;
- **steering**: highway-env's lateral and heading controllers toward the target lane's
  centre (time constants 0.6 s lateral, 0.2 s heading, pursuit 0.1 s ahead), then its
  kinematic bicycle; a crashed vehicle brakes with ``-v`` and stops steering;
- **neighbours**: a vehicle counts on a lane when its centre lies within half the lane's
  width plus 1 m of the lane centre and at most 5 m before the lane's start or past its end
  (so a leader that has driven off the road is no longer followed), and a vehicle sees the
  others on its section of the road and the sections before and after it (as highway-env
  with ``neighbour_vehicles_connected_lanes``, whose search across section joints pairs
  lanes by position and so goes wrong where lanes begin or end);
- **collisions**: oriented footprints tested after every step, a pair colliding when the
  footprints intersect, or one step after they would have intersected within a step at
  their speeds (highway-env's swept test and its delayed impact). highway-env then pushes
  the pair apart; the rollout does not, so pile-ups after a first collision can differ.

Vehicles are integrated in the road's Frenet frame (station, lateral offset, heading relative
to the reference line), so curves are followed exactly; highway-env integrates the same
equations in world coordinates. A road is extended past its ends by its first and last
segments, and a vehicle whose lane ends keeps driving along it. ``roll_out`` returns every
vehicle's state at every step (``Rollout``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from scenegym.scene.batch import SceneBatch, overlapping_frames
from scenegym.scene.geometry import box_frames
from scenegym.scene.scene import Scene
from scenegym.scene.vehicles import Vehicles

__all__ = ["DriverModel", "Rollout", "roll_out"]

TAU_LATERAL = 0.6
"""Time constant (s) of highway-env's lateral position controller."""
TAU_HEADING = 0.2
"""Time constant (s) of highway-env's heading controller."""
TAU_PURSUIT = 0.5 * TAU_HEADING
"""How far ahead (s of travel) the target lane's heading is read."""
MAX_STEERING = np.pi / 3.0
"""Largest steering angle (rad)."""
LANE_MARGIN = 1.0
"""A vehicle is on a lane when its centre is within half the lane width plus this (m)..."""
LANE_REACH = 5.0
"""... and its station at most this far (m) before the lane's start or past its end."""


@dataclass(frozen=True, kw_only=True)
class DriverModel:
    """IDM and MOBIL parameters; the defaults are highway-env's ``IDMVehicle``'s.

    ``bumper_gap`` (m), when set, measures IDM's jam distance bumper to bumper instead of
    ``distance_wanted`` between centres (scenegym's naturalistic reference traffic: 3 m),
    and a vehicle never reverses.
    """

    acc_max: float = 6.0  # m/s², hardest braking or acceleration
    comfort_acc_max: float = 3.0  # m/s², IDM's a
    comfort_acc_min: float = -5.0  # m/s², minus IDM's b
    distance_wanted: float = 10.0  # m between centres: 5 m plus a 5 m car
    time_wanted: float = 1.5  # s
    delta: float = 4.0
    politeness: float = 0.0
    min_acc_gain: float = 0.2  # m/s²
    max_braking_imposed: float = 2.0  # m/s²
    lane_change_delay: float = 1.0  # s
    max_speed: float = 40.0  # m/s
    lane_changes: bool = True
    bumper_gap: float | None = None  # m


@dataclass(frozen=True, kw_only=True)
class Rollout:
    """Every vehicle of a batch of scenes at every step of a rollout.

    Attributes:
        scenes: the scenes rolled out (empty for a rollout of a bare ``SceneBatch``).
        dt: the step (s).
        scene_of: ``(n,)`` the scene of each (flat) vehicle, in scene order.
        s, offset, heading, speed: ``(steps + 1, n)`` station (m), lateral offset from the
            reference line (m, positive left), heading relative to the reference line (rad)
            and speed (m/s); row 0 is the scenes as given.
        lane: ``(steps + 1, n)`` the lane each vehicle is on (its centre's nearest).
        crash_step: ``(n,)`` the first step after which the vehicle had collided (-1: never).
        collisions: ``(m, 3)`` flat vehicle pairs ``a < b`` and the step of their first
            collision.
    """

    scenes: tuple[Scene, ...]
    dt: float
    scene_of: NDArray[np.int64]
    s: NDArray[np.float64]
    offset: NDArray[np.float64]
    heading: NDArray[np.float64]
    speed: NDArray[np.float64]
    lane: NDArray[np.int64]
    crash_step: NDArray[np.int64]
    collisions: NDArray[np.int64]
    batch: SceneBatch = field(repr=False)

    @property
    def steps(self) -> int:
        """Steps simulated."""
        return self.s.shape[0] - 1

    def scene_at(self, step: int) -> list[Scene]:
        """The scenes as they stand after ``step`` steps (vehicles keep their order); for a
        rollout of ``Scene`` objects, not of a bare ``SceneBatch``."""
        if len(self.scenes) != self.batch.count:
            raise ValueError("scene_at needs the rollout of Scene objects, not of a SceneBatch")
        b = self.batch
        lane = self.lane[step]
        d = self.offset[step] - b.roads.lane_centre[b.road, lane]
        scenes = []
        for k, scene in enumerate(self.scenes):
            at = slice(b.first[k], b.first[k] + b.sizes[k])
            vehicles = Vehicles(
                lane=lane[at],
                s=self.s[step, at],
                d=d[at],
                heading=self.heading[step, at],
                speed=self.speed[step, at],
                length=b.length[at],
                width=b.width[at],
                kind=b.kind[at],
            )
            scenes.append(scene.replace(vehicles=vehicles))
        return scenes

    def world(self, step: int) -> tuple[NDArray, NDArray, NDArray]:
        """World position (m) and heading (rad) of every vehicle after ``step`` steps."""
        b = self.batch
        pose = _world_pose(b.roads, b.road, self.s[step], self.offset[step], self.heading[step])
        return pose[:3]


def roll_out(
    scenes: Sequence[Scene] | SceneBatch,
    *,
    horizon: float = 5.0,
    frequency: float = 15.0,
    model: DriverModel | None = None,
) -> Rollout:
    """Drive every vehicle of ``scenes`` (or of a ``SceneBatch``) for ``horizon`` s at
    ``frequency`` steps per second (highway-env's simulation frequency, 15 Hz by default;
    see the module notes).

    >>> from scenegym.scene import Road, Scene, Vehicles
    >>> road = Road.straight(length=400.0, lanes=1)
    >>> cars = Vehicles.from_columns(lane=[0, 0], s=[100.0, 120.0], speed=[30.0, 10.0])
    >>> rollout = roll_out([Scene(road, cars)], horizon=3.0)
    >>> bool(rollout.crash_step[0] >= 0)  # 20 m at a closing speed of 20 m/s: too late
    True
    """
    if not 0.0 < horizon <= 120.0:
        raise ValueError(f"horizon must be above 0 and at most 120 s, got {horizon}")
    if not 1.0 <= frequency <= 100.0:
        raise ValueError(f"frequency must be from 1 to 100 steps per second, got {frequency}")
    if isinstance(scenes, SceneBatch):
        batch, scenes = scenes, ()
    else:
        scenes = tuple(scenes)
        batch = SceneBatch.of(list(scenes))
    traffic = _Traffic(batch, model=model or DriverModel(), dt=1.0 / frequency)
    steps = round(horizon * frequency)
    record = {name: [getattr(traffic, name).copy()] for name in _RECORDED}
    for step in range(1, steps + 1):
        traffic.act()
        traffic.step(step)
        for name in _RECORDED:
            record[name].append(getattr(traffic, name).copy())
    pairs = np.array(
        [(a, b, step) for (a, b), step in traffic.collisions.items()], dtype=np.int64
    ).reshape(-1, 3)
    return Rollout(
        scenes=scenes,
        dt=traffic.dt,
        scene_of=traffic.batch.scene_of,
        crash_step=traffic.crash_step,
        collisions=pairs,
        batch=traffic.batch,
        **{name: np.array(values) for name, values in record.items()},
    )


_RECORDED = ("s", "offset", "heading", "speed", "lane")


def _pairs_within(group: NDArray[np.int64]) -> tuple[NDArray, NDArray]:
    """Every ordered pair ``(i, j)``, ``i != j``, of positions with equal ``group``."""
    order = np.argsort(group, kind="stable")
    _, start, count = np.unique(group[order], return_index=True, return_counts=True)
    size = np.repeat(count, count)  # each member's group size
    first = np.repeat(start, count)  # each member's group start (in sorted order)
    i = np.repeat(np.arange(order.size), size)
    j = first[i] + (np.arange(i.size) - np.repeat(np.cumsum(size) - size, size))
    keep = i != j
    return order[i[keep]], order[j[keep]]


def _world_pose(roads, road: NDArray, s: NDArray, offset: NDArray, heading: NDArray):
    """World ``x``, ``y`` (m) and heading (rad) of vehicles at stations ``s`` and offsets
    ``offset`` from the reference line of ``road`` (a ``RoadBatch``'s), with ``heading``
    relative to it; and the reference line's own heading there."""
    xr, yr, h = roads.reference(road, s)
    return xr - offset * np.sin(h), yr + offset * np.cos(h), h + heading, h


def _not_zero(x: NDArray[np.float64], eps: float = 1e-2) -> NDArray[np.float64]:
    """highway-env's ``not_zero``: ``x`` pushed away from 0 to at least ``eps``."""
    return np.where(np.abs(x) > eps, x, np.where(x >= 0, eps, -eps))


class _Traffic:
    """The state of every vehicle and one step of the model (see the module notes)."""

    def __init__(self, batch: SceneBatch, *, model: DriverModel, dt: float) -> None:
        self.batch = batch
        self.model, self.dt = model, dt
        self.roads, self.road, self.scene_of = batch.roads, batch.road, batch.scene_of
        self.length, self.width = batch.length, batch.width
        self.lanes = self.roads.lane_start.shape[1]
        lane = batch.clipped_lane()
        self.s = batch.s.astype(np.float64)  # astype copies
        self.offset = self.roads.lane_centre[self.road, lane] + batch.d
        self.heading = batch.heading.astype(np.float64)
        self.speed = batch.speed.astype(np.float64)
        # highway-env's target speed: the speed at creation, capped at the lane's limit.
        limit = self.roads.speed_limit[self.road]
        self.target_speed = np.clip(self.speed, 0.0, limit)
        # Section joints of every road (highway-env's edges), +inf padded.
        roads = self.roads
        inner = np.concatenate([roads.segment_start, roads.lane_start, roads.lane_end], axis=1)
        inside = (inner > 0.0) & (inner < roads.length[:, None])
        self.joints = np.sort(np.where(inside, inner, np.inf), axis=1)
        self._settle()
        self.target = self.lane.copy()
        # highway-env's first phase: (sum of the position, y pointing down) * pi, modulo.
        self.timer = ((self.x + (-self.y)) * np.pi) % model.lane_change_delay
        self.crash_step = np.full(self.s.size, -1, dtype=np.int64)
        self.collisions: dict[tuple[int, int], int] = {}  # pair: step of its first collision
        self.pending = np.zeros((0, 2), dtype=np.int64)  # pairs that collide in the next step
        self.steering = np.zeros(self.s.size)
        self.acceleration = np.zeros(self.s.size)

    # ---------------------------------------------------------------- geometry
    def _settle(self) -> None:
        """What the current state implies, once per state (as highway-env updates a
        vehicle's lane after it moves): world poses, each vehicle's lane and its section of
        the road."""
        pose = _world_pose(self.roads, self.road, self.s, self.offset, self.heading)
        self.x, self.y, self.world_heading, self.reference_heading = pose
        self.lane = self.nearest_lane()
        self.section = (self.joints[self.road] <= self.s[:, None]).sum(axis=1)

    def _existing(self, reach: float | None = None) -> NDArray[np.bool_]:
        """``(n, lanes)``: the lanes that exist at each vehicle's station (clipped to the road),
        or with ``reach``, that exist within ``reach`` m of it."""
        if reach is None:
            clipped = np.clip(self.s, 0.0, self.roads.length[self.road])
            return self.roads.lanes_at(self.road, clipped)
        s = self.s[:, None]
        road = self.road
        return (s >= self.roads.lane_start[road] - reach) & (s < self.roads.lane_end[road] + reach)

    def nearest_lane(self) -> NDArray[np.int64]:
        """Each vehicle's lane: the existing lane whose centre is nearest its own."""
        distance = np.abs(self.offset[:, None] - self.roads.lane_centre[self.road])
        return np.argmin(np.where(self._existing(), distance, np.inf), axis=1)

    def _arc(self, lane: NDArray, who: NDArray) -> NDArray[np.float64]:
        """Distance (m) along ``lane`` from station 0 to vehicles ``who`` (from the table
        ``_measure`` makes at each step)."""
        return self.arcs[who, lane]

    def _measure(self) -> None:
        """This step's tables: every vehicle's distance along every lane of its road and the
        stations it sees others between."""
        n, lanes = self.s.size, self.lanes
        road, s = np.repeat(self.road, lanes), np.repeat(self.s, lanes)
        lane = np.tile(np.arange(lanes), n)
        lane = np.minimum(lane, self.roads.lane_count[road] - 1)  # padded lanes: any real one
        self.arcs = self.roads.lane_arc(road, lane, s).reshape(n, lanes)
        self.low, self.high = self._sight(np.arange(n))

    def _index_lanes(self) -> None:
        """Sort the vehicles on each lane (see ``LANE_MARGIN``) by their distance along it."""
        centre, width = self.roads.lane_centre[self.road], self.roads.lane_width[self.road]
        on = self._existing(LANE_REACH) & (
            np.abs(self.offset[:, None] - centre) <= width / 2.0 + LANE_MARGIN
        )
        who, lane = np.nonzero(on)
        arc = self._arc(lane, who)
        self.span = 2.0 * float(np.max(np.abs(arc), initial=0.0)) + 10.0
        group = self.scene_of[who] * self.lanes + lane
        key = group * self.span + arc + self.span / 2.0
        order = np.argsort(key, kind="stable")
        self.member_key, self.member, self.member_group = key[order], who[order], group[order]

    def neighbours(self, who: NDArray, lane: NDArray) -> tuple[NDArray, NDArray]:
        """The nearest vehicle ahead (at the same distance or more) and behind vehicles
        ``who`` when projected on ``lane``, the vehicles themselves left out; -1 for none."""
        group = self.scene_of[who] * self.lanes + lane
        key = group * self.span + self._arc(lane, who) + self.span / 2.0
        keys, members, groups = self.member_key, self.member, self.member_group
        count = keys.size
        if count == 0:  # every vehicle has left its road
            none = np.full(who.size, -1)
            return none, none.copy()
        at = np.searchsorted(keys, key, side="left")
        own = (at < count) & (members[np.minimum(at, count - 1)] == who)
        ahead = at + own
        found = ahead < count
        front = np.where(found, members[np.minimum(ahead, count - 1)], -1)
        front = np.where(found & (groups[np.minimum(ahead, count - 1)] == group), front, -1)
        behind = at - 1
        rear = np.where(behind >= 0, members[np.maximum(behind, 0)], -1)
        rear = np.where((behind >= 0) & (groups[np.maximum(behind, 0)] == group), rear, -1)
        low, high = self.low[who], self.high[who]
        front = np.where((front >= 0) & (self.s[np.maximum(front, 0)] < high), front, -1)
        rear = np.where((rear >= 0) & (self.s[np.maximum(rear, 0)] >= low), rear, -1)
        return front, rear

    def _sight(self, who: NDArray) -> tuple[NDArray, NDArray]:
        """The stations (m) vehicles ``who`` see other vehicles between: their section of the
        road and the one before and after it, each with ``LANE_REACH`` (highway-env's search
        of connected lanes)."""
        joints = self.joints[self.road[who]]
        length = self.roads.length[self.road[who]]
        ends = np.zeros((who.size, 1)), joints, np.full((who.size, 1), np.inf)
        bounds = np.concatenate(ends, axis=1)
        bounds = np.minimum(bounds, length[:, None])  # 0, inner joints, the road's end
        section = self.section[who]
        last = (np.isfinite(joints) & (joints < length[:, None])).sum(axis=1)
        rows = np.arange(who.size)
        low = bounds[rows, np.maximum(section - 1, 0)] - LANE_REACH
        high = bounds[rows, np.minimum(section + 2, last + 1)] + LANE_REACH
        return low, high

    # ---------------------------------------------------------------- behaviour
    def idm(self, ego: NDArray, front: NDArray) -> NDArray[np.float64]:
        """IDM acceleration (m/s²) of vehicles ``ego`` behind ``front`` (-1: no vehicle; no
        ego accelerates 0), distances measured along the ego's own lane."""
        m = self.model
        has_ego, has_front = ego >= 0, (ego >= 0) & (front >= 0)
        e, f = np.maximum(ego, 0), np.maximum(front, 0)
        v = self.speed[e]
        free = (np.maximum(v, 0.0) / np.abs(_not_zero(self.target_speed[e]))) ** m.delta
        acceleration = m.comfort_acc_max * (1.0 - free)
        lane = self.lane[e]
        distance = self._arc(lane, f) - self._arc(lane, e)
        wanted = self.idm_gap(e, f)
        interaction = m.comfort_acc_max * (wanted / _not_zero(distance)) ** 2
        acceleration = acceleration - np.where(has_front, interaction, 0.0)
        return np.where(has_ego, acceleration, 0.0)

    def _keep_or_drop_changes(self, before: NDArray, old: NDArray) -> None:
        """Drop the lane change of a vehicle of ``before`` (changing lanes at the start of
        the step, to the targets ``old``) when another vehicle changes into the same lane
        of the same section ahead of it within its desired gap. highway-env's vehicles act
        one after another, so a vehicle sees the targets the vehicles before it chose in
        this step and the others' from the last."""
        starting = np.flatnonzero((self.target != old) & (self.crash_step < 0))
        candidates = np.union1d(before, starting)
        i, j = _pairs_within(self.scene_of[candidates])
        a, b = candidates[i], candidates[j]
        keep = np.isin(a, before)
        a, b = a[keep], b[keep]
        seen = np.where(b < a, self.target[b], old[b])
        # highway-env compares lane indices, which name a section of the road too.
        same = (seen == old[a]) & (self.lane[b] != old[a]) & (self.section[a] == self.section[b])
        a, b = a[same], b[same]
        if a.size == 0:
            return
        gap = self._arc(self.lane[a], b) - self._arc(self.lane[a], a)
        drop = np.unique(a[(gap > 0) & (gap < self.idm_gap(a, b))])
        self.target[drop] = self.lane[drop]

    def idm_gap(self, ego: NDArray, front: NDArray) -> NDArray[np.float64]:
        """IDM's desired distance (m, the quantity ``d`` is compared with) of ``ego`` behind
        ``front``."""
        m = self.model
        v = self.speed[ego]
        world = self.world_heading
        closing = v - self.speed[front] * np.cos(world[front] - world[ego])
        ab = -m.comfort_acc_max * m.comfort_acc_min
        wanted = v * m.time_wanted + v * closing / (2.0 * np.sqrt(ab))
        if m.bumper_gap is None:
            return wanted + m.distance_wanted
        return wanted + m.bumper_gap + (self.length[ego] + self.length[front]) / 2.0

    def _mobil(self, who: NDArray, lane: NDArray, front: NDArray, rear: NDArray) -> NDArray:
        """Does MOBIL send vehicles ``who`` to ``lane``? ``front``/``rear``: their neighbours
        on their own lanes."""
        m = self.model
        new_front, new_rear = self.neighbours(who, lane)
        egos = np.concatenate([new_rear, new_rear, who, who, rear, rear])
        fronts = np.concatenate([new_front, who, new_front, front, front, who])
        values = self.idm(egos, fronts).reshape(6, who.size)
        new_rear_now, new_rear_then, mine_then, mine_now, old_rear_then, old_rear_now = values
        safe = new_rear_then >= -m.max_braking_imposed
        others = new_rear_then - new_rear_now + old_rear_then - old_rear_now
        return safe & (mine_then - mine_now + m.politeness * others >= m.min_acc_gain)

    def _change_lanes(self, front: NDArray, rear: NDArray) -> None:
        m = self.model
        old = self.target.copy()
        before = np.flatnonzero((self.lane != old) & (self.crash_step < 0))
        free = (self.lane == self.target) & (self.crash_step < 0) & ~self._before_joint()
        due = np.flatnonzero(free & (self.timer > m.lane_change_delay))
        self.timer[due] = 0.0
        due = due[np.abs(self.speed[due]) >= 1.0]
        existing = self._existing()
        for side in (-1, 1):  # the right lane wins when both are better, as in highway-env
            lane = self.lane[due] + side
            inside = (lane >= 0) & (lane < self.roads.lane_count[self.road[due]])
            who, lane = due[inside], lane[inside]
            exists = existing[who, lane]
            reach = np.abs(self.offset[who] - self.roads.lane_centre[self.road[who], lane])
            near = exists & (reach <= 2.0 * self.roads.lane_width[self.road[who], lane])
            who, lane = who[near], lane[near]
            if who.size:
                go = self._mobil(who, lane, front[who], rear[who])
                self.target[who[go]] = lane[go]
        if before.size:
            self._keep_or_drop_changes(before, old)

    def _before_joint(self) -> NDArray[np.bool_]:
        """Vehicles in the last 2.5 m (along their lane) before a section joint."""
        joints = self.joints[self.road]
        ahead = np.where(joints > self.s[:, None], joints, np.inf).min(axis=1)
        centre = self.roads.lane_centre[self.road, self.lane]
        scale = 1.0 - self.roads.curvature(self.road, self.s) * centre
        return (ahead - self.s) * scale <= LANE_REACH / 2.0

    def _steer(self) -> NDArray[np.float64]:
        """highway-env's steering toward the centre of each vehicle's target lane."""
        road, target, v = self.road, self.target, self.speed
        speed = _not_zero(v)
        lateral = self.offset - self.roads.lane_centre[road, target]
        centre = self.roads.lane_centre[road, target]
        scale = 1.0 - self.roads.curvature(road, self.s) * centre
        ahead = self.s + v * TAU_PURSUIT / np.where(np.abs(scale) > 1e-6, scale, 1e-6)
        _, _, heading_ahead = self.roads.reference(road, ahead)
        command = np.arcsin(np.clip(-lateral / TAU_LATERAL / speed, -1.0, 1.0))
        wanted = heading_ahead + np.clip(command, -np.pi / 4.0, np.pi / 4.0)
        error = (wanted - self.world_heading + np.pi) % (2 * np.pi) - np.pi
        rate = error / TAU_HEADING
        slip = np.arcsin(np.clip(self.length / 2.0 / speed * rate, -1.0, 1.0))
        return np.clip(np.arctan(2.0 * np.tan(slip)), -MAX_STEERING, MAX_STEERING)

    def act(self) -> None:
        """Every vehicle decides its lane, acceleration and steering on the current state."""
        m = self.model
        self._measure()
        self._index_lanes()
        everyone = np.arange(self.s.size)
        front, rear = self.neighbours(everyone, self.lane)
        if m.lane_changes:
            self._change_lanes(front, rear)
        acceleration = self.idm(everyone, front)
        changing = np.flatnonzero(self.lane != self.target)
        if changing.size:
            target_front, _ = self.neighbours(changing, self.target[changing])
            acceleration[changing] = np.minimum(
                acceleration[changing], self.idm(changing, target_front)
            )
        acceleration = np.clip(acceleration, -m.acc_max, m.acc_max)
        steering = self._steer()
        crashed = self.crash_step >= 0
        steering[crashed] = 0.0
        acceleration[crashed] = -self.speed[crashed]
        fast = self.speed > m.max_speed
        acceleration[fast] = np.minimum(acceleration[fast], m.max_speed - self.speed[fast])
        self.steering, self.acceleration = steering, acceleration

    # ---------------------------------------------------------------- dynamics
    def step(self, number: int) -> None:
        """Move every vehicle one step (highway-env's kinematic bicycle), then find the
        collisions; ``number`` is the step's number (from 1)."""
        dt, v = self.dt, self.speed
        self.timer += dt
        slip = np.arctan(0.5 * np.tan(self.steering))
        curvature = self.roads.curvature(self.road, self.s)
        along = v * np.cos(self.heading + slip)
        ds = along / (1.0 - curvature * self.offset)
        self.s = self.s + ds * dt
        self.offset = self.offset + v * np.sin(self.heading + slip) * dt
        self.heading = self.heading + (v * np.sin(slip) / (self.length / 2.0) - curvature * ds) * dt
        self.speed = v + self.acceleration * dt
        if self.model.bumper_gap is not None:
            self.speed = np.maximum(self.speed, 0.0)
        self._settle()
        self._collide(number)

    def _collide(self, number: int) -> None:
        """Collisions after step ``number``: pairs whose footprints intersect now; a pair that
        only would intersect within the next step at its speeds collides then, as
        highway-env's swept test makes it."""
        if self.s.size == 0:
            return
        h = self.world_heading
        frames = box_frames(self.x, self.y, h, self.length, self.width)
        moved = frames.copy()
        moved[:, 0, 0] += self.speed * np.cos(h) * self.dt
        moved[:, 0, 1] += self.speed * np.sin(h) * self.dt
        n = self.s.size
        both = overlapping_frames(
            np.concatenate([frames, moved]),
            np.concatenate([2 * self.scene_of, 2 * self.scene_of + 1]),
        )
        later = both[:, 0] >= n
        now = both[~later]
        pairs = np.concatenate([now, self.pending]) if self.pending.size else now
        self.pending = both[later] - n
        if pairs.size == 0:
            return
        pairs = np.unique(pairs, axis=0)
        hit = pairs.reshape(-1)
        self.crash_step[hit[self.crash_step[hit] < 0]] = number
        for a, b in pairs.tolist():
            self.collisions.setdefault((a, b), number)
