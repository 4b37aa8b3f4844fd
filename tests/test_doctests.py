"""The ``>>>`` examples in docstrings run and hold."""

import doctest
import importlib
import pkgutil
import sys
from pathlib import Path

import pytest

import scenegym

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def modules() -> list[str]:
    names = ["scenegym"]
    for info in pkgutil.walk_packages(scenegym.__path__, prefix="scenegym."):
        names.append(info.name)
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for sub in (name.split(".", 1)[1] for name in setuptools["packages"] if "." in name):
        package = importlib.import_module(f"scenegym.{sub}")
        names += [i.name for i in pkgutil.walk_packages(package.__path__, f"scenegym.{sub}.")]
    return sorted(set(names) - {"scenegym.__main__"})


@pytest.mark.parametrize("name", modules())
def test_docstring_examples_hold(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
