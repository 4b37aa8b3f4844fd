"""One torch thread for work whose results must not depend on the machine's core count, and
workers that leave Ctrl-C to their parent."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch with one thread inside the block and restore the caller's count after.

    A layer's float sums depend on the thread count, so a rounded logit or pixel could
    otherwise differ between a serial run and worker processes (which run one thread each)."""
    with torch_threads(1):
        yield


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run torch with ``count`` intra-op threads inside the block (0: leave torch's own
    count) and restore the caller's count after."""
    import torch

    threads = torch.get_num_threads()
    if count > 0:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def ignore_interrupts() -> None:
    """In a worker process: leave Ctrl-C (SIGINT, sent to the whole process group) to the
    parent, which stops the workers and prints one line, instead of each worker printing its
    own ``KeyboardInterrupt`` traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
