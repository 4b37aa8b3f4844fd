"""Training progress as lines of text, for a log: an SB3 callback around
``scenegym._progress.LineProgress``."""

from __future__ import annotations

from collections.abc import Callable

from stable_baselines3.common.callbacks import BaseCallback

from scenegym._progress import LineProgress

__all__ = ["ProgressLinesCallback"]


class ProgressLinesCallback(BaseCallback):
    """Writes a line of the training's progress (steps done of ``total``, steps per second,
    time left) with ``write`` every 30 s or 5 % of the steps, and one at the end; a resumed
    training counts from the steps done before it.

    Args:
        write: where a line goes.
        total: the training's total steps.
        description: the start of every line.
    """

    def __init__(
        self, write: Callable[[str], None], *, total: int, description: str = "training"
    ) -> None:
        super().__init__()
        self.write, self.total, self.description = write, total, description
        self.lines: LineProgress | None = None

    def _on_training_start(self) -> None:
        self.lines = LineProgress(
            self.description,
            total=self.total,
            write=self.write,
            unit="steps",
            initial=self.num_timesteps,
        )

    def _on_step(self) -> bool:
        self.lines.update(self.num_timesteps)
        return True
