"""`backprop-grader batch`: a whole generated class, graded by the real command in real processes.

The class is laid out as Gradescope's "Export Submissions" zip (an `assignment_<id>_export/` folder holding one
`submission_<id>/` folder per submission and `submission_metadata.yml`), filled with copies of the example
submissions, so every row of grades.csv has a known expected score and a known student.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.etree import ElementTree

import pytest
from helpers import PROJECT, example_submissions, expected_of, run_grader

from backprop_grader import messages as msg
from backprop_grader.frontends import charts, discovery, grade, report
from backprop_grader.frontends.batch import MISSING_EXTRAS
from backprop_grader.frontends.class_input import read_metadata
from backprop_grader.frontends.results import problems

CLASS_SIZE = 60
CORRECT = PROJECT / "selftest" / "submissions" / "correct" / "vectorized"
TEMPLATE = PROJECT / "selftest" / "submissions" / "template" / "untouched"


# ---------------------------------------------------------------------------------------------------------------
# Building classes
# ---------------------------------------------------------------------------------------------------------------

def _class_examples(size: int) -> list[Path]:
    """At least `size` example submissions: each slow one once, the others in turn to fill the class.

    Examples whose expected result holds only under full isolation (graded through `simulate` as root) are left
    out, as in test_examples.py; those that declare a `max_seconds` are slow, so they come once each.
    """
    examples = [p for p in example_submissions() if expected_of(p).get("isolation") != "full"]
    slow = [p for p in examples if "max_seconds" in expected_of(p)]
    regular = [p for p in examples if "max_seconds" not in expected_of(p)]
    chosen = list(slow)
    while len(chosen) < size:
        chosen.append(regular[(len(chosen) - len(slow)) % len(regular)])
    return chosen


def _students(index: int) -> list[dict]:
    """Who submitted number `index`: a group of two now and then, and a name that needs CSV quoting."""
    people = [{"name": f"Student {index:03d}", "email": f"student{index:03d}@example.edu", "sid": f"{9000 + index}"}]
    if index == 3:
        people[0]["name"] = "Dupont, Émilie"
    if index % 20 == 7:
        people.append({"name": f"Partner {index:03d}", "email": f"partner{index:03d}@example.edu", "sid": "77"})
    return people


def _metadata_yaml(roster: dict) -> str:
    """submission_metadata.yml as Gradescope writes it: Ruby symbols as keys, timestamps, scores, history."""
    lines = []
    for submission, (_, people) in roster.items():
        lines += [f"{submission}:", "  :submitters:"]
        for person in people:
            lines += [f"  - :name: {json.dumps(person['name'], ensure_ascii=False)}", f"    :sid: '{person['sid']}'",
                      f"    :email: {person['email']}"]
        lines += ["  :created_at: 2026-11-20 17:34:00.861687000 Z", "  :score: 0.0", "  :history: []"]
    return "\n".join(lines) + "\n"


def _copy_tree(source: Path, target: Path) -> None:
    for file in source.rglob("*"):
        if file.is_file() and "__pycache__" not in file.parts:
            destination = target / file.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(file.read_bytes())


def make_export(folder: Path, examples: list[Path], *, zipped: bool, unnamed: int | None = None):
    """A Gradescope export of the examples; (its path, submission id -> (example, students))."""
    export = folder / "assignment_4242_export"
    roster = {}
    for index, example in enumerate(examples, start=1):
        submission = f"submission_{300000 + index}"
        _copy_tree(example, export / submission)
        roster[submission] = (example, _students(index))
    listed = {k: v for k, v in roster.items() if k != f"submission_{300000 + (unnamed or 0)}"}
    (export / "submission_metadata.yml").write_text(_metadata_yaml(listed), encoding="utf-8")
    if unnamed:
        roster[f"submission_{300000 + unnamed}"] = (roster[f"submission_{300000 + unnamed}"][0], [])
    if not zipped:
        return export, roster
    archive = folder / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for file in sorted(export.rglob("*")):
            out.write(file, file.relative_to(folder).as_posix())
    return archive, roster


def batch(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """`python -m backprop_grader batch ARGS` in a fresh process."""
    return run_grader("batch", *args, timeout=timeout)


def read_csv(path: Path) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["submission"]: row for row in csv.DictReader(handle)}


def summary_numbers(report_text: str) -> dict[str, str]:
    """The headline table of report.md: name -> value."""
    return dict(re.findall(r"^\| ([a-z][a-z ]+) \| ([^|]+) \|$", report_text, re.M))


def svg_bars(path: Path) -> list[str]:
    """A real SVG document (XML with an svg root of a sensible size): the tooltip of each of its bars."""
    root = ElementTree.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
    assert 100 <= int(root.get("width")) <= 5000 and 100 <= int(root.get("height")) <= 5000
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "bar"]
    return [bar.find("{http://www.w3.org/2000/svg}title").text for bar in bars]


# ---------------------------------------------------------------------------------------------------------------
# A class of 60, graded once for the tests that read it
# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """The generated class, zipped as an export and graded; (out folder, roster, the run, its wall time)."""
    folder = tmp_path_factory.mktemp("class")
    archive, roster = make_export(folder, _class_examples(CLASS_SIZE), zipped=True, unnamed=CLASS_SIZE)
    out = folder / "out"
    started = time.monotonic()
    done = batch(str(archive), "--out", str(out))
    seconds = time.monotonic() - started
    print(f"\nbatch wall time for {len(roster)} submissions: {seconds:.1f} s with {os.cpu_count()} cores")
    assert done.returncode == 0, done.stderr[-3000:]
    return {"archive": archive, "out": out, "roster": roster, "run": done, "seconds": seconds}


def test_grades_csv_has_every_expected_score_and_student(graded_class):
    roster, out = graded_class["roster"], graded_class["out"]
    rows = read_csv(out / "grades.csv")
    assert len(roster) >= CLASS_SIZE and set(rows) == set(roster)
    for submission, (example, people) in roster.items():
        row = rows[submission]
        assert float(row["total"]) == pytest.approx(expected_of(example)["score"], abs=1e-6), (submission, example)
        assert row["status"] == report.GRADED
        assert row["name"] == "; ".join(p["name"] for p in people)
        assert row["email"] == "; ".join(p["email"] for p in people)
        document = json.loads((out / submission / "results.json").read_text())
        assert problems(document) == []
        scores = {t["number"]: t["score"] for t in document["tests"] if t["max_score"] > 0}
        assert {n: float(row[n]) for n in scores} == pytest.approx(scores)


def test_grades_csv_imports_as_a_plain_table(graded_class):
    with open(graded_class["out"] / "grades.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    header = table[0]
    assert header[:6] == ["submission", "name", "email", "sid", "total", "status"]
    assert header[6:-1] == sorted(header[6:-1], key=lambda n: tuple(map(int, n.split("."))))
    assert header[-1] == report.MISTAKES_COLUMN  # the named mistakes, after the tests' points
    assert {"1.1", "2.7"} <= set(header) and "0.1" not in header  # graded tests only, by number
    assert [row for row in table if len(row) != len(header)] == []
    assert any(row[1] == "Dupont, Émilie" for row in table)  # a comma in a name stays in its cell


def test_report_counts_match_the_results(graded_class):
    out, roster = graded_class["out"], graded_class["roster"]
    text = (out / "report.md").read_text(encoding="utf-8")
    numbers = summary_numbers(text)
    expected = [expected_of(example)["score"] for example, _ in roster.values()]
    assert numbers["submissions"] == numbers["graded"] == str(len(roster))
    assert numbers["autograder errors"] == "0"
    assert numbers["full marks"] == str(sum(s >= 100 for s in expected))
    assert numbers["zero"] == str(sum(s == 0 for s in expected))
    documents = [json.loads((out / s / "results.json").read_text()) for s in roster]
    passed_1_1 = sum(t["status"] == "passed" for d in documents for t in d["tests"] if t["number"] == "1.1")
    assert f"| {passed_1_1} of {len(roster)} |" in text
    counts = Counter(d for document in documents for d in report.diagnoses_of(document))
    shown = re.findall(r"^\| (.+) \| (\d+) \|$", text.split("## Most common diagnoses")[1].split("\n## ")[0], re.M)
    assert len(shown) == min(report.TOP_DIAGNOSES, len(counts))
    assert [int(n) for _, n in shown] == sorted(counts.values(), reverse=True)[: len(shown)]
    assert all(counts[d.replace("\\|", "|")] == int(n) for d, n in shown)
    assert "![Histogram of totals](scores.svg)" in text and "![Pass rate per test](tests.svg)" in text


def test_report_names_the_mistakes_the_examples_make(graded_class):
    """Each copy of an example named for a mistake has that mistake among its diagnoses."""
    roster, out = graded_class["roster"], graded_class["out"]
    diagnoses = {s: report.diagnoses_of(json.loads((out / s / "results.json").read_text())) for s in roster}
    for submission, (example, _) in roster.items():
        if example == TEMPLATE:
            assert "compute_gradients is not implemented yet (it raises NotImplementedError)" in diagnoses[submission]
        name = getattr(msg, "MISTAKE_NAMES", {}).get(example.name) if example.parent.name == "mistakes" else None
        if name:
            assert any(name.lower() in d.lower() for d in diagnoses[submission]), (example.name, diagnoses[submission])
        if example.parent.name == "correct":
            assert diagnoses[submission] == set(), example


def test_plots_are_svg_charts_of_the_grades(graded_class):
    out, roster = graded_class["out"], graded_class["roster"]
    scores = svg_bars(out / "scores.svg")  # "0 to 5: 3": one bar per 5 points, holding every graded submission
    assert len(scores) == len(report.score_bins(100)) - 1
    assert sum(int(bar.rsplit(": ", 1)[1]) for bar in scores) == len(roster)
    top = sum(json.loads((out / s / "results.json").read_text())["score"] >= 95 for s in roster)
    assert scores[-1] == f"95 to 100: {top}"  # full marks fall in the last bar
    rates = svg_bars(out / "tests.svg")  # "1.1: 62%": one bar per test with points, in the report's order
    assert [bar.split(":")[0] for bar in rates] == [number for number, *_ in report.graded_tests(
        [report.Entry(s, document=json.loads((out / s / "results.json").read_text())) for s in roster])]


def test_a_histogram_counts_full_marks_in_its_last_bin():
    assert charts.bin_counts([0, 4.9, 5, 99.9, 100, 100], [0, 5, 10, 95, 100]) == [2, 1, 0, 3]


def test_results_are_the_instructors_only_when_run_as_root(graded_class):
    if os.geteuid() != 0:
        pytest.skip("only as root does student code run as another user, who must not read the results")
    assert graded_class["out"].stat().st_mode & 0o777 == 0o700


def test_a_second_run_keeps_everything(graded_class):
    out, archive, roster = graded_class["out"], graded_class["archive"], graded_class["roster"]
    before = (out / "grades.csv").read_text(encoding="utf-8")
    stamps = {s: (out / s / "results.json").stat().st_mtime_ns for s in roster}
    done = batch(str(archive), "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"({len(roster)} kept from an earlier run" in done.stdout
    assert {s: (out / s / "results.json").stat().st_mtime_ns for s in roster} == stamps
    assert (out / "grades.csv").read_text(encoding="utf-8") == before


def _comparable(document: dict) -> dict:
    """A results document without what differs between two gradings of the same submission by design: timing,
    the copy's path, how the worker started and as which pool user, and the instructor-only tracebacks (they
    name paths)."""
    document = json.loads(json.dumps(document))
    document.pop("execution_time")
    for probe in document["extra_data"].get("numerical_probe", {}).values():  # the student's own rounding (float32
        probe.pop("relative_errors", None)  # work differs by kernel), never a grade: whether it flagged is compared
        probe.pop("output_layer_error", None)
        probe.pop("spread", None)
    for key in ("submission_file", "worker_start", "isolation", "confinement"):  # which pool user: whichever was free
        document["extra_data"].pop(key, None)
    for test in document["tests"]:
        test.pop("extra_data", None)
    return document


def _close_tree(first, second, rel: float = 1e-3) -> bool:
    """Equal JSON values, but for floats, which may differ by a relative `rel` (one unit of the fourth digit), or
    by 1e-12 (relative errors that small are float64 rounding: they differ from run to run by their very nature)."""
    if isinstance(first, float) or isinstance(second, float):
        return isinstance(first, (int, float)) and isinstance(second, (int, float)) and math.isclose(
            first, second, rel_tol=rel, abs_tol=1e-12)
    if isinstance(first, dict) and isinstance(second, dict):
        return first.keys() == second.keys() and all(_close_tree(first[k], second[k], rel) for k in first)
    if isinstance(first, list) and isinstance(second, list):
        return len(first) == len(second) and all(_close_tree(a, b, rel) for a, b in zip(first, second))
    return first == second


def test_close_tree_tolerates_the_last_digits_only():
    assert _close_tree({"e": [9.310370692977049, 2.0]}, {"e": [9.310370692977047, 1.9999999999999998]})
    assert _close_tree({"e": [9.31]}, {"e": [9.311]})
    assert _close_tree({"e": [2.199e-16]}, {"e": [1.1e-16]})  # float64 rounding
    assert not _close_tree({"e": [9.31]}, {"e": [9.4]}) and not _close_tree({"e": 1.0}, {"f": 1.0})
    assert not _close_tree({"e": [1e-9]}, {"e": [2e-9]})
    assert not _close_tree({"e": "a"}, {"e": "b"}) and not _close_tree([1.0], [1.0, 2.0])


_RUN_AUTOGRADER_ENVIRONMENT = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "PYTHONPATH": str(PROJECT),
                               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def test_jobs_grade_each_submission_as_grade_alone_would(tmp_path):
    """Two jobs grade the class, each one submission after another, reusing its pytest session, networks and
    zygote: every results.json must be the one that `grade` gives that submission alone, in a process of its own,
    whatever was graded before it in the same job."""
    examples = [p for p in example_submissions() if expected_of(p).get("isolation") != "full"
                and "max_seconds" not in expected_of(p)]
    classroom = tmp_path / "class"
    for index, example in enumerate(examples):
        _copy_tree(example, classroom / f"{index:02d}_{example.name}")
    out, alone = tmp_path / "out", tmp_path / "alone"
    done = batch(str(classroom), "--out", str(out), "--jobs", "2")
    assert done.returncode == 0, done.stderr[-3000:]

    def by_itself(folder: Path) -> dict:
        """`grade` in the clean environment run_autograder gives it, so that it forks its worker as the jobs do:
        what is compared is what a job carries from one submission to the next, not how long a fresh Python
        takes to start on a busy machine."""
        results = alone / f"{folder.name}.json"
        done = subprocess.run([sys.executable, "-m", "backprop_grader", "grade", str(folder), "--results",
                               str(results), "--quiet"], cwd=PROJECT, env=_RUN_AUTOGRADER_ENVIRONMENT,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return json.loads(results.read_text())

    alone.mkdir()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        singles = dict(zip(sorted(classroom.iterdir()), pool.map(by_itself, sorted(classroom.iterdir()))))
    for folder, single in singles.items():
        in_batch = json.loads((out / folder.name / "results.json").read_text())
        batch_copy, single_copy = _comparable(in_batch), _comparable(single)
        batch_extra, single_extra = batch_copy.pop("extra_data"), single_copy.pop("extra_data")
        assert batch_copy == single_copy, folder.name
        # The instructor's diagnostics come from the student's floats, which two processes may round differently
        # in the last bit: rounded when written, and compared with a tolerance here. The probe's spread is a ratio
        # of its errors, which are compared; at float64 rounding (errors of 1e-16) it is a ratio of noise.
        for extra in (batch_extra, single_extra):
            for probe in (extra.get("numerical_probe") or {}).values():
                probe.pop("spread", None)
        assert _close_tree(batch_extra, single_extra), (folder.name, batch_extra, single_extra)
        started = single["extra_data"]["worker_start"]  # "none" when there was no file to run
        assert in_batch["extra_data"]["worker_start"] == started and started in ("none", "fork"), folder.name


# A grader fault that escapes pytest's protocol in the middle of a submission's tests: a module that the fork
# server preloads (so every job has it) injects it; the rest is batch's own code.
_INJECT_FAULT = """
import sys
sys.path.insert(0, PROJECT)  # the fork server's path need not hold the project (no editable install)
from backprop_grader.frontends import plugin

record = plugin.GradescopePlugin._record

def faulty(self, item, call, report):
    if "poison" in str(self._grading.worker.source_file) and item.name == "test_output_layer_random_networks":
        raise MemoryError("injected grader fault")
    return record(self, item, call, report)

plugin.GradescopePlugin._record = faulty
"""
_FAULTY_BATCH = """
import json, sys
from pathlib import Path
from backprop_grader.config import DEFAULT_CONFIG
from backprop_grader.frontends import batch_pool
from backprop_grader.frontends.class_input import find_submissions

batch_pool._PRELOAD.append("inject_fault")  # found in the folder the fork server starts in, where its path starts
batch_pool.SERVER_FOLDER = Path.cwd()
classroom, out = Path(sys.argv[1]), Path(sys.argv[2])
grader = batch_pool.Batch(find_submissions(classroom), out, DEFAULT_CONFIG, jobs=1, timeout=120)
entries, _ = grader.grade_all(force=True)
print(json.dumps({e.submission: [e.status, e.document["score"]] for e in entries}))
"""


def test_a_job_whose_pass_broke_off_grades_no_other_submission(tmp_path):
    """After a grader fault escapes a pass over the tests, the job's fixtures and setup state may still hold that
    submission's; the job answers, then retires, and the next submission gets a new job and its honest score."""
    classroom = tmp_path / "class"
    for name, example in (("a_correct", CORRECT), ("b_poison", CORRECT), ("c_correct", CORRECT),
                          ("d_factor_half", PROJECT / "selftest" / "submissions" / "mistakes" / "factor_half"),
                          ("e_untouched", TEMPLATE)):
        _copy_tree(example, classroom / name)
    (tmp_path / "inject_fault.py").write_text(_INJECT_FAULT.replace("PROJECT", repr(str(PROJECT))))
    clean = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "PYTHONPATH": str(PROJECT), "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", _FAULTY_BATCH, str(classroom), str(tmp_path / "out")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=clean)
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["b_poison"][0] == report.ERROR and "injected grader fault" in (
        tmp_path / "out" / "b_poison" / "results.json").read_text()
    factor_half = expected_of(PROJECT / "selftest" / "submissions" / "mistakes" / "factor_half")["score"]
    assert {k: v for k, v in outcome.items() if k != "b_poison"} == {
        "a_correct": [report.GRADED, 100], "c_correct": [report.GRADED, 100],
        "d_factor_half": [report.GRADED, factor_half], "e_untouched": [report.GRADED, 0]}


def test_batch_run_from_a_folder_students_can_write_never_imports_from_it(tmp_path):
    """An instructor in /tmp, say: a pytest.py or numpy.py planted there is never imported, not by batch, not by
    the fork server it starts (whose import path starts with the folder it starts in), nor by the jobs."""
    here = tmp_path / "anyone_can_write_here"
    here.mkdir()
    marker = tmp_path / "planted_code_ran"
    for name in ("numpy", "pytest", "nbformat", "tqdm"):
        (here / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write('{name} ')\nraise SystemExit(3)\n")
    _copy_tree(CORRECT, here / "class" / "a_correct")
    done = run_grader("batch", "class", "--out", str(tmp_path / "out"), "--jobs", "1", cwd=here)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not marker.exists(), f"planted modules ran: {marker.read_text()}"
    assert read_csv(tmp_path / "out" / "grades.csv")["a_correct"]["total"] == "100"


# ---------------------------------------------------------------------------------------------------------------
# Small classes for what must not happen
# ---------------------------------------------------------------------------------------------------------------

def _slow_config(tmp_path: Path) -> Path:
    """A configuration in which a call may take two minutes (longer than the batch's --timeout) but an import 3 s."""
    text = (PROJECT / "autograder.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^call_seconds = .*$", "call_seconds = 120", text)
    text = re.sub(r"(?m)^import_seconds = .*$", "import_seconds = 3", text)
    path = tmp_path / "slow.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _student(folder: Path, source: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "backprop.py").write_text(source, encoding="utf-8")
    return folder


def _hanging(folder: Path, pid_file: Path) -> Path:
    # Best effort: where student code has a view of its own folder only, the test's folder is out of its reach.
    return _student(folder, "import os\n\ndef compute_gradients(z, t, W_kj, W_ji, case):\n"
                            f"    try:\n        open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                            "    except OSError:\n        pass\n"
                            "    while True:\n        pass\n")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_hung_grader_is_an_autograder_error_and_the_batch_goes_on(tmp_path):
    classroom = tmp_path / "class"
    _copy_tree(CORRECT, classroom / "alice")
    _copy_tree(TEMPLATE, classroom / "bob")
    _hanging(classroom / "carol", tmp_path / "carol.pid")
    _student(classroom / "dave", "while True:\n    pass\n")  # stopped by the import's time limit
    out = tmp_path / "out"
    # the jobs' copies of student code go to a temporary folder of this test's own (short: the fork server's socket
    # lives there too): none may be left, carol's included
    temporary = Path(tempfile.mkdtemp(prefix="bh-"))
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "backprop_grader", "batch", str(classroom), "--out", str(out),
                               "--config", str(_slow_config(tmp_path)), "--timeout", "15"], cwd=PROJECT,
                              capture_output=True, text=True, timeout=900, env=dict(os.environ, TMPDIR=str(temporary)))
        left = list(temporary.glob("backprop-grader-*"))
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert time.monotonic() - started < 100
    assert not left, left
    rows = read_csv(out / "grades.csv")
    assert (rows["alice"]["total"], rows["bob"]["total"], rows["dave"]["total"]) == ("100", "0", "0")
    assert rows["carol"]["status"] == report.ERROR and rows["carol"]["total"] == ""
    document = json.loads((out / "carol" / "results.json").read_text())
    assert problems(document) == [] and "--timeout" in document["extra_data"]["autograder_error"]
    text = (out / "report.md").read_text(encoding="utf-8")
    assert summary_numbers(text)["autograder errors"] == "1" and summary_numbers(text)["hit a time limit"] == "1"
    assert re.search(r"^\| carol \| .*autograder error: grading took longer than 15 s", text, re.M)
    assert re.search(r"^\| dave \| .*time limit in tests .*1\.1", text, re.M)
    pid_file = tmp_path / "carol.pid"
    if pid_file.exists():  # the student's endless loop ended with its grader
        assert not _alive(int(pid_file.read_text()))


def _student_has_a_view() -> bool:
    from backprop_grader.sandbox import isolated_path
    from backprop_grader.sandbox.isolation import view

    return view.probe(isolated_path(), PROJECT) == view.NAMESPACES


@pytest.mark.skipif(_student_has_a_view(), reason="student code cannot write the pid files this test reads: its "
                    "view holds its own folder only (the daemon is still ended: kill_descendants, test_worker.py)")
def test_what_a_job_killed_outright_left_running_is_ended(tmp_path):
    """A job killed outright (SIGKILL: after a time-out it ignored, or by the OOM killer) cannot end its worker's
    background processes; batch adopts them (a subreaper) and ends them, and the batch goes on."""
    job_file, daemon_file = tmp_path / "job.pid", tmp_path / "daemon.pid"
    classroom = tmp_path / "class"
    _student(classroom / "a_daemon", "import os, time\n"
                                     "time.sleep(0.5)  # by then the zygote has handed us to the job\n"
                                     f"open({str(job_file)!r}, 'w').write(str(os.getppid()))\n"
                                     "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                                     f"        open({str(daemon_file)!r}, 'w').write(str(os.getpid()))\n"
                                     "        time.sleep(300)\n    os._exit(0)\n"
                                     "while True:\n    pass\n")
    _copy_tree(CORRECT, classroom / "b_correct")
    config = tmp_path / "patient.toml"
    config.write_text(re.sub(r"(?m)^import_seconds = .*$", "import_seconds = 120",
                             (PROJECT / "autograder.toml").read_text(encoding="utf-8")), encoding="utf-8")
    argv = [sys.executable, "-m", "backprop_grader", "batch", str(classroom), "--out", str(tmp_path / "out"),
            "--config", str(config), "--jobs", "1"]
    process = subprocess.Popen(argv, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (job_file.exists() and daemon_file.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    daemon = int(daemon_file.read_text())
    os.kill(int(job_file.read_text()), signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr[-3000:]
    rows = read_csv(tmp_path / "out" / "grades.csv")
    assert rows["a_daemon"]["status"] == report.ERROR and rows["b_correct"]["total"] == "100"
    assert not _alive(daemon), "the student's daemon outlived its killed job"


def test_a_batch_whose_fork_server_dies_grades_everything_still(tmp_path):
    """The fork server killed mid-batch (as by the OOM killer): its jobs, adopted by batch, are left to finish;
    once a job must be replaced (here, after a time-out), a new server starts, with the clean environment (so
    its workers are still forked: the instructor's canary variable would forbid it), and every result is
    written."""
    classroom = tmp_path / "class"
    for index in range(40):
        _copy_tree(CORRECT if index % 2 else TEMPLATE, classroom / f"s{index:02d}")
    _student(classroom / "s35_hangs", "while True:\n    pass\n")  # its job is ended: a new one, a new server
    config = tmp_path / "patient.toml"
    config.write_text(re.sub(r"(?m)^import_seconds = .*$", "import_seconds = 120",
                             (PROJECT / "autograder.toml").read_text(encoding="utf-8")), encoding="utf-8")
    argv = [sys.executable, "-m", "backprop_grader", "batch", str(classroom), "--out", str(tmp_path / "out"),
            "--config", str(config), "--timeout", "15", "--jobs", "1"]  # 15 s: a job's start counts, on a busy machine
    process = subprocess.Popen(argv, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, BACKPROP_CANARY="instructor-secret-42"))
    deadline = time.monotonic() + 60
    while not list((tmp_path / "out").glob("*/results.json")) and time.monotonic() < deadline:
        time.sleep(0.02)
    servers = [pid for pid in _children(process.pid) if b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert servers, "no fork server found"
    os.kill(servers[0], signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    rows = read_csv(tmp_path / "out" / "grades.csv")
    assert rows.pop("s35_hangs")["status"] == report.ERROR
    assert len(rows) == 40 and all(r["status"] == report.GRADED for r in rows.values()), stderr[-3000:]
    assert [rows[f"s{i:02d}"]["total"] for i in range(40)] == ["0", "100"] * 20
    starts = {json.loads((tmp_path / "out" / f"s{i:02d}" / "results.json").read_text())["extra_data"]["worker_start"]
              for i in range(40)}
    assert starts == {"fork"}  # the new server's job could fork its workers too: a clean environment


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


STEAL = PROJECT / "selftest" / "submissions" / "hostile" / "steal_from_memory"


def test_forked_workers_hold_nothing_of_the_grader_or_the_instructors_environment(tmp_path):
    """batch forks each worker from its grading process: that copy must hold no reference, configuration or
    grading state, and the fork server must not pass on the instructor's environment (here, a canary)."""
    classroom = tmp_path / "class"
    _copy_tree(STEAL, classroom / "mallory")
    _copy_tree(CORRECT, classroom / "alice")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "backprop_grader", "batch", str(classroom), "--out", str(out)],
                          cwd=PROJECT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, BACKPROP_CANARY="instructor-secret-42"))
    assert done.returncode == 0, done.stderr[-3000:]
    rows = read_csv(out / "grades.csv")
    assert (rows["mallory"]["total"], rows["alice"]["total"]) == ("0", "100")
    document = json.loads((out / "mallory" / "results.json").read_text())
    outputs = " ".join(t["output"] for t in document["tests"])
    assert "STOLEN" not in outputs and "instructor-secret-42" not in outputs
    assert "zero" in outputs or "expected" in outputs  # it was graded, and failed on its merits
    assert document["extra_data"]["worker_start"] == "fork"  # so the test above tested a forked worker


_LOADED_AT_IMPORT = """import sys
PACKAGE = "matplot" + "lib"  # not named as a whole: this file does not use it
print("loaded at import:", PACKAGE in sys.modules)
{uses}
from vectorized import compute_gradients  # noqa: F401
"""


def test_only_submissions_that_use_matplotlib_or_scipy_get_the_warm_zygote(tmp_path):
    """A job forks the workers of a submission whose code names matplotlib or scipy from its warm zygote (they are
    loaded already), every other from its bare one (forking from the warm one costs ~40 ms more CPU): a worker sees
    which by what is loaded when its code starts."""
    classroom = tmp_path / "class"
    for name, uses in (("plain", ""), ("plots", "import matplotlib.pyplot"), ("in_a_helper", "import helper")):
        _student(classroom / name, _LOADED_AT_IMPORT.format(uses=uses))
        shutil.copy(CORRECT / "backprop.py", classroom / name / "vectorized.py")
    (classroom / "in_a_helper" / "helper.py").write_text("import scipy.special\n")
    out = tmp_path / "out"
    done = batch(str(classroom), "--out", str(out), "--jobs", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    seen = {}
    for name in ("plain", "plots", "in_a_helper"):
        document = json.loads((out / name / "results.json").read_text())
        assert document["score"] == 100, (name, document["tests"][0]["output"])
        seen[name] = re.findall(r"loaded at import: (\w+)", json.dumps(document))[0]
    assert seen == {"plain": "False", "plots": "True", "in_a_helper": "True"}


def test_warmed_named_reads_the_code_as_text_and_follows_no_link(tmp_path):
    def found(folder: Path, text: str | None = None):
        return discovery.Found(folder / "backprop.py", source_text=text)

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "backprop.py").write_text("import numpy\n")
    assert grade.warmed_named(found(tmp_path / "a")) == ()
    cells = "from scipy.special import expit"  # a notebook's code
    assert grade.warmed_named(found(tmp_path / "a", cells)) == ("scipy",)
    (tmp_path / "a" / "deep" / "er").mkdir(parents=True)
    (tmp_path / "a" / "deep" / "er" / "plots.ipynb").write_text('{"cells": ["import matplotlib"]}')
    assert grade.warmed_named(found(tmp_path / "a")) == ("matplotlib",)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "backprop.py").write_text("import numpy\n")
    (tmp_path / "b" / "linked.py").symlink_to(tmp_path / "a" / "deep" / "er" / "plots.ipynb")
    assert grade.warmed_named(found(tmp_path / "b")) == ()
    assert grade.warmed_named(found(tmp_path / "b", "import scipy.special")) == ("scipy",)  # what it names only


def test_the_search_for_heavy_packages_never_waits_on_a_named_pipe(tmp_path):
    """grade searches a submission's files before it forks (as root, perhaps): a named pipe called plots.py is
    not read (opening it for reading would wait for a writer that never comes)."""
    (tmp_path / "backprop.py").write_text("import matplotlib\n")
    os.mkfifo(tmp_path / "plots.py")
    answer = []
    found = discovery.Found(tmp_path / "backprop.py")
    search = threading.Thread(target=lambda: answer.append(grade.warmed_named(found)), daemon=True)
    search.start()
    search.join(timeout=30)
    assert answer == [("matplotlib",)]


def test_a_worker_is_forked_only_from_a_grader_with_nothing_secret(tmp_path):
    """grade() forks its worker in a clean process; once the configuration and reference are loaded (a second
    grading in one process), or when the environment holds unknown variables (tokens), it starts a fresh Python."""
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from backprop_grader.frontends.grade import grade\n"
        "from backprop_grader.sandbox.policy import can_fork\n"
        "assert can_fork()\n"
        "first = grade(Path(sys.argv[1]), Path(sys.argv[2]) / 'first.json')\n"
        "assert not can_fork(), 'grading loads the configuration and the reference'\n"
        "second = grade(Path(sys.argv[1]), Path(sys.argv[2]) / 'second.json')\n"
        "print(json.dumps([first['score'], second['score']]))\n"
    )
    clean = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "PYTHONPATH": str(PROJECT), "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script, str(STEAL), str(tmp_path)], cwd=PROJECT,
                          capture_output=True, text=True, timeout=300, env=clean)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [0, 0]
    for name, start in (("first.json", "fork"), ("second.json", "fresh python")):
        document = json.loads((tmp_path / name).read_text())
        assert "STOLEN" not in " ".join(t["output"] for t in document["tests"]), name
        assert document["extra_data"]["worker_start"] == start, name
    done = subprocess.run([sys.executable, "-m", "backprop_grader", "grade", str(STEAL), "--results",
                           str(tmp_path / "token.json"), "--quiet"], cwd=PROJECT, capture_output=True, text=True,
                          timeout=300, env=dict(clean, GITHUB_TOKEN="instructor-secret-42"))
    document = json.loads((tmp_path / "token.json").read_text())
    assert document["extra_data"]["worker_start"] == "fresh python" and document["score"] == 0


def test_changed_submissions_config_or_force_are_regraded(tmp_path):
    classroom = tmp_path / "class"
    _copy_tree(CORRECT, classroom / "alice")
    _copy_tree(TEMPLATE, classroom / "bob")
    out = tmp_path / "out"
    assert "(0 kept" in batch(str(classroom), "--out", str(out)).stdout
    assert "(2 kept" in batch(str(classroom), "--out", str(out)).stdout
    (classroom / "bob" / "backprop.py").write_text((CORRECT / "backprop.py").read_text())
    done = batch(str(classroom), "--out", str(out))
    assert "(1 kept" in done.stdout and read_csv(out / "grades.csv")["bob"]["total"] == "100"
    config = tmp_path / "same-but-edited.toml"
    config.write_text((PROJECT / "autograder.toml").read_text() + "\n# edited\n")
    assert "(0 kept" in batch(str(classroom), "--out", str(out), "--config", str(config)).stdout
    assert "(0 kept" in batch(str(classroom), "--out", str(out), "--config", str(config), "--force").stdout
    fingerprint = json.loads((out / "alice" / "fingerprint.json").read_text())
    assert set(fingerprint) >= {"config_sha256", "grader_version", "submission_sha256"}


def test_batch_takes_the_caps_from_the_configuration_given(tmp_path):
    """`batch --config X` caps each submission by X's [submission], as `grade --config X` does."""
    classroom = tmp_path / "class"
    _copy_tree(CORRECT, classroom / "alice")
    for n in range(5):
        (classroom / "alice" / f"note{n}.txt").write_text("x")
    config = tmp_path / "tiny-caps.toml"
    config.write_text(re.sub(r"(?m)^max_files = .*$", "max_files = 3", (PROJECT / "autograder.toml").read_text()))
    done = batch(str(classroom), "--out", str(tmp_path / "capped"), "--config", str(config))
    assert done.returncode == 0, done.stderr[-3000:]
    capped = json.loads((tmp_path / "capped" / "alice" / "results.json").read_text())
    assert capped["score"] == 0, capped["output"]
    assert "at most 3 are accepted" in next(t["output"] for t in capped["tests"] if t["number"] == "0.1")
    done = batch(str(classroom), "--out", str(tmp_path / "default"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert read_csv(tmp_path / "default" / "grades.csv")["alice"]["total"] == "100"


def test_ctrl_c_keeps_what_was_graded(tmp_path):
    classroom = tmp_path / "class"
    _copy_tree(CORRECT, classroom / "a_first")
    _hanging(classroom / "b_hangs", tmp_path / "b.pid")
    _copy_tree(TEMPLATE, classroom / "c_last")
    out = tmp_path / "out"
    options = ["--out", str(out), "--config", str(_slow_config(tmp_path))]
    argv = [sys.executable, "-m", "backprop_grader", "batch", str(classroom), *options, "--jobs", "1"]
    process = subprocess.Popen(argv, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "b_hangs").is_dir() and process.poll() is None:  # made as b_hangs is sent to the job
        assert time.monotonic() < deadline, "b_hangs was never sent to a job"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr[-3000:]
    rows = read_csv(out / "grades.csv")
    assert [(name, row["status"], row["total"]) for name, row in rows.items()] == [
        ("a_first", report.GRADED, "100"), ("b_hangs", report.NOT_GRADED, ""), ("c_last", report.NOT_GRADED, "")]
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "**Interrupted:** 2 submissions were not graded" in text
    numbers = summary_numbers(text)  # report.md counts what grades.csv lists
    assert (numbers["submissions"], numbers["graded"], numbers["not graded"]) == ("3", "1", "2"), numbers
    assert "2 submissions not graded (listed in grades.csv" in stderr
    assert not (out / "b_hangs" / "results.json").exists()
    if (tmp_path / "b.pid").exists():  # the student's endless loop ended with its grader
        assert not _alive(int((tmp_path / "b.pid").read_text()))
    (classroom / "b_hangs" / "backprop.py").write_text((CORRECT / "backprop.py").read_text())
    done = batch(str(classroom), *options)
    assert "3 of 3 submissions graded (1 kept" in done.stdout
    assert [row["total"] for row in read_csv(out / "grades.csv").values()] == ["100", "100", "0"]


def test_batch_says_where_its_files_are_from_where_it_ran(tmp_path):
    classroom = tmp_path / "class"
    _copy_tree(TEMPLATE, classroom / "solo")
    done = run_grader("batch", "class", "--jobs", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 of 1 submission graded (0 kept from an earlier run, 0 autograder errors)" in done.stdout
    assert "with 1 job.\n" in done.stdout
    assert "Grades: graded/grades.csv\nReport: graded/report.md" in done.stdout  # --out defaults to graded/
    assert "1 job," in (tmp_path / "graded" / "report.md").read_text(encoding="utf-8")


def test_batch_user_errors_are_one_line_and_exit_2(tmp_path):
    (tmp_path / "a-file").write_text("")
    for args in (["nothing-here"], [str(CORRECT.parent), "--out", "a-file"], [str(CORRECT.parent), "--jobs", "0"]):
        done = run_grader("batch", *args, cwd=tmp_path)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)
        assert done.stderr.startswith("backprop-grader: "), done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


def test_score_bins_end_at_the_maximum():
    assert report.score_bins(100) == [5.0 * i for i in range(21)]  # full marks fall in the last, closed bin
    assert report.score_bins(50)[-1] == 50 and report.score_bins(7.5)[-1] == 7.5 and report.score_bins(0) == []


# ---------------------------------------------------------------------------------------------------------------
# The instructor extras, and what the pieces do on their own
# ---------------------------------------------------------------------------------------------------------------

_WITHOUT_EXTRAS = ("import sys\nfor name in ('yaml', 'tqdm', 'markdown_it'):\n    sys.modules[name] = None\n"
                   "from backprop_grader.cli import main\nsys.exit(main(sys.argv[1:]))\n")


def test_batch_without_the_extras_names_requirements_instructor(tmp_path):
    done = subprocess.run([sys.executable, "-c", _WITHOUT_EXTRAS, "batch", str(tmp_path), "--out", str(tmp_path)],
                          cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-3000:]
    assert MISSING_EXTRAS.format(missing="yaml") in done.stderr and "requirements-instructor.txt" in done.stderr


def test_grading_needs_no_extras(tmp_path):
    done = subprocess.run([sys.executable, "-c", _WITHOUT_EXTRAS, "grade", str(CORRECT), "--results",
                           str(tmp_path / "results.json"), "--quiet"], cwd=PROJECT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((tmp_path / "results.json").read_text())["score"] == 100


def test_metadata_reads_gradescope_exports(tmp_path):
    path = tmp_path / "submission_metadata.yml"
    path.write_text("""submission_1:
  :submitters:
  - :name: First Last
    :sid: '123456789'
    :email: first@example.edu
  :created_at: 2026-04-26 17:34:00.861687000 Z
  :score: 2.0
  :results: !ruby/hash:ActiveSupport::HashWithIndifferentAccess
    score: 2.0
    output: |-
      Final Score: 2.0
submission_2:
  :submitters:
  - :name: Alice A
    :email: alice@example.edu
  - :sid: 333
submission_3:
  :submitters: []
""", encoding="utf-8")
    assert read_metadata(path) == {
        "submission_1": [{"name": "First Last", "sid": "123456789", "email": "first@example.edu"}],
        "submission_2": [{"name": "Alice A", "email": "alice@example.edu"}, {"sid": "333"}],
        "submission_3": [],
    }


def _test(output: str, **extra) -> dict:
    return {"number": "1.1", "status": "failed", "output": output, "tags": [], **extra}


def test_diagnosis_prefers_structured_data_then_the_labelled_line():
    labelled = "**case 1**\n\nOn the worked example:\n\n**Diagnosis:** The sign is flipped.\n\nmore"
    assert report.diagnosis(_test(labelled)) == "The sign is flipped"
    assert report.diagnosis(_test(labelled, extra_data={"diagnosis": "transposed"})) == "transposed"
    assert report.diagnosis(_test(labelled, tags=["case 1", "diagnosis: swapped"])) == "swapped"
    hidden = "Failed on 3 of 25 hidden networks.\n\n**Diagnosis:** the sign is flipped (on 3 of 3 failing networks)."
    assert report.diagnosis(_test(hidden)) == "The sign is flipped"
    sampled = msg.HIDDEN_DIAGNOSIS_SAMPLED.format(name="the sign is flipped", count=8, examined=8, failed=25)
    assert report.diagnosis(_test(f"Failed on 25 of 25 hidden networks.\n\n**Diagnosis:** {sampled}.")) \
        == "The sign is flipped"


def test_diagnosis_falls_back_to_the_first_line_that_names_a_problem():
    failure = msg.FAILURE["returned_none"]
    assert report.diagnosis(_test(f"**case 2**\n\nOn the worked example (K, J, I = (3, 4, 2)):\n\n{failure}")) \
        == "compute_gradients returned None"
    generic = msg.GATED.format(first="1.1", second="1.2")
    assert report.diagnosis(_test(generic)) is None
    traceback = "Your code raised an exception:\n\n```\nTraceback\nValueError: x\n```"
    assert report.diagnosis(_test(traceback)) == "Your code raised an exception"


def test_time_limits_are_found_in_outputs():
    stopped = msg.FAILURE["timeout"].format(message="no answer within 5 s during the call")
    document = {"tests": [_test(stopped), _test("Passed.", status="passed", number="1.2")]}
    assert report.hit_time_limit(document) == ["1.1"]


def test_batch_itself_loads_neither_pytest_nor_numpy():
    """batch's own process only finds, dispatches and reports: pytest and numpy are the fork server's to load
    (it starts first and loads them meanwhile), so that a batch starts grading sooner."""
    code = ("import sys; import backprop_grader.cli, backprop_grader.frontends.batch; "
            "print(sorted(m for m in ('pytest', 'numpy', 'backprop_grader.frontends.batch_job') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=60,
                          check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_a_temporary_folder_too_long_for_a_socket_is_one_clear_line(tmp_path):
    """batch's jobs start through a Unix socket in the temporary folder, whose path may be at most ~100 bytes: a
    longer TMPDIR stops batch before it grades, with one line saying what to do, not a traceback."""
    long = tmp_path / ("t" * 100)
    long.mkdir()
    _copy_tree(CORRECT, tmp_path / "class" / "alice")
    done = subprocess.run([sys.executable, "-m", "backprop_grader", "batch", str(tmp_path / "class"), "--out",
                           str(tmp_path / "out")], cwd=PROJECT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TMPDIR=str(long)))
    assert done.returncode == 2, done.stderr[-2000:]
    assert "set TMPDIR to a shorter folder" in done.stderr and "Traceback" not in done.stderr, done.stderr
