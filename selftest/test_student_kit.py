"""The student kit, built by the real command and unzipped into a temporary folder, as a student gets it.

It holds only the expected files, gives nothing away (no closed-form gradient, no seed, nothing of the reference),
and its `python check.py` passes every correct example submission, fails the untouched template with a friendly
message, and fails every mistake in the case and layer where the graded tests find it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import PROJECT, SUBMISSIONS, run_grader

from backprop_grader.config import load_config

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

KIT_FOLDER = "backprop_kit"
KIT_FILES = {"backprop.py", "forward.py", "check.py", "README.md", "worked_example.json"}
FINAL_LINE = re.compile(r"^public checks: (\d+) of (\d+) passed; the graded tests are stricter$")
# Pieces of the closed forms (SPEC section 1) and of code that computes them; none may appear in the kit.
GRADIENT_PATTERNS = [
    r"\(\s*1(\.0*)?\s*[-−]\s*y\w*\s*\)",  # (1 - y): the sigmoid derivative y(1 - y)
    r"\by\w*\s*\*\s*\(\s*1",  # y * (1 ...
    r"\bx\w*\s*\*?\s*\(\s*1(\.0*)?\s*[-−]\s*x",  # x(1 - x), the derivative of a sigmoid output
    r"\bx\w*\s*[-−]\s*t\w*\b",  # x - t, x_i − t_i
    r"\bx\w*\s*\*\s*t\w*\.sum",  # x * t.sum(): the general-target form of case 2
    r"outer\(",
    r"einsum\(",
    r"\bdelta",
    r"\bdE_dW\w*\s*=[^=]",  # an assignment to a gradient
    r"\bgrad\w*\s*=[^=]",
]


def _submissions(outcome: str) -> list[Path]:
    folder = SUBMISSIONS / outcome
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


CORRECT, MISTAKES = _submissions("correct"), _submissions("mistakes")


@pytest.fixture(scope="module")
def kit_zip(tmp_path_factory) -> Path:
    """The kit as the instructor builds it: `python -m backprop_grader student-kit --out tmp/kit.zip`."""
    out = tmp_path_factory.mktemp("tmp") / "kit.zip"
    done = run_grader("student-kit", "--out", str(out), timeout=60)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def kit(kit_zip, tmp_path_factory) -> Path:
    """The kit unzipped, as a student has it."""
    folder = tmp_path_factory.mktemp("unzipped")
    with zipfile.ZipFile(kit_zip) as archive:
        archive.extractall(folder)
    return folder / KIT_FOLDER


def _texts(kit: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in kit.rglob("*") if p.is_file()}


def _check(kit: Path, submission: Path | None, tmp_path: Path) -> subprocess.CompletedProcess:
    """`python check.py` in a fresh copy of the kit whose backprop.py is the submission's (with its helpers)."""
    folder = tmp_path / KIT_FOLDER
    shutil.copytree(kit, folder)
    if submission is not None:
        shutil.copytree(submission, folder, dirs_exist_ok=True)
    return subprocess.run([sys.executable, "check.py"], cwd=folder, capture_output=True, text=True, timeout=120)


def _final(done: subprocess.CompletedProcess) -> tuple[int, int]:
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    match = FINAL_LINE.match(lines[-1])
    assert match, done.stdout
    return int(match[1]), int(match[2])


def _failing(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith("FAIL")]


def test_kit_holds_only_the_expected_files(kit_zip):
    with zipfile.ZipFile(kit_zip) as archive:
        names = archive.namelist()
    assert sorted(names) == sorted(f"{KIT_FOLDER}/{name}" for name in KIT_FILES)


def test_kit_has_no_closed_form_gradient(kit):
    for name, text in _texts(kit).items():
        for pattern in GRADIENT_PATTERNS:
            found = re.search(pattern, text)
            assert found is None, f"{name} contains {found[0]!r} (pattern {pattern})"


@pytest.mark.parametrize("code", [*CORRECT, PROJECT / "reference"], ids=[*(p.name for p in CORRECT), "reference"])
def test_gradient_patterns_find_real_gradient_code(code):
    """The search above is not vacuous: it finds the gradient in every correct submission and in the reference."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in code.rglob("*.py"))
    assert any(re.search(pattern, text) for pattern in GRADIENT_PATTERNS)


def test_kit_has_no_seed_of_the_configuration(kit):
    config = tomllib.loads((PROJECT / "autograder.toml").read_text())
    seeds = list(_seeds(config))
    assert seeds, "autograder.toml names no seed: this test would prove nothing"
    for name, text in _texts(kit).items():
        for seed in seeds:
            assert str(seed) not in text, f"{name} contains the seed {seed}"


def _seeds(table: dict):
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _seeds(value)
        elif "seed" in key and isinstance(value, int):
            yield value


def test_kit_has_nothing_of_the_reference_or_the_grader(kit):
    reference = {line.strip() for path in (PROJECT / "reference").rglob("*.py")
                 for line in path.read_text().splitlines()}
    # lines of the reference that compute something (a shared constant like the case names is no leak)
    code = {line for line in reference if len(line) >= 25 and not line.startswith(("#", '"""'))
            and re.search(r"@|[*/]|exp\(|log|\s[-+]\s", line)}
    for name, text in _texts(kit).items():
        assert not re.search(r"^\s*(from|import)\s+(backprop_grader|reference|tests)\b", text, re.M), name
        if name == "backprop.py":
            continue  # the stub: the signature and docstring of SPEC section 2, which the reference shares
        for line in text.splitlines():
            assert line.strip() not in code, f"{name} repeats the reference: {line.strip()}"


def test_kit_builds_the_same_zip_twice(kit_zip, tmp_path):
    again = tmp_path / "again.zip"
    done = run_grader("student-kit", "--out", str(again), timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert again.read_bytes() == kit_zip.read_bytes()


def test_untouched_template_fails_with_a_friendly_message(kit, tmp_path):
    done = _check(kit, None, tmp_path)
    passed, total = _final(done)
    assert done.returncode != 0 and passed < total, done.stdout[-3000:]
    assert "not implemented yet" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert "PASS  backprop.py is found and imports" in done.stdout


def test_missing_backprop_fails_clearly(kit, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    for name in ("check.py", "forward.py"):
        shutil.copy(kit / name, folder / name)
    done = subprocess.run([sys.executable, "check.py"], cwd=folder, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0, done.stdout[-3000:]
    assert "there is no backprop.py" in done.stdout
    assert _final(done)[0] == 0


@pytest.mark.parametrize("submission", CORRECT, ids=[p.name for p in CORRECT])
def test_correct_submission_passes_every_check(kit, submission, tmp_path):
    done = _check(kit, submission, tmp_path)
    passed, total = _final(done)
    assert (done.returncode, passed) == (0, total), done.stdout + done.stderr


@pytest.mark.parametrize("submission", MISTAKES, ids=[p.name for p in MISTAKES])
def test_mistake_fails_in_its_case_and_layer(kit, submission, tmp_path):
    done = _check(kit, submission, tmp_path)
    passed, total = _final(done)
    failing = _failing(done)
    expected = submission.with_name(submission.name + ".expected.json")
    statuses = json.loads(expected.read_text()).get("statuses", {}) if expected.is_file() else {}
    where = _where_the_grader_fails(statuses)
    if [test for test, status in statuses.items() if status == "failed"] == ["2.7"]:
        # only 2.7 finds it (x - t in case 2): check.py passes it, as the visible tests do
        assert done.returncode == 0 and not failing, done.stdout + done.stderr
        return
    assert done.returncode != 0 and passed < total and failing, done.stdout + done.stderr
    for number, layer in where:
        assert any(f"case {number} (" in line and layer in line for line in failing), (number, layer, done.stdout)
    for number in (1, 2):
        tests = [status for test, status in statuses.items() if test.startswith(f"{number}.")]
        if tests and all(status == "passed" for status in tests):
            assert not any(f"case {number} (" in line for line in failing), (number, done.stdout)


def _where_the_grader_fails(statuses: dict) -> set[tuple[int, str]]:
    """(case number, layer words) for each graded test of one layer (N.1 to N.4) that the submission fails.
    2.7 (general targets) asks nothing: check.py, like the visible tests, uses case-2 targets that sum to 1."""
    where = set()
    for test, status in statuses.items():
        number, _, part = test.partition(".")
        if status != "failed" or number not in ("1", "2"):
            continue
        if part in ("1", "3"):
            where.add((int(number), "output layer"))
        elif part in ("2", "4"):
            where.add((int(number), "hidden layer"))
    return where


def test_the_kit_names_the_configured_packages_and_check_py_flags_others(tmp_path):
    """The list in the kit is autograder.toml's, in README.md and check.py alike; check.py fails a file that
    imports something else (read from its code), as the grader would fail its import."""
    config = tmp_path / "autograder.toml"
    config.write_text((PROJECT / "autograder.toml").read_text(encoding="utf-8").replace(
        'packages = ["numpy", "scipy", "matplotlib"]', 'packages = ["numpy", "scipy"]'), encoding="utf-8")
    done = run_grader("student-kit", "--out", str(tmp_path / "kit.zip"), "--config", str(config), timeout=60)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "kit.zip") as archive:
        archive.extractall(tmp_path / "unzipped")
    kit = tmp_path / "unzipped" / KIT_FOLDER
    assert "and these packages, and nothing else: numpy, scipy.\n" in (kit / "README.md").read_text()
    assert '\nPACKAGES = ("numpy", "scipy")\n' in (kit / "check.py").read_text()
    shutil.copy(SUBMISSIONS / "correct" / "plots_in_a_script" / "backprop.py", kit / "backprop.py")
    done = subprocess.run([sys.executable, "check.py"], cwd=kit, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, MPLBACKEND="Agg"))
    assert done.returncode == 1, (done.stdout + done.stderr)[-3000:]
    assert "FAIL  your files import only the standard library and numpy, scipy" in done.stdout
    assert "matplotlib is not available where your code is graded" in done.stdout


def test_the_templates_list_is_the_default_configurations():
    """Unzipped or read straight from student_template/, the kit names the project's own list."""
    from backprop_grader.frontends.student_kit import TEMPLATE, with_packages

    packages = load_config().packages
    for name in ("README.md", "check.py"):
        text = (TEMPLATE / name).read_text(encoding="utf-8")
        assert with_packages(name, text, packages) == text
