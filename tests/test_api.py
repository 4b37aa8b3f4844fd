"""The API index: every name a package lists in ``__all__`` is there, and the lazily loaded
ones are the objects of their modules."""

import importlib
import subprocess
import sys

import pytest

PACKAGES = [
    "scenegym",
    "scenegym.scene",
    "scenegym.bridges",
    "scenegym.rewards",
    "scenegym.generators",
    "scenegym.datasets",
    "scenegym.envs",
    "scenegym.evaluation",
    "scenegym.agents",
]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_listed_name_of_a_package_resolves(package):
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
    assert len(set(module.__all__)) == len(module.__all__)


def test_the_train_function_is_not_shadowed_by_a_module_of_the_same_name():
    # A submodule named like an exported function would replace it on the package once
    # imported; the training module is therefore called ``training``.
    code = (
        "import scenegym.agents.training, scenegym.agents.runs\n"
        "from scenegym.agents import train, TrainConfig\n"
        "import inspect; print(inspect.isfunction(train), inspect.isclass(TrainConfig))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["True", "True"], done.stderr


def test_no_exported_name_of_a_lazy_package_is_also_one_of_its_modules():
    import pkgutil

    for package in ("scenegym.agents", "scenegym.envs", "scenegym.generators"):
        module = importlib.import_module(package)
        modules = {info.name for info in pkgutil.iter_modules(module.__path__)}
        assert set(module.__all__) & modules == set(), package
