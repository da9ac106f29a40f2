"""Make the project importable from the self-tests, whatever folder pytest is started from; the option with which
an instructor checks the example submissions against their own autograder.toml (selftest/check-config); and how
pytest-xdist shares the tests among its workers (selftest/run)."""

import ast
import functools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import CONFIG_OPTION  # noqa: E402  (importable once the line above has run)


def pytest_addoption(parser):
    """--autograder-config PATH: grade the example submissions under PATH too, comparing each test's pass or fail."""
    parser.addoption(CONFIG_OPTION, default=None, metavar="PATH",
                     help="also grade each example submission under this autograder.toml and check that every test "
                          "passes or fails as under the project's own (selftest/test_examples.py)")


def pytest_configure(config):
    """A configuration that does not load stops the run at once, with the grader's own one-line message."""
    path = config.getoption(CONFIG_OPTION)
    if path:
        from backprop_grader.config import load_config
        from backprop_grader.errors import GraderError

        try:
            load_config(Path(path).resolve())
        except GraderError as exc:
            raise pytest.UsageError(str(exc)) from None



def pytest_xdist_make_scheduler(config, log):
    """With --dist loadscope (selftest/run), each test is a unit of work of its own, except that the tests of a
    module that use one of its module-scoped fixtures (a class graded by batch, a simulated Gradescope root) form
    one unit, so that the fixture is made once, and a module marked with an xdist_group (whose tests must not run
    beside each other) is one unit. (pytest-xdist's own --dist loadgroup does not group under pytest 9, whose
    node ids it can no longer rename.) The largest units are handed out first."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file, _, test = nodeid.partition("::")
            whole, sharing = _sharing(str(config.rootpath / file))
            return file if whole or test.split("[")[0] in sharing else nodeid

    return SharedFixtureScheduling(config, log)


@functools.cache
def _sharing(path: str) -> tuple[bool, frozenset]:
    """(whether a test module's tests must all run in one worker, the tests that use a module-scoped fixture of
    it), read from its source."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return False, frozenset()
    whole, fixtures, tests = False, set(), {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in node.targets):
            whole = whole or "xdist_group" in ast.unparse(node.value)
        elif isinstance(node, ast.FunctionDef):
            if any("scope='module'" in ast.unparse(d) for d in node.decorator_list):
                fixtures.add(node.name)  # a fixture it depends on is module-scoped (or wider) too
            elif node.name.startswith("test"):
                tests[node.name] = {a.arg for a in node.args.args}
    return whole, frozenset(name for name, parameters in tests.items() if parameters & fixtures)
