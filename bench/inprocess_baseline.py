"""The insecure baseline of the benchmark: the same checks as the graded suite, written the way a gradescope-utils
suite is (unittest test cases with its decorators, run by its JSONTestRunner, which writes results.json), with
the student's module imported into the grading process: no sandbox, no worker, no limits.

With --bare, only the checks run (no test framework, no results.json): the floor of any grader, for comparison.

Usage: python bench/inprocess_baseline.py SUBMISSION_FOLDER [--bare]
"""

import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backprop_grader.config import load_config  # noqa: E402
from backprop_grader.maths import networks as nets  # noqa: E402
from backprop_grader.maths.verdicts import close_enough, finite_differences  # noqa: E402
from reference.backprop import compute_gradients  # noqa: E402

CONFIG = load_config()


def import_student(folder: str):
    """The student's backprop.py, imported into this process (what a sandbox would prevent)."""
    sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location("backprop", Path(folder) / "backprop.py")
    student = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(student)
    return student


def groups(case: str) -> dict:
    """The rubric's networks of one case: worked example, random, edge, general targets, finite differences."""
    n = CONFIG.networks
    found = {"worked": [nets.worked_example(case)],
             "random": nets.random_networks(case, n["random_count"], n["seed"], n["min_units"], n["max_units"]),
             "edge": nets.edge_networks(case, n["seed"]),
             "fd": nets.random_networks(case, n["finite_difference_count"], n["seed"], n["min_units"],
                                        n["max_units"], "fd")}
    if case == "softmax":
        found["general"] = nets.general_target_networks(n["seed"])
    return found


def share_passed(student, networks: list, layer: int | None, numerical: bool = False) -> float:
    """The share of networks on which the student's gradient (one layer, or both) matches."""
    tol = CONFIG.tolerance
    passed = 0
    for net in networks:
        got = student.compute_gradients(*net.arguments())
        want = finite_differences(net, tol["finite_difference_step"]) if numerical else \
            compute_gradients(*net.arguments())
        layers = range(2) if layer is None else [layer]
        passed += all(close_enough(np.asarray(got[i], dtype=float), want[i], tol["rtol"], tol["atol_scale"])
                      for i in layers)
    return passed / len(networks)


def suite(student):
    """A gradescope-utils test case per case, one test per rubric line, as an instructor would write them."""
    import unittest

    from gradescope_utils.autograder_utils.decorators import number, partial_credit, visibility, weight

    def case_tests(case: str, n: str):
        networks = groups(case)

        class Case(unittest.TestCase):
            @weight(8)
            @number(f"{n}.1")
            def test_output_layer_worked_example(self):
                self.assertEqual(share_passed(student, networks["worked"], 1), 1.0)

            @weight(8)
            @number(f"{n}.2")
            def test_hidden_layer_worked_example(self):
                self.assertEqual(share_passed(student, networks["worked"], 0), 1.0)

            @partial_credit(12)
            @number(f"{n}.3")
            @visibility("after_due_date")
            def test_output_layer_random(self, set_score=None):
                set_score(12 * share_passed(student, networks["random"], 1))

            @partial_credit(12)
            @number(f"{n}.4")
            @visibility("after_due_date")
            def test_hidden_layer_random(self, set_score=None):
                set_score(12 * share_passed(student, networks["random"], 0))

            @partial_credit(5)
            @number(f"{n}.5")
            def test_finite_differences(self, set_score=None):
                set_score(5 * share_passed(student, networks["fd"], None, numerical=True))

            @partial_credit(5)
            @number(f"{n}.6")
            @visibility("after_due_date")
            def test_edge_cases(self, set_score=None):
                set_score(5 * share_passed(student, networks["edge"] + networks.get("general", []), None))

        Case.__name__ = f"Test{case.title()}"
        return Case

    loader = unittest.defaultTestLoader
    return unittest.TestSuite(loader.loadTestsFromTestCase(case_tests(case, n))
                              for case, n in (("sigmoid", "1"), ("softmax", "2")))


def main(folder: str, bare: bool) -> None:
    """Import the student's file in-process and check it on every network of the rubric."""
    student = import_student(folder)
    if bare:
        scores = [share_passed(student, [net for group in groups(case).values() for net in group], None)
                  for case in ("sigmoid", "softmax")]
        print(f"shares passed: {scores}")
        return
    from gradescope_utils.autograder_utils.json_test_runner import JSONTestRunner

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "results.json"
        with open(path, "w") as results:
            JSONTestRunner(visibility="visible", stream=results).run(suite(student))
        document = json.loads(path.read_text())
    print(f"score {sum(t['score'] for t in document['tests']):g} in {len(document['tests'])} tests")


if __name__ == "__main__":
    main(sys.argv[1], "--bare" in sys.argv[2:])
