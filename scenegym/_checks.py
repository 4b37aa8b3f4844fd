"""Shared input checks whose messages name the argument, what arrived and what is expected."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray


def as_float_array(name: str, value: Any, *, ndim: int = 1) -> NDArray[np.float64]:
    """Return ``value`` as a read-only float64 array, or raise naming ``name``. Booleans
    are refused: ``true`` is no number of metres."""
    if _holds_bool(value):
        raise TypeError(f"{name} must be numbers, got a boolean in {_short(value)}")
    if isinstance(value, list | tuple) and any(item is None for item in value):
        index = next(i for i, item in enumerate(value) if item is None)
        raise TypeError(f"{name} must be numbers, got null at index {index}")
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be numbers, got {_short(value)} ({error})") from None
    except OverflowError:  # a Python int beyond the float range
        raise ValueError(f"{name} must be finite, got {_short(value)}") from None
    if array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {array.shape}")
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array.ravel()))[0])
        raise ValueError(f"{name} must be finite, got {array.ravel()[bad]} at index {bad}")
    array.setflags(write=False)
    return array


def _holds_bool(value: Any) -> bool:
    """Is ``value`` a boolean, a boolean array, or a list or tuple holding a boolean (looked
    into two levels deep: the rows of a table)?"""
    if isinstance(value, bool | np.bool_):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype == np.bool_
    if isinstance(value, list | tuple):
        return any(
            isinstance(item, bool | np.bool_)
            or (isinstance(item, list | tuple) and any(isinstance(v, bool) for v in item))
            for item in value
        )
    return False


def as_int_array(name: str, value: Any, *, dtype: Any = np.int64) -> NDArray[np.integer]:
    """Return ``value`` as a read-only 1-D integer array, or raise naming ``name``.

    Values that do not fit ``dtype`` raise instead of wrapping around.
    """
    raw = np.asarray(value)
    if raw.size and raw.dtype == object:
        # Python ints too large for int64 arrive as objects; the range check below names them.
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in raw.ravel().tolist()):
            raise TypeError(f"{name} must be whole numbers, got {_short(value)}")
    elif raw.size and not (
        np.issubdtype(raw.dtype, np.integer)
        or (
            np.issubdtype(raw.dtype, np.floating)
            and np.all(np.isfinite(raw))
            and np.all(np.mod(raw, 1) == 0)
        )
    ):
        raise TypeError(f"{name} must be whole numbers, got {_short(value)}")
    if raw.size:
        info = np.iinfo(dtype)
        low, high = np.asarray(raw.min()).item(), np.asarray(raw.max()).item()
        if low < info.min or high > info.max:
            bad = low if low < info.min else high
            raise ValueError(
                f"{name} must be in [{info.min}, {info.max}] ({np.dtype(dtype).name}), got {bad!r}"
            )
    array = np.array(raw, dtype=dtype)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {array.shape}")
    array.setflags(write=False)
    return array


def check_keys(name: str, data: Any, required: set[str], optional: set[str] = frozenset()) -> None:
    """Raise when ``data`` is not a mapping with exactly the allowed keys."""
    if not isinstance(data, Mapping):
        raise TypeError(f"{name} must be an object (mapping), got {type(data).__name__}")
    unknown = sorted(set(data) - required - set(optional))
    if unknown:
        allowed = ", ".join(sorted(required | set(optional)))
        raise ValueError(f"{name} has unknown key {unknown[0]!r}; allowed keys: {allowed}")
    missing = sorted(required - set(data))
    if missing:
        raise ValueError(f"{name} is missing key {missing[0]!r}")


MAX_SEED = 2**32 - 1
"""The largest seed: numpy's legacy and SB3's seeding take 32-bit seeds."""


def check_whole(name: str, value: Any, low: int, high: int | None = None) -> int:
    """``value`` as an int, or raise unless it is a whole number (not a bool) >= ``low``
    (and <= ``high``)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high}, got {value!r}")
    return int(value)


def check_seed(value: Any) -> int:
    """A seed: a whole number from 0 to ``MAX_SEED``."""
    return check_whole("seed", value, 0, MAX_SEED)


def check_range(name: str, value: float, low: float | None = None, high: float | None = None):
    """Raise unless ``value`` is finite and ``low <= value <= high`` (either bound may be None)."""
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")
    return value


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
