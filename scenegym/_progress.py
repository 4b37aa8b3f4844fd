"""Progress as lines of text, for output that is not a terminal (a log file, ``nohup``, a
notebook, a job scheduler), where a progress bar draws nothing useful.

``LineProgress`` writes a line when 30 s have passed since the last one, or when another 5 %
is done (and at least 2 s have passed), and one when the work is complete (unless it took
under 5 s and said nothing before): what is done of the total, the rate since the start and
the time left at that rate::

    training: 120,000/500,000 steps (24 %), 4,100/s, about 1 min 33 s left
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["LineProgress", "duration"]


def duration(seconds: float) -> str:
    """``seconds`` as people read them: ``45 s``, ``3 min 20 s``, ``1 h 02 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class LineProgress:
    """Lines of progress through ``total`` items (None: unknown) written by ``write``
    (``LineProgress("sampling", total=100, write=print)``).

    Args:
        description: what is done, the start of every line.
        total: the items of the whole work, or None.
        write: where a line goes (say ``print`` to stderr).
        unit: the items' name in the lines (``"steps"``), or empty.
        initial: items done before this start (a resumed job): counted as done, not in the
            rate.
        every: seconds between lines at most.
        share: the part of the total after which a line is due anyway.
        clock: the time in seconds (``time.monotonic``).
    """

    GAP = 2.0
    """Seconds at least between two lines due by share."""
    QUIET = 5.0
    """A job done within this many seconds, with no line before, writes none at the end."""

    def __init__(
        self,
        description: str,
        *,
        total: int | None,
        write: Callable[[str], None],
        unit: str = "",
        initial: int = 0,
        every: float = 30.0,
        share: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.description, self.total, self.write, self.unit = description, total, write, unit
        self.every, self.share, self.clock = every, share, clock
        self.initial = self.done = self.last_done = initial
        self.started = self.last_time = clock()
        self.finished = False

    def advance(self, steps: int = 1) -> None:
        """``steps`` more items are done."""
        self.update(self.done + steps)

    def update(self, done: int) -> None:
        """``done`` items are done in all; writes a line when one is due."""
        self.done = done
        if self.finished:
            return
        now = self.clock()
        complete = self.total is not None and done >= self.total
        by_share = (
            self.total is not None
            and done - self.last_done >= self.share * self.total
            and now - self.last_time >= self.GAP
        )
        # A job done in a few seconds says nothing: the log would only grow.
        worth = self.last_time > self.started or now - self.started >= self.QUIET
        if (complete and worth) or by_share or now - self.last_time >= self.every:
            self.write(self.line(now))
            self.last_time, self.last_done = now, done
        self.finished = complete

    def line(self, now: float) -> str:
        """The line for ``now``."""
        elapsed = now - self.started
        rate = (self.done - self.initial) / elapsed if elapsed > 0 else 0.0
        unit = f" {self.unit}" if self.unit else ""
        if self.total is None:
            return f"{self.description}: {self.done:,}{unit}, {rate:,.1f}/s"
        part = f"{self.done:,}/{self.total:,}{unit} ({100 * self.done / max(self.total, 1):.0f} %)"
        if self.done >= self.total:
            return f"{self.description}: {part} in {duration(elapsed)}, {rate:,.1f}/s"
        left = f"about {duration((self.total - self.done) / rate)} left" if rate > 0 else "starting"
        return f"{self.description}: {part}, {rate:,.1f}/s, {left}"
