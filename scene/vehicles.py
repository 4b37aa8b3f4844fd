"""Vehicles, stored by column: one numpy array per attribute, one row per vehicle."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scenegym._checks import as_float_array, as_int_array, check_keys

__all__ = ["KINDS", "Vehicles", "kind_code"]

KINDS: tuple[str, ...] = ("car", "truck", "motorcycle", "bus")
"""Vehicle kinds; ``Vehicles.kind`` holds the index into this tuple."""

_FLOAT_COLUMNS = ("s", "d", "heading", "speed", "length", "width")

PHYSICAL_RANGES: dict[str, tuple[float, float, str]] = {
    "s": (-1e5, 1e5, "m"),
    "d": (-100.0, 100.0, "m"),
    "heading": (-2 * np.pi, 2 * np.pi, "rad"),
    "speed": (-150.0, 150.0, "m/s"),
    "length": (0.0, 60.0, "m"),
    "width": (0.0, 10.0, "m"),
}
"""The closed range (``length`` and ``width``: above the low end) of each column beyond
which no vehicle of any scene lies: a value outside is a broken input, refused on
construction. Values inside that break a rule of ``scenegym.scene.validate`` (a 14 m car,
a vehicle off the road) are valid input and reported as violations."""

MAX_VEHICLES = 10_000
"""The most vehicles a scene holds (every size that drives an allocation is bounded)."""


def kind_code(name: str) -> int:
    """The ``Vehicles.kind`` code of a kind name (``"car"`` -> 0)."""
    try:
        return KINDS.index(name)
    except ValueError:
        raise ValueError(
            f"unknown vehicle kind {name!r}; known kinds: {', '.join(KINDS)}"
        ) from None


@dataclass(frozen=True, eq=False, kw_only=True)
class Vehicles:
    """The vehicles of a scene, one read-only array per attribute (all of length ``n``).

    Attributes:
        lane: lane index (0 = leftmost lane of the road), int16.
        s: station of the vehicle centre along the road's reference line (m).
        d: lateral offset of the vehicle centre from its lane centre (m, positive left).
        heading: heading relative to the lane direction (rad, positive counter-clockwise).
        speed: speed along the vehicle heading (m/s).
        length: bumper-to-bumper length (m).
        width: width without mirrors (m).
        kind: index into ``KINDS`` (car, truck, motorcycle, bus), int8.

    Construction checks shapes, types and that every value is physically possible
    (``PHYSICAL_RANGES``, at most ``MAX_VEHICLES``); whether the values are plausible is the
    job of ``scenegym.scene.validate``, so scenes that break its rules can be held and
    reported.

    >>> vehicles = Vehicles.from_columns(lane=[0, 1], s=[10.0, 30.0], speed=[20.0, 25.0])
    >>> len(vehicles), vehicles.kind_names
    (2, ('car', 'car'))
    """

    lane: NDArray[np.int16]
    s: NDArray[np.float64]
    d: NDArray[np.float64]
    heading: NDArray[np.float64]
    speed: NDArray[np.float64]
    length: NDArray[np.float64]
    width: NDArray[np.float64]
    kind: NDArray[np.int8]

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "lane", as_int_array("vehicles.lane", self.lane, dtype=np.int16))
        for name in _FLOAT_COLUMNS:
            set_(self, name, as_float_array(f"vehicles.{name}", getattr(self, name)))
        kind = self.kind
        if len(kind) and isinstance(np.asarray(kind).flat[0], str):
            kind = [kind_code(k) for k in kind]
        set_(self, "kind", as_int_array("vehicles.kind", kind, dtype=np.int8))
        n = self.lane.size
        for column in fields(self):
            size = getattr(self, column.name).size
            if size != n:
                raise ValueError(
                    f"vehicles.{column.name} has {size} values but vehicles.lane has {n}; "
                    "every column needs one value per vehicle"
                )
        if n and (self.kind.min() < 0 or self.kind.max() >= len(KINDS)):
            raise ValueError(
                f"vehicles.kind must be codes 0..{len(KINDS) - 1} ({', '.join(KINDS)}), "
                f"got {sorted(set(self.kind.tolist()))}"
            )
        if n > MAX_VEHICLES:
            raise ValueError(f"a scene holds at most {MAX_VEHICLES} vehicles, got {n}")
        if n:
            _check_physical(self)

    @classmethod
    def from_columns(
        cls,
        *,
        lane: ArrayLike,
        s: ArrayLike,
        d: ArrayLike | None = None,
        heading: ArrayLike | None = None,
        speed: ArrayLike | None = None,
        length: ArrayLike | None = None,
        width: ArrayLike | None = None,
        kind: ArrayLike | None = None,
    ) -> Vehicles:
        """Vehicles from columns; omitted ones default to centred, aligned, 4.5 x 1.8 m cars."""
        n = np.asarray(lane).size

        def column(value, default):
            return np.full(n, default) if value is None else value

        return cls(
            lane=lane,
            s=s,
            d=column(d, 0.0),
            heading=column(heading, 0.0),
            speed=column(speed, 0.0),
            length=column(length, 4.5),
            width=column(width, 1.8),
            kind=column(kind, 0),
        )

    @classmethod
    def unchecked(cls, columns: dict[str, NDArray]) -> Vehicles:
        """Vehicles from columns already of the right dtypes and lengths, copied and made
        read-only without the checks of the constructor (for hot loops inside scenegym)."""
        vehicles = object.__new__(cls)
        for name, values in columns.items():
            array = np.array(values)
            array.setflags(write=False)
            object.__setattr__(vehicles, name, array)
        return vehicles

    @classmethod
    def empty(cls) -> Vehicles:
        """No vehicles."""
        return cls.from_columns(lane=np.zeros(0, np.int16), s=np.zeros(0))

    def __len__(self) -> int:
        return int(self.lane.size)

    @property
    def kind_names(self) -> tuple[str, ...]:
        """Kind of each vehicle as a name."""
        return tuple(KINDS[k] for k in self.kind.tolist())

    def take(self, index: ArrayLike) -> Vehicles:
        """The vehicles at ``index`` (an index array or boolean mask), in that order."""
        index = np.asarray(index)
        if index.size == 0 and index.dtype != bool:
            index = index.astype(np.intp)  # an empty list arrives as float
        return Vehicles(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def replace(self, **columns: ArrayLike) -> Vehicles:
        """A copy with the given columns replaced."""
        unknown = set(columns) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"Vehicles has no column {sorted(unknown)[0]!r}")
        current = {f.name: getattr(self, f.name) for f in fields(self)}
        return Vehicles(**{**current, **columns})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of columns (kinds as names); ``from_dict`` inverts it exactly
        (-0.0 is written as 0.0, so equal vehicles give equal files and scene ids)."""
        data: dict[str, Any] = {"lane": self.lane.tolist()}
        for name in _FLOAT_COLUMNS:
            data[name] = (getattr(self, name) + 0.0).tolist()
        data["kind"] = list(self.kind_names)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Vehicles:
        """Build vehicles from ``to_dict`` output; unknown or missing keys raise ``ValueError``."""
        check_keys("vehicles", data, {f.name for f in fields(cls)})
        for name, values in data.items():
            if not isinstance(values, list):
                raise TypeError(f"vehicles.{name} must be a list, got {type(values).__name__}")
        return cls(**data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vehicles) and all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)
        )

    __hash__ = None  # type: ignore[assignment]


def _check_physical(vehicles: Vehicles) -> None:
    """``ValueError`` naming the first value outside ``PHYSICAL_RANGES``."""
    for name, (low, high, unit) in PHYSICAL_RANGES.items():
        values = getattr(vehicles, name)
        smallest, largest = values.min(), values.max()
        if low <= smallest and largest <= high and (low != 0.0 or smallest > 0.0):
            continue
        above_low = values > low if low == 0.0 else values >= low
        bad = np.flatnonzero(~(above_low & (values <= high)))
        if bad.size:
            first = int(bad[0])
            side = "above 0" if low == 0.0 else f"from {low:g}"
            raise ValueError(
                f"vehicles.{name}[{first}] is {values[first]:g} {unit}, which no vehicle has "
                f"(possible: {side} to {high:g} {unit})"
            )
