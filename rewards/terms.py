"""Reward terms: the protocol every term follows, the context terms score with, and the
registry that maps a term's name to the term.

A per-scene term (``RewardTerm``) scores the scenes of a ``SceneBatch`` in one call and
returns their ``(scenes,)`` values in [0, 1] (1 is best); whatever else it needs (the scenes'
descriptors, goal targets, a fitted model) comes in one ``TermContext``. A population term
(``PopulationTerm``) scores one finished scene against an archive of the scenes before it,
because its value depends on every environment's scenes (``scenegym.rewards.population``).

Terms are registered by name (``register_term``); a ``RewardSpec`` composes the per-scene terms
its weights name, so a new term needs its own module and nothing else::

    class Crowding:
        name = "crowding"

        def scores(self, batch, context):
            return np.minimum(1.0, batch.sizes / 40)

    register_term(Crowding())
    spec = RewardSpec(weights={"validity": 1.0, "crowding": 0.5})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from scenegym.scene.batch import SceneBatch
from scenegym.scene.descriptors import describe_batch, rollout_descriptors

__all__ = [
    "PopulationTerm",
    "RewardTerm",
    "TermContext",
    "register_term",
    "registered_terms",
    "reward_term",
    "unregister_term",
]


@dataclass(kw_only=True)
class TermContext:
    """What per-scene reward terms score a ``SceneBatch`` with, besides its scenes.

    Attributes:
        models: fitted models by name: ``"realism"`` (a ``VehicleRealism``),
            ``"scene_realism"`` (a ``SceneRealism``), ``"prior"`` (a ``ScenePrior``), and any
            other a registered term reads; a missing model is None.
        targets: ``(scenes, k)`` goal targets, one column per name in ``names`` (None: the
            scenes have no targets).
        goal: the ``GoalSpec`` the targets come from (needed with ``targets``).
        names: the descriptors of the targets' columns (default ``goal.names``).
        descriptors: the batch's descriptors, ``(scenes,)`` values per name; given when the
            caller has them, else computed by ``describe`` at the first term that needs them.
        final: ``(scenes,)`` flags of the scenes at their episode's end (None: all of them,
            as when finished scenes are scored). A term too costly to score at every step
            (``adversarial`` drives an agent through the scene) scores these alone and
            gives the others 0; it was 0 the step before, so the episode's last reward
            holds its whole value, once per episode.
    """

    models: Mapping[str, Any] = field(default_factory=dict)
    targets: NDArray[np.float64] | None = None
    goal: Any = None
    names: Sequence[str] | None = None
    descriptors: Mapping[str, NDArray[np.float64]] | None = None
    final: NDArray[np.bool_] | None = None

    def model(self, name: str) -> Any:
        """The fitted model ``name``, or None."""
        return self.models.get(name)

    def finished(self, count: int) -> NDArray[np.int64]:
        """The indices of the scenes at their episode's end, of a batch of ``count``."""
        if self.final is None:
            return np.arange(count)
        return np.flatnonzero(self.final)

    def describe(
        self, batch: SceneBatch, names: Sequence[str] = ()
    ) -> Mapping[str, NDArray[np.float64]]:
        """The descriptors of ``batch``'s scenes, described once for all the terms, with
        those of ``names`` that need a rollout (``ROLLOUT_DESCRIPTORS``) added when asked."""
        if self.descriptors is None:
            self.descriptors = describe_batch(batch, names)
        missing = [name for name in names if name not in self.descriptors]
        if missing:  # descriptors given without the rollout ones: those alone are added
            self.descriptors = {**self.descriptors, **rollout_descriptors(batch, missing)}
        return self.descriptors


@runtime_checkable
class RewardTerm(Protocol):
    """A per-scene reward term: a name, and the values of a batch's scenes."""

    name: str
    """The term's key in ``RewardSpec.weights`` and in ``info["reward_terms"]``."""

    def scores(self, batch: SceneBatch, context: TermContext) -> NDArray[np.float64]:
        """``(scenes,)`` values in [0, 1] of the scenes of ``batch`` (1 is best)."""
        ...


@runtime_checkable
class PopulationTerm(Protocol):
    """A population reward term: a name, and the value of one finished scene against the
    archive of the scenes finished before it (``scenegym.rewards.population.Archive``)."""

    name: str
    """The term's key in ``info["reward_terms"]``."""

    def score(self, point: NDArray[np.float64], archive: Any) -> float:
        """The value in [0, 1] of the scene whose scaled descriptors are ``point``."""
        ...


Term = TypeVar("Term")

_REGISTRY: dict[str, RewardTerm | PopulationTerm] = {}


def register_term(term: Term, *, replace: bool = False) -> Term:
    """Register ``term`` under its ``name``; returns it. A name is registered once unless
    ``replace`` is set."""
    name = getattr(term, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a reward term's name must be an identifier, got {name!r}")
    if not isinstance(term, (RewardTerm, PopulationTerm)):
        raise TypeError(
            f"reward term {name!r} must have a scores(batch, context) method (a per-scene "
            f"term) or a score(point, archive) method (a population term), got "
            f"{type(term).__name__}"
        )
    if name in _REGISTRY and not replace:
        raise ValueError(
            f"reward term {name!r} is registered already ({type(_REGISTRY[name]).__name__}); "
            "pass replace=True to replace it"
        )
    _REGISTRY[name] = term
    return term


def unregister_term(name: str) -> None:
    """Remove the term ``name`` from the registry."""
    reward_term(name)  # an unknown name is an error that lists the known ones
    del _REGISTRY[name]


def reward_term(name: str) -> RewardTerm | PopulationTerm:
    """The registered term ``name``."""
    term = _REGISTRY.get(name)
    if term is None:
        raise ValueError(f"unknown reward term {name!r}; registered terms: {', '.join(_REGISTRY)}")
    return term


def registered_terms(*, population: bool | None = None) -> tuple[str, ...]:
    """The names of the registered terms, in the order they were registered: all of them, or
    only the population terms (``population=True``) or only the per-scene ones (False). A
    term with both methods counts as per-scene."""
    return tuple(
        name
        for name, term in _REGISTRY.items()
        if population is None or population != isinstance(term, RewardTerm)
    )
