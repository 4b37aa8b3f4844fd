"""The one import namespace: every top-level package folder is mapped and shipped."""

import importlib.metadata
import json
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


NOT_SHIPPED = {"tests", "benchmarks", "docs", "build", "dist"}
"""Top-level folders that may hold Python files without being packages."""


def _skipped(folder: Path) -> bool:
    """Hidden folders, caches, build metadata and virtual environments."""
    return (
        folder.name.startswith(".")
        or folder.name == "__pycache__"
        or folder.name.endswith(".egg-info")
        or (folder / "pyvenv.cfg").is_file()
    )


def _folders(top: Path):
    """``top`` and every folder below it, skipping what ``_skipped`` names."""
    yield top
    for child in sorted(top.iterdir()):
        if child.is_dir() and not _skipped(child):
            yield from _folders(child)


def _holds_python(folder: Path) -> bool:
    return any(p.is_file() for p in folder.glob("*.py"))


def packaging_problems(root: Path) -> list[str]:
    """What ``root/pyproject.toml`` fails to ship: top-level folders of Python files that are
    not mapped, and folders of Python files inside a mapped package (nested ones included)
    that lack an ``__init__.py`` or are missing from ``[tool.setuptools] packages``."""
    setuptools = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    package_dir = setuptools["package-dir"]
    packages = set(setuptools["packages"])
    mapped = {(root / folder).resolve() for folder in package_dir.values()}
    problems = []
    for top in sorted(root.iterdir()):
        if not top.is_dir() or _skipped(top) or top.name in NOT_SHIPPED:
            continue
        if top.resolve() not in mapped and any(_holds_python(f) for f in _folders(top)):
            problems.append(f"{top.name}/ holds Python files but is not in package-dir")
    for package, folder in package_dir.items():
        base = root / folder
        for sub in _folders(base):
            if not _holds_python(sub):
                continue
            name = ".".join((package, *sub.relative_to(base).parts))
            where = sub.relative_to(root).as_posix()
            if not (sub / "__init__.py").is_file():
                problems.append(f"{where}/ holds Python files but has no __init__.py")
            if name not in packages:
                problems.append(f"{name} ({where}/) is missing from [tool.setuptools] packages")
    return problems


def test_every_folder_of_python_files_is_a_listed_package():
    assert packaging_problems(ROOT) == []


def _project(root: Path, files: list[str]) -> Path:
    """A small project laid out like this one, with ``files`` (relative paths) added."""
    (root / "pyproject.toml").write_text(
        "[tool.setuptools]\n"
        'package-dir = { "scenegym" = "scenegym", "scenegym.envs" = "envs" }\n'
        'packages = ["scenegym", "scenegym.envs"]\n'
    )
    for name in ["scenegym/__init__.py", "envs/__init__.py", "envs/road.py", *files]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    return root


def test_packaging_check_passes_a_complete_project(tmp_path):
    files = ["tests/test_a.py", "benchmarks/b.py", "docs/conf.py", ".ci/x.py", "venv/lib/y.py"]
    project = _project(tmp_path, files)
    (project / "venv" / "pyvenv.cfg").write_text("")
    assert packaging_problems(project) == []


def test_packaging_check_catches_a_nested_package_missing_from_packages(tmp_path):
    project = _project(tmp_path, ["envs/io/__init__.py", "envs/io/csv.py"])
    assert packaging_problems(project) == [
        "scenegym.envs.io (envs/io/) is missing from [tool.setuptools] packages"
    ]


def test_packaging_check_catches_a_folder_of_modules_without_init(tmp_path):
    project = _project(tmp_path, ["envs/io/csv.py"])
    problems = packaging_problems(project)
    assert "envs/io/ holds Python files but has no __init__.py" in problems


def test_packaging_check_catches_an_unmapped_top_level_folder(tmp_path):
    project = _project(tmp_path, ["planner/deep/search.py"])
    assert packaging_problems(project) == ["planner/ holds Python files but is not in package-dir"]


def test_every_package_folder_is_mapped_into_the_scenegym_namespace():
    mapped = set(mapping().values())
    assert package_folders() <= mapped, f"add {package_folders() - mapped} to package-dir"
    assert {"scenegym", "envs", "agents", "generators", "rewards"} <= mapped


def test_every_mapped_package_is_listed_and_named_under_scenegym():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = set(config["tool"]["setuptools"]["packages"])
    assert set(mapping()) <= packages
    # The other listed packages are folders inside a mapped one, such as scenegym.cli.
    for name in packages - set(mapping()):
        assert name.rpartition(".")[0] in packages, name
    assert all(name == "scenegym" or name.startswith("scenegym.") for name in packages)


def test_importing_scenegym_stays_light():
    code = (
        "import sys, scenegym; "
        "heavy = [m for m in ('torch', 'highway_env', 'stable_baselines3', 'commonroad', "
        "'matplotlib') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_versions_are_read_without_importing_the_libraries():
    # A dataset manifest records torch's and SB3's versions; reading them must not cost the
    # seconds of importing them, and must agree with what importing them says.
    code = (
        "import sys, json; from scenegym._versions import versions; "
        "found = versions('pycocotools'); "
        "heavy = [m for m in ('torch', 'stable_baselines3') if m in sys.modules]; "
        "print(json.dumps([found, heavy]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    found, imported = json.loads(out.stdout)
    assert imported == []
    import stable_baselines3
    import torch

    assert found["torch"] == torch.__version__
    assert found["stable_baselines3"] == stable_baselines3.__version__
    # pycocotools has no __version__; its installed metadata still names the version.
    assert found["pycocotools"] == importlib.metadata.version("pycocotools") != "unknown"


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
        base = ROOT / folder
        expected = {
            f"{package.replace('.', '/')}/{p.relative_to(base).as_posix()}"
            for sub in _folders(base)
            for p in sub.glob("*.py")
        }
        assert expected <= set(names), f"wheel lacks {sorted(expected - set(names))[:3]}"
    assert not any(name.startswith(("envs/", "agents/", "tests/")) for name in names)


def test_the_package_version_is_the_one_pyproject_ships():
    import scenegym

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert scenegym.__version__ == config["project"]["version"]
