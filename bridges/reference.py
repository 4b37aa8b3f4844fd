"""The embedded naturalistic reference: highway-env's IDM/MOBIL traffic, sampled as scenes.

This reference is a *traffic model*, not a recording. Each run simulates highway-env's
``IDMVehicle`` (Intelligent Driver Model for following, MOBIL for lane changes) on a long
multi-lane road of its own (2-6 lanes, gentle curves, a random speed limit, traffic from free
flow to stop-and-go, a share of trucks and some motorcycles), with vehicles entering at the
start and leaving at the end. Most runs end in a slow stretch (road works, a lane drop or a
busy exit ahead) that slows some or all lanes, and start in the middle of a rush, with a
queue of random length already standing before it in those lanes. Each driver keeps to a
place of their own in the lane (an offset from the centre, ``lateral_std``) and wanders in
heading (``heading_std``), which IDM/MOBIL vehicles, following the lane centre, do not.
After a warm-up, a few snapshots are taken at a fixed interval, and from each snapshot a few
windows of 120-320 m along the road (the slow stretch included) become ``Scene``s, each
naming its run in ``context["recording"]`` (scenes of one run share a road and its traffic:
splits and floors keep them on one side); a run gives few scenes (8 by default), so a sample
of scenes holds many independent roads. Following gaps are measured bumper to bumper, so
trucks keep a real jam gap. Windows that break a validity rule (rare: a vehicle swerving at a
steep angle) are left out.

Results are deterministic per ``(seed, config)`` and cached on disk under a key that includes
the generator version, the config, the seed, the count and the highway-env version
(``SCENEGYM_CACHE`` overrides the cache folder; default ``~/.cache/scenegym``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scenegym._checks import check_whole
from scenegym._io import atomic_open, cache_folder
from scenegym._ray import check_backend, imap
from scenegym._threads import ignore_interrupts
from scenegym.bridges.commonroad import import_commonroad
from scenegym.bridges.highway import highway_network, resize, vehicles_from_highway
from scenegym.config import check_config, option
from scenegym.scene.road import Road
from scenegym.scene.scene import Scene, distinct_roads, iter_scenes, read_scenes
from scenegym.scene.validity import is_valid
from scenegym.scene.vehicles import Vehicles, kind_code

__all__ = [
    "NATURALISTIC",
    "NATURALISTIC_SCENES",
    "REFERENCE_VERSION",
    "LoadedReference",
    "ReferenceConfig",
    "load_reference",
    "load_roads",
    "naturalistic_reference",
    "reference_cached",
]

REFERENCE_VERSION = 3
"""Bumped whenever the simulation changes what it produces; part of the cache key."""


@dataclass(frozen=True, kw_only=True)
class ReferenceConfig:
    """How the naturalistic reference is simulated. Ranges are ``[min, max]`` per run."""

    lanes: tuple[int, int] = field(default=(2, 6), metadata=option("lanes", 1, 8))
    road_length: float = field(
        default=1200.0, metadata=option("simulated road length (m)", 600.0, 5000.0)
    )
    window: tuple[float, float] = field(
        default=(120.0, 320.0), metadata=option("length of a scene window (m)", 50.0, 1000.0)
    )
    windows_per_snapshot: int = field(
        default=2, metadata=option("disjoint scenes cut from one snapshot", 1, 20)
    )
    max_curvature: float = field(
        default=0.002, metadata=option("largest |curvature| (1/m)", 0.0, 0.02)
    )
    speed_limit: tuple[float, float] = field(
        default=(22.2, 36.1), metadata=option("speed limit (m/s)", 5.0, 60.0)
    )
    demand: tuple[float, float] = field(
        default=(0.15, 0.8), metadata=option("vehicles entering per second per lane", 0.01, 1.0)
    )
    bottleneck_probability: float = field(
        default=0.6,
        metadata=option("chance that the road ends in a slow stretch that makes queues", 0, 1),
    )
    bottleneck_lanes: tuple[int, int] = field(
        default=(1, 8),
        metadata=option(
            "lanes the slow stretch slows, counted from the right (a lane drop or a busy "
            "exit slows some lanes, road works all): drawn in [min, max], at most all",
            1,
            8,
        ),
    )
    queue_length: float = field(
        default=600.0,
        metadata=option(
            "longest queue standing before the slow stretch when a run starts (m)", 0.0, 5000.0
        ),
    )
    bottleneck_speed: tuple[float, float] = field(
        default=(2.0, 9.0), metadata=option("speed limit of the slow stretch (m/s)", 1.0, 30.0)
    )
    truck_share: tuple[float, float] = field(
        default=(0.0, 0.25), metadata=option("share of trucks", 0.0, 1.0)
    )
    motorcycle_share: float = field(default=0.02, metadata=option("share of motorcycles", 0.0, 0.5))
    warmup: float = field(default=40.0, metadata=option("simulated warm-up (s)", 0.0, 600.0))
    interval: float = field(
        default=5.0, metadata=option("simulated time between snapshots (s)", 0.2, 60.0)
    )
    snapshots_per_run: int = field(
        default=4, metadata=option("snapshots taken from one run", 1, 1000)
    )
    lateral_std: float = field(
        default=0.4,
        metadata=option(
            "spread of where drivers keep to within their lane (m): each vehicle's own offset "
            "from the lane centre, kept inside the lane",
            0.0,
            2.0,
        ),
    )
    heading_std: float = field(
        default=0.02,
        metadata=option("spread of the heading to the lane of lane keeping (rad)", 0.0, 0.5),
    )
    step: float = field(default=0.2, metadata=option("simulation step (s)", 0.02, 0.5))

    def __post_init__(self) -> None:
        check_config(self)


def _cache_key(n: int, seed: int, config: ReferenceConfig) -> str:
    import highway_env

    blob = json.dumps(
        {
            "version": REFERENCE_VERSION,
            "n": n,
            "seed": seed,
            "config": dataclasses.asdict(config),
            "highway_env": getattr(highway_env, "__version__", "unknown"),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _cache_path(n: int, seed: int, config: ReferenceConfig) -> Path:
    key = _cache_key(int(n), int(seed), config)
    return cache_folder() / "reference" / f"naturalistic-{key}.jsonl"


def reference_cached(n: int, seed: int = 0, config: ReferenceConfig | None = None) -> bool:
    """Whether ``naturalistic_reference(n, seed, config)`` is in the cache (a load, not a
    simulation)."""
    return _cache_path(n, seed, ReferenceConfig() if config is None else config).is_file()


def naturalistic_reference(
    n: int,
    seed: int = 0,
    config: ReferenceConfig | None = None,
    *,
    cache: bool = True,
    workers: int | None = None,
    backend: str = "process",
    on_scene: Callable[[], None] | None = None,
) -> list[Scene]:
    """``n`` reference scenes of simulated naturalistic traffic (see the module notes).

    The first call for a ``(n, seed, config)`` simulates and writes the cache; later calls read
    it. Runs are independent, so ``workers`` processes (default: one per CPU) simulate them in
    parallel; the scenes are the same for any worker count. ``backend="ray"`` simulates them
    on ``workers`` Ray actors instead (``scenegym._ray``; the same scenes). ``on_scene`` is
    called once per scene produced (for progress bars).
    """
    check_backend(backend)
    n, seed = check_whole("n", n, 1), check_whole("seed", seed, 0)
    config = ReferenceConfig() if config is None else config
    path = _cache_path(n, seed, config)
    if cache and path.is_file():
        try:
            scenes = list(iter_scenes(path))
        except ValueError:
            scenes = []  # a damaged cache file is rebuilt below
        if len(scenes) == n:
            if on_scene is not None:
                for _ in scenes:
                    on_scene()
            return scenes
    per_run = config.snapshots_per_run * config.windows_per_snapshot
    planned = -(-int(n) // per_run)
    workers = min(os.cpu_count() or 1, planned) if workers is None else max(1, workers)
    pool = None  # a local pool; Ray takes each batch of runs on actors below
    if backend == "process" and workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # fork where the platform has it: works from notebooks and piped scripts alike.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=ignore_interrupts)
    scenes: list[Scene] = []
    run = 0
    try:
        # Runs are taken in order; a run may give fewer scenes (windows with a broken rule
        # are dropped), so more runs follow until n scenes are there.
        while len(scenes) < n:
            missing = -(-(int(n) - len(scenes)) // per_run)
            jobs = [(int(seed), run + k, config) for k in range(max(missing, workers))]
            run += len(jobs)
            if backend == "ray":
                results = imap(ignore_interrupts, (), _run_job, jobs, workers)
            else:
                results = map(_run_job, jobs) if pool is None else pool.map(_run_job, jobs)
            for batch in results:
                for scene in batch[: int(n) - len(scenes)]:
                    scenes.append(scene)
                    if on_scene is not None:
                        on_scene()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_open(path, "w", encoding="utf-8") as handle:
                for scene in scenes:
                    handle.write(scene.to_json() + "\n")
        except OSError:
            pass  # an unwritable cache only costs time on the next call
    return scenes


# ---------------------------------------------------------------------- simulation
_SIZES = {  # kind: (mean length, std length, mean width, std width) in m
    "car": (4.7, 0.55, 1.9, 0.14),  # saloons to SUVs, pickups and vans
    "truck": (14.0, 3.0, 2.5, 0.05),
    "motorcycle": (2.2, 0.15, 0.8, 0.05),
}


def _simulation_road(rng: np.random.Generator, config: ReferenceConfig) -> Road:
    lanes = int(rng.integers(config.lanes[0], config.lanes[1] + 1))
    pieces = int(rng.integers(2, 5))
    lengths = rng.dirichlet(np.full(pieces, 3.0)) * config.road_length
    curvatures = rng.uniform(-config.max_curvature, config.max_curvature, pieces)
    curvatures[rng.random(pieces) < 0.4] = 0.0
    return Road(
        segment_lengths=lengths,
        segment_curvatures=curvatures,
        lane_widths=rng.uniform(3.4, 3.75, lanes),
        speed_limit=float(rng.uniform(*config.speed_limit)),
        origin=(0.0, 0.0, float(rng.uniform(-np.pi, np.pi))),
    )


class _Traffic:
    """Open-boundary IDM/MOBIL traffic on one highway-env road."""

    def __init__(self, rng: np.random.Generator, config: ReferenceConfig) -> None:
        self.rng = rng
        self.config = config
        self.road = _simulation_road(rng, config)
        # A slow stretch at the end (road works, a lane drop ahead) builds queues upstream.
        bottleneck = self.road.length - 200.0
        slow = rng.random() < config.bottleneck_probability
        self.built = highway_network(self.road, splits=(bottleneck,) if slow else ())
        queue = (0.0, 0.0, 0)  # from station, queue speed (m/s), slowed lanes
        if slow:
            speed = float(rng.uniform(*config.bottleneck_speed))
            low, high = config.bottleneck_lanes
            lanes = self.road.lane_count
            slowed = int(rng.integers(min(low, lanes), min(high, lanes) + 1))
            for i, start in enumerate(self.built.stations[:-1]):
                if start >= bottleneck - 1e-6:
                    for lane_object in self.built.network.graph[f"s{i}"][f"s{i + 1}"][-slowed:]:
                        lane_object.speed_limit = speed
            # The run starts in the middle of a rush: a queue of random length already
            # stands before the slow stretch in the lanes it slows.
            reach = float(rng.uniform(0.0, config.queue_length))
            queue = (max(10.0, bottleneck - reach), speed, slowed)
        from scenegym.bridges.traffic import IndexedRoad, SizedIDMVehicle  # imports highway-env

        self.vehicle_class = SizedIDMVehicle
        self.highway = IndexedRoad(
            network=self.built.network,
            np_random=np.random.RandomState(int(rng.integers(2**31))),
            record_history=False,
        )
        self.truck_share = float(rng.uniform(*config.truck_share))
        self.demand = float(rng.uniform(*config.demand))
        # Start near the free-flow equilibrium of that demand; queues form during warm-up.
        self.flow_speed = float(self.road.speed_limit * rng.uniform(0.8, 1.0))
        density = self.demand / self.flow_speed * 1000.0  # vehicles per lane-km
        start, queue_speed, slowed = queue
        for lane in range(self.road.lane_count):
            queued = lane >= self.road.lane_count - slowed
            end = start if queued else self.road.length - 10.0
            count = int(density * (end - 10.0) / 1000.0)
            gaps = rng.exponential(1.0, count + 1)
            stations = np.cumsum(gaps)[:-1] / gaps.sum() * (end - 10.0) + 10.0
            for s in stations:
                self._spawn(lane, float(s), self.flow_speed * float(rng.uniform(0.9, 1.1)))
            if queued:  # queued vehicles a jam gap, a car and a headway at its speed apart
                spacing = 2.5 + 4.7 + 1.5 * queue_speed
                for s in np.arange(start + spacing / 2, self.road.length - 10.0, spacing):
                    self._spawn(lane, float(s), queue_speed * float(rng.uniform(0.5, 1.0)))
        self.highway.attach(self.built)

    def _spawn(self, lane: int, s: float, speed: float) -> None:
        rng = self.rng
        draw = rng.random()
        if draw < self.config.motorcycle_share:
            kind = "motorcycle"
        elif draw < self.config.motorcycle_share + self.truck_share:
            kind = "truck"
        else:
            kind = "car"
        mean_l, std_l, mean_w, std_w = _SIZES[kind]
        length = float(np.clip(rng.normal(mean_l, std_l), 0.6 * mean_l, 1.4 * mean_l))
        width = float(np.clip(rng.normal(mean_w, std_w), 0.8 * mean_w, 1.1 * mean_w))
        limit = self.road.speed_limit
        target = limit * rng.uniform(0.85, 1.1)
        if kind == "truck":
            target = min(target, 25.0 * rng.uniform(0.9, 1.05))
        x, y, heading = self.road.frenet_to_cartesian([s], [self.road.lane_centers[lane]])
        vehicle = self.vehicle_class(
            self.highway,
            [float(x[0]), float(-y[0])],
            float(-heading[0]),
            float(speed),
            target_speed=float(target),
        )
        resize(vehicle, length, width)
        vehicle.scenegym_kind = kind_code(kind)
        # Where in its lane the driver keeps (IDM/MOBIL vehicles follow the lane centre).
        vehicle.scenegym_lateral = float(rng.normal(0.0, self.config.lateral_std))
        vehicle.jam_gap = float(rng.uniform(1.8, 4.0))
        vehicle.randomize_behavior()
        self.highway.vehicles.append(vehicle)

    def step(self) -> None:
        dt = self.config.step
        self.highway.act()
        self.highway.step(dt)
        # Vehicles past the end leave; crashed ones are towed away.
        highway = self.highway
        keep = (highway.s < self.road.length - 1.0) & ~np.array(
            [vehicle.crashed for vehicle in highway.vehicles], dtype=bool
        )
        if not keep.all():
            highway.vehicles = [v for v, k in zip(highway.vehicles, keep) if k]
            highway.refresh()
        self._inflow(dt)

    def _inflow(self, dt: float) -> None:
        """New vehicles enter at the start at the target flow, when there is room."""
        flow = self.demand  # vehicles per second per lane
        highway = self.highway
        spawned = False
        for lane in range(self.road.lane_count):
            if self.rng.random() >= flow * dt:
                continue
            order, stations = highway.members[lane]
            if len(order):
                first = highway.vehicles[order[0]]
                rear, speed = stations[0] - first.LENGTH / 2.0, float(first.speed)
            else:
                rear, speed = np.inf, self.flow_speed
            if rear - 5.0 - 12.0 > 4.0 + 1.2 * speed:  # room for a truck and a safe gap
                self._spawn(lane, 5.0, speed)
                spawned = True
        if spawned:
            highway.refresh()

    def snapshot(self, recording: str) -> list[Scene]:
        vehicles = self._lane_keeping(vehicles_from_highway(self.road, self.highway.vehicles))
        scenes = []
        margin_start, margin_end = 120.0, 30.0
        count = self.config.windows_per_snapshot
        slot = (self.road.length - margin_start - margin_end) / count
        for k in range(count):
            # Disjoint windows: window k lies inside slot k.
            length = min(float(self.rng.uniform(*self.config.window)), slot)
            start = margin_start + k * slot + float(self.rng.uniform(0.0, slot - length))
            section = self.road.section(start, start + length)
            inside = (vehicles.s >= start) & (vehicles.s - start <= section.length)
            part = vehicles.take(np.flatnonzero(inside))
            part = part.replace(s=part.s - start)
            context = {"source": "highway-env IDM/MOBIL simulation", "recording": recording}
            scene = Scene(section, part, context=context)
            # The simulation occasionally shows what real traffic does not (a vehicle swerving
            # across a lane at a steep angle); such windows are left out of the reference.
            if is_valid(scene):
                scenes.append(scene)
        return scenes

    def _lane_keeping(self, vehicles: Vehicles) -> Vehicles:
        """The simulated vehicles with their drivers' own place in the lane (kept inside
        it) and the heading wander of lane keeping."""
        if not len(vehicles):
            return vehicles
        bias = np.array([v.scenegym_lateral for v in self.highway.vehicles])
        room = np.maximum(self.road.lane_widths[vehicles.lane] - vehicles.width, 0.0) / 2 - 0.1
        d = vehicles.d + np.clip(bias, -np.maximum(room, 0.0), np.maximum(room, 0.0))
        wander = self.rng.normal(0.0, self.config.heading_std, len(vehicles))
        return vehicles.replace(d=d, heading=vehicles.heading + wander)


def _run_job(job: tuple[int, int, ReferenceConfig]) -> list[Scene]:
    seed, run, config = job
    recording = f"naturalistic seed {seed} run {run}"
    return _simulate_run(np.random.default_rng([seed, run]), config, recording)


def _simulate_run(rng: np.random.Generator, config: ReferenceConfig, recording: str) -> list[Scene]:
    traffic = _Traffic(rng, config)
    steps = round(config.warmup / config.step)
    for _ in range(steps):
        traffic.step()
    every = max(1, round(config.interval / config.step))
    scenes: list[Scene] = []
    for _ in range(config.snapshots_per_run):
        scenes.extend(traffic.snapshot(recording))
        for _ in range(every):
            traffic.step()
    return scenes


NATURALISTIC = "naturalistic"
"""The name of the embedded reference among the sources ``load_reference`` takes."""

NATURALISTIC_SCENES = 2000
"""Scenes of the embedded reference that ``load_reference`` simulates (seed 0, cached)."""


@dataclass(frozen=True, kw_only=True)
class LoadedReference:
    """Reference scenes with what they are.

    ``label`` names the scenes in reports; ``skipped`` lists the CommonRoad files an import
    left out, each as ``{"file", "reason"}``.
    """

    scenes: list[Scene]
    label: str
    skipped: list[dict[str, str]] = field(default_factory=list)


def load_reference(
    sources: Sequence[str | os.PathLike],
    *,
    on_scene: Callable[[], None] | None = None,
    name: str = "reference",
    interval: float | None = None,
) -> LoadedReference:
    """Reference scenes from what a user names: ``["naturalistic"]`` (the embedded reference,
    ``NATURALISTIC_SCENES`` scenes of seed 0, simulated once and cached), one scenes ``.jsonl``
    file, or CommonRoad ``.xml`` files and folders.

    ``on_scene`` is called once per simulated scene (for progress bars); ``name`` is what the
    error messages call ``sources`` (a command line gives its option); ``interval`` (s) is
    the time between the snapshots taken of CommonRoad recordings (None: their first time
    step only; see ``import_commonroad``).
    """
    if [str(source) for source in sources] == [NATURALISTIC]:
        scenes = naturalistic_reference(NATURALISTIC_SCENES, 0, on_scene=on_scene)
        return LoadedReference(
            scenes=scenes,
            label=f"naturalistic highway-env traffic ({NATURALISTIC_SCENES:,} scenes, seed 0)",
        )
    remedy = "give 'naturalistic', a .jsonl scenes file, or CommonRoad .xml files or folders"
    paths = [Path(source) for source in sources]
    for path in paths:
        if not path.exists():
            raise ValueError(f"{name} {path} does not exist; {remedy}")
    if len(paths) == 1 and paths[0].suffix == ".jsonl":
        return LoadedReference(scenes=read_scenes(paths[0]), label=str(paths[0]))
    try:
        scenes, summary = import_commonroad(paths, interval=interval)
    except ValueError as error:
        message = str(error).removeprefix("paths: ")
        raise ValueError(f"{name}: {message}; {remedy}") from None
    return LoadedReference(
        scenes=scenes,
        label=f"{summary['files_read']} CommonRoad file(s)",
        skipped=list(summary["files_skipped"]),
    )


def load_roads(sources: Sequence[str | os.PathLike], *, name: str = "roads") -> list[Road]:
    """The distinct roads of what a user names, in order of first appearance: the roads of a
    scenes ``.jsonl`` file, or the carriageways of CommonRoad ``.xml`` files and folders (as
    ``load_reference`` reads them; a road seen again at a later time of a recording counts
    once). ``name`` is what error messages call ``sources``."""
    roads = distinct_roads(load_reference(sources, name=name).scenes)
    if not roads:
        raise ValueError(f"{name}: no road found in {', '.join(map(str, sources))}")
    return roads
