"""Progress that reaches a log: lines with the steps done, the rate and the time left."""

from __future__ import annotations

import re

import pytest

from scenegym._progress import LineProgress, duration
from tests.test_cli import run


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lines_come_every_30_s_or_5_percent_and_once_at_the_end():
    clock, lines = _Clock(), []
    progress = LineProgress("sampling", total=1000, write=lines.append, unit="scenes", clock=clock)
    clock.now = 1.0
    progress.update(40)  # 4 % after 1 s: not yet
    clock.now = 3.0
    progress.update(60)  # 6 % after 3 s: due
    assert lines == ["sampling: 60/1,000 scenes (6 %), 20.0/s, about 47 s left"]
    clock.now = 4.0
    progress.update(70)  # 1 % more: not due
    clock.now = 34.0
    progress.update(80)  # 30 s since the last line: due although only 2 % more
    clock.now = 50.0
    progress.update(1000)
    progress.update(1000)  # finished: nothing more
    assert len(lines) == 3 and lines[1].startswith("sampling: 80/1,000 scenes (8 %)")
    assert lines[2] == "sampling: 1,000/1,000 scenes (100 %) in 50 s, 20.0/s"


def test_a_resumed_job_counts_the_rate_from_its_own_start():
    clock, lines = _Clock(), []
    progress = LineProgress("training", total=100, write=lines.append, initial=50, clock=clock)
    clock.now = 10.0
    progress.update(60)
    assert lines == ["training: 60/100 (60 %), 1.0/s, about 40 s left"]


@pytest.mark.parametrize(
    ("seconds", "text"), [(44.6, "45 s"), (200, "3 min 20 s"), (3720, "1 h 02 min"), (-1, "0 s")]
)
def test_durations_read_as_people_write_them(seconds, text):
    assert duration(seconds) == text


def test_training_to_a_log_writes_progress_lines(tmp_path, capsys, monkeypatch):
    """stderr is not a terminal under pytest, as in CI or with nohup. A line every 5 %
    however fast, and one at the end however short the training."""
    monkeypatch.setattr(LineProgress, "GAP", 0.0)
    monkeypatch.setattr(LineProgress, "QUIET", 0.0)
    argv = ["train", "--out", tmp_path / "run", "--set", "total_steps=256", "--set", "n_envs=2"]
    argv += ["--set", "n_steps=64", "--set", "batch_size=64", "--set", "env_kwargs.edit_budget=4"]
    status, _, err = run(argv, capsys)
    assert status == 0
    lines = [line for line in err.splitlines() if line.startswith("training: ")]
    assert len(lines) >= 3 and re.search(r"steps \(\d+ %\), [\d,.]+/s, about", lines[0])
    last = lines[-1]
    assert re.fullmatch(r"training: 256/256 steps \(100 %\) in \d+ s, [\d,.]+/s", last), err
