"""The scene-generation environment: an agent changes a scene towards a better reward score
through a representation (``scenegym.envs.edit``, ``construct``, ``oneshot``, ``latent``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from scenegym._checks import check_whole
from scenegym.config import config_from_mapping
from scenegym.datasets.render import RenderConfig, render
from scenegym.envs.construct import ConstructRepresentation
from scenegym.envs.edit import (
    SELECTIONS,
    EditRepresentation,
    check_edit_settings,
    vehicle_draws,
)
from scenegym.envs.latent import LatentRepresentation, load_decoder
from scenegym.envs.oneshot import OneshotRepresentation
from scenegym.envs.representation import (
    OBSERVATION_BOUND,
    REPRESENTATIONS,
    PolicySpaces,
    Representation,
)
from scenegym.envs.starts import goal_targets, start_episodes
from scenegym.rewards import GoalSpec, RewardSpec, SceneRealism, VehicleRealism, reward_term
from scenegym.scene.descriptors import ROLLOUT_DESCRIPTORS, describe, describe_batch
from scenegym.scene.encoding import LaneGrid
from scenegym.scene.features import ROAD_FEATURES
from scenegym.scene.road import Road
from scenegym.scene.scene import Scene, distinct_roads, iter_scenes
from scenegym.scene.space import HighwaySceneSpace, HighwaySpaceConfig
from scenegym.scene.vehicles import KINDS, Vehicles

__all__ = ["STARTS", "DrivingLayoutEnv"]

STARTS: tuple[str, ...] = ("space", "goal")
"""Where a starting scene comes from: the scene space alone, or the scene space following the
goal targets (``HighwaySceneSpace.sample(rng, targets)``)."""
_CLASSES = {
    "edit": EditRepresentation,
    "construct": ConstructRepresentation,
    "oneshot": OneshotRepresentation,
    "latent": LatentRepresentation,
}


class DrivingLayoutEnv(gym.Env):
    """Generate a driving scene by editing it step by step, or all at once.

    ## Description
    The agent starts from a random scene of a ``HighwaySceneSpace`` (the domain-randomisation
    baseline) and edits it: each step changes one attribute of one vehicle, removes it, or adds
    a vehicle. Diversity comes from the random starts and the road, which is never edited;
    quality from the learned edits. The step reward is the change of a weighted score
    (``RewardSpec``), so the return of an episode is the final score minus the starting one.
    Other representations build the scene vehicle by vehicle, or in one action.

    The environment draws the starting scenes and goal targets, scores the scenes and adds
    the goal to the observation; how actions change the scene is its representation's
    (``env.representation``: ``EditRepresentation``, ``ConstructRepresentation``,
    ``OneshotRepresentation`` or ``LatentRepresentation``, one module each), which holds the
    scene and the observation parts it gives, and ``env.spaces`` (``PolicySpaces``) presents
    them to the policy, as a ``Dict`` or flat. A representation holds the scenes of many
    episodes as rows: one environment is a batch of one, and ``DrivingLayoutVecEnv``'s
    environments share one representation of all their scenes.

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
    ``latent`` and ``construct`` keep its road only), or ``options["scene"]``, or the vehicles
    drawn on ``options["road"]`` (a ``Road`` within the lane grid; the episode's scenes keep
    it unchanged, and its lane count and curvature are the targets of those descriptors);
    goal targets
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
      there, refused elsewhere. ``models``: further models of registered terms by name, such
      as ``{"driver": DriverJudge(source="faster")}`` for the ``adversarial`` term (a term
      with a weight needs the models its ``models`` attribute names). ``episode_descriptors``:
      rollout descriptors (``criticality``) added to ``info["descriptors"]`` at every
      episode's end, for population terms that compare scenes by them.
    - ``representation``: ``"edit"`` (default), ``"construct"``, ``"oneshot"`` or
      ``"latent"`` (``REPRESENTATIONS``).
    - ``grid``: ``LaneGrid``; ``max_vehicles``: 40; ``edit_budget``: 64 steps.
    - ``start``: ``"space"`` (default) or ``"goal"`` (needs a goal; see Starting state).
    - ``start_candidates``: with ``start="goal"``, how many vehicle sets are drawn for the
      targets on the starting road; the one nearest the targets (goal score) starts (1).
    - ``flat``: one ``Box`` observation and one ``Discrete`` action instead of a ``Dict``
      and a ``MultiDiscrete`` (False; True in edit-v4). See Observation space.
    - The settings of the ``edit`` representation (``EditRepresentation``; checked
      whatever the representation, used by ``edit`` only): ``select``, ``"index"`` or
      ``"cursor"``; ``window``, cells of the cursor view (16); ``realign``, operation 5
      realigns the vehicle instead of changing its kind (False; True in v2); ``compact``,
      the compact cursor view and the 32 cursor edits of edit-v5 (False; True in edit-v5;
      see Action space and Observation space); ``redraw``, realigning and adding draw a
      vehicle's offset, heading and size (and an added vehicle's kind) from the space's
      ``lateral_mean``, ``lateral_std``, ``heading_std``, ``sizes`` and ``kind_shares``
      instead of setting the lane centre, the lane heading, the kind's mean size and a car
      (False; True in edit-v6; needs ``realign``).
    - ``roads``: None, or roads to start on (a scenes file, whose scenes' distinct roads are
      taken, or a sequence of ``Road``): each episode drives on one of them drawn at random
      instead of a road of the space (``options["road"]`` still names one); each must lie
      within the lane grid.
    - ``render_mode``: None or ``"rgb_array"``.

    ## Version history
    - v6 (edit): as v5, with ``redraw=True``: a realigned or added vehicle takes an offset,
      heading and size drawn from the starting space (an added one a kind drawn from its
      shares), so scenes hold the spread of offsets, headings, sizes and kinds of the traffic
      the space was fitted to (``scenegym fit`` fits it to the reference) instead of
      vehicles on the lane centre at their kind's mean size.
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
        models: dict[str, Any] | None = None,
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
        redraw: bool = False,
        roads: Any = None,
        episode_descriptors: Sequence[str] = (),
        render_mode: str | None = None,
    ) -> None:
        if representation not in REPRESENTATIONS:
            raise ValueError(
                f"representation {representation!r} is not available; choose one of "
                f"{', '.join(REPRESENTATIONS)}"
            )
        _check_kind("grid", grid, LaneGrid)
        _check_kind("space", space, HighwaySpaceConfig, dict)
        _check_kind("reward", reward, RewardSpec, dict)
        _check_kind("goal", goal, GoalSpec, dict)
        self.grid = grid if grid is not None else LaneGrid()
        space = self._space_config(space, max_vehicles)
        self.space = HighwaySceneSpace(space)
        self._set_up_scoring(reward, goal, realism, scene_realism, prior)
        self.models = self._term_models(models)
        self.decoder = _decoder(representation, decoder)
        self.max_vehicles = check_whole("max_vehicles", max_vehicles, 1)
        self.edit_budget = check_whole("edit_budget", edit_budget, 1)
        if select not in SELECTIONS:
            raise ValueError(f"select must be one of {', '.join(SELECTIONS)}, got {select!r}")
        edit = {
            "select": select if representation == "edit" else "index",
            "window": window,
            "realign": realign,
            "compact": compact,
            "redraw": redraw,
        }
        edit["window"] = check_edit_settings(**edit)  # whatever the representation
        self.start, self.start_candidates = self._checked_start(start, start_candidates)
        if not isinstance(flat, bool):
            raise TypeError(f"flat must be True or False, got {flat!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self.representation = self._make_representation(representation, space, edit)
        parts = dict(self.representation.parts)
        if self.goal is not None and self.goal.names:
            k = len(self.goal.names)
            parts["goal"] = spaces.Box(
                -OBSERVATION_BOUND, OBSERVATION_BOUND, (2 * k,), dtype=np.float32
            )
        self.spaces = PolicySpaces(
            parts=parts,
            actions=self.representation.action_space,
            table=self.representation.table,
            flat=flat,
        )
        self.observation_space = self.spaces.observation_space
        self.action_space = self.spaces.action_space
        self.row, self._rows = 0, np.zeros(1, dtype=np.int64)  # its row, the rows it scores
        self.targets: dict[str, float] = {}
        self.given_road: Road | None = None  # the road of the current episode, when given
        self.road_pool = self._road_pool(roads)
        self.episode_descriptors, self._score = _rollout_names(episode_descriptors), 0.0

    def _make_representation(
        self, name: str, space: HighwaySpaceConfig, edit: dict[str, Any]
    ) -> Representation:
        """The representation ``name`` of one row, with this environment's settings (and
        the ``edit`` settings where it is ``edit``)."""
        sizes = np.array([space.sizes[kind] for kind in KINDS])
        settings: dict[str, Any] = {
            "grid": self.grid,
            "max_vehicles": self.max_vehicles,
            "edit_budget": self.edit_budget,
            "mean_size": sizes[:, [0, 2]],  # (kinds, [length, width])
        }
        if name == "edit":
            settings.update(edit)
            settings["redraw"] = vehicle_draws(space) if edit["redraw"] else None
        elif name == "latent":
            settings["decoder"] = self.decoder
        return _CLASSES[name](**settings)

    def _space_config(self, space: Any, max_vehicles: int) -> HighwaySpaceConfig:
        """The configuration of the starting scenes' space, checked to fit the grid and
        ``max_vehicles``."""
        if isinstance(space, dict):
            space = config_from_mapping(HighwaySpaceConfig, space, name="space")
        if space is None:
            space = HighwaySpaceConfig(
                lanes=(2, min(4, self.grid.lanes - 1)),
                length=(150.0, min(350.0, self.grid.length)),
                vehicles=(5, min(30, max_vehicles)),
            )
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
        return space

    def _set_up_scoring(
        self, reward: Any, goal: Any, realism: Any, scene_realism: Any, prior: Any
    ) -> None:
        """The reward specification, the goal and the models the reward terms score with."""
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

    def _term_models(self, models: dict[str, Any] | None) -> dict[str, Any]:
        """``models``, checked to hold every model a weighted term needs."""
        _check_kind("models", models, dict)
        models = dict(models or {})
        for name in self.reward_spec.terms:
            needs = getattr(reward_term(name), "models", ())
            missing = [need for need in needs if models.get(need) is None]
            if self.reward_spec.weight(name) > 0 and missing:
                raise ValueError(
                    f"the {name} term has a weight but no {missing[0]!r} model was given: pass "
                    f"models={{'{missing[0]}': ...}} (see scenegym.rewards.{name}), or set its "
                    "weight to 0"
                )
        return models

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

    def _checked_start(self, start: Any, start_candidates: Any) -> tuple[str, int]:
        if start not in STARTS:
            raise ValueError(f"start must be one of {', '.join(STARTS)}, got {start!r}")
        if start == "goal" and (self.goal is None or not self.goal.names):
            raise ValueError(
                "start='goal' draws the starting scene from the goal targets, but no goal was "
                "given: pass goal={'ranges': {...}} or use start='space'"
            )
        return start, check_whole("start_candidates", start_candidates, 1)

    # ------------------------------------------------------------------ the scene
    @property
    def scene(self) -> Scene:
        """The current scene."""
        return self.representation.scene(self.row)

    @property
    def road(self) -> Road | None:
        """The road of the current episode (None before the first reset)."""
        return self.representation.roads[self.row]

    def vehicle_count(self) -> int:
        """How many vehicles the current scene holds."""
        return int(self.representation.counts(self._rows)[0])

    def share(self, representation: Representation, row: int) -> None:
        """Hold the scene of row ``row`` of ``representation`` from now on: a representation
        of many rows configured as this environment's own. The environments of a
        ``DrivingLayoutVecEnv`` share one, each its own row."""
        if representation.action_space != self.representation.action_space or type(
            representation
        ) is not type(self.representation):
            raise ValueError(
                f"representation must be configured as this environment's own "
                f"({type(self.representation).__name__}, {self.representation.action_space}), "
                f"got {type(representation).__name__}, {representation.action_space}"
            )
        self.representation, self.row = representation, row
        self._rows = np.array([row], dtype=np.int64)

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        start_episodes([self], [seed], [options])
        scores, terms, _, parts = self.assess(self._rows, goal_targets([self]))
        return self.spaces.observation(parts), self.start_info(float(scores[0]), terms, 0)

    def step(self, action):
        actions = self.spaces.actions(np.asarray(action)[None])
        flags = self.representation.apply(actions, self._rows)
        terminated, truncated, terminal = (bool(flag[0]) for flag in flags)
        final = np.array([terminated or truncated])
        scores, terms, now, parts = self.assess(self._rows, goal_targets([self]), final=final)
        reward, info = self.settle(
            float(scores[0]),
            {name: float(values[0]) for name, values in terms.items()},
            None if now is None else {name: float(values[0]) for name, values in now.items()},
            terminated,
            truncated,
            terminal,
            self.vehicle_count(),
        )
        return self.spaces.observation(parts), reward, terminated, truncated, info

    def action_masks(self) -> NDArray[np.bool_]:
        """Which actions are allowed now (for sb3-contrib's MaskablePPO).

        ``construct`` only: a placement is allowed while the vehicle stays inside its lane's
        extent and fewer than ``max_vehicles`` are placed; "next lane" while a lane is left;
        "stop" always. Other representations allow everything.
        """
        if not self.representation.masked:
            space = self.action_space
            return np.ones(int(np.prod(getattr(space, "nvec", [space.n]))), dtype=bool)
        return self.representation.action_masks(self.row)

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return render(self.scene, RenderConfig(width=256, height=128)).rgb

    # ------------------------------------------------------------------ scores and infos
    def assess(
        self,
        rows: NDArray[np.int64] | None,
        targets: NDArray[np.float64] | None,
        *,
        score: bool = True,
        final: NDArray[np.bool_] | None = None,
    ) -> tuple[NDArray | None, dict[str, NDArray], dict[str, NDArray] | None, dict[str, NDArray]]:
        """Score and observe the current scenes of ``rows`` of this environment's
        representation (None: all) in one batch, with their ``(n, k)`` goal ``targets``
        (``goal_targets``; None without a goal); ``final`` flags the scenes at their
        episode's end (``TermContext.final``; None: none).

        Returns the ``(n,)`` weighted scores, every reward term ``(n,)``, the descriptors
        (when an episode ends or a goal asks for them, else None) and the stacked
        observation parts. Without ``score`` only the observations (and descriptors) are
        computed; scores are None and terms empty.
        """
        batch = self.representation.batch(rows)
        goal = self.goal if "goal" in self.spaces.parts.spaces else None
        wanted = goal.names if goal is not None else ()
        descriptors = final is not None and bool(final.any())
        if descriptors:  # an episode ends: what the population terms compare, too
            wanted = (*wanted, *self.episode_descriptors)
        now = describe_batch(batch, wanted) if (descriptors or goal is not None) else None
        scores, terms = None, {}
        if score:
            scores, terms = self.reward_spec.score_batch(
                batch,
                realism=self.realism,
                scene_realism=self.scene_realism,
                prior=self.prior,
                targets=targets,
                goal=goal,
                descriptors=now,
                models=self.models,
                final=np.zeros(batch.count, dtype=bool) if final is None else final,
            )
        parts = self.representation.observe(batch, rows)
        if goal is not None:
            low = np.array([goal.ranges[name][0] for name in goal.names])
            width = np.array([goal.ranges[name][1] for name in goal.names]) - low
            current = np.column_stack([now[name] for name in goal.names])
            values = np.concatenate([(targets - low) / width, (current - low) / width], axis=1)
            parts["goal"] = np.clip(values, -OBSERVATION_BOUND, OBSERVATION_BOUND).astype(
                np.float32
            )
        return scores, terms, now, parts

    def start_info(self, score: float, terms: dict[str, NDArray], i: int) -> dict[str, Any]:
        """Take ``score`` as the score of the starting scene; the reset's info (``terms``:
        stacked reward terms, of which this scene's are row ``i``)."""
        self._score = score
        row_terms = {name: float(values[i]) for name, values in terms.items()}
        return self._info(row_terms, self.vehicle_count())

    def settle(
        self,
        score: float,
        terms: dict[str, float],
        descriptors: dict[str, float] | None,
        terminated: bool,
        truncated: bool,
        terminal: bool,
        vehicles: int,
    ) -> tuple[float, dict[str, Any]]:
        """Take the new ``score`` of the scene; the step's reward (the score itself where
        ``terminal``, else its change) and info (``descriptors`` at an episode's end, for
        population terms; ``vehicles``: the scene's vehicle count)."""
        reward = score if terminal else score - self._score
        self._score = score
        info = self._info(terms, vehicles)
        if terminated or truncated:
            info["descriptors"] = descriptors
        return float(reward), info

    def _info(self, terms: dict[str, float], vehicles: int) -> dict[str, Any]:
        return {
            "reward_terms": dict(terms),
            "score": self._score,
            "valid": terms["validity"] == 1.0,
            "vehicles": vehicles,
            "targets": dict(self.targets),
        }

    # ------------------------------------------------------------------ starts
    def open_episode(self, seed: int | None, options: dict | None) -> tuple[Scene | None, bool]:
        """The part of a reset before the starting scene is drawn: reseed, check the
        options, and with ``start="goal"`` draw the targets. Returns the scene given in
        ``options`` (None when the space is to draw it) and whether the targets are still
        to be drawn."""
        super().reset(seed=seed)
        unknown = set(options or {}) - {"scene", "targets", "road"}
        if unknown:  # a misspelt option would silently start from a random scene or targets
            raise ValueError(
                f"unknown reset option(s) {sorted(unknown)}; the options are 'scene', "
                "'targets' and 'road'"
            )
        scene = (options or {}).get("scene")
        if scene is not None and not isinstance(scene, Scene):
            raise TypeError(f"options['scene'] must be a Scene, got {type(scene).__name__}")
        self.given_road = self.check_road((options or {}).get("road"))
        if scene is not None and self.given_road is not None:
            raise ValueError("give options['scene'] or options['road'], not both")
        if scene is None and self.given_road is None and self.road_pool:
            self.given_road = self.road_pool[int(self.np_random.integers(len(self.road_pool)))]
        # start="goal": the targets come first and shape the starting scene; otherwise the
        # scene is drawn first (the order fixes which scene and targets a seed gives).
        if self.start == "goal" and scene is None:
            self.targets = self.draw_targets(options or {})
            return None, False
        return scene, True

    def _road_pool(self, roads: Any) -> list[Road]:
        """The ``roads`` argument as a list of roads within the lane grid (empty: none)."""
        if roads is None:
            return []
        if isinstance(roads, (str, os.PathLike)):
            roads = distinct_roads(iter_scenes(roads))
        if isinstance(roads, Road) or not isinstance(roads, Sequence) or not roads:
            raise TypeError(
                "roads must be a scenes file or a non-empty sequence of Road objects, got "
                f"{type(roads).__name__}"
            )
        pool = []
        for i, road in enumerate(roads):
            try:
                pool.append(self.check_road(road))
            except (TypeError, ValueError) as error:
                raise type(error)(f"roads[{i}]: {error}") from None
        return pool

    def check_road(self, road: Any) -> Road | None:
        """``road`` (``options["road"]`` of a reset), checked to fit this environment's lane
        grid; None stays None."""
        if road is None:
            return None
        if not isinstance(road, Road):
            raise TypeError(f"options['road'] must be a Road, got {type(road).__name__}")
        if not self.grid.holds(road):
            raise ValueError(
                f"a road of {road.lane_count} lanes and {road.length:.0f} m does not fit this "
                f"environment's lane grid ({self.grid.lanes} lanes, {self.grid.length:g} m); "
                "give roads within it, or train a run with a larger grid"
            )
        return road

    def draw_targets(self, options: dict) -> dict[str, float]:
        """Goal targets: those in ``options["targets"]``, and on a given road
        (``options["road"]``) the road's own lane count and curvature, with the others
        filled in as the goal's reference does given these (``GoalSpec.sample_given``); with
        nothing given, drawn from the goal. On a given road a vehicle count not asked for is
        the one the density puts on that road."""
        given: dict[str, float] = {}
        if "targets" in options:
            given = {name: float(value) for name, value in dict(options["targets"]).items()}
            if self.goal is None or set(given) - set(self.goal.names):
                allowed = ", ".join(self.goal.names) if self.goal is not None else "none"
                raise ValueError(
                    f"options['targets'] names {sorted(given)}; this environment's goal "
                    f"descriptors are: {allowed}"
                )
        if self.goal is None:
            return {}
        if self.given_road is not None:
            road_values = describe(Scene(self.given_road, Vehicles.empty()))
            given.update(
                {name: road_values[name] for name in ROAD_FEATURES if name in self.goal.names}
            )
        if not given:
            return self.goal.sample(self.np_random)
        targets = self.goal.sample_given(given, self.np_random)
        if (
            self.given_road is not None
            and "vehicle_count" not in options.get("targets", {})
            and {"vehicle_count", "density"} <= set(targets)
        ):
            # On a given road a count and a density drawn from a scene of another road
            # disagree: the count not asked for follows the density.
            lane_km = self.given_road.lane_lengths.sum() / 1000.0  # as ``density`` counts
            targets["vehicle_count"] = float(round(targets["density"] * lane_km))
        return targets


def _rollout_names(names: Any) -> tuple[str, ...]:
    """``episode_descriptors``, checked: descriptors that need a rollout
    (``ROLLOUT_DESCRIPTORS``; the others are in every episode end's descriptors already)."""
    names = (names,) if isinstance(names, str) else tuple(names)
    wrong = [name for name in names if name not in ROLLOUT_DESCRIPTORS]
    if wrong:
        raise ValueError(
            f"episode_descriptors: {wrong[0]!r} is no rollout descriptor; those are: "
            f"{', '.join(ROLLOUT_DESCRIPTORS)} (the others are always described)"
        )
    return names


def _check_kind(name: str, value: Any, *kinds: type) -> None:
    """A clear error for an argument of the wrong type (None is always allowed)."""
    if value is not None and not isinstance(value, kinds):
        names = " or ".join("a mapping" if kind is dict else kind.__name__ for kind in kinds)
        raise TypeError(f"{name} must be {names}, got {type(value).__name__} {value!r}")


def _decoder(representation: str, decoder: Any) -> Any:
    """The scene prior of the ``latent`` representation (loaded when given as a path);
    required there, refused elsewhere."""
    if representation != "latent":
        if decoder is not None:
            raise ValueError(
                f"decoder is for the latent representation only, not {representation!r}"
            )
        return None
    return load_decoder(decoder)
