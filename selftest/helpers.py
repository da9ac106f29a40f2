"""Shared helpers of the self-tests: run the real grader in a real process and read its real results.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SUBMISSIONS = PROJECT / "selftest" / "submissions"
CONFIG_OPTION = "--autograder-config"  # pytest option: check the examples against an instructor's autograder.toml


def run_grader(*args: str, timeout: float = 300, cwd: Path = PROJECT) -> subprocess.CompletedProcess:
    """`python -m backprop_grader ARGS` in a fresh process, as an instructor would type it."""
    return subprocess.run([sys.executable, "-m", "backprop_grader", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def grade(submission: Path, results: Path, *extra: str) -> dict:
    """Grade one submission through the command line and return its results.json."""
    done = run_grader("grade", str(submission), "--results", str(results), "--quiet", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(results.read_text())


def example_submissions() -> list[Path]:
    """Every example submission folder that has an expected result beside it (`<name>.expected.json`)."""
    return sorted(p.with_name(p.name[: -len(".expected.json")]) for p in SUBMISSIONS.rglob("*.expected.json"))


def expected_of(submission: Path) -> dict:
    """The expected result written beside an example submission."""
    return json.loads(submission.with_name(submission.name + ".expected.json").read_text())
