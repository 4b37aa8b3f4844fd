"""Descriptor targets asked of a trained goal-conditioned policy: checked against the goals it
was trained on, or taken from example scenes."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from scenegym.agents.policy import GenerationPolicy
from scenegym.scene.descriptors import check_bounds, describe_many
from scenegym.scene.scene import Scene, read_scenes

__all__ = ["check_targets", "targets_like"]


def check_targets(
    policy: GenerationPolicy, targets: Mapping[str, float], *, name: str = "targets"
) -> dict[str, tuple[float, float]]:
    """Check descriptor ``targets`` against the goals ``policy`` was trained on.

    A target for a descriptor the run has no goal for is a ``ValueError``; a value outside the
    goal range the run was trained on is allowed (expect a large goal error). ``name`` is what
    the messages call ``targets``.

    Returns:
        The targets outside their trained range, each with that ``(low, high)`` range.
    """
    if not targets:
        return {}
    for descriptor, value in targets.items():
        check_bounds(descriptor, value, what=name)
    ranges = policy.goal_ranges
    if not ranges:
        raise ValueError(
            f"{name} needs a goal-conditioned run; {policy.run} has no goal "
            "(train with env_kwargs.goal.ranges)"
        )
    outside = {}
    for descriptor, value in targets.items():
        if descriptor not in ranges:
            raise ValueError(
                f"{name} {descriptor}: {policy.run} was trained with goals for "
                f"{', '.join(ranges)} only"
            )
        low, high = ranges[descriptor]
        if not low <= value <= high:
            outside[descriptor] = (low, high)
    return outside


def targets_like(
    policy: GenerationPolicy,
    like: str | os.PathLike | Sequence[Scene],
    n: int,
    *,
    given: Mapping[str, float] | None = None,
    name: str = "like",
) -> list[dict[str, float]]:
    """Per-rollout targets that ask for scenes like ``like`` (scenes, or a scenes file): the
    policy's goal descriptors of scene ``i % len(like)`` for rollout ``i`` of ``n``, with the
    ``given`` targets replacing theirs. ``name`` is what the messages call ``like``."""
    names = policy.goal_names
    if not names:
        raise ValueError(f"{name} needs a goal-conditioned run; {policy.run} has no goal")
    from_file = isinstance(like, (str, os.PathLike))
    scenes = read_scenes(like) if from_file else list(like)
    if not scenes:
        raise ValueError(f"{name} {like} holds no scenes" if from_file else f"{name} is empty")
    described = describe_many(scenes)
    given = dict(given or {})
    return [
        {descriptor: float(described[descriptor][i % len(scenes)]) for descriptor in names} | given
        for i in range(n)
    ]
