"""Typed configs: dataclasses loaded from mappings, YAML or TOML, validated on load.

A field's ``metadata`` may hold ``"range": (low, high)`` (either may be None) and ``"help"``.
A field typed ``tuple[float, float]`` is a ``(min, max)`` range and must have ``min <= max``.
Unknown keys, wrong types and out-of-range values raise ``ValueError`` naming the key's path.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import numbers
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "check_config",
    "config_from_mapping",
    "config_to_dict",
    "did_you_mean",
    "load_config",
    "merge_mappings",
    "option",
    "parse_override",
]

T = TypeVar("T")


def load_config(cls: type[T], path: str | os.PathLike, overrides: Mapping | None = None) -> T:
    """Read ``path`` (``.yaml``, ``.yml`` or ``.toml``) into the dataclass ``cls``."""
    data = read_mapping(path)
    merged = merge_mappings(data, overrides) if overrides else data
    try:
        return config_from_mapping(cls, merged, name="")
    except ValueError as error:
        if not overrides:
            raise ValueError(f"config file {path}: {error}") from None
        try:  # a file that is right on its own was broken by the overrides
            config_from_mapping(cls, data, name="")
        except ValueError:
            raise ValueError(f"config file {path} with the --set options: {error}") from None
        raise ValueError(f"--set: {error}") from None


def read_mapping(path: str | os.PathLike) -> dict[str, Any]:
    """The top-level mapping of a YAML or TOML file, with a clear error for anything else."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"config file {path} is a folder; give a .yaml, .yml or .toml file")
    if not path.is_file():
        raise ValueError(f"config file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"config file {path} is not valid TOML: {error}") from None
    elif suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = load_yaml(text)
        except yaml.YAMLError as error:
            problem = str(error).splitlines()[0]
            mark = getattr(error, "problem_mark", None)
            if getattr(error, "problem", None) and mark is not None:
                problem = f"{error.problem} (line {mark.line + 1}, column {mark.column + 1})"
            raise ValueError(f"config file {path} is not valid YAML: {problem}") from None
        data = {} if data is None else data
    else:
        raise ValueError(f"config file {path} must end in .yaml, .yml or .toml")
    if not isinstance(data, dict):
        raise ValueError(
            f"config file {path} must hold a mapping of keys, got {type(data).__name__}"
        )
    return data


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` that also reads numbers such as ``3e-4`` as floats (YAML 1.2 and
    TOML do; PyYAML follows YAML 1.1, which wants ``3.0e-4``, and gives the string)."""
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"),
    )
    return yaml.load(text, Loader=Loader)


def parse_override(text: str) -> dict[str, Any]:
    """Turn ``"a.b=VALUE"`` (VALUE in YAML syntax) into ``{"a": {"b": VALUE}}``."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"override {text!r} must look like KEY=VALUE, e.g. vehicles=[10,30]")
    try:
        parsed = load_yaml(value)
    except yaml.YAMLError:
        raise ValueError(f"override {text!r}: {value!r} is not a valid value") from None
    result: dict[str, Any] = {}
    node = result
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = parsed
    return result


def merge_mappings(base: Mapping, extra: Mapping) -> dict[str, Any]:
    """``base`` updated with ``extra``; nested mappings are merged key by key."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_mappings(merged[key], value)
        else:
            merged[key] = value
    return merged


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` for the choice closest to a misspelt ``name``, or ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def config_from_mapping(cls: type[T], data: Any, *, name: str = "", base: T | None = None) -> T:
    """Build the dataclass ``cls`` from ``data``, checking every key and value.

    Keys absent from ``data`` keep their value in ``base`` (or the field default).
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{name or 'config'} must be a mapping of keys, got {type(data).__name__}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{name}: " if name else ""
        hint = did_you_mean(unknown[0], fields)
        raise ValueError(
            f"{where}unknown key {unknown[0]!r}; {hint}allowed keys: {', '.join(sorted(fields))}"
        )
    values: dict[str, Any] = {}
    for key, value in data.items():
        field = fields[key]
        path = f"{name}.{key}" if name else key
        current = getattr(base, key) if base is not None else _default(field)
        values[key] = _convert(hints[key], value, path, field.metadata, current)
    if base is not None:
        return dataclasses.replace(base, **values)
    return cls(**values)


def check_config(config: Any, *, name: str | None = None) -> None:
    """Check a config dataclass instance as ``config_from_mapping`` checks a file: the type,
    range and ``min <= max`` of every field's current value, and the keys of fixed-key
    mappings. Call it from ``__post_init__`` so configs built in Python are checked too. A
    fixed-key mapping given in part is completed from the field's default, as in a file.

    Raises ``ValueError`` naming the field (prefixed by ``name``, default the class name).
    """
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"check_config expects a dataclass instance, got {config!r}")
    prefix = type(config).__name__ if name is None else name
    hints = _hints(type(config))
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        path = f"{prefix}.{field.name}" if prefix else field.name
        hint = hints[field.name]
        if dataclasses.is_dataclass(hint) and isinstance(value, hint):
            check_config(value, name=path)
            continue
        converted = _convert(hint, value, path, field.metadata, _default(field))
        if field.metadata.get("fixed_keys") and set(converted) != set(value):
            object.__setattr__(config, field.name, converted)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a config class (resolving them compiles the annotations,
    which costs more than checking the values; a class's types do not change)."""
    return typing.get_type_hints(cls)


def option(help: str, low: float | None = None, high: float | None = None) -> dict[str, Any]:
    """Field metadata of a config option: its help text and allowed ``[low, high]`` range."""
    return {"help": help, "range": (low, high)}


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def _convert(hint: Any, value: Any, path: str, metadata: Mapping, current: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return config_from_mapping(hint, value, name=path, base=current)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, path, metadata, current)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{path} must be a list, got {value!r}")
        return tuple(
            _convert(args[0], v, f"{path}[{i}]", metadata, None) for i, v in enumerate(value)
        )
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise ValueError(f"{path} must be a list of {len(args)} values, got {value!r}")
        items = tuple(
            _convert(a, v, f"{path}[{i}]", metadata, None)
            for i, (a, v) in enumerate(zip(args, value))
        )
        if (
            len(items) == 2
            and all(isinstance(v, numbers.Real) for v in items)
            and items[0] > items[1]
        ):
            raise ValueError(f"{path} is a (min, max) range, got min {items[0]} > max {items[1]}")
        return items
    if origin in (dict, Mapping) or hint is dict:
        if not isinstance(value, Mapping):
            raise ValueError(f"{path} must be a mapping, got {value!r}")
        _, value_type = args if args else (str, Any)
        allowed = (
            set(current) if isinstance(current, Mapping) and metadata.get("fixed_keys") else None
        )
        out = dict(current) if isinstance(current, Mapping) and metadata.get("fixed_keys") else {}
        for k, v in value.items():
            if allowed is not None and k not in allowed:
                raise ValueError(
                    f"{path}: unknown key {k!r}; allowed keys: {', '.join(sorted(allowed))}"
                )
            out[k] = _convert(value_type, v, f"{path}.{k}", metadata, None)
        return out
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{path} must be true or false, got {value!r}")
        return value
    if hint is int:
        # numbers.Integral also admits numpy integers, for configs built in Python.
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{path} must be a whole number, got {value!r}")
        return _in_range(value, path, metadata)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{path} must be a number, got {value!r}")
        try:
            value = float(value)
        except OverflowError:  # an int beyond the float range
            raise ValueError(f"{path} must be a finite number, got {value!r}") from None
        return _in_range(value, path, metadata)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{path} must be a string, got {value!r}")
        choices = metadata.get("choices")
        if choices and value not in choices:
            raise ValueError(f"{path} must be one of {', '.join(choices)}, got {value!r}")
        return value
    return value


def _in_range(value: float, path: str, metadata: Mapping) -> float:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path} must be a finite number, got {value!r}")
    low, high = metadata.get("range", (None, None))
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{path} must be in [{lo}, {hi}], got {value!r}")
    return value


def config_to_dict(config: Any) -> dict[str, Any]:
    """A plain dict (tuples as lists) that ``config_from_mapping`` reads back."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(config)
