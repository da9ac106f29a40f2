"""Every example submission, graded by the real command line, gets exactly its expected result.

Beside each submission folder `selftest/submissions/<outcome>/<name>/` is `<name>.expected.json`:
  score            the total (required)
  statuses         test number -> "passed" / "failed" (those listed are checked)
  scores           test number -> score (those listed are checked)
  output_contains  test number (or "summary") -> strings that must appear in that output
  output_excludes  test number (or "summary") -> strings that must not appear
  isolation        "full" for hostile examples: graded only through `simulate` as root (selftest/test_isolation.py)
  max_seconds      the longest the grading may take (hostile examples)

These expectations hold under the project's own autograder.toml (its points, visibilities, seeds). An instructor
checks the examples against their own with `--autograder-config PATH` (selftest/check-config PATH does that): each
example is then graded under both, the project's grading is checked as above, and under PATH every test must pass
or fail as it does under the project's (points may differ; a case that PATH switches off has no tests).
"""

import json
from pathlib import Path

import jsonschema
import pytest
from helpers import CONFIG_OPTION, PROJECT, example_submissions, expected_of, grade

from backprop_grader.config import load_config
from backprop_grader.frontends.results import problems

SCHEMA = json.loads((PROJECT / "selftest" / "results_schema.json").read_text())
EXAMPLES = [p for p in example_submissions() if expected_of(p).get("isolation") != "full"]


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("submission", EXAMPLES, ids=[_id(p) for p in EXAMPLES])
def test_example_gets_its_expected_result(submission, tmp_path, request):
    if request.config.getoption(CONFIG_OPTION):
        pytest.skip("checked, with the grading under your configuration, by the test below")
    assert_expected(grade(submission, tmp_path / "results.json"), expected_of(submission))


def pytest_generate_tests(metafunc):
    """The comparison under an instructor's configuration runs once per example, and only when asked for (one
    skip, not one per example, otherwise)."""
    if metafunc.function.__name__ == "test_example_passes_and_fails_alike_under_your_configuration":
        asked = bool(metafunc.config.getoption(CONFIG_OPTION))
        metafunc.parametrize("submission", EXAMPLES if asked else [], ids=[_id(p) for p in EXAMPLES] if asked else [])


def test_example_passes_and_fails_alike_under_your_configuration(submission, tmp_path, request):
    """Each test passes or fails under the instructor's autograder.toml as under the project's (only with
    --autograder-config PATH, which selftest/check-config PATH gives)."""
    path = request.config.getoption(CONFIG_OPTION)
    config = load_config(Path(path).resolve())
    ours = grade(submission, tmp_path / "ours.json")
    assert_expected(ours, expected_of(submission))
    theirs = grade(submission, tmp_path / "theirs.json", "--config", str(config.path))
    jsonschema.validate(theirs, SCHEMA)
    assert problems(theirs) == []
    graded = {t["number"]: t for t in theirs["tests"]}
    for test in ours["tests"]:
        number = test["number"]
        if number[0] != "0" and number not in config.tests:
            assert number not in graded, f"test {number} of a case rubric.cases leaves out was graded"
            continue
        assert number in graded, f"test {number} is missing under {path}"
        assert graded[number]["status"] == test["status"], (
            f"test {number} {test['status']} under the project's autograder.toml but {graded[number]['status']} "
            f"under {path}:\n{graded[number]['output'][:3000]}")
        if number[0] != "0":
            assert graded[number]["max_score"] == pytest.approx(config.rubric(number).points), number
    assert set(graded) <= {t["number"] for t in ours["tests"]}


def assert_expected(document: dict, expected: dict) -> None:
    """The document is valid and holds what the expected file says."""
    jsonschema.validate(document, SCHEMA)
    assert problems(document) == []
    tests = {t["number"]: t for t in document["tests"]}
    assert document["score"] == pytest.approx(expected["score"], abs=1e-6), _scores(document)
    for number, status in expected.get("statuses", {}).items():
        assert tests[number]["status"] == status, (number, tests[number]["output"])
    for number, score in expected.get("scores", {}).items():
        assert tests[number]["score"] == pytest.approx(score, abs=1e-6), number
    for number, texts in expected.get("output_contains", {}).items():
        output = document["output"] if number == "summary" else tests[number]["output"]
        for text in texts:
            assert text in output, (number, text, output)
    for number, texts in expected.get("output_excludes", {}).items():
        output = document["output"] if number == "summary" else tests[number]["output"]
        for text in texts:
            assert text not in output, (number, text, output)


def test_there_are_examples_of_each_outcome():
    outcomes = {p.parent.name for p in EXAMPLES}
    assert {"correct", "template"} <= outcomes


def _scores(document):
    return {t["number"]: t["score"] for t in document["tests"]}
