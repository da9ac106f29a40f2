"""What students read: hidden tests reveal no number from hidden networks, visible ones explain, the summary leads.

Also the numerical-differentiation probe: finite differences of the student's own forward pass are flagged,
analytic float64 and float32 work never is. Gradients are computed in-process here (a stand-in worker), so these
tests need no sandbox; the example submissions cover the real processes.
"""

import re

import numpy as np
import pytest
from helpers import SUBMISSIONS, grade
from test_diagnosis import student

from backprop_grader import feedback
from backprop_grader import messages as msg
from backprop_grader.config import load_config
from backprop_grader.grading import Grading
from backprop_grader.sandbox import Reply
from reference.backprop import error

CONFIG = load_config(None)


class InProcessWorker:
    """Calls a compute_gradients function directly and answers like the sandboxed worker would."""

    def __init__(self, function):
        self.function = function

    def start(self) -> Reply:
        return Reply(True)

    def call(self, arguments, case) -> Reply:
        try:
            result = self.function(*(np.array(a) for a in arguments), case)
        except IndexError as exc:
            return Reply(False, "exception", f"IndexError: {exc}", details={"traceback": f"IndexError: {exc}\n"})
        return Reply(True, arrays=tuple(np.asarray(a, dtype=float) for a in result))

    def call_many(self, calls, case, seconds) -> list[Reply]:
        return [self.call(arguments, case) for arguments in calls]


def grading_of(function) -> Grading:
    return Grading(CONFIG, InProcessWorker(function))


def _crashes(z, t, W_kj, W_ji, case):
    return W_ji[:, W_ji.shape[1]]  # IndexError naming the network's size


HIDDEN_STUDENTS = {
    "sign": student(sign=True),
    "half": student(factor=0.5),
    "missing": student(missing=True),
    "sum_dropped": student(last_output_only=True),
    "swapped": student(swapped=True),
    "sign+missing": student(sign=True, missing=True),
    "noisy": lambda *args: [a + 0.01 * np.cos(np.arange(a.size)).reshape(a.shape) for a in student()(*args)],
    "crash": _crashes,
}
FIXED_TEXTS = sorted([*msg.MISTAKE_NAMES.values(), *msg.CASE_NAMES.values(), *msg.LAYER_NAMES.values()],
                     key=len, reverse=True)


def _numbers_left(report: str) -> set:
    """The numbers of a report once the fixed wording (mistake names like y(1−y), case names) is taken out."""
    for text in FIXED_TEXTS:
        report = report.replace(text, "")
    return set(re.findall(r"\d+(?:\.\d+)?(?:e-?\d+)?", report))


@pytest.mark.parametrize("name", list(HIDDEN_STUDENTS))
@pytest.mark.parametrize(("case", "group"), [("sigmoid", "random"), ("softmax", "random"), ("sigmoid", "edge"),
                                             ("softmax", "general")])
def test_hidden_reports_show_only_counts_and_names(name, case, group):
    grading = grading_of(HIDDEN_STUDENTS[name])
    for layer in ("W_kj", "W_ji"):
        verdicts = grading.verdicts(case, group, layer)
        failed = [v for v in verdicts if not v.passed]
        report = feedback.layer_report(verdicts, case, layer, visible=False, limits=CONFIG.limits,
                                       tolerance=CONFIG.tolerance)
        counts = {str(len(verdicts)), str(len(failed))} | {str(n) for n in range(len(verdicts) + 1)}
        assert _numbers_left(report) <= counts, report
        for revealing in ("[", "|", "IndexError", "factor 0.5", "times", "i="):
            assert revealing not in report, (revealing, report)


def test_hidden_reports_name_the_mistake():
    grading = grading_of(student(sign=True))
    report = feedback.layer_report(grading.verdicts("sigmoid", "random", "W_kj"), "sigmoid", "W_kj", visible=False,
                                   limits=CONFIG.limits, tolerance=CONFIG.tolerance)
    assert msg.MISTAKE_NAMES["sign_flipped"] in report
    assert msg.DIAGNOSIS_LABEL in report and msg.RECHECK_LABEL not in report


def test_visible_report_explains_with_table_diagnosis_and_recheck():
    grading = grading_of(student(factor=0.5))
    report = feedback.layer_report(grading.verdicts("sigmoid", "worked", "W_ji"), "sigmoid", "W_ji", visible=True,
                                   limits=CONFIG.limits, tolerance=CONFIG.tolerance)
    for text in ("case 1 (sigmoid outputs)", "dE/dW_ji (output layer)", "K, J, I = (3, 4, 2)",
                 "your array has the right shape (4, 2)", "the largest error is", msg.TABLE_HEAD,
                 "**Diagnosis:** off by a constant factor; your values are the expected ones times 0.5.",
                 msg.RECHECK_LABEL + " " + msg.MISTAKE_RECHECKS["constant_factor"]):
        assert text in report, (text, report)
    rows = [line for line in report.splitlines() if line.startswith("| [")]
    assert len(rows) == 5
    assert all(float(r.split("|")[3]) == pytest.approx(float(r.split("|")[4]), rel=1e-5) for r in rows)


def test_real_results_hide_every_number_of_hidden_networks(tmp_path):
    document = grade(SUBMISSIONS / "combined" / "sign_and_missing_derivative", tmp_path / "results.json")
    hidden = [t for t in document["tests"] if t["visibility"] == "after_due_date"]
    assert hidden
    for test in hidden:
        text = re.sub(r"Passed on \d+ of \d+ networks: [\d.]+ of [\d.]+ points\.", "", test["output"])
        text = re.sub(r"\b[12]\.[12]\b", "", text)  # the gate names tests 1.1 and 1.2
        assert not {n for n in _numbers_left(text) if "." in n or int(n) > 25}, test["output"]
        assert "[" not in text and "|" not in text, test["output"]
    assert "sign is flipped" in document["output"]


def _record(number, status, visibility="visible", max_score=8.0, output=""):
    return {"number": number, "name": f"test {number}", "status": status, "visibility": visibility,
            "max_score": max_score, "score": max_score if status == "passed" else 0.0, "output": output}


def test_summary_says_what_passed_and_what_to_fix_first():
    diagnosed = ("**head**\n\nOn the worked example (K, J, I = (3, 4, 2)): ...\n\nwrong\n\n"
                 f"{msg.DIAGNOSIS_LABEL} The sign is flipped.\n\n{msg.RECHECK_LABEL} Look at the sign.")
    records = [_record("0.1", "passed", max_score=0), _record("1.1", "passed"),
               _record("1.2", "failed", output=diagnosed),
               _record("1.3", "failed", visibility="after_due_date", output="SECRET 0.123"),
               _record("0.5", "failed", max_score=0, output="looks numerical")]
    text = feedback.summary(records, ["Note: isolation."])
    assert text.startswith("**Visible tests:** 1 of 2 passed (8 of 16 points). 1 more tests")
    assert "Start with test 1.2" in text and "The sign is flipped." in text and "Look at the sign." in text
    assert "SECRET" not in text and "0.123" not in text and text.endswith("Note: isolation.")


def test_summary_puts_an_import_failure_first():
    records = [_record("0.1", "failed", max_score=0, output="Your submission could not be imported"),
               _record("1.1", "failed", output="**head**\n\nNot run.")]
    assert "Start with test 0.1" in feedback.summary(records, [])


def test_summary_when_everything_visible_passed():
    text = feedback.summary([_record("1.1", "passed"), _record("1.3", "failed", visibility="after_due_date")], [])
    assert msg.SUMMARY_ALL_PASSED in text and "1 of 1 passed" in text


def _finite_differences(step: float, central: bool):
    """A student who differentiates their own (here: the reference's) forward pass numerically."""

    def compute_gradients(z, t, W_kj, W_ji, case):
        gradients = []
        for which, W in enumerate((W_kj, W_ji)):
            def E(V, which=which):
                return error(z, t, V, W_ji, case) if which == 0 else error(z, t, W_kj, V, case)
            gradient = np.zeros_like(W)
            for index in np.ndindex(W.shape):
                plus, minus = W.copy(), W.copy()
                plus[index] += step
                minus[index] -= step if central else 0.0
                gradient[index] = (E(plus) - E(minus)) / (2 * step if central else step)
            gradients.append(gradient)
        return gradients

    return compute_gradients


def _float32(z, t, W_kj, W_ji, case):
    return [a.astype(np.float32) for a in student()(*(v.astype(np.float32) for v in (z, t, W_kj, W_ji)), case)]


def _mixed_float32(z, t, W_kj, W_ji, case):
    return student()(z, t, W_kj.astype(np.float32), W_ji.astype(np.float32), case)


@pytest.mark.parametrize(("label", "function"), [
    ("central 1e-4", _finite_differences(1e-4, True)), ("central 1e-5", _finite_differences(1e-5, True)),
    ("central 1e-6", _finite_differences(1e-6, True)), ("forward 1e-6", _finite_differences(1e-6, False)),
    ("forward 1e-8", _finite_differences(1e-8, False))])
def test_finite_differences_are_flagged(label, function):
    grading = grading_of(function)
    for case in ("sigmoid", "softmax"):
        assert grading.worked_example_passes(case), label  # accurate enough to pass: only the probe can tell
        assert grading.looks_numerical(case)["flagged"], (label, grading.looks_numerical(case))


@pytest.mark.parametrize(("label", "function"), [("float64", student()), ("float32", _float32),
                                                 ("mixed float32", _mixed_float32)])
def test_analytic_work_is_never_flagged(label, function):
    grading = grading_of(function)
    for case in ("sigmoid", "softmax"):
        assert grading.worked_example_passes(case), label
        assert not grading.looks_numerical(case)["flagged"], (label, grading.looks_numerical(case))


def test_visible_tables_show_too_few_digits_to_copy_the_answer(tmp_path):
    """Copying the 'expected' column of a visible table into a submission must not pass the 1e-4 rule."""
    import json
    import subprocess
    import sys

    from helpers import PROJECT, SUBMISSIONS

    results = tmp_path / "results.json"
    subprocess.run([sys.executable, "-m", "backprop_grader", "grade", str(SUBMISSIONS / "mistakes" / "factor_half"),
                    "--results", str(results), "--quiet"], cwd=PROJECT, check=True, capture_output=True)
    output = {t["number"]: t["output"] for t in json.loads(results.read_text())["tests"]}["1.1"]
    rows = [line.split("|")[1:-1] for line in output.splitlines() if line.startswith("| [")]
    assert rows
    for _, _, expected, estimate, _ in rows:
        for shown in (expected, estimate):
            digits = shown.strip().lstrip("-").split("e")[0].replace(".", "").lstrip("0")
            assert len(digits) <= 3, shown
