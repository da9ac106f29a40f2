"""What students read: hidden tests reveal no number from hidden networks, visible ones explain, the summary leads.

Also the numerical-differentiation probe: finite differences of the student's own forward pass are flagged,
analytic float64 and float32 work never is. Gradients are computed in-process here (a stand-in worker), so these
tests need no sandbox; the example submissions cover the real processes.
"""

import re

import numpy as np
import pytest
from helpers import PROJECT, SUBMISSIONS, grade
from test_diagnosis import student

from backprop_grader import messages as msg
from backprop_grader.config import load_config
from backprop_grader.markup import escape
from backprop_grader.maths import feedback
from backprop_grader.maths.grading import Grading
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

    def close(self) -> None:
        """Nothing to end: the function runs in this process."""

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
                                   limits=CONFIG.limits, tolerance=CONFIG.tolerance,
                                   evidence=feedback.evidence(grading, "sigmoid", "W_ji", visible=True))
    for text in ("case 1 (sigmoid outputs)", "dE/dW_ji (output layer)", "worked example (sigmoid; K, J, I = 2, 4, 3)",
                 "your array has the right shape (4, 3)", "the largest error is", msg.TABLE_HEAD,
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
    diagnosed = ("**head**\n\nOn the worked example (K, J, I = (2, 4, 3)): ...\n\nwrong\n\n"
                 f"{msg.DIAGNOSIS_LABEL} The sign is flipped.\n\n{msg.RECHECK_LABEL} Look at the sign.")
    records = [_record("0.1", "passed", max_score=0), _record("1.1", "passed"),
               _record("1.2", "failed", output=diagnosed),
               _record("1.3", "failed", visibility="after_due_date", output="SECRET 0.123"),
               _record("0.5", "failed", max_score=0, output="looks numerical")]
    text = feedback.summary(records, ["Note: isolation."])
    assert text.startswith("**Visible tests:** 1 of 2 passed (8 of 16 points). 1 more tests"), text
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
    ("central 1e-6", _finite_differences(1e-6, True)), ("central 1e-7", _finite_differences(1e-7, True)),
    ("forward 1e-6", _finite_differences(1e-6, False)),
    ("forward 1e-8", _finite_differences(1e-8, False))])
def test_finite_differences_are_flagged(label, function):
    grading = grading_of(function)
    for case in ("sigmoid", "softmax"):
        assert grading.worked_example_passes(case), label  # accurate enough to pass: only the probe can tell
        assert grading.looks_numerical(case)["flagged"], (label, grading.looks_numerical(case))


def _recovered_from_update(learning_rate: float):
    """Analytic gradients applied as a weight update and read back as (W − W_new) / learning_rate, as code built
    around a training step does: rounding of about 1e-11 relative that grows with W_kj."""

    def compute_gradients(z, t, W_kj, W_ji, case):
        updated = [W - learning_rate * g for W, g in zip((W_kj, W_ji), student()(z, t, W_kj, W_ji, case))]
        return [(W - new) / learning_rate for W, new in zip((W_kj, W_ji), updated)]

    return compute_gradients


def _weight_decay(decay: float):
    """Analytic gradients with a weight-decay term too small to fail a test (decay × W)."""
    return lambda z, t, W_kj, W_ji, case: [g + decay * W for g, W in zip(student()(z, t, W_kj, W_ji, case),
                                                                          (W_kj, W_ji))]


@pytest.mark.parametrize(("label", "function"), [
    ("float64", student()), ("float32", _float32), ("mixed float32", _mixed_float32),
    ("update, rate 1", _recovered_from_update(1.0)), ("update, rate 0.1", _recovered_from_update(0.1)),
    ("update, rate 1e-3", _recovered_from_update(1e-3)), ("update, rate 1e-5", _recovered_from_update(1e-5)),
    ("decay 1e-9", _weight_decay(1e-9)), ("decay 1e-7", _weight_decay(1e-7))])
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


class RecordingWorker(InProcessWorker):
    """Remembers the inputs z of every call, to tell which networks a report asked about."""

    def __init__(self, function):
        super().__init__(function)
        self.asked = []

    def call(self, arguments, case) -> Reply:
        self.asked.append(np.array(arguments[0]))
        return super().call(arguments, case)


@pytest.mark.parametrize("case", ["sigmoid", "softmax"])
def test_a_visible_diagnosis_asks_about_visible_networks_only(case):
    worker = RecordingWorker(student(last_output_only=True))
    grading = Grading(CONFIG, worker)
    for layer in ("W_kj", "W_ji"):
        report = feedback.layer_report(grading.verdicts(case, "worked", layer), case, layer, visible=True,
                                       limits=CONFIG.limits, tolerance=CONFIG.tolerance,
                                       evidence=feedback.evidence(grading, case, layer, visible=True))
    assert msg.MISTAKE_NAMES["one_output_term"] in report or "one_output_term" not in report
    hidden = [n.z for group in ("random", "edge") + ("general",) * (case == "softmax")
              for n in grading.networks(case, group)]
    for z in worker.asked:
        assert not any(z.shape == h.shape and np.array_equal(z, h) for h in hidden)
    assert len(worker.asked) == 1 + CONFIG.networks["finite_difference_count"] + 2


def test_hidden_reports_promise_nothing_they_do_not_show_and_use_words():
    grading = grading_of(student(sign=True))
    report = feedback.layer_report(grading.verdicts("sigmoid", "random", "W_kj"), "sigmoid", "W_kj", visible=False,
                                   limits=CONFIG.limits, tolerance=CONFIG.tolerance)
    assert "after the due date" not in report and "Details appear" not in report
    assert "wrong values:" not in report and "On all of them the values were wrong." in report
    crashing = grading_of(_crashes)
    report = feedback.layer_report(crashing.verdicts("sigmoid", "random", "W_kj"), "sigmoid", "W_kj",
                                   visible=False, limits=CONFIG.limits, tolerance=CONFIG.tolerance)
    assert "On all of them your code raised an exception." in report and "exception:" not in report


@pytest.mark.parametrize("inside", ["plain", "``` closes a block", "````\n![x](http://e/x.png)\n````", "`a` ``b``"])
def test_student_text_cannot_close_its_code_block(inside):
    block = feedback.code_block(f"Traceback\n{inside}\n")
    fence = block.split("\n", 1)[0]
    assert set(fence) == {"`"} and len(fence) >= 3 and block.endswith("\n" + fence)
    assert fence not in block[len(fence):-len(fence)]  # no run of backticks inside is as long as the fence
    printed = feedback.printed_output(inside)
    opening = re.search(r"^(`{3,})$", printed, re.M).group(1)
    assert printed.rstrip().endswith(opening) and printed.count(opening) == 2


def test_a_cut_headline_never_cuts_a_code_span_open():
    """A long headline cut inside a student's name in a code span would render the rest of the name as
    Markdown: the cut goes before the span."""
    name = escape("x" * 50 + " ![ok](https:evil.example,p.png) `", code=True)
    text = "**head**\n\nYour code raised an exception: " + "y " * 100 + name + " and more."
    for limit in range(len(text) - len(name), len(text)):
        cut = feedback._headline(text, limit=limit)
        assert "evil" not in cut or name in cut, (limit, cut)


def test_a_cut_headline_closes_the_block_it_cut_open():
    text = "**head**\n\nYour code raised an exception:\n\n" + feedback.code_block("````\n" + "y" * 2000)
    cut = feedback._headline(text, limit=300)
    fence = re.search(r"^(`{3,})$", cut, re.M).group(1)
    assert cut.endswith("\n" + fence) and len(fence) == 5


def test_memory_and_missing_module_are_explained_in_the_students_terms():
    memory = Reply(False, "exception", "MemoryError: Unable to allocate 1.00 MiB",
                   details={"traceback": "Traceback ...\nMemoryError: Unable to allocate 1.00 MiB\n"})
    assert f"more than the {CONFIG.limits['memory_mb']} MB of memory" in feedback.failure_text(memory, CONFIG.limits)
    missing = Reply(False, "missing_module", "module activations is not available here",
                    details={"names": ["numpy", "the Python standard library", "your files backprop.py, forward.py"]})
    text = feedback.failure_text(missing, CONFIG.limits)
    assert "your files backprop.py." in text.replace("your files backprop.py,", "your files backprop.py.")
    assert "your files backprop.py, forward.py" not in text and msg.PROVIDED_FORWARD_NAME in text


def _noisy(relative):
    def compute_gradients(z, t, W_kj, W_ji, case):
        rng = np.random.default_rng(abs(hash(z.tobytes())) % 2**32)
        return [g * (1 + relative * rng.standard_normal(g.shape)) for g in student()(z, t, W_kj, W_ji, case)]
    return compute_gradients


def _long_sums_reversed(z, t, W_kj, W_ji, case):
    """Every sum written as a loop in reverse order, as a student might: a different rounding, not an error."""
    import math

    y = np.array([1 / (1 + math.exp(-math.fsum(z[k] * W_kj[k, j] for k in reversed(range(len(z))))))
                  for j in range(W_kj.shape[1])])
    a = np.array([sum(y[j] * W_ji[j, i] for j in reversed(range(len(y)))) for i in range(W_ji.shape[1])])
    x = 1 / (1 + np.exp(-a)) if case == "sigmoid" else np.exp(a - a.max()) / np.exp(a - a.max()).sum()
    delta = x - t if case == "sigmoid" else x * sum(reversed(list(t))) - t
    hidden = np.array([sum(delta[i] * W_ji[j, i] for i in reversed(range(len(delta)))) for j in range(len(y))])
    return np.outer(z, hidden * y * (1 - y)), np.outer(y, delta)


@pytest.mark.parametrize(("label", "function"), [("1e-10 relative noise", _noisy(1e-10)),
                                                 ("1e-7 relative noise", _noisy(1e-7)),
                                                 ("long sums in reverse order", _long_sums_reversed)])
def test_more_analytic_work_is_never_flagged(label, function):
    grading = grading_of(function)
    for case in ("sigmoid", "softmax"):
        assert grading.worked_example_passes(case), label
        assert not grading.looks_numerical(case)["flagged"], (label, grading.looks_numerical(case))


JARGON = ("worker", "fork", "pipe", "sandbox", "setup.sh", "simulate")
STUDENT_VIEW = ["correct/vectorized", "malformed/empty", "malformed/returns_none", "crashes/index_error",
                "mistakes/sign_flipped", "malformed/missing_helper", "mistakes/softmax_targets_sum_assumed_one"]


@pytest.fixture(scope="module")
def graded_examples(tmp_path_factory):
    """Each example of STUDENT_VIEW graded once by the real command line."""
    out = tmp_path_factory.mktemp("student_view")
    return {name: grade(SUBMISSIONS / name, out / f"{name.replace('/', '_')}.json") for name in STUDENT_VIEW}


def _student_texts(document) -> list[str]:
    return [document["output"], *(t["output"] for t in document["tests"])]


@pytest.mark.parametrize("name", STUDENT_VIEW)
def test_no_output_gives_the_same_advice_twice(graded_examples, name):
    """A test that reports two layers (2.7 here: hidden, both failing) says once why it shows only counts, and no
    output or summary repeats a sentence of what to re-check."""
    for text in _student_texts(graded_examples[name]):
        assert text.count(msg.HIDDEN_UNPUBLISHED) <= 1, text
        advice = [s for p in text.split("\n\n") if p.startswith(msg.RECHECK_LABEL)
                  for s in p[len(msg.RECHECK_LABEL):].split(". ") if s.strip()]
        assert len(advice) == len(set(advice)), text
    if name == "mistakes/softmax_targets_sum_assumed_one":
        output = next(t["output"] for t in graded_examples[name]["tests"] if t["number"] == "2.7")
        assert output.count(msg.HIDDEN_UNPUBLISHED) == 1 and output.count("**case 2") == 2, output


@pytest.mark.parametrize("name", STUDENT_VIEW)
def test_no_student_visible_output_speaks_our_jargon(graded_examples, name):
    for text in _student_texts(graded_examples[name]):
        lowered = text.lower()
        assert not [word for word in JARGON if word in lowered], text


def test_an_empty_submission_is_explained_once_and_checks_say_they_could_not_run(graded_examples):
    document = graded_examples["malformed/empty"]
    tests = {t["number"]: t["output"] for t in document["tests"]}
    assert sum("You submitted" in text for text in tests.values()) == 1 and "You submitted" in tests["0.1"]
    for number in ("1.1", "1.5", "2.2"):
        assert msg.NOT_RUN_IMPORT in tests[number] and "submission is empty" not in tests[number], tests[number]
    for number in ("0.2", "0.3", "0.4", "0.5"):  # one sentence each, the same: nothing was imported
        assert tests[number] == msg.CHECK_NOT_IMPORTED, (number, tests[number])
    crashed = {t["number"]: t for t in graded_examples["crashes/index_error"]["tests"]}
    assert crashed["0.2"]["output"] != "Passed." or crashed["1.1"]["status"] == "passed"


def test_student_chosen_text_outside_code_blocks_cannot_make_markdown():
    exited = Reply(False, "exit", "the submission called sys.exit('![x](http://e/x.png) <img src=x> `y`')")
    text = feedback.failure_text(exited, CONFIG.limits)
    assert not re.search(r"(?<!\\)[!\[\]<>`]", text), text  # every such character escaped
    signature = Reply(False, "wrong_signature", 'compute_gradients(z, t, W_kj, W_ji, case="``` ![x](y)")')
    text = feedback.failure_text(signature, CONFIG.limits)
    span = re.search(r"(`+) (.*?) \1", text)
    assert span and len(span.group(1)) == 4 and "![x](y)" in span.group(2)


def test_a_time_limit_reads_as_the_limit_not_the_time_that_was_left(tmp_path):
    """An endless loop at import is stopped by the import limit, and the student reads that limit ("within 3 s"),
    not what remained of it when the grader started waiting (2.97542 s)."""
    config = tmp_path / "autograder.toml"
    config.write_text(re.sub(r"(?m)^import_seconds = .*$", "import_seconds = 3",
                             (PROJECT / "autograder.toml").read_text(encoding="utf-8")), encoding="utf-8")
    submission = tmp_path / "loops"
    submission.mkdir()
    (submission / "backprop.py").write_text("while True:\n    pass\n", encoding="utf-8")
    document = grade(submission, tmp_path / "results.json", "--config", str(config))
    found = next(t for t in document["tests"] if t["number"] == "0.1")
    assert "no answer within 3 s during the import" in found["output"], found["output"]
