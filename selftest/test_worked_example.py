"""The worked example is public, and the one shown is exactly the one graded.

Its inputs reach the student twice: in the kit's worked_example.json (which check.py prints) and in the output of
a failing N.1 or N.2. Both are compared here with what the grader really passed to a student's compute_gradients
(the submission prints its arguments, and the failing test shows what it printed), under a configuration whose
seed is not the default one; the kit holds nothing but the worked example.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import PROJECT, SUBMISSIONS, grade, run_grader

from backprop_grader.maths import networks

ARRAYS = ("z", "t", "W_kj", "W_ji")
# Returns zeros (so that N.1 and N.2 fail) after printing the arguments it was called with, marked by case.
PRINTS_ITS_INPUTS = '''
import json
import numpy as np


def compute_gradients(z, t, W_kj, W_ji, case):
    print("ARGUMENTS", json.dumps({"case": case, "z": z.tolist(), "t": t.tolist(), "W_kj": W_kj.tolist(),
                                   "W_ji": W_ji.tolist()}))
    return np.zeros(W_kj.shape), np.zeros(W_ji.shape)
'''


@pytest.fixture(scope="module")
def configuration(tmp_path_factory) -> Path:
    """The project's autograder.toml with another seed: the worked example does not depend on it."""
    path = tmp_path_factory.mktemp("config") / "autograder.toml"
    text = (PROJECT / "autograder.toml").read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^seed = \d+", "seed = 7", text), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kit(configuration, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("kit")
    done = run_grader("student-kit", "--out", str(folder / "kit.zip"), "--config", str(configuration), timeout=120)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(folder / "kit.zip") as archive:
        archive.extractall(folder)
    return folder / "backprop_kit"


@pytest.fixture(scope="module")
def graded(configuration, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("prints_its_inputs")
    (folder / "submission").mkdir()
    (folder / "submission" / "backprop.py").write_text(PRINTS_ITS_INPUTS)
    document = grade(folder / "submission", folder / "results.json", "--config", str(configuration))
    return {t["number"]: t for t in document["tests"]}


def _shown_block(output: str) -> dict:
    """The arrays of the worked example's Python block in a test's output, evaluated as a student would."""
    block = re.search(r"```python\n(.*?)\n```", output, re.S)
    assert block, output
    names: dict = {"np": np}
    exec(block[1], names)  # our own Markdown, as a student would paste it
    return {name: names[name] for name in (*ARRAYS, "case")}


def _called_with(output: str) -> dict:
    """The arguments the grader passed, as the submission printed them (shown in the test's output)."""
    found = re.search(r"^ARGUMENTS (\{.*\})$", output, re.M)
    assert found, output
    return json.loads(found[1])


@pytest.mark.parametrize("case, numbers", [("sigmoid", ("1.1", "1.2")), ("softmax", ("2.1", "2.2"))])
def test_kit_and_failing_output_show_exactly_the_graded_worked_example(kit, graded, case, numbers):
    published = json.loads((kit / "worked_example.json").read_text())["cases"][case]
    assert published["tests"] == list(numbers)
    for number in numbers:
        output = graded[number]["output"]
        assert graded[number]["status"] == "failed"
        called, shown = _called_with(output), _shown_block(output)
        assert called["case"] == shown["case"] == case
        for name in ARRAYS:
            # exact equality: every digit the student sees is the one graded
            assert np.array_equal(np.array(called[name]), shown[name]), (number, name)
            assert np.array_equal(np.array(published[name]), shown[name]), (number, name)


def test_the_kit_holds_the_worked_example_and_nothing_else(kit):
    document = json.loads((kit / "worked_example.json").read_text())
    assert set(document) == {"about", "cases"} and list(document["cases"]) == ["sigmoid", "softmax"]
    for case, published in document["cases"].items():
        assert set(published) == {"tests", *ARRAYS}
        network = networks.worked_example(case)
        for name in ARRAYS:
            assert np.array_equal(np.array(published[name]), getattr(network, name)), (case, name)


def test_other_failing_tests_do_not_show_it_and_hidden_ones_show_no_arrays(graded):
    """Only N.1 and N.2 carry the worked example; a hidden test's output has no array of any network."""
    for number, test in graded.items():
        has_block = "```python" in test["output"]
        assert has_block == (number in ("1.1", "1.2", "2.1", "2.2")), number
        if test["visibility"] != "visible":
            assert "ARGUMENTS" not in test["output"], number  # nothing printed on a hidden network is shown


def test_check_py_prints_the_worked_example_and_the_students_gradients_on_it(kit, tmp_path):
    (kit / "backprop.py").write_text((SUBMISSIONS / "correct" / "vectorized" / "backprop.py").read_text())
    done = subprocess.run([sys.executable, "check.py"], cwd=kit, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    published = json.loads((kit / "worked_example.json").read_text())["cases"]
    for case, label in (("sigmoid", "1.1 and 1.2, case 1"), ("softmax", "2.1 and 2.2, case 2")):
        assert f"The worked example of graded tests {label}" in done.stdout
        assert f"  W_kj = {published[case]['W_kj']}" in done.stdout
    assert done.stdout.count("your dE/dW_kj = ") == 2
