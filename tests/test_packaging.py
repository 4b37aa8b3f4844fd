"""The one import namespace: every top-level package folder is mapped and shipped."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def package_folders() -> set[str]:
    return {p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests"}


def mapping() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["setuptools"]["package-dir"]


def test_every_package_folder_is_mapped_into_the_scenegym_namespace():
    mapped = set(mapping().values())
    assert package_folders() <= mapped, f"add {package_folders() - mapped} to package-dir"
    assert {"scenegym", "envs", "agents", "generators", "rewards"} <= mapped


def test_every_mapped_package_is_listed_and_named_under_scenegym():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = set(config["tool"]["setuptools"]["packages"])
    assert set(mapping()) == packages
    assert all(name == "scenegym" or name.startswith("scenegym.") for name in packages)


def test_importing_scenegym_stays_light():
    code = (
        "import sys, scenegym; "
        "heavy = [m for m in ('torch', 'highway_env', 'stable_baselines3', 'commonroad', "
        "'matplotlib') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(
    subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode,
    reason="pip is not available",
)
def test_wheel_ships_every_subpackage(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("scenegym-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for package, folder in mapping().items():
        expected = {f"{package.replace('.', '/')}/{p.name}" for p in (ROOT / folder).glob("*.py")}
        assert expected <= set(names), f"wheel lacks {sorted(expected - set(names))[:3]}"
    assert not any(name.startswith(("envs/", "agents/", "tests/")) for name in names)
