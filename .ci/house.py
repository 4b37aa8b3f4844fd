"""Measures of the house: module and function sizes, import cycles between files, private
names used across modules, imports inside functions, constructors that take many positional
arguments. Prints one JSON object; exits 1 when a limit is broken.

    .venv/bin/python .ci/house.py            # the measures and the problems
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
MODULE_LINES = 800
FUNCTION_LINES = 80
CLI_FUNCTION_LINES = 60


def package_dirs() -> dict[str, Path]:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {name: ROOT / folder for name, folder in setuptools["package-dir"].items()}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in package_dirs().items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts))
            found[name.removesuffix(".__init__")] = path
    return found


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _positional(node: ast.FunctionDef) -> int:
    args = node.args
    return len(args.posonlyargs) + len(args.args) - 1  # less self


def _own_private_names(tree: ast.AST) -> set[str]:
    """Private names a module defines: functions, classes, and attributes it assigns."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return {n for n in names if n.startswith("_")}


def _positional_dataclasses(name: str, tree: ast.AST) -> list[str]:
    """Dataclasses whose generated constructor takes more than two fields positionally."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            if getattr(target, "id", getattr(target, "attr", "")) != "dataclass":
                continue
            if call and any(k.arg == "kw_only" for k in call.keywords):
                continue
            fields = []
            for item in node.body:
                if not isinstance(item, ast.AnnAssign):
                    continue
                if "KW_ONLY" in ast.unparse(item.annotation):
                    break  # the fields after this sentinel are keyword-only
                if "ClassVar" not in ast.unparse(item.annotation) and "init=False" not in (
                    ast.unparse(item.value) if item.value else ""
                ):
                    fields.append(item)
            if len(fields) > 2:
                found.append(
                    f"{name}:{node.lineno} dataclass {node.name} takes {len(fields)} fields "
                    "positionally (more than 2: kw_only=True)"
                )
    return found


def _private_uses(name: str, tree: ast.AST) -> list[str]:
    """``from X import _y`` of another module's private name, and ``obj._y`` (but for self and
    cls) of a private name the module does not define itself (dunders are public protocol)."""
    own = _own_private_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("scenegym"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{name}:{node.lineno} imports {node.module}.{alias.name}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            if node.attr.startswith("__") and node.attr.endswith("__"):
                continue
            value = node.value
            if node.attr in own:
                continue
            # a class's own and inherited protected members (SB3's VecEnv keeps some there)
            if isinstance(value, ast.Name) and value.id in ("self", "cls"):
                continue
            if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "super":
                continue
            found.append(f"{name}:{node.lineno} uses .{node.attr} of {ast.unparse(value)}")
    return found


def cycles() -> list[list[str]]:
    """Import cycles between files (strongly connected modules), found with grimp on the
    package laid out as installed."""
    with tempfile.TemporaryDirectory() as layout:
        for package, folder in package_dirs().items():
            target = Path(layout, *package.split("."))
            for module in folder.rglob("*.py"):  # subpackages too, such as scenegym/cli/
                copy = target / module.relative_to(folder)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(module, copy)
        script = (
            "import grimp, json\n"
            "g = grimp.build_graph('scenegym', cache_dir=None)\n"
            "edges = {m: sorted(g.find_modules_directly_imported_by(m)) for m in g.modules}\n"
            "print(json.dumps(edges))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=layout,
            env={"PYTHONPATH": layout},
            capture_output=True,
            text=True,
            check=True,
        )
    edges = json.loads(done.stdout)
    # Tarjan's strongly connected components; a package's __init__ importing its own modules
    # is an index, not a cycle, so edges into a package index are left out.
    packages = {m for m in edges if m in package_dirs()}
    graph = {m: [t for t in ts if t not in packages] for m, ts in edges.items()}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def measure() -> dict:
    problems: list[str] = []
    lines_per_package: dict[str, int] = {}
    inner_imports = own_imports = 0
    private: list[str] = []
    for name, path in modules().items():
        text = path.read_text()
        tree = ast.parse(text)
        count = len(text.splitlines())
        package = name if name in package_dirs() else name.rpartition(".")[0]
        if path.name != "__init__.py" and name.rpartition(".")[0] not in package_dirs():
            package = name.rpartition(".")[0]
        lines_per_package[package] = lines_per_package.get(package, 0) + count
        if count > MODULE_LINES:
            problems.append(f"{name}: {count} lines (limit {MODULE_LINES})")
        limit = CLI_FUNCTION_LINES if name.startswith("scenegym.cli") else FUNCTION_LINES
        for node in _functions(tree):
            length = node.end_lineno - node.lineno + 1
            if length > limit:
                problems.append(f"{name}.{node.name}: {length} lines (limit {limit})")
            if node.name == "__init__" and _positional(node) > 2:
                problems.append(
                    f"{name}:{node.lineno} __init__ takes {_positional(node)} "
                    "positional arguments (more than 2: make them keyword-only)"
                )
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.ImportFrom)
                    and (inner.module or "").startswith("scenegym")
                ) or (isinstance(inner, ast.ImportFrom) and inner.level):
                    inner_imports += 1
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (
                (node.module or "").startswith("scenegym") or node.level
            ):
                own_imports += 1
        private += _private_uses(name, tree)
        problems += _positional_dataclasses(name, tree)
    found_cycles = cycles()
    problems += [f"import cycle: {' <-> '.join(c)}" for c in found_cycles]
    problems += private
    return {
        "lines_per_package": dict(sorted(lines_per_package.items())),
        "imports_of_own_modules": own_imports,
        "of_them_inside_functions": inner_imports,
        "cycles": len(found_cycles),
        "private_uses": len(private),
        "problems": problems,
    }


if __name__ == "__main__":
    result = measure()
    print(json.dumps(result, indent=1))
    sys.exit(1 if result["problems"] else 0)
