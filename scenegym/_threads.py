"""One torch thread for work whose results must not depend on the machine's core count, and
workers that leave Ctrl-C to their parent (``spawn_imap``: a pool of them)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any


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


@contextlib.contextmanager
def interrupts_ignored_by_new_processes() -> Iterator[None]:
    """Ignore Ctrl-C while worker processes are started inside the block, so that they
    start ignoring it (an ignored signal stays ignored in a new process, and Python then adds
    no handler of its own): a worker still importing when Ctrl-C comes prints no traceback.
    The caller's handler is back after the block. Off the main thread, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def spawn_imap(
    initializer: Callable,
    initargs: tuple,
    function: Callable,
    items: Iterable[Any],
    workers: int,
    *,
    ordered: bool = True,
) -> Iterator[Any]:
    """``multiprocessing.Pool(workers, initializer, initargs).imap(function, items)`` (with
    ``ordered=False``, ``imap_unordered``) on spawned processes, which start with Ctrl-C
    ignored (``interrupts_ignored_by_new_processes``): forking a process that has run torch
    threads can hang. The pool lives while the results are iterated; ``scenegym._ray.imap``
    is the same on Ray."""
    import multiprocessing

    items = list(items)
    if not items:
        return
    context = multiprocessing.get_context("spawn")
    with interrupts_ignored_by_new_processes():
        pool = context.Pool(min(workers, len(items)), initializer, initargs)
    with pool:
        yield from (pool.imap if ordered else pool.imap_unordered)(function, items)
