"""`[rubric] cases`: a case switched off has no tests in results.json, and nothing a student reads mentions it.

Graded through real `run_autograder` runs of a copy of the grader laid out as on Gradescope (its `.python` file
names the Python to use) whose autograder.toml grades one case; the student kit built for such a configuration
checks and shows that case only.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import PROJECT, SUBMISSIONS, run_grader

from backprop_grader import messages as msg

DEFAULT = (PROJECT / "autograder.toml").read_text(encoding="utf-8")
CASES_LINE = 'cases = ["sigmoid", "softmax"]'  # in the project's autograder.toml
OTHER = {"sigmoid": ("2", "softmax"), "softmax": ("1", "sigmoid")}  # a case -> the other's number and name


def one_case_configuration(case: str, *, keep_other_tables: bool) -> str:
    """autograder.toml grading `case` alone, its total the case's 50 points; the other case's test tables removed,
    or left in place (they may stay, counting for nothing, so that switching the case back on is one line)."""
    text = DEFAULT.replace("total = 100", "total = 50", 1).replace(CASES_LINE, f'cases = ["{case}"]', 1)
    if not keep_other_tables:
        number = OTHER[case][0]
        text = re.sub(rf'\[rubric\.tests\."{number}\.\d"\]\npoints = \d+\nvisibility = "\w+"\n', "", text)
    assert f'cases = ["{case}"]' in text
    return text


def gradescope_copy(folder: Path, configuration: str) -> Path:
    """The grader's files as setup.sh leaves them in ROOT/source (its .python naming this Python), with this
    autograder.toml; returns that folder."""
    source = folder / "source"
    shutil.copytree(PROJECT, source, ignore=shutil.ignore_patterns(".venv", ".git", "selftest", ".cache",
                                                                    "__pycache__", "*.egg-info"))
    (source / "autograder.toml").write_text(configuration, encoding="utf-8")
    (source / ".python").write_text(sys.executable + "\n")
    return source


@pytest.fixture(scope="module")
def sigmoid_only(tmp_path_factory) -> Path:
    return gradescope_copy(tmp_path_factory.mktemp("sigmoid-only"),
                           one_case_configuration("sigmoid", keep_other_tables=False))


@pytest.fixture(scope="module")
def softmax_only(tmp_path_factory) -> Path:
    return gradescope_copy(tmp_path_factory.mktemp("softmax-only"),
                           one_case_configuration("softmax", keep_other_tables=True))


def run_autograder(source: Path, submission: Path, results: Path) -> dict:
    """Gradescope's command, from the copy: always exit 0 and a results.json."""
    done = subprocess.run([str(source / "run_autograder"), "--submission", str(submission), "--results",
                           str(results)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(results.read_text())
    assert "autograder_error" not in document.get("extra_data", {}), document["extra_data"]
    return document


def student_text(document: dict) -> str:
    """Everything a student reads: the summary, and each test's name, number and output."""
    return "\n".join([document["output"], *(f"{t['number']} {t['name']}\n{t['output']}" for t in document["tests"])])


def assert_never_mentioned(document: dict, case: str) -> None:
    """No test of the other case, and no word of it, anywhere the student reads."""
    number, name = OTHER[case]
    assert not [t["number"] for t in document["tests"] if t["number"].startswith(number + ".")]
    text = student_text(document)
    for word in (f"case {number}", f"Case {number}", name, f"test {number}.", "either case"):
        assert word not in text, (word, text)


def test_a_correct_submission_gets_the_listed_cases_points_and_only_their_tests(sigmoid_only, tmp_path):
    document = run_autograder(sigmoid_only, SUBMISSIONS / "correct" / "vectorized", tmp_path / "results.json")
    assert document["score"] == 50
    assert sum(t["max_score"] for t in document["tests"]) == 50
    assert sorted(t["number"] for t in document["tests"]) == ["0.1", "0.2", "0.3", "0.4", "0.5", "1.1", "1.2",
                                                              "1.3", "1.4", "1.5", "1.6"]
    assert [t["number"] for t in document["tests"] if t["status"] != "passed"] == []
    assert_never_mentioned(document, "sigmoid")


def test_advice_on_a_failing_submission_names_only_the_graded_case(sigmoid_only, tmp_path):
    """mse_factor_added is wrong in case 1 only: graded on case 1 it gets 0, and every word is about case 1."""
    document = run_autograder(sigmoid_only, SUBMISSIONS / "mistakes" / "mse_factor_added", tmp_path / "r.json")
    assert document["score"] == 0
    assert "Start with test 1.1" in document["output"]
    assert_never_mentioned(document, "sigmoid")


def test_a_case_wrong_only_in_the_case_switched_off_gets_full_marks(softmax_only, tmp_path):
    document = run_autograder(softmax_only, SUBMISSIONS / "mistakes" / "mse_factor_added", tmp_path / "r.json")
    assert document["score"] == 50
    assert sum(t["max_score"] for t in document["tests"]) == 50
    assert all(t["status"] == "passed" for t in document["tests"]), student_text(document)
    assert_never_mentioned(document, "softmax")


def test_checks_that_cannot_run_speak_of_the_graded_case_alone(sigmoid_only, tmp_path):
    document = run_autograder(sigmoid_only, SUBMISSIONS / "template" / "untouched", tmp_path / "r.json")
    tests = {t["number"]: t for t in document["tests"]}
    assert document["score"] == 0
    assert tests["0.5"]["output"] == msg.CHECK_NUMERICAL_NOT_RUN_ONE_CASE
    assert_never_mentioned(document, "sigmoid")


def test_the_kit_of_a_one_case_configuration_checks_and_shows_that_case_alone(tmp_path):
    config = tmp_path / "autograder.toml"
    config.write_text(one_case_configuration("softmax", keep_other_tables=False), encoding="utf-8")
    done = run_grader("student-kit", "--out", str(tmp_path / "kit.zip"), "--config", str(config), timeout=120)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "kit.zip") as archive:
        archive.extractall(tmp_path)
    kit = tmp_path / "backprop_kit"
    assert list(json.loads((kit / "worked_example.json").read_text())["cases"]) == ["softmax"]
    shutil.copy(SUBMISSIONS / "mistakes" / "mse_factor_added" / "backprop.py", kit / "backprop.py")
    checked = subprocess.run([sys.executable, "check.py"], cwd=kit, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr  # wrong in case 1 only, which is not graded
    assert "case 2 (softmax)" in checked.stdout and "2.1 and 2.2" in checked.stdout
    assert "case 1" not in checked.stdout and "sigmoid" not in checked.stdout, checked.stdout
