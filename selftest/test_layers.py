"""The engine's layers: what holds the answers is named secret, and the fork path imports none of it.

A worker forked from the grader inherits every module the grader has loaded. The grader forks only while
`secrets_loaded()` is empty, which matches module names: a module that holds or uses the reference but is missing
from its list would be handed to student code. So every module of the package is imported alone, in a fresh
Python, and checked.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from helpers import PROJECT

PACKAGE = PROJECT / "backprop_grader"
SECRETS_LOADED = "from backprop_grader.sandbox.policy import secrets_loaded"
# What runs before a worker is forked: the grade command's early fork, and batch's fork server and jobs (zygote).
FORK_PATH = ("backprop_grader.cli", "backprop_grader.frontends.grade_command", "backprop_grader.frontends.grade",
             "backprop_grader.frontends.batch", "backprop_grader.frontends.batch_job", "backprop_grader.sandbox.zygote")
_PROBE = (
    "import importlib, json, sys\n"
    "importlib.import_module(sys.argv[1])\n"
    f"{SECRETS_LOADED}\n"
    "print(json.dumps({'reference': any(m == 'reference' or m.startswith('reference.') for m in sys.modules),\n"
    "                  'secret': secrets_loaded()}))\n"
)


def _modules() -> list[str]:
    """Every module of the package, by name, found from its files (importing nothing)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PROJECT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue  # it runs the command line
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _imported_alone(name: str) -> dict:
    """What importing `name` in a fresh Python loads: whether the reference, and what secrets_loaded() names."""
    done = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(PROJECT)!r})\n" + _PROBE,
                           name], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (name, done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_module_that_holds_the_reference_is_named_secret():
    """Each module of maths/ is secret as soon as it is imported; a module whose import loads the reference leaves
    secrets_loaded() non-empty; the fork path loads nothing secret."""
    names = _modules()
    with ThreadPoolExecutor(4) as pool:
        seen = dict(zip(names, pool.map(_imported_alone, names)))
    unnamed = [name for name, found in seen.items()
               if name.startswith("backprop_grader.maths") and name not in found["secret"]]
    assert unnamed == [], f"secret modules that secrets_loaded() does not name: {unnamed}"
    assert [name for name, found in seen.items() if found["reference"] and not found["secret"]] == []
    assert "backprop_grader.maths.grading" in seen and "backprop_grader.maths.diagnosis" in seen
    leaking = {name: seen[name]["secret"] for name in FORK_PATH if seen[name]["secret"]}
    assert leaking == {}, f"the fork path imports secret modules: {leaking}"


def test_only_the_maths_imports_the_reference():
    """The reference, and so every answer, enters the engine only through maths/, the package named secret."""
    importers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            if any(n == "reference" or n.startswith("reference.") for n in names):
                importers.append(path.relative_to(PACKAGE).as_posix())
    assert importers and all(p.startswith("maths/") for p in importers), importers


# The layers, lowest first: a module imports from its own layer or a lower one (STYLE rule 9). The ground is
# the package's top level (the command line, config, errors, messages, markup, the rubric, the cache folder).
LAYERS = ("ground", "sandbox", "maths", "frontends")
# sandbox/import_guard.py imports nothing of the package (it runs in the worker, as `python -I -B -c` source): its
# mark of an allowed package is the configuration's too.
_LEAVES = ("backprop_grader.sandbox.import_guard",)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "ground"


def test_imports_run_downward():
    """No module imports from a layer above its own, at module level or inside a function."""
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PROJECT).with_suffix("").parts
        module = ".".join(parts)
        package = parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or (node.level == 0 and not (node.module or "").startswith(
                    "backprop_grader")):
                continue
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            target = ".".join(filter(None, (base, node.module)))
            targets = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            for imported in targets:
                if imported in _LEAVES or LAYERS.index(_layer(imported)) <= LAYERS.index(_layer(module)):
                    continue
                upward.append(f"{module} imports {imported}")
    assert upward == []


def test_every_sub_package_is_installed():
    """pyproject.toml lists each package by name: one missing from the list is missing from an install."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    listed = set(tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(PROJECT).parts) for p in PACKAGE.rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)


def test_run_autograder_starts_the_grader_in_an_environment_that_may_fork():
    """run_autograder (bash) writes the grader's environment out again: every variable it sets is one that
    sandbox/policy.py allows a forking grader to hold."""
    from backprop_grader.sandbox.policy import FORKABLE_ENVIRONMENT

    script = (PROJECT / "run_autograder").read_text()
    command = script[script.index("env -i"):script.index("-m backprop_grader grade")]
    assigned = set(re.findall(r"\b([A-Z_][A-Z0-9_]*)=", command))
    assert {"PATH", "PYTHONPATH", "OPENBLAS_NUM_THREADS"} <= assigned
    assert assigned <= FORKABLE_ENVIRONMENT, sorted(assigned - FORKABLE_ENVIRONMENT)
