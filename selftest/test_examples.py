"""Every example submission, graded by the real command line, gets exactly its expected result.

Beside each submission folder `selftest/submissions/<outcome>/<name>/` is `<name>.expected.json`:
  score            the total (required)
  statuses         test number -> "passed" / "failed" (those listed are checked)
  scores           test number -> score (those listed are checked)
  output_contains  test number (or "summary") -> strings that must appear in that output
  output_excludes  test number (or "summary") -> strings that must not appear
  isolation        "full" for hostile examples: graded only through `simulate` as root (selftest/test_isolation.py)
  max_seconds      the longest the grading may take (hostile examples)
"""

import json
from pathlib import Path

import jsonschema
import pytest
from helpers import PROJECT, example_submissions, expected_of, grade

from backprop_grader.results import problems

SCHEMA = json.loads((PROJECT / "selftest" / "results_schema.json").read_text())
EXAMPLES = [p for p in example_submissions() if expected_of(p).get("isolation") != "full"]


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("submission", EXAMPLES, ids=[_id(p) for p in EXAMPLES])
def test_example_gets_its_expected_result(submission, tmp_path):
    expected = expected_of(submission)
    document = grade(submission, tmp_path / "results.json")
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
