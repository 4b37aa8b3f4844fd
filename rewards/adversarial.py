"""The adversarial reward term: a scene scores when a given driving agent crashes in it.

``adversarial`` asks the model ``"driver"`` (``TermContext.models``) for its ``scores`` of
the finished scenes: any object whose ``scores(scenes)`` returns one value in [0, 1] per
scene. ``scenegym.agents.adversarial.DriverJudge`` is the one scenegym gives: it drives an
agent (a curriculum run's student or a scripted driver) one episode of Drive-v1 from each
scene, its rearmost vehicle as the ego, and gives 1 for a crash, ``near`` times
``1 - min TTC / horizon`` for a near crash, and 0 where the start was not drivable (a crash
there is the scene's, not the agent's). Weighted beside ``validity`` and ``realism``, it
asks a generator for valid, plausible scenes that this agent fails in (after CAT, Zhang et
al., 2023, with reinforcement learning in place of its selection).

Driving an episode costs about as much as a hundred steps of the generation environment, so
the term scores the scenes at their episode's end alone (``TermContext.final``) and gives
the others 0: its whole value reaches the generator once per episode, in the last reward.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from scenegym.rewards.terms import TermContext, register_term
from scenegym.scene.batch import SceneBatch

__all__ = ["AdversarialTerm"]


class AdversarialTerm:
    """The ``adversarial`` term (see the module notes)."""

    name = "adversarial"
    models = ("driver",)
    """The models this term needs when it has a weight."""

    def scores(self, batch: SceneBatch, context: TermContext) -> NDArray[np.float64]:
        values = np.zeros(batch.count)
        driver = context.model("driver")
        if driver is None:
            raise ValueError(
                "the adversarial term needs a driver: pass models={'driver': "
                "DriverJudge(source='faster')} (scenegym.agents.adversarial), or in a run "
                "config env_kwargs: {models: {driver: RUN_OR_SCRIPTED_NAME}}"
            )
        rows = context.finished(batch.count)
        if rows.size:
            if not callable(getattr(driver, "scores", None)):
                raise ValueError(
                    f"the adversarial term's driver {driver!r} is a setting, not a judge: "
                    "give an object with scores(scenes), such as the DriverJudge that "
                    "scenegym.agents.adversarial.judge_models makes of a run's settings"
                )
            scored = np.asarray(driver.scores([batch.scene(int(i)) for i in rows]), dtype=float)
            if scored.shape != rows.shape or not np.all((scored >= 0) & (scored <= 1)):
                raise ValueError(
                    f"the adversarial term's driver must give one score in [0, 1] per scene, "
                    f"got {scored!r} for {rows.size} scenes"
                )
            values[rows] = scored
        return values


register_term(AdversarialTerm())
