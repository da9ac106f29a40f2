"""Load and check autograder.toml, so that a typo stops grading with a message naming the key and the file."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import GraderError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (Gradescope's Ubuntu 22.04)
    import tomli as tomllib

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "autograder.toml"
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
TEST_NUMBERS = ("1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7")

# section -> key -> (type, lower bound, upper bound)
_NUMBERS = {
    "networks": {
        "seed": (int, 0, 2**63 - 1),
        "random_count": (int, 1, 1000),
        "finite_difference_count": (int, 1, 1000),
        "min_units": (int, 1, 50),
        "max_units": (int, 1, 50),
    },
    "tolerance": {
        "rtol": (float, 0.0, 1.0),
        "atol_scale": (float, 0.0, 1.0),
        "finite_difference_step": (float, 1e-12, 1e-2),
    },
    "limits": {
        "import_seconds": (float, 0.1, 3600),
        "call_seconds": (float, 0.1, 3600),
        "case_seconds": (float, 1, 36000),
        "cpu_seconds": (int, 1, 36000),
        "memory_mb": (int, 64, 65536),
        "processes": (int, 1, 4096),
        "output_kb": (int, 1, 1048576),
    },
}


@dataclass(frozen=True)
class TestRubric:
    """Points and visibility of one graded test."""

    points: float
    visibility: str


@dataclass(frozen=True)
class Config:
    """The checked configuration; `path` says where it came from, for messages."""

    path: Path
    total: float
    tests: dict
    networks: dict
    tolerance: dict
    limits: dict
    forbidden_imports: tuple

    def rubric(self, number: str) -> TestRubric:
        """The rubric entry of a test number, e.g. "1.3"."""
        return self.tests[number]


# The configurations read in this process: a fork of it would carry their seeds (see grade.secrets_loaded).
READ_HERE: list[Path] = []


def load_config(path: Path | str | None = None) -> Config:
    """Read and check autograder.toml (the project's own by default)."""
    path = Path(path) if path else DEFAULT_CONFIG
    READ_HERE.append(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GraderError(f"cannot read the configuration {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GraderError(f"{path} is not valid TOML: {exc}") from None
    return _check(raw, path)


def _check(raw: dict, path: Path) -> Config:
    """Check every section and key; unknown ones are errors so that typos never pass silently."""
    _only_keys(raw, ("rubric", "networks", "tolerance", "limits", "imports"), path, "")
    sections = {name: _numbers(raw, name, path) for name in _NUMBERS}
    if sections["networks"]["min_units"] > sections["networks"]["max_units"]:
        raise GraderError(f"networks.min_units is larger than networks.max_units in {path}")
    total, tests = _rubric(_table(raw, "rubric", path), path)
    imports = _table(raw, "imports", path)
    _only_keys(imports, ("forbidden",), path, "imports.")
    forbidden = imports.get("forbidden", [])
    if not isinstance(forbidden, list) or not all(isinstance(m, str) and m.isidentifier() for m in forbidden):
        raise GraderError(f"imports.forbidden in {path} must be a list of module names, got {forbidden!r}")
    return Config(path, total, tests, sections["networks"], sections["tolerance"], sections["limits"],
                  tuple(forbidden))


def _rubric(rubric: dict, path: Path) -> tuple[float, dict]:
    """Check rubric.total and one [rubric.tests."N.M"] table per test, and that the points add up."""
    _only_keys(rubric, ("total", "tests"), path, "rubric.")
    tables = _table(rubric, "tests", path, "rubric.")
    _only_keys(tables, TEST_NUMBERS, path, "rubric.tests.")
    tests = {}
    for number in TEST_NUMBERS:
        entry = tables.get(number)
        if entry is None:
            raise GraderError(f'rubric.tests."{number}" is missing from {path}: give it points and visibility')
        if not isinstance(entry, dict):
            raise GraderError(f'rubric.tests."{number}" in {path} must be a table with points and visibility')
        where = f'rubric.tests."{number}".'
        _only_keys(entry, ("points", "visibility"), path, where)
        if "points" not in entry:
            raise GraderError(f"{where}points is missing from {path}")
        points = _number(entry.get("points"), float, 0, 1000, path, where + "points")
        visibility = entry.get("visibility", "visible")
        if visibility not in VISIBILITIES:
            raise GraderError(f"invalid {where}visibility {visibility!r} in {path}: allowed {', '.join(VISIBILITIES)}")
        tests[number] = TestRubric(points, visibility)
    added = sum(t.points for t in tests.values())
    total = _number(rubric.get("total", added), float, 0, 100000, path, "rubric.total")
    if abs(added - total) > 1e-9:
        raise GraderError(f"the rubric's points add up to {added:g}, but rubric.total in {path} says {total:g}")
    return total, tests


def _numbers(raw: dict, section: str, path: Path) -> dict:
    """Check the numeric keys of one section against their types and bounds."""
    table = _table(raw, section, path)
    spec = _NUMBERS[section]
    _only_keys(table, tuple(spec), path, section + ".")
    missing = [key for key in spec if key not in table]
    if missing:
        raise GraderError(f"{section}.{missing[0]} is missing from {path}")
    return {key: _number(table[key], *spec[key], path, f"{section}.{key}") for key in spec}


def _number(value, kind, low, high, path: Path, key: str):
    """One number of the right type within [low, high], or an error naming the key."""
    ok_type = isinstance(value, int) if kind is int else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or not low <= value <= high:
        kind_name = "a whole number" if kind is int else "a number"
        raise GraderError(f"invalid {key} {value!r} in {path}: expected {kind_name} from {low:g} to {high:g}")
    return kind(value)


def _table(raw: dict, name: str, path: Path, prefix: str = "") -> dict:
    """A sub-table, which must be a table if present."""
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise GraderError(f"[{prefix}{name}] in {path} must be a table")
    return value


def _only_keys(table: dict, allowed: tuple, path: Path, prefix: str) -> None:
    """Refuse unknown keys, listing the allowed ones."""
    for key in table:
        if key not in allowed:
            raise GraderError(f"unknown key {prefix}{key} in {path}: allowed {', '.join(allowed)}")
