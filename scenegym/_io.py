"""Atomic file writes: a reader never sees a half-written file, and a failure leaves none behind.

The data is written to a temporary file in the same folder and renamed over the target, so a
process killed mid-write leaves the old file (or none) and at most a hidden ``.*.tmp`` file.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import inspect
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from numpy.typing import NDArray


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only on success."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: folder {path.parent} does not exist")
    # mkstemp makes the file private (0600); give it the mode an ordinary open() would
    # (0666 less the umask), or keep the mode of the file it replaces.
    try:
        file_mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        file_mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            os.chmod(tmp, file_mode)
            yield handle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process umask, read without changing it where the OS allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # Elsewhere the only way is to set and restore it; another thread creating a file in
    # between would get mode 0666 & ~0o022, a brief and benign race.
    old = os.umask(0o022)
    os.umask(old)
    return old


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def cache_folder() -> Path:
    """Where references are cached: ``$SCENEGYM_CACHE`` or ``~/.cache/scenegym``."""
    root = os.environ.get("SCENEGYM_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "scenegym"


def encode_png(image: NDArray) -> bytes:
    """PNG bytes of an RGB ``(H, W, 3)`` uint8 image or a ``(H, W)`` uint8/uint16 map."""
    import cv2  # OpenCV loads where pictures are written, not with `import scenegym`

    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV fails only on unsupported dtypes
        raise ValueError(f"cannot encode an image of dtype {image.dtype} as PNG")
    return data.tobytes()


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of the file at ``path``, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_outputs_spare_inputs(
    outputs: dict[str, os.PathLike], inputs: list[os.PathLike], *, replaces: bool = False
) -> None:
    """``ValueError`` when writing an output would destroy an input: an output that is an
    input file (the same path, a symbolic link to it or a hard link of it), or that lies
    inside an input folder (a run, a prior); with ``replaces`` (an output folder emptied
    first), also an input inside an output folder. ``outputs`` maps each output's option
    name (``--out``) to its path."""
    for option, output in outputs.items():
        out = Path(output).resolve()
        for given in inputs:
            source = Path(given)
            if not source.exists():
                continue
            inside = source.is_dir() and out.is_relative_to(source.resolve())
            same = out.exists() and os.path.samefile(out, source)
            if same or inside:
                what = "is the input" if same and not source.is_dir() else "lies inside the input"
                raise ValueError(
                    f"{option} {output} {what} {given}; writing it would destroy that input: "
                    "choose another path"
                )
            if replaces and out.is_dir() and source.resolve().is_relative_to(out):
                raise ValueError(
                    f"{option} {output} holds the input {given}, and replacing the folder "
                    "would destroy it: choose another folder"
                )


_HELD: set[Path] = set()
"""The outputs this process holds the lock of (a nested lock of one of them is a no-op)."""


def locking(parameter: str) -> Callable[[Callable], Callable]:
    """A decorator: the function holds the output lock (``output_locks``) on its argument
    ``parameter`` while it runs, so that Python callers are kept from writing one output from
    two processes as the command line is."""

    def wrap(function: Callable) -> Callable:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def locked(*args, **kwargs):
            path = signature.bind_partial(*args, **kwargs).arguments.get(parameter)
            if path is None:
                return function(*args, **kwargs)
            with output_locks([path]):
                return function(*args, **kwargs)

        return locked

    return wrap


@contextlib.contextmanager
def output_locks(paths: list[os.PathLike]) -> Iterator[None]:
    """Hold an exclusive lock on each of ``paths`` (outputs: files or folders) for the block;
    ``ValueError`` naming the path when another process holds it. The lock is ``.NAME.lock``
    beside the path, an advisory lock (``flock``) the system drops when its process ends, so a
    lock left by a killed process never blocks; the file is removed on release. A path this
    process holds already is not locked again (the command line locks what the library
    function it calls locks too)."""
    with contextlib.ExitStack() as stack:
        for path in dict.fromkeys(Path(p).resolve() for p in paths):
            stack.enter_context(_output_lock(path))
        yield


@contextlib.contextmanager
def _output_lock(path: Path) -> Iterator[None]:
    import fcntl

    if not path.parent.is_dir() or path in _HELD:  # a missing folder is named by the caller
        yield
        return
    lock = path.parent / f".{path.name}.lock"
    handle = open(lock, "a+")  # noqa: SIM115 (held for the block; closed below)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ValueError(
                f"{path} is being written by another scenegym process ({holder}); wait for "
                "it to finish or choose another path"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        _HELD.add(path)
        try:
            yield
        finally:
            _HELD.discard(path)
            lock.unlink(missing_ok=True)
    finally:
        handle.close()


def source_date() -> datetime.datetime | None:
    """The time ``SOURCE_DATE_EPOCH`` names (seconds since 1970, UTC; the reproducible-builds
    convention), or None when it is unset. Exporters whose formats carry a creation date
    write it instead of now, so two exports of the same scenes can be byte-identical."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if not value:
        return None
    try:
        return datetime.datetime.fromtimestamp(int(value), tz=datetime.timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise ValueError(
            f"SOURCE_DATE_EPOCH must be whole seconds since 1970-01-01 UTC, got {value!r}"
        ) from None


def safe_xml_parser():
    """An lxml parser that expands no entity and fetches nothing (no billion laughs, no
    external entities) and keeps lxml's limits on huge documents: for every XML a user
    hands scenegym."""
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
