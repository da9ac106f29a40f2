"""Load and check autograder.toml, so that a typo stops grading with a message naming the key and the file."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import GraderError
from .sandbox.import_guard import ALLOWED_MARK  # how Config.forbidden_imports marks an allowed package

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (Gradescope's Ubuntu 22.04)
    import tomli as tomllib

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "autograder.toml"
# Pinned versions of the packages a configuration may let students import; numpy's pins are the grader's own.
PACKAGE_PINS = (PROJECT_ROOT / "requirements-grader.txt", PROJECT_ROOT / "requirements-packages.txt")

REQUIRED_PACKAGES = ("numpy",)  # the grader hands the student numpy arrays, and the worker answers with numpy
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
TEST_NUMBERS = ("1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7")
CASES = ("sigmoid", "softmax")
CASE_NUMBERS = {case: str(n) for n, case in enumerate(CASES, 1)}  # "sigmoid" -> "1": case N's tests are N.x

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
    "submission": {
        "max_files": (int, 1, 10**6),
        "max_megabytes": (float, 0.001, 10**5),
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
    refused_imports: tuple  # [imports] forbidden: autodiff libraries, refused at import wherever they come from
    packages: tuple  # [environment] packages: what student code may import besides the standard library
    submission: dict  # [submission] caps on what a student uploads: max_files, max_megabytes
    cases: tuple = CASES  # [rubric] cases: the cases graded; a case left out has no tests and is never mentioned

    @property
    def forbidden_imports(self) -> tuple:
        """What the worker is told about imports, as one tuple of names (worker.import_rules reads it back): the
        refused libraries, then each package students may import marked with a leading '+'. grade.py and
        batch_job.py hand it to the worker under this name."""
        return self.refused_imports + tuple(ALLOWED_MARK + name for name in self.packages)

    def rubric(self, number: str) -> TestRubric:
        """The rubric entry of a test number, e.g. "1.3"."""
        return self.tests[number]

    def grades(self, number: str) -> bool:
        """Whether a graded test number belongs to a case this configuration grades."""
        return number in self.tests


# The configurations read in this process: a fork of it would carry their seeds (see sandbox/policy.py).
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


def submission_caps(path: Path | str | None = None) -> dict:
    """autograder.toml's [submission] caps, read without this process holding the rest of the file: grade finds
    the submission (which the caps govern) before it forks the worker, and a fork must not carry the seeds (see
    sandbox/policy.py). So, unless a configuration was read here already, a child reads and checks the whole
    file and sends back only these numbers (a bad file is the same GraderError as load_config's)."""
    if READ_HERE:
        return dict(load_config(path).submission)
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: nothing but reading the file, then _exit, so no cleanup of the parent's runs twice
        try:
            os.close(readable)
            try:
                answer = {"caps": load_config(path).submission}
            except GraderError as exc:
                answer = {"error": str(exc)}
            os.write(writable, json.dumps(answer).encode()[:60000])
        finally:
            os._exit(0)
    os.close(writable)
    with os.fdopen(readable, "rb") as pipe:
        answer = json.loads(pipe.read() or b"{}")
    os.waitpid(pid, 0)
    if "caps" not in answer:
        raise GraderError(answer.get("error", f"the configuration {path or DEFAULT_CONFIG} could not be read"))
    return answer["caps"]


def _check(raw: dict, path: Path) -> Config:
    """Check every section and key; unknown ones are errors so that typos never pass silently."""
    _only_keys(raw, ("rubric", "networks", "tolerance", "limits", "imports", "environment", "submission"), path, "")
    sections = {name: _numbers(raw, name, path) for name in _NUMBERS}
    if sections["networks"]["min_units"] > sections["networks"]["max_units"]:
        raise GraderError(f"networks.min_units is larger than networks.max_units in {path}")
    rubric = _table(raw, "rubric", path)
    cases = _cases(rubric.get("cases", list(CASES)), path)
    total, tests = _rubric(rubric, cases, path)
    imports = _table(raw, "imports", path)
    _only_keys(imports, ("forbidden",), path, "imports.")
    forbidden = _names(imports.get("forbidden", []), path, "imports.forbidden")
    environment = _table(raw, "environment", path)
    _only_keys(environment, ("packages",), path, "environment.")
    if "packages" not in environment:
        raise GraderError(f"environment.packages is missing from {path}: list the packages students may import")
    packages = _names(environment["packages"], path, "environment.packages")
    _check_packages(packages, forbidden, path)
    return Config(path, total, tests, sections["networks"], sections["tolerance"], sections["limits"],
                  forbidden, packages, sections["submission"], cases)


def _names(value, path: Path, key: str) -> tuple:
    """A list of top-level module names (numpy, not numpy.linalg), without repeats."""
    if not isinstance(value, list) or not all(isinstance(m, str) and m.isidentifier() for m in value):
        raise GraderError(f"{key} in {path} must be a list of top-level module names, got {value!r}")
    return tuple(dict.fromkeys(value))


def _check_packages(packages: tuple, forbidden: tuple, path: Path) -> None:
    """The list students may import: never a refused library (the refusal would win anyway, so listing one is a
    mistake to point out), never the standard library (always allowed), and always numpy."""
    refused = [name for name in packages if name in forbidden]
    if refused:
        raise GraderError(f"environment.packages in {path} lists {', '.join(refused)}, which imports.forbidden "
                          "refuses: remove it from one of the two lists")
    standard = [name for name in packages if name in getattr(sys, "stdlib_module_names", ())]
    if standard:
        raise GraderError(f"environment.packages in {path} lists {', '.join(standard)}, which is part of the "
                          "standard library (always allowed): remove it")
    missing = [name for name in REQUIRED_PACKAGES if name not in packages]
    if missing:
        raise GraderError(f"environment.packages in {path} must include {', '.join(missing)}: the grader passes "
                          "numpy arrays to compute_gradients")


def package_requirements(config: Config, pins: tuple = PACKAGE_PINS) -> list[str]:
    """The pinned requirement lines (with their Python markers) of the configured packages, for setup.sh to install
    exactly these; a GraderError naming the package when one has no pin in the requirements files."""
    lines = []
    for pin_file in pins:
        for line in pin_file.read_text(encoding="utf-8").splitlines():
            requirement = line.split("#", 1)[0].strip()
            if requirement and not requirement.startswith("-"):
                lines.append(requirement)
    chosen = []
    for name in config.packages:
        found = [line for line in lines if _requirement_name(line) == _canonical(name)]
        if not found:
            raise GraderError(f"environment.packages in {config.path} lists {name}, which has no pinned version in "
                              f"{pins[-1].name}: add a line such as `{name}==VERSION` there")
        chosen += [line for line in found if line not in chosen]
    return chosen


def _requirement_name(line: str) -> str:
    """The distribution name a requirement line installs, as pip compares names."""
    name = line
    for stop in "=<>!~;[ @":
        name = name.split(stop, 1)[0]
    return _canonical(name)


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def _cases(value, path: Path) -> tuple:
    """rubric.cases: the graded cases, at least one, each once, in the homework's order."""
    if not isinstance(value, list) or not value or any(v not in CASES for v in value) or len(set(value)) < len(value):
        raise GraderError(f"invalid rubric.cases {value!r} in {path}: expected a list of one or both of "
                          f"{', '.join(map(repr, CASES))}, each once")
    return tuple(case for case in CASES if case in value)


def case_numbers(cases: tuple) -> tuple:
    """The graded test numbers of these cases (case N's are N.x)."""
    prefixes = tuple(f"{CASE_NUMBERS[case]}." for case in cases)
    return tuple(number for number in TEST_NUMBERS if number.startswith(prefixes))


def _rubric(rubric: dict, cases: tuple, path: Path) -> tuple[float, dict]:
    """Check rubric.total and one [rubric.tests."N.M"] table per test of a graded case, and that their points add
    up (the tables of a case left out may stay, for switching it back on: they are checked, and count for nothing)."""
    _only_keys(rubric, ("total", "cases", "tests"), path, "rubric.")
    tables = _table(rubric, "tests", path, "rubric.")
    _only_keys(tables, TEST_NUMBERS, path, "rubric.tests.")
    tests = {}
    graded = case_numbers(cases)
    for number in TEST_NUMBERS:
        if number not in graded and number not in tables:
            continue
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
        if number in graded:
            tests[number] = TestRubric(points, visibility)
    added = sum(t.points for t in tests.values())
    total = _number(rubric.get("total", added), float, 0, 100000, path, "rubric.total")
    if abs(added - total) > 1e-9:
        which = "" if len(cases) == len(CASES) else f" of the graded cases ({', '.join(cases)}, rubric.cases)"
        raise GraderError(f"the rubric's points{which} add up to {added:g}, but rubric.total in {path} says "
                          f"{total:g}")
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
