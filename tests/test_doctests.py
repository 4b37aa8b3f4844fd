"""The ``>>>`` examples in docstrings run and hold."""

import doctest
import importlib
import pkgutil

import pytest

import scenegym


def modules() -> list[str]:
    names = ["scenegym"]
    for info in pkgutil.walk_packages(scenegym.__path__, prefix="scenegym."):
        names.append(info.name)
    for sub in ("envs", "agents", "generators", "rewards"):
        package = importlib.import_module(f"scenegym.{sub}")
        names += [i.name for i in pkgutil.walk_packages(package.__path__, f"scenegym.{sub}.")]
    return sorted(set(names) - {"scenegym.__main__"})


@pytest.mark.parametrize("name", modules())
def test_docstring_examples_hold(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
