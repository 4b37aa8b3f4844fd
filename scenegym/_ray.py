"""Work spread over a Ray cluster the way a process pool spreads it over one machine.

``imap(initializer, initargs, function, items, workers)`` is
``multiprocessing.Pool(workers, initializer, initargs).imap(function, items)`` on Ray (with
``ordered=False``, its ``imap_unordered``): ``workers`` actors
(one CPU each) each run ``initializer(*initargs)`` once, then ``function(item)`` for the
items Ray hands them. The functions must be importable module-level functions, as for a
spawned pool; what they write to files lands on the machine that runs them, so on a cluster
the output folder must be on storage every node mounts at the same path.

``connect(address)`` joins the cluster at ``address`` (``"auto"`` or ``host:port``), else the
one ``RAY_ADDRESS`` names, else starts Ray on this machine; already connected, it does
nothing. Ray is an optional dependency (``pip install "scenegym[ray]"``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["BACKENDS", "check_backend", "connect", "imap"]

BACKENDS = ("process", "ray")
"""Where parallel work runs: a local process pool, or a Ray cluster."""


def check_backend(backend: str) -> str:
    """``backend`` when it is one of ``BACKENDS``, else a ``ValueError`` naming them."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    return backend


def _ray():
    try:
        import ray
    except ImportError:
        raise ValueError(
            "backend ray needs Ray: pip install 'scenegym[ray]' (or pip install ray)"
        ) from None
    return ray


def connect(address: str | None = None, *, cpus: int | None = None) -> None:
    """Connect to Ray (see the module notes); ``cpus`` caps a Ray started here."""
    ray = _ray()
    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if address is None and cpus is not None:
        options["num_cpus"] = int(cpus)
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = address or "a local Ray"
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise ValueError(f"cannot connect to Ray at {where}: {first}") from None


class _Worker:
    """One actor: the initializer once, then the function per item."""

    def __init__(self, initializer: Callable, initargs: tuple) -> None:
        initializer(*initargs)

    def run(self, function: Callable, item: Any) -> Any:
        return function(item)


def _pool(initializer: Callable, initargs: tuple, workers: int, count: int):
    ray = _ray()
    from ray.util import ActorPool

    if not ray.is_initialized():
        connect()
    actor = ray.remote(num_cpus=1)(_Worker)
    return ActorPool([actor.remote(initializer, initargs) for _ in range(min(workers, count))])


def imap(
    initializer: Callable,
    initargs: tuple,
    function: Callable,
    items: Iterable[Any],
    workers: int,
    *,
    ordered: bool = True,
) -> Iterator[Any]:
    """``function(item)`` for every item on ``workers`` Ray actors: in the items' order, or
    as they finish when not ``ordered`` (see the module notes)."""
    items = list(items)
    if not items:
        return iter(())
    pool = _pool(initializer, initargs, workers, len(items))
    mapped = pool.map if ordered else pool.map_unordered
    return mapped(lambda worker, item: worker.run.remote(function, item), items)
