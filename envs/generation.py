"""The scene-generation environment: an agent edits a scene towards a better reward score."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from scenegym._checks import check_whole
from scenegym.scene.batch import RoadBatch, SceneBatch, road_batch
from scenegym.scene.encoding import CHANNELS, LaneGrid
from scenegym.scene.road import Road
from scenegym.scene.scene import Scene
from scenegym.scene.space import HighwaySceneSpace, HighwaySpaceConfig
from scenegym.scene.validity import DEFAULT_RULES
from scenegym.scene.vehicles import KINDS, Vehicles

__all__ = [
    "COMPACT_ACTIONS",
    "COMPACT_CHANNELS",
    "EDIT_OPERATIONS",
    "REPRESENTATIONS",
    "STARTS",
    "DrivingLayoutEnv",
]

REPRESENTATIONS: tuple[str, ...] = ("edit", "construct", "oneshot", "latent")
LATENT_RANGE = 3.0
"""``latent`` actions in [-1, 1] span +-3 standard deviations of the decoder's sampling
Gaussian along each of its whitened axes."""
"""How actions change a scene: one attribute per step, one placed vehicle per step, or the
whole scene in one action."""

CONSTRUCT_GAPS = (2.0, 4.0, 7.0, 10.0, 15.0, 25.0, 40.0, 70.0)
"""Bumper-to-bumper gaps (m) a ``construct`` action can leave behind the previous vehicle."""
CONSTRUCT_SPEEDS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.15)
"""Speeds a ``construct`` action can give, as shares of the speed limit."""
_PLACEMENTS = len(CONSTRUCT_GAPS) * len(CONSTRUCT_SPEEDS) * len(KINDS)
_NEXT_LANE, _STOP = _PLACEMENTS, _PLACEMENTS + 1

EDIT_OPERATIONS: tuple[str, ...] = (
    "lane",
    "move",
    "speed",
    "offset",
    "heading",
    "kind",
    "remove",
    "add",
)
"""What one ``edit`` action does to the chosen vehicle (see the environment docstring)."""

_LEVELS = 11
SELECTIONS: tuple[str, ...] = ("index", "cursor")
"""How an ``edit`` action picks its vehicle: by index, or the vehicle under a cursor that
visits all vehicles in lane, then station order."""
STARTS: tuple[str, ...] = ("space", "goal")
"""Where a starting scene comes from: the scene space alone, or the scene space following the
goal targets (``HighwaySceneSpace.sample(rng, targets)``)."""
COMPACT_CHANNELS: tuple[str, ...] = ("lane", "occupied", "s_offset", "speed", "length")
"""The grid channels of a ``compact`` cursor view (edit-v5)."""
_COMPACT_CHANNEL_INDEX = [CHANNELS.index(name) for name in COMPACT_CHANNELS]
COMPACT_ACTIONS: tuple[tuple[int, int], ...] = (
    (5, 0),  # realign (compact=True needs realign=True)
    *((1, level) for level in (5, 1, 3, 4, 6, 7, 9)),  # move by 0 (skip), -8 ... +8 m
    *((0, level) for level in range(6)),  # lane 0 ... 5
    *((2, level) for level in range(11)),  # speed 0 ... 1.2 x the limit
    (6, 0),  # remove
    *((7, level) for level in range(6)),  # add in lane 0 ... 5
)
"""The ``(operation, level)`` edits of a ``compact`` action set (edit-v5), in index order."""
_OWN = 13  # cursor features after the lane one-hot (see the environment docstring)
_COLUMNS = ("lane", "s", "d", "heading", "speed", "length", "width", "kind")


class DrivingLayoutEnv(gym.Env):
    """Generate a driving scene by editing it step by step, or all at once.

    ## Description
    The agent starts from a random scene of a ``HighwaySceneSpace`` (the domain-randomisation
    baseline) and edits it: each step changes one attribute of one vehicle, removes it, or adds
    a vehicle. Diversity comes from the random starts and the road, which is never edited;
    quality from the learned edits. The step reward is the change of a weighted score
    (``RewardSpec``), so the return of an episode is the final score minus the starting one.

    ## Action space
    ``oneshot`` (``scenegym/DrivingLayout-oneshot-v0``): ``Box(-1, 1, (11, lanes, cells))``,
    the whole scene in one action, one plane per grid channel but ``lane``: a cell holds a
    vehicle where its ``occupied`` value is above 0; the other planes set its place in the
    cell, offset (+-1 m), heading (+-0.15 rad), speed (0-40 m/s), length (2-18 m), width
    (1.5-2.7 m) and kind (the largest of four planes). At most ``max_vehicles`` are kept.

    ``latent`` (``scenegym/DrivingLayout-latent-v0``, needs ``decoder``): ``Box(-1, 1,
    (latent_size,))``, the latent code of a scene prior (``scenegym.generators.prior``): the
    code is ``latent_mean + latent_scale @ (3 * action)``, so the action is in whitened
    coordinates of the Gaussian the prior samples from, +-3 standard deviations. The prior's
    decoder turns it into vehicles on the episode's road (``ScenePrior.decode_on``); at most
    ``max_vehicles`` are kept. One step, like ``oneshot``.

    ``construct`` (``scenegym/DrivingLayout-construct-v0``): ``Discrete(226)``. The scene is
    built lane by lane from the road start behind a cursor (current lane, front bumper of the
    last vehicle placed there). Actions 0..223 place the next vehicle: a bumper gap from
    ``CONSTRUCT_GAPS`` (2-70 m), a speed from ``CONSTRUCT_SPEEDS`` (0-1.15 x the limit) and a
    kind (mean size), centred in the lane and aligned with it; 224 moves to the next lane; 225
    stops. ``action_masks()`` (for MaskablePPO) forbids placements that leave the lane's extent
    or exceed ``max_vehicles`` and "next lane" on the last lane, so every placement is valid.
    The observation adds ``"cursor"``: lane / (lanes - 1) and front / grid length.

    ``edit`` with ``select="cursor"`` (``scenegym/DrivingLayout-edit-v1``, and
    ``scenegym/DrivingLayout-edit-v2`` with ``realign=True``):
    ``MultiDiscrete([8, 11])``: ``(operation, level)`` applied to the vehicle under the edit
    cursor, which then moves on along the road to the first vehicle after the edited vehicle's
    place before the edit, in lane, station, then index order, around to the first after the
    last (it starts on the first). A vehicle moved ahead of the cursor is met again. ``edit``
    with ``select="index"`` (``scenegym/DrivingLayout-edit-v0``):
    ``MultiDiscrete([max_vehicles, 8, 11])``: ``(vehicle, operation, level)``; ``vehicle`` is
    taken modulo the current vehicle count.
    With ``level`` in 0..10:

    - 0 ``lane``: move to lane ``level mod lane_count``;
    - 1 ``move``: shift along the road by ``(level - 5) * 2`` m;
    - 2 ``speed``: set the speed to ``level / 10 * 1.2 *`` the speed limit (m/s);
    - 3 ``offset``: set the offset from the lane centre to ``(level - 5) / 5`` m;
    - 4 ``heading``: set the heading to the lane to ``(level - 5) / 5 * 0.15`` rad;
    - 5 ``kind``: make it ``KINDS[level mod 4]`` with that kind's mean size; with
      ``realign=True`` (edit-v2) instead *realign* it, whatever the level: its own kind's
      mean size, on its lane centre, aligned with the lane, so that one edit repairs a
      vehicle in place (kinds then come from the start and from ``add``);
    - 6 ``remove``: remove the vehicle;
    - 7 ``add``: add a car of mean size in lane ``level mod lane_count`` in the middle of that
      lane's largest free gap, at the mean speed of the scene (nothing when full).

    ``edit`` with ``compact=True`` (``scenegym/DrivingLayout-edit-v5``): ``Discrete(32)``,
    32 of these cursor edits (``COMPACT_ACTIONS``; needs ``realign=True``): 0 realign
    (operation 5), 1-7 move by 0 (the cursor moves on, nothing changes), -8, -4, -2, +2, +4,
    +8 m, 8-13 lane levels 0-5, 14-24 speed levels 0-10, 25 remove, 26-31 add at lane
    levels 0-5 (lane levels are taken modulo the lane count, as above). Offsets and headings
    are set only by realigning, kinds only by the starting scene.

    ## Observation space
    ``Dict``: ``"grid"``, the ``LaneGrid`` encoding ``(12, lanes, cells)`` (channels in
    ``scenegym.scene.encoding.CHANNELS``, values clipped to [-5, 5]); with a goal,
    ``"goal"``, ``2 k`` values: the ``k`` targets, then the current descriptors, each as
    ``(value - low) / (high - low)`` of its target range, clipped to [-5, 5].

    With ``select="cursor"``, ``"grid"`` is ``(12, lanes, window)``: the ``window`` cells
    centred on the cursor vehicle's cell (cells beyond the grid are 0), and ``"cursor"`` holds
    ``lanes + 13`` values: the cursor vehicle's lane one-hot, its cell / cells, 1 when there is
    a cursor vehicle (0 in an empty scene), its offset / 2 m, heading / 0.6 rad, speed / 40
    m/s, length / 20 m, width / 3 m, kind one-hot (4), the number of violations it is named in
    / 4 (at most 1) and the share of the edit budget spent.

    With ``compact=True`` (edit-v5) ``"grid"`` is ``(5, 3, window)``: the
    ``COMPACT_CHANNELS`` (``lane``, ``occupied``, ``s_offset``, ``speed``, ``length``) of the
    cursor vehicle's lane and the lanes left and right of it (rows beyond the grid are 0; in
    an empty scene, lane 0 stands in): 79 numbers with ``"cursor"``, without a goal.

    With ``flat=True`` (``scenegym/DrivingLayout-edit-v4``) the observation is one ``Box`` of
    these parts raveled and joined in the ``Dict``'s key order (``"cursor"``, ``"goal"``,
    ``"grid"``; 307 numbers for edit-v4 without a goal), and a ``MultiDiscrete`` action is
    one ``Discrete`` index into its parts in C order: ``operation * 11 + level`` for cursor
    edits (``Discrete(88)``). The scenes, rewards and episodes are those of the same actions
    in the ``Dict`` form.

    ## Rewards
    ``oneshot`` and ``latent``: the score of the scene, once (terminal). ``edit`` and
    ``construct``: each step, ``score(scene after) - score(scene before)``, the score being
    the ``RewardSpec``-weighted sum of the terms ``validity``, ``realism``, ``scene_realism``,
    ``prior_realism`` and ``goal`` (``scenegym.rewards.spec``); all terms are in
    ``info["reward_terms"]`` every step, the weighted score in ``info["score"]``.

    ## Starting state
    A scene drawn from the scene space with the environment's generator (``oneshot``,
    ``latent`` and ``construct`` keep its road only), or ``options["scene"]``; goal targets
    drawn from the goal ranges (or taken from a random scene of ``goal.reference``), and any
    of them replaced by ``options["targets"]``. With ``start="goal"`` the targets are drawn
    first and the starting scene follows those the space can set
    (``scenegym.scene.space.TARGETABLE``: lane count, largest curvature, vehicle count or
    density, mean speed, speed spread, truck share, lane-use spread); where vehicles sit
    along their lanes, and so gaps, headways and overlaps, is left to the space's
    ``placement`` and then to the policy. With ``start_candidates`` above 1, several vehicle
    sets are drawn and the one whose descriptors (headways and gaps included) come nearest
    the targets starts.

    ## Episode end
    ``oneshot`` and ``latent``: terminated after their one step. ``construct``: terminated on
    "stop" or when no placement or lane change is left; truncated after ``edit_budget`` steps.
    ``edit``: never terminated; truncated after ``edit_budget`` steps.

    ## Arguments
    - ``space``: ``HighwaySpaceConfig`` (or its mapping) of the starting scenes; its lanes,
      lengths and vehicle counts must fit ``grid`` and ``max_vehicles``.
    - ``reward``: ``RewardSpec`` (or mapping); default validity 1, goal 1, and realism 0.5
      when a realism model is given (else 0). ``goal``: ``GoalSpec`` (or mapping) or None.
    - ``realism``: a fitted ``VehicleRealism`` (or a path to one saved as JSON); required when
      the realism weight is above 0. ``scene_realism``: likewise a ``SceneRealism`` for the
      ``scene_realism`` term (default weight 0.5 when given). ``prior``: a ``ScenePrior`` (or
      the path of a prior folder, ``scenegym fit-prior``) for the ``prior_realism`` term, the
      percentile of the scene's ELBO under a VAE of the reference, or of a GAN's
      discriminator score (default weight 0.5 when given). ``decoder``: the ``ScenePrior``
      (or prior folder) whose latent space the ``latent`` representation acts in; required
      there, refused elsewhere.
    - ``grid``: ``LaneGrid``; ``max_vehicles``: 40; ``edit_budget``: 64 steps.
    - ``select``: ``"index"`` or ``"cursor"`` (``edit`` only); ``window``: cells of the cursor
      view (16).
    - ``start``: ``"space"`` (default) or ``"goal"`` (needs a goal; see Starting state).
    - ``start_candidates``: with ``start="goal"``, how many vehicle sets are drawn for the
      targets on the starting road; the one nearest the targets (goal score) starts (1).
    - ``realign``: operation 5 realigns the vehicle instead of changing its kind (False;
      True in v2).
    - ``flat``: one ``Box`` observation and one ``Discrete`` action instead of a ``Dict``
      and a ``MultiDiscrete`` (False; True in edit-v4). See Observation space.
    - ``compact``: the compact cursor view and the 32 cursor edits of edit-v5 (False; True
      in edit-v5). See Action space and Observation space.
    - ``render_mode``: None or ``"rgb_array"``.

    ## Version history
    - v5 (edit): as v4, with ``compact=True``: the policy sees 5 grid channels of 3 lanes
      around the cursor vehicle (79 numbers without a goal instead of 307) and picks one of
      32 edits instead of 88. PPO's update costs 1.1-1.2 times CartPole's instead of
      1.4-1.65, so training runs at 0.70-0.80 of CartPole's rate with 256 environments (v4:
      0.54-0.63) and 0.64-0.70 with 64. At the quickstart's settings it learns as v4 does (99.6 %
      valid, C2ST 0.709, goal errors at most 4.0 % of the range).
    - v4 (edit): as v3, with ``flat=True``: one ``Box`` observation and one
      ``Discrete(88)`` action. SB3 trains it with ``MlpPolicy``, and algorithms that take
      only ``Discrete`` actions (DQN) can too. An environment that costs nothing with these
      spaces trains at 0.67–0.72 of CartPole's rate against 0.54–0.63 with v3's; the real
      ones measured alike within the machine's noise (BENCHMARKS).
    - v3 (edit): as v2, with ``window=4``: the policy sees 4 cells of the grid around the
      cursor vehicle instead of 16 (307 numbers per observation instead of 1,171). At the
      quickstart's settings it learns as well (99.5 % valid, C2ST 0.710, goal errors at
      most 4.0 % of the range, as with 16 cells) and PPO trains 1.3–1.4 times as fast: the
      network's first layer is most of an update's cost.
    - v2 (edit): as v1, with ``realign=True``: operation 5 repairs a vehicle in place (its
      kind's mean size, lane centre, lane heading) and no longer changes kinds. In v1 a
      policy rewarded for realistic offsets, headings and sizes learned to remove vehicles
      and add new cars instead, which unbalanced the lanes and thinned the trucks; one that
      could realign and change kinds in one edit made half the vehicles motorcycles.
    - v1 (edit): the vehicle is the one under a cursor that visits all vehicles, and the
      observation is a window around it (``select="cursor"``); a policy cannot tell from the
      whole grid which index sits in which cell, so v0 learns slowly.
    - v0: first version (latent-v0: the latent representation, added with scene priors).
    """

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        *,
        representation: str = "edit",
        space: HighwaySpaceConfig | dict | None = None,
        reward: Any = None,
        goal: Any = None,
        realism: Any = None,
        scene_realism: Any = None,
        prior: Any = None,
        decoder: Any = None,
        grid: LaneGrid | None = None,
        max_vehicles: int = 40,
        edit_budget: int = 64,
        select: str = "index",
        window: int = 16,
        start: str = "space",
        start_candidates: int = 1,
        realign: bool = False,
        flat: bool = False,
        compact: bool = False,
        render_mode: str | None = None,
    ) -> None:
        from scenegym.config import config_from_mapping
        from scenegym.rewards.realism import SceneRealism, VehicleRealism
        from scenegym.rewards.spec import GoalSpec, RewardSpec

        if representation not in REPRESENTATIONS:
            raise ValueError(
                f"representation {representation!r} is not available; choose one of "
                f"{', '.join(REPRESENTATIONS)}"
            )
        self.representation = representation
        _check_kind("grid", grid, LaneGrid)
        _check_kind("space", space, HighwaySpaceConfig, dict)
        _check_kind("reward", reward, RewardSpec, dict)
        _check_kind("goal", goal, GoalSpec, dict)
        self.grid = grid if grid is not None else LaneGrid()
        if isinstance(space, dict):
            space = config_from_mapping(HighwaySpaceConfig, space, name="space")
        if space is None:
            space = HighwaySpaceConfig(
                lanes=(2, min(4, self.grid.lanes - 1)),
                length=(150.0, min(350.0, self.grid.length)),
                vehicles=(5, min(30, max_vehicles)),
            )
        self.space = HighwaySceneSpace(space)
        self._check_fits(space, max_vehicles)
        if reward is None:
            # Realism counts by default only when a model is given.
            weights = {
                "validity": 1.0,
                "realism": 0.5 if realism is not None else 0.0,
                "scene_realism": 0.5 if scene_realism is not None else 0.0,
                "prior_realism": 0.5 if prior is not None else 0.0,
            }
            reward = RewardSpec(weights={**weights, "goal": 1.0})
        elif isinstance(reward, dict):
            reward = config_from_mapping(RewardSpec, reward, name="reward")
        self.reward_spec = reward
        self.goal = (
            config_from_mapping(GoalSpec, goal, name="goal") if isinstance(goal, dict) else goal
        )
        self.realism = self._model("realism", realism, VehicleRealism, "realism")
        self.scene_realism = self._model(
            "scene_realism", scene_realism, SceneRealism, "scene realism"
        )
        prior_kind = None
        if prior is not None or self.reward_spec.weight("prior_realism") > 0:
            from scenegym.generators.prior import ScenePrior as prior_kind  # imports torch
        self.prior = self._model("prior_realism", prior, prior_kind, "scene prior")
        self.decoder = self._decoder(decoder)
        self.max_vehicles = check_whole("max_vehicles", max_vehicles, 1)
        self.edit_budget = check_whole("edit_budget", edit_budget, 1)
        if select not in SELECTIONS:
            raise ValueError(f"select must be one of {', '.join(SELECTIONS)}, got {select!r}")
        self.select = select if representation == "edit" else "index"
        self.window = check_whole("window", window, 2)
        if start not in STARTS:
            raise ValueError(f"start must be one of {', '.join(STARTS)}, got {start!r}")
        if start == "goal" and (self.goal is None or not self.goal.names):
            raise ValueError(
                "start='goal' draws the starting scene from the goal targets, but no goal was "
                "given: pass goal={'ranges': {...}} or use start='space'"
            )
        self.start = start
        self.start_candidates = check_whole("start_candidates", start_candidates, 1)
        if not isinstance(realign, bool):
            raise TypeError(f"realign must be True or False, got {realign!r}")
        self.realign = realign
        if not isinstance(flat, bool):
            raise TypeError(f"flat must be True or False, got {flat!r}")
        self.flat = flat
        if not isinstance(compact, bool):
            raise TypeError(f"compact must be True or False, got {compact!r}")
        if compact and self.select != "cursor":
            raise ValueError(
                "compact=True is a cursor view and a cursor action set: it needs "
                "representation='edit' and select='cursor'"
            )
        if compact and not realign:
            raise ValueError(
                "compact=True sets offsets, headings and sizes only by realigning: it needs "
                "realign=True"
            )
        self.compact = compact
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode

        if representation == "construct":
            self.action_space = spaces.Discrete(_PLACEMENTS + 2)
        elif representation == "edit" and self.select == "cursor":
            self.action_space = spaces.MultiDiscrete([len(EDIT_OPERATIONS), _LEVELS])
        elif representation == "edit":
            self.action_space = spaces.MultiDiscrete([max_vehicles, len(EDIT_OPERATIONS), _LEVELS])
        elif representation == "latent":
            size = self.decoder.config.latent_size
            self.action_space = spaces.Box(-1.0, 1.0, (size,), dtype=np.float32)
        else:
            # Every grid channel but "lane" (the road gives it).
            self.action_space = spaces.Box(
                -1.0, 1.0, (self.grid.shape[0] - 1, *self.grid.shape[1:]), dtype=np.float32
            )
        if compact:
            self.action_space = spaces.Discrete(len(COMPACT_ACTIONS))
        if self.select == "cursor":
            shape = (
                (len(COMPACT_CHANNELS), 3, self.window)
                if compact
                else (*self.grid.shape[:2], self.window)
            )
            observation = {
                "grid": spaces.Box(-5.0, 5.0, shape, dtype=np.float32),
                "cursor": spaces.Box(-5.0, 5.0, (self.grid.lanes + _OWN,), dtype=np.float32),
            }
        else:
            observation = {"grid": spaces.Box(-5.0, 5.0, self.grid.shape, dtype=np.float32)}
        if representation == "construct":
            observation["cursor"] = spaces.Box(0.0, 1.0, (2,), dtype=np.float32)
        if self.goal is not None and self.goal.names:
            k = len(self.goal.names)
            observation["goal"] = spaces.Box(-5.0, 5.0, (2 * k,), dtype=np.float32)
        # The observation's named parts; with flat=True the policy sees them as one Box, in
        # this order, and a MultiDiscrete action as one Discrete index.
        self._parts = spaces.Dict(observation)
        # What each index of a Discrete action does, as the edits take it: (n, parts) rows.
        self._table: NDArray[np.int64] | None = (
            np.array(COMPACT_ACTIONS, dtype=np.int64) if compact else None
        )
        if flat:
            parts = self._parts.spaces.values()
            self.observation_space = spaces.Box(
                np.concatenate([part.low.ravel() for part in parts]),
                np.concatenate([part.high.ravel() for part in parts]),
                dtype=np.float32,
            )
            if isinstance(self.action_space, spaces.MultiDiscrete):
                nvec = self.action_space.nvec.astype(np.int64)
                self._table = np.stack(np.unravel_index(np.arange(np.prod(nvec)), nvec), axis=-1)
                self.action_space = spaces.Discrete(len(self._table))
        else:
            self.observation_space = self._parts
        sizes = np.array([space.sizes[kind] for kind in KINDS])
        self._mean_size = sizes[:, [0, 2]]  # (kinds, [length, width])
        self.road: Road | None = None
        self._cursor: tuple[int, float] = (0, 0.0)
        self._current = -1  # the vehicle under the edit cursor (select="cursor")
        self._columns: dict[str, NDArray] = {}
        self.targets: dict[str, float] = {}
        self._score = 0.0
        self._steps = 0

    def _model(self, term: str, model: Any, kind: type, what: str) -> Any:
        """The model of a realism ``term``: ``model`` itself, or loaded from its path; one is
        required when the term has a weight."""
        if isinstance(model, str):
            model = kind.load(model)
        if self.reward_spec.weight(term) > 0 and model is None:
            raise ValueError(
                f"the {term} term has a weight but no {what} model was given: pass "
                f"{term}={kind.__name__}.fit(reference) (or a saved model's path), or set "
                f"reward={{'weights': {{'{term}': 0, ...}}}}"
            )
        return model

    def _check_fits(self, space: HighwaySpaceConfig, max_vehicles: int) -> None:
        ramps = 1 if space.ramp_probability > 0 else 0
        if space.lanes[1] + ramps > self.grid.lanes:
            raise ValueError(
                f"space.lanes allows {space.lanes[1]} lanes (+{ramps} ramp) but the grid has "
                f"{self.grid.lanes} rows; lower space.lanes or raise grid lanes"
            )
        if space.length[1] > self.grid.length:
            raise ValueError(
                f"space.length allows {space.length[1]:g} m but the grid covers "
                f"{self.grid.length:g} m; lower space.length or enlarge the grid"
            )
        if space.vehicles[1] > max_vehicles:
            raise ValueError(
                f"space.vehicles allows {space.vehicles[1]} vehicles but max_vehicles is "
                f"{max_vehicles}"
            )

    # ------------------------------------------------------------------ scene state
    @property
    def scene(self) -> Scene:
        """The current scene."""
        return Scene(self.road, Vehicles.unchecked(self._columns))

    def _set_scene(self, scene: Scene) -> None:
        if len(scene.vehicles) > self.max_vehicles:
            raise ValueError(
                f"the scene has {len(scene.vehicles)} vehicles; max_vehicles is {self.max_vehicles}"
            )
        self.road = scene.road
        self._columns = {name: np.array(getattr(scene.vehicles, name)) for name in _COLUMNS}

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._begin(seed, options)
        scores, terms, _, observation = score_envs([self], road_batch(self.road), _ONE, False)
        return self._row(observation), self._start_info(float(scores[0]), terms, 0)

    def _expose(self, observation: dict[str, NDArray]) -> dict[str, NDArray] | NDArray:
        """Stacked observation parts as the observation space has them: the dict itself, or
        with ``flat=True`` one ``(n, size)`` array of the parts in order."""
        if not self.flat:
            return observation
        return np.concatenate(
            [observation[name].reshape(len(observation[name]), -1) for name in self._parts],
            axis=1,
        )

    def _row(self, observation: dict[str, NDArray], i: int = 0) -> dict[str, NDArray] | NDArray:
        """Row ``i`` of stacked observation parts, as the observation space has it."""
        if not self.flat:
            return _row(observation, i)
        return self._expose({name: values[i : i + 1] for name, values in observation.items()})[0]

    def _decode(self, actions: Any) -> Any:
        """Actions as the edits take them: with ``flat=True`` or ``compact=True`` each
        ``Discrete`` index becomes the parts it stands for, ``(n, parts)``; otherwise
        ``actions`` unchanged."""
        if self._table is None:
            return actions
        index = np.asarray(actions).reshape(-1).astype(np.int64)
        size = len(self._table)
        if index.size and (index.min() < 0 or index.max() >= size):
            raise ValueError(f"actions must be in 0..{size - 1}, got {index.tolist()}")
        return self._table[index]

    def _start_info(self, score: float, terms: dict[str, NDArray], i: int) -> dict[str, Any]:
        """Take the score of the starting scene; the reset's info."""
        self._score = score
        return self._info(_column(terms, i))

    def _begin(self, seed: int | None, options: dict | None) -> None:
        """Everything ``reset`` does but scoring and observing the starting scene."""
        begin_many([self], [seed], [options])

    def _begin_draw(self, seed: int | None, options: dict | None) -> Scene | None:
        """The part of ``_begin`` before the space draws: reseed, and with ``start="goal"``
        draw the targets. Returns the scene given in ``options``, or None when the space is
        to draw the starting scene (``begin_many``)."""
        super().reset(seed=seed)
        unknown = set(options or {}) - {"scene", "targets"}
        if unknown:  # a misspelt option would silently start from a random scene or targets
            raise ValueError(
                f"unknown reset option(s) {sorted(unknown)}; the options are 'scene' and 'targets'"
            )
        scene = (options or {}).get("scene")
        if scene is not None and not isinstance(scene, Scene):
            raise TypeError(f"options['scene'] must be a Scene, got {type(scene).__name__}")
        # start="goal": the targets come first and shape the starting scene; otherwise the
        # scene is drawn first (the order fixes which scene and targets a seed gives).
        if self.start == "goal" and scene is None:
            self.targets = self._draw_targets(options or {})
        return scene

    def _begin_finish(self, scene: Scene, options: dict | None) -> None:
        """Start from ``scene``; ``options``: draw the targets now, after the scene, from these
        options (None: they were drawn first)."""
        self._set_scene(scene)
        if options is not None:
            self.targets = self._draw_targets(options)
        self._steps = 0
        self._cursor = (0, float(self.road.lane_starts[0]))
        self._current = self._first_vehicle()

    def _draw_targets(self, options: dict) -> dict[str, float]:
        """Goal targets drawn from the goal, with those in ``options["targets"]`` replacing
        theirs."""
        targets = self.goal.sample(self.np_random) if self.goal is not None else {}
        if "targets" in options:
            given = dict(options["targets"])
            if self.goal is None or set(given) - set(self.goal.names):
                allowed = ", ".join(self.goal.names) if self.goal is not None else "none"
                raise ValueError(
                    f"options['targets'] names {sorted(given)}; this environment's goal "
                    f"descriptors are: {allowed}"
                )
            # Descriptors not named keep the targets just drawn.
            targets.update({name: float(value) for name, value in given.items()})
        return targets

    def step(self, action):
        if self._table is not None:
            action = self._decode(action)[0]
        terminated, truncated, terminal_reward = self._apply(action)
        scores, terms, now, observation = score_envs(
            [self], road_batch(self.road), _ONE, terminated or truncated
        )
        reward, info = self._settle(
            float(scores[0]),
            _column(terms, 0),
            None if now is None else _column(now, 0),
            terminated,
            truncated,
            terminal_reward,
        )
        return self._row(observation), reward, terminated, truncated, info

    def _apply(self, action) -> tuple[bool, bool, bool]:
        """Carry out ``action`` on the current scene; ``(terminated, truncated, terminal
        reward)``: the last says the reward is the score itself, not its change."""
        if self.representation == "oneshot":
            return self._oneshot(action)
        if self.representation == "latent":
            return self._latent(action)
        if self.representation == "construct":
            return self._construct(int(np.asarray(action).ravel()[0]))
        if self.select == "cursor":
            operation, level = (int(a) for a in np.asarray(action).ravel()[:2])
            self._edit_at_cursor(operation, level)
        else:
            vehicle, operation, level = (int(a) for a in np.asarray(action).ravel()[:3])
            self._edit(vehicle, operation, level)
        self._steps += 1
        return False, self._steps >= self.edit_budget, False

    def _edit_at_cursor(self, operation: int, level: int) -> None:
        """Edit the vehicle under the cursor, then move the cursor on along the road: to the
        first vehicle after the edited vehicle's place before the edit, in lane, station, then
        index order, around to the first after the last. A vehicle moved ahead of the cursor is
        met again; vehicles at the same place are all visited."""
        c = self._columns
        i = self._current
        lane, s = (int(c["lane"][i]), float(c["s"][i])) if i >= 0 else (-(2**31), -np.inf)
        before = c["lane"].size
        self._edit(max(i, 0), operation, level)
        c = self._columns
        n = c["lane"].size
        if n == 0:
            self._current = -1
            return
        index = np.arange(n)
        if n < before:  # vehicle i was removed: compare in the indices of before the edit
            index = index + (index >= i)
        after = (c["lane"] > lane) | (
            (c["lane"] == lane) & ((c["s"] > s) | ((c["s"] == s) & (index > i)))
        )
        candidates = np.flatnonzero(after) if after.any() else np.arange(n)
        first = np.lexsort((index[candidates], c["s"][candidates], c["lane"][candidates]))[0]
        self._current = int(candidates[first])

    def _first_vehicle(self) -> int:
        """The first vehicle in lane, station, then index order; -1 without vehicles."""
        c = self._columns
        n = c["lane"].size
        return int(np.lexsort((np.arange(n), c["s"], c["lane"]))[0]) if n else -1

    def _settle(
        self,
        score: float,
        terms: dict[str, float],
        now: dict[str, float] | None,
        terminated: bool,
        truncated: bool,
        terminal_reward: bool,
        vehicles: int | None = None,
    ) -> tuple[float, dict[str, Any]]:
        """Take the new score of the scene; the step's reward and info. ``vehicles``: the
        scene's vehicle count where the columns are edited elsewhere (``CursorEdits``)."""
        reward = score if terminal_reward else score - self._score
        self._score = score
        info = self._info(terms, vehicles)
        if terminated or truncated:
            info["descriptors"] = now  # for population terms at episode end
        return float(reward), info

    def _append_vehicle(self, **values: float) -> None:
        """Add one vehicle to the columns (values of every column in ``_COLUMNS``)."""
        c = self._columns
        for column in _COLUMNS:
            c[column] = np.append(c[column], np.array(values[column], dtype=c[column].dtype))

    # ------------------------------------------------------------------ construct
    def _placement(self, action: int) -> tuple[float, float, int, float, float]:
        """``(s, speed, kind, length, width)`` of the vehicle a placement action puts down."""
        gap_i, rest = divmod(action, len(CONSTRUCT_SPEEDS) * len(KINDS))
        speed_i, kind = divmod(rest, len(KINDS))
        length, width = self._mean_size[kind]
        s = self._cursor[1] + CONSTRUCT_GAPS[gap_i] + length / 2.0
        speed = CONSTRUCT_SPEEDS[speed_i] * self.road.speed_limit
        return s, speed, kind, float(length), float(width)

    def action_masks(self) -> NDArray[np.bool_]:
        """Which actions are allowed now (for sb3-contrib's MaskablePPO).

        ``construct`` only: a placement is allowed while the vehicle stays inside its lane's
        extent and fewer than ``max_vehicles`` are placed; "next lane" while a lane is left;
        "stop" always. Other representations allow everything.
        """
        if self.representation != "construct":
            size = int(np.prod(getattr(self.action_space, "nvec", [self.action_space.n])))
            return np.ones(size, dtype=bool)
        mask = np.zeros(_PLACEMENTS + 2, dtype=bool)
        lane, front = self._cursor
        if self._columns["lane"].size < self.max_vehicles and lane < self.road.lane_count:
            gaps = np.repeat(np.array(CONSTRUCT_GAPS), len(CONSTRUCT_SPEEDS) * len(KINDS))
            lengths = np.tile(self._mean_size[:, 0], len(CONSTRUCT_GAPS) * len(CONSTRUCT_SPEEDS))
            rear = front + gaps
            mask[:_PLACEMENTS] = (rear >= self.road.lane_starts[lane]) & (
                rear + lengths <= self.road.lane_ends[lane]
            )
        mask[_NEXT_LANE] = lane < self.road.lane_count - 1
        mask[_STOP] = True
        return mask

    def _construct(self, action: int):
        if not 0 <= action < _PLACEMENTS + 2:
            raise ValueError(f"action must be in 0..{_PLACEMENTS + 1}, got {action}")
        done = action == _STOP
        if not self.action_masks()[action]:
            pass  # a masked action changes nothing (MaskablePPO never picks one)
        elif action == _NEXT_LANE:
            lane = self._cursor[0] + 1
            self._cursor = (lane, float(self.road.lane_starts[lane]))
        elif action < _PLACEMENTS:
            s, speed, kind, length, width = self._placement(action)
            self._append_vehicle(
                lane=self._cursor[0],
                s=s,
                d=0.0,
                heading=0.0,
                speed=speed,
                length=length,
                width=width,
                kind=kind,
            )
            self._cursor = (self._cursor[0], s + length / 2.0)
        self._steps += 1
        done = done or not self.action_masks()[:_STOP].any()
        return done, not done and self._steps >= self.edit_budget, False

    def _oneshot(self, action):
        """The action is the whole scene: each channel in [-1, 1] maps onto the grid."""
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        grid = np.zeros(self.grid.shape)
        grid[1] = a[0] + 0.5  # occupied where a > 0
        grid[2] = (a[1] + 1.0) / 2.0  # place in the cell
        grid[3] = a[2] * 0.5  # offset: +-1 m
        grid[4] = a[3] * 0.25  # heading: +-0.15 rad
        grid[5] = (a[4] + 1.0) / 2.0  # speed: 0..40 m/s
        grid[6] = 0.1 + (a[5] + 1.0) / 2.0 * 0.8  # length: 2..18 m
        grid[7] = 0.5 + (a[6] + 1.0) / 2.0 * 0.4  # width: 1.5..2.7 m
        grid[8:] = a[7:]  # kind: the largest
        scene = self.grid.decode(grid, self.road)
        self._set_scene(
            scene.replace(
                vehicles=scene.vehicles.take(np.arange(min(len(scene.vehicles), self.max_vehicles)))
            )
        )
        self._steps += 1
        return True, False, True

    def _decoder(self, decoder: Any) -> Any:
        """The scene prior of the ``latent`` representation (loaded when given as a path)."""
        if self.representation != "latent":
            if decoder is not None:
                raise ValueError(
                    f"decoder is for the latent representation only, not {self.representation!r}"
                )
            return None
        from scenegym.generators.prior import ScenePrior  # imports torch

        if isinstance(decoder, (str, os.PathLike)):
            decoder = ScenePrior.load(decoder)
        if not isinstance(decoder, ScenePrior):
            raise ValueError(
                "the latent representation needs decoder=a ScenePrior or the path of a prior "
                f"folder (scenegym fit-prior), got {type(decoder).__name__}"
            )
        return decoder

    def _latent(self, action):
        """The action, in the whitened coordinates of the decoder's sampling Gaussian times
        ``LATENT_RANGE``, is the latent code of the scene: decoded onto the episode's road."""
        self._latent_scene(self.decoder.decode_on(_codes(self.decoder, [action]), [self.road])[0])
        return True, False, True

    def _latent_scene(self, scene: Scene) -> None:
        keep = np.arange(min(len(scene.vehicles), self.max_vehicles))
        self._set_scene(scene.replace(vehicles=scene.vehicles.take(keep)))
        self._steps += 1

    def _info(self, terms: dict[str, float], vehicles: int | None = None) -> dict[str, Any]:
        return {
            "reward_terms": dict(terms),
            "score": self._score,
            "valid": terms["validity"] == 1.0,
            "vehicles": int(self._columns["lane"].size) if vehicles is None else vehicles,
            "targets": dict(self.targets),
        }

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        from scenegym.datasets.render import RenderConfig, render

        return render(self.scene, RenderConfig(width=256, height=128)).rgb

    # ------------------------------------------------------------------ edits
    def _edit(self, vehicle: int, operation: int, level: int) -> None:
        c = self._columns
        n = c["lane"].size
        road = self.road
        name = EDIT_OPERATIONS[operation]
        if name == "add":
            self._add(level)
            return
        if n == 0:
            return
        i = vehicle % n
        if name == "lane":
            c["lane"][i] = level % road.lane_count
        elif name == "move":
            c["s"][i] = float(np.clip(c["s"][i] + (level - 5) * 2.0, 0.0, road.length))
        elif name == "speed":
            c["speed"][i] = level / 10.0 * 1.2 * road.speed_limit
        elif name == "offset":
            c["d"][i] = (level - 5) / 5.0
        elif name == "heading":
            c["heading"][i] = (level - 5) / 5.0 * 0.15
        elif name == "kind" and self.realign:
            # Repaired in place: its kind's mean size, on the lane centre, along the lane.
            c["length"][i], c["width"][i] = self._mean_size[c["kind"][i]]
            c["d"][i] = 0.0
            c["heading"][i] = 0.0
        elif name == "kind":
            kind = level % len(KINDS)
            c["kind"][i] = kind
            c["length"][i], c["width"][i] = self._mean_size[kind]
        elif name == "remove":
            keep = np.arange(n) != i
            for column in _COLUMNS:
                c[column] = c[column][keep]

    def _add(self, level: int) -> None:
        c = self._columns
        if c["lane"].size >= self.max_vehicles:
            return
        road = self.road
        lane = level % road.lane_count
        start, end = road.lane_starts[lane], road.lane_ends[lane]
        mine = c["lane"] == lane
        fronts = np.sort(c["s"][mine])
        edges = np.concatenate([[start], fronts, [end]])
        gaps = np.diff(edges)
        best = int(np.argmax(gaps))
        s = float((edges[best] + edges[best + 1]) / 2.0)
        # A running sum, as the batched edits (scenegym.envs.editing) take it row by row.
        n = c["speed"].size
        speed = float(np.cumsum(c["speed"])[-1] / n) if n else 0.8 * road.speed_limit
        length, width = self._mean_size[0]
        self._append_vehicle(
            lane=lane, s=s, d=0.0, heading=0.0, speed=speed, length=length, width=width, kind=0
        )


_ONE = np.zeros(1, dtype=np.int64)


def _row(observation: dict[str, NDArray], i: int) -> dict[str, NDArray]:
    return {name: values[i] for name, values in observation.items()}


def _column(values: dict[str, NDArray], i: int) -> dict[str, float]:
    return {name: float(column[i]) for name, column in values.items()}


def score_envs(
    envs: list[DrivingLayoutEnv],
    roads: RoadBatch,
    road_of: NDArray[np.int64],
    descriptors: bool,
    *,
    score: bool = True,
) -> tuple[NDArray | None, dict[str, NDArray], dict[str, NDArray] | None, dict[str, NDArray]]:
    """Score and observe the current scenes of ``envs`` (all configured alike) in one batch.

    ``roads`` holds the envs' roads, ``road_of`` the row of each env's road. Returns the
    ``(n,)`` weighted scores, every reward term ``(n,)``, the descriptors (when ``descriptors``
    or a goal asks for them, else None) and the stacked observations. Without ``score`` only
    the observations (and descriptors) are computed; scores are None and terms empty.
    """
    first = envs[0]
    if len(envs) == 1:
        columns = first._columns
    else:
        columns = {name: np.concatenate([env._columns[name] for env in envs]) for name in _COLUMNS}
    sizes = np.fromiter((env._columns["lane"].size for env in envs), np.int64, len(envs))
    batch = SceneBatch(roads, road_of, sizes, columns)
    targets = goal_targets(envs)
    current = steps = cursor = None
    if first.select == "cursor":
        current = np.fromiter((env._current for env in envs), np.int64, len(envs))
        steps = np.fromiter((env._steps for env in envs), np.int64, len(envs))
    if first.representation == "construct":
        cursor = np.array([env._cursor for env in envs], dtype=np.float64)
    return score_batch(
        first, batch, targets, descriptors, score=score, current=current, steps=steps, cursor=cursor
    )


def _codes(decoder: Any, actions: Any) -> NDArray[np.float64]:
    """Latent codes ``(n, latent_size)`` of ``latent`` actions."""
    a = np.clip(np.asarray(actions, dtype=np.float64).reshape(len(actions), -1), -1.0, 1.0)
    return decoder.latent_mean + (LATENT_RANGE * a) @ decoder.latent_scale.T


def goal_targets(envs: Sequence[DrivingLayoutEnv]) -> NDArray[np.float64] | None:
    """``(envs, k)`` goal targets of goal-conditioned environments (configured alike), in
    the order of the goal's names; None without a goal in the observation."""
    first = envs[0]
    if "goal" not in first._parts.spaces:
        return None
    names = first.goal.names
    return np.array([[env.targets[name] for name in names] for env in envs])


def _check_kind(name: str, value: Any, *kinds: type) -> None:
    """A clear error for an argument of the wrong type (None is always allowed)."""
    if value is not None and not isinstance(value, kinds):
        names = " or ".join("a mapping" if kind is dict else kind.__name__ for kind in kinds)
        raise TypeError(f"{name} must be {names}, got {type(value).__name__} {value!r}")


def begin_many(
    envs: Sequence[DrivingLayoutEnv],
    seeds: Sequence[int | None],
    options: Sequence[dict | None],
) -> None:
    """``env._begin(seed, options)`` for each environment (configured alike: they share one
    space and goal), with the starting scenes of all of them drawn at once
    (``HighwaySceneSpace.sample_roads`` and ``sample_vehicles_many``) and the goal starts'
    candidates described and scored in one batch. Each environment draws from its own
    generator, so the starting scenes are those of the environments reset one by one.

    A goal start (``start="goal"``, ``start_candidates`` K > 1) draws one road for the
    targets and K vehicle sets on it, and starts from the set whose descriptors come nearest
    the targets (goal score; the first of equals) -- nearest, not the best score: candidates
    picked for validity as well leave the small gaps of crowded targets unmet, and the
    policy repairs overlaps."""
    drawn = []
    for env, seed, option in zip(envs, seeds, options):
        scene = env._begin_draw(seed, option)
        if scene is None:
            drawn.append((env, option))
        else:
            env._begin_finish(scene, options=option or {})
    if not drawn:
        return
    first = drawn[0][0]
    goal_first = first.start == "goal"
    rngs = [env.np_random for env, _ in drawn]
    targets = [env.targets for env, _ in drawn] if goal_first else None
    roads = first.space.sample_roads(rngs, targets)
    if first.representation in ("oneshot", "construct", "latent"):
        # The actions make the vehicles: the start keeps its road only.
        for (env, option), road in zip(drawn, roads):
            env._begin_finish(
                Scene(road, Vehicles.empty()), options=None if goal_first else option or {}
            )
        return
    count = first.start_candidates if goal_first else 1
    sizes, columns = first.space.sample_vehicles_many(roads, rngs, targets, count)
    pick = np.zeros(len(drawn), dtype=np.int64)
    if count > 1:
        from scenegym.rewards.spec import goal_scores

        batch = SceneBatch(
            RoadBatch(roads),
            np.repeat(np.arange(len(drawn)), count),
            np.repeat(sizes, count),
            columns,
        )
        now = batch.describe()
        scores = goal_scores(
            np.column_stack([now[name] for name in first.goal.names]),
            np.repeat(goal_targets([env for env, _ in drawn]), count, axis=0),
            first.goal,
        ).reshape(len(drawn), count)
        pick = np.argmax(scores, axis=1)
    ends = np.cumsum(sizes * count)
    for (env, option), road, n, end, k in zip(
        drawn, roads, sizes.tolist(), ends.tolist(), pick.tolist()
    ):
        start = end - n * count + n * k
        vehicles = Vehicles.unchecked({name: v[start : start + n] for name, v in columns.items()})
        env._begin_finish(Scene(road, vehicles), options=None if goal_first else option or {})


def apply_actions(
    envs: list[DrivingLayoutEnv], actions: Any
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    """``env._apply(actions[i])`` for every environment (configured alike); ``latent`` codes
    are decoded in one batch. Returns the ``(terminated, truncated, terminal reward)`` flags."""
    n = len(envs)
    if n and envs[0].representation == "latent":
        decoder = envs[0].decoder
        scenes = decoder.decode_on(_codes(decoder, actions), [env.road for env in envs])
        for env, scene in zip(envs, scenes):
            env._latent_scene(scene)
        return np.ones(n, dtype=bool), np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
    flags = np.array([env._apply(action) for env, action in zip(envs, actions)], dtype=bool)
    flags = flags.reshape(n, 3)
    return flags[:, 0], flags[:, 1], flags[:, 2]


def score_batch(
    first: DrivingLayoutEnv,
    batch: SceneBatch,
    targets: NDArray | None,
    descriptors: bool,
    *,
    score: bool = True,
    current: NDArray[np.int64] | None = None,
    steps: NDArray[np.int64] | None = None,
    cursor: NDArray[np.float64] | None = None,
) -> tuple[NDArray | None, dict[str, NDArray], dict[str, NDArray] | None, dict[str, NDArray]]:
    """``score_envs`` of scenes already in a ``SceneBatch``: environments configured as
    ``first``, with ``(n, k)`` goal ``targets`` (None without a goal), and for ``cursor`` edits
    the ``current`` vehicle and ``steps`` taken of every scene, for ``construct`` the
    ``(n, 2)`` construction ``cursor`` (lane, front)."""
    goal = first.goal if "goal" in first._parts.spaces else None
    now = batch.describe() if (descriptors or goal is not None) else None
    scores, terms = None, {}
    if score:
        scores, terms = first.reward_spec.score_batch(
            batch,
            realism=first.realism,
            scene_realism=first.scene_realism,
            prior=first.prior,
            targets=targets,
            goal=goal,
            descriptors=now,
        )
    if first.select == "cursor":
        observation = _cursor_view(current, steps, batch, first)
    else:
        grid = first.grid.encode_batch(batch, drop=True)[0]
        observation = {"grid": np.clip(grid, -5.0, 5.0, out=grid)}
    if first.representation == "construct":
        cursor = cursor.copy()
        cursor[:, 0] /= max(first.grid.lanes - 1, 1)
        cursor[:, 1] = np.minimum(cursor[:, 1] / first.grid.length, 1.0)
        observation["cursor"] = cursor.astype(np.float32)
    if goal is not None:
        low = np.array([goal.ranges[name][0] for name in goal.names])
        width = np.array([goal.ranges[name][1] for name in goal.names]) - low
        current_values = np.column_stack([now[name] for name in goal.names])
        values = np.concatenate([(targets - low) / width, (current_values - low) / width], axis=1)
        observation["goal"] = np.clip(values, -5.0, 5.0).astype(np.float32)
    return scores, terms, now, observation


def _cursor_view(
    current: NDArray[np.int64],
    steps: NDArray[np.int64],
    batch: SceneBatch,
    first: DrivingLayoutEnv,
) -> dict[str, NDArray]:
    """The grid window centred on each scene's ``current`` vehicle and its ``cursor``
    features (``steps``: edits made so far in each scene)."""
    n, rows, cells, window = len(current), first.grid.lanes, first.grid.cells, first.window
    has = current >= 0
    flat = (batch.first + current)[has]  # the cursor vehicles, in the batch's columns

    def take(column: NDArray) -> NDArray[np.float64]:
        """``column`` of each env's cursor vehicle; 0 where there is none."""
        values = np.zeros(n)
        values[has] = column[flat]
        return values

    lane = take(batch.lane).astype(np.int64)
    cell = np.clip((take(batch.s) / first.grid.cell_length).astype(np.int64), 0, cells - 1)
    # Cells cell - window // 2 ... of each grid; those beyond the grid's ends are zero.
    crop = first.grid.encode_windows(batch, cell - window // 2, window)
    np.clip(crop, -5.0, 5.0, out=crop)
    violations = np.zeros(n)
    violations[has] = batch.violations_of(DEFAULT_RULES, flat)
    features = np.zeros((n, rows + _OWN), dtype=np.float32)
    features[np.flatnonzero(has), np.minimum(lane[has], rows - 1)] = 1.0
    kind = take(batch.kind).astype(np.int64)
    own = np.column_stack(
        [
            cell / cells,
            has,
            take(batch.d) / 2.0,
            take(batch.heading) / 0.6,
            take(batch.speed) / 40.0,
            take(batch.length) / 20.0,
            take(batch.width) / 3.0,
            (kind[:, None] == np.arange(4)) & has[:, None],
            np.minimum(violations / 4.0, 1.0),
            steps / first.edit_budget,
        ]
    )
    features[:, rows:] = np.clip(own, -5.0, 5.0)
    if first.compact:
        # COMPACT_CHANNELS of the lanes left of, at and right of the cursor vehicle's lane
        # (rows beyond the grid all 0).
        padded = np.zeros((n, len(COMPACT_CHANNELS), rows + 2, window), dtype=np.float32)
        padded[:, :, 1:-1] = crop[:, _COMPACT_CHANNEL_INDEX]
        near = np.minimum(lane, rows - 1)[:, None] + np.arange(3)
        crop = padded[np.arange(n)[:, None], :, near].transpose(0, 2, 1, 3)
    return {"grid": np.ascontiguousarray(crop), "cursor": features}
