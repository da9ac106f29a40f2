"""The entry points an instructor or Gradescope touches: run_autograder, grade, build, and results.json itself."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import jsonschema
import pytest
from helpers import PROJECT, SUBMISSIONS, run_grader

from backprop_grader import messages as msg
from backprop_grader.frontends.results import problems, result_entry, results_document, score_table
from backprop_grader.rubric import attributes

SCHEMA = json.loads((PROJECT / "selftest" / "results_schema.json").read_text())


def _valid(document: dict) -> None:
    jsonschema.validate(document, SCHEMA)
    assert problems(document) == []


def test_run_autograder_grades_the_readme_example_and_prints_the_table(tmp_path):
    results = tmp_path / "results.json"
    done = subprocess.run([str(PROJECT / "run_autograder"), "--submission", str(SUBMISSIONS / "correct" / "vectorized"),
                           "--results", str(results)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Total: 100 / 100" in done.stdout and "1.1" in done.stdout
    document = json.loads(results.read_text())
    _valid(document)
    assert document["score"] == 100


def test_run_autograder_started_by_a_relative_path_with_relative_arguments(tmp_path):
    """Its paths are worked out by bash's own expansions (no dirname or subshell): a relative script path, a
    relative submission and a results.json in a folder that does not exist yet all resolve against where it ran."""
    workplace = tmp_path / "course"
    shutil.copytree(SUBMISSIONS / "correct" / "loops", workplace / "students" / "ada")
    script = os.path.relpath(PROJECT / "run_autograder", workplace)
    done = subprocess.run([script, "--submission", "./students/ada/", "--results", "graded/ada.json"], cwd=workplace,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    document = json.loads((workplace / "graded" / "ada.json").read_text())
    _valid(document)
    assert document["score"] == 100, document["tests"][0]["output"]


@pytest.mark.skipif(os.geteuid() != 0, reason="run_autograder locks Gradescope's files only when run as root")
def test_run_autograder_locks_the_metadata_and_results_folder_before_grading(tmp_path):
    """As Gradescope's harness leaves them (metadata and results/ open to all, results/stdout in it), then after
    run_autograder: root's alone."""
    root = tmp_path / "autograder"
    shutil.copytree(SUBMISSIONS / "correct" / "loops", root / "submission")
    (root / "submission_metadata.json").write_text('{"previous_submissions": []}')
    (root / "results").mkdir()
    (root / "results" / "stdout").write_text("the harness's log\n")
    for path, mode in ((root / "submission_metadata.json", 0o644), (root / "results", 0o755),
                       (root / "results" / "stdout", 0o644)):
        path.chmod(mode)
    done = subprocess.run([str(PROJECT / "run_autograder")], cwd=root, capture_output=True, text=True, timeout=300,
                          env={"PATH": os.environ["PATH"], "AUTOGRADER_ROOT": str(root)})
    assert done.returncode == 0, done.stderr
    assert json.loads((root / "results" / "results.json").read_text())["score"] == 100
    for path in (root / "submission_metadata.json", root / "results", root / "results" / "stdout"):
        info = path.stat()
        assert (info.st_uid, info.st_gid, info.st_mode & 0o077) == (0, 0, 0), (path, oct(info.st_mode))


def test_the_command_line_lists_every_command_and_imports_only_the_one_it_runs():
    listed = run_grader("--help")
    assert listed.returncode == 0, listed.stderr[-3000:]
    commands = ("grade", "batch", "build", "simulate", "student-kit", "cleanup", "prepare")
    assert all(name in listed.stdout for name in commands), listed.stdout
    shown = subprocess.run([sys.executable, "-c", "import sys\nfrom backprop_grader import cli\n"
                            "try:\n    cli.main(['build', '--help'])\nexcept SystemExit:\n    pass\n"
                            "print(sorted(m for m in sys.modules if m.startswith('backprop_grader.')))"],
                           cwd=PROJECT, capture_output=True, text=True)
    assert "usage: backprop-grader build" in shown.stdout
    assert "'backprop_grader.frontends.batch'" not in shown.stdout
    assert "'backprop_grader.frontends.build'" in shown.stdout


def test_run_autograder_leaves_a_valid_results_json_when_python_cannot_start(tmp_path):
    copy = tmp_path / "source"
    shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "selftest", ".cache"))
    (copy / ".python").write_text("/nonexistent/python\n")  # as setup.sh would leave it, but broken
    results = tmp_path / "results" / "results.json"
    done = subprocess.run([str(copy / "run_autograder"), "--submission", str(tmp_path), "--results", str(results)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(results.read_text())
    _valid(document)
    assert document["score"] == 0 and "not your fault" in document["output"]


def _one_line_exit_2(done: subprocess.CompletedProcess) -> str:
    """A user's mistake on the command line: exit status 2 and one line on stderr, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("backprop-grader: "), done.stderr
    return lines[0]


def test_grade_with_a_wrong_path_is_one_line_and_exit_2_and_writes_nothing(tmp_path):
    done = run_grader("grade", str(tmp_path / "nothing-here"), cwd=tmp_path)
    assert "nothing-here does not exist" in _one_line_exit_2(done)
    assert list(tmp_path.iterdir()) == []  # no stray results.json where the command ran


def test_grade_with_a_configuration_typo_names_the_key_and_exits_2(tmp_path):
    config = tmp_path / "autograder.toml"
    config.write_text((PROJECT / "autograder.toml").read_text().replace("\nrtol =", "\nrtoll ="))
    done = run_grader("grade", str(SUBMISSIONS / "correct" / "vectorized"), "--config", str(config), cwd=tmp_path)
    line = _one_line_exit_2(done)
    assert "tolerance.rtoll" in line and str(config) in line
    done = run_grader("grade", str(SUBMISSIONS / "correct" / "vectorized"), "--config", str(tmp_path / "typo.toml"),
                      cwd=tmp_path)
    assert "typo.toml" in _one_line_exit_2(done)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["autograder.toml"]


def test_checking_the_configuration_first_still_lets_grade_fork_its_worker(tmp_path):
    """The command line's configuration check runs in a child of its own: the grader itself has still read no
    configuration when it forks the student's worker (what run_autograder's clean environment allows)."""
    clean = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(PROJECT)}
    done = subprocess.run([sys.executable, "-m", "backprop_grader", "grade", str(SUBMISSIONS / "correct" / "loops"),
                           "--config", str(PROJECT / "autograder.toml"), "--results", str(tmp_path / "r.json"),
                           "--quiet"], cwd=PROJECT, env=clean, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["score"] == 100 and document["extra_data"]["worker_start"] == "fork"


def test_run_autograder_turns_a_missing_submission_into_a_valid_results_json(tmp_path):
    results = tmp_path / "results" / "results.json"
    done = subprocess.run([str(PROJECT / "run_autograder"), "--submission", str(tmp_path / "nothing-here"),
                           "--results", str(results)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    document = json.loads(results.read_text())
    _valid(document)
    assert document["tests"][0]["name"] == "Autograder error"
    assert document["output"] == msg.AUTOGRADER_FAULT
    assert "does not exist" in document["extra_data"]["autograder_error"]


def test_a_bad_configuration_in_gradescopes_layout_is_an_autograder_fault_naming_the_key(tmp_path):
    config = tmp_path / "autograder.toml"
    config.write_text((PROJECT / "autograder.toml").read_text().replace("rtol = 1e-4", "rtol = -1"))
    results = tmp_path / "results.json"
    done = run_grader("grade", str(SUBMISSIONS / "correct" / "vectorized"), "--results", str(results), "--quiet",
                      "--config", str(config), "--always-write-results")
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(results.read_text())
    _valid(document)
    assert "tolerance.rtol" in document["extra_data"]["autograder_error"]
    assert "tolerance.rtol" not in document["output"]  # instructor details stay in extra_data


def test_grade_prints_where_results_json_went_as_the_user_reads_it(tmp_path):
    inside = run_grader("grade", str(SUBMISSIONS / "correct" / "einsum"), "--results", "sub/r.json", cwd=tmp_path)
    assert inside.returncode == 0, inside.stderr
    assert "results.json written to sub/r.json" in inside.stdout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    outside = run_grader("grade", str(SUBMISSIONS / "correct" / "einsum"), "--results", "../r.json", cwd=elsewhere)
    assert f"results.json written to {tmp_path / 'r.json'}" in outside.stdout


def test_help_shows_the_defaults():
    for command, expected in (("grade", "(default: results.json)"), ("simulate", "(default: simulated-results)"),
                              ("build", "(default: autograder.zip)"), ("student-kit", "(default: student_kit.zip)"),
                              ("batch", "(default: one per core")):
        done = run_grader(command, "--help")
        assert done.returncode == 0 and expected in " ".join(done.stdout.split()), (command, done.stdout)
    assert "(default: None)" not in run_grader("grade", "--help").stdout


def test_build_ships_only_what_gradescope_needs(tmp_path):
    out = tmp_path / "autograder.zip"
    done = run_grader("build", "--out", str(out))
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert {"setup.sh", "run_autograder", "autograder.toml", "requirements.txt"} <= set(names)
    assert "reference/backprop.py" in names and "tests/test_case1_sigmoid.py" in names
    assert not any(n.startswith(("selftest/", ".venv/", ".cache/", "bench/")) for n in names)
    assert [n for n in names if "__pycache__" in n or n.endswith(".pyc")] == []
    assert "reference/derivation.py" not in names  # sympy is not needed to grade
    assert [n for n in names if n.startswith("student_template/")] == ["student_template/forward.py"]
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111


def test_build_refuses_an_invalid_configuration(tmp_path):
    config = tmp_path / "autograder.toml"
    original = (PROJECT / "autograder.toml").read_text()
    config.write_text(original.replace('visibility = "visible"', 'visibility = "hiden"', 1))
    done = run_grader("build", "--out", str(tmp_path / "a.zip"), "--config", str(config))
    assert done.returncode == 2, done.stderr[-3000:]
    assert "hiden" in done.stderr and "after_due_date" in done.stderr
    assert not (tmp_path / "a.zip").exists()


def test_prepare_writes_the_pinned_packages_setup_sh_installs(tmp_path):
    """setup.sh's first question: `prepare --packages FILE` writes one pinned line per configured package (with
    its Python markers), nothing else; asked nothing, prepare says what it takes, in one line."""
    done = run_grader("prepare", "--packages", str(tmp_path / "packages.txt"))
    assert done.returncode == 0, done.stderr[-3000:]
    lines = (tmp_path / "packages.txt").read_text().splitlines()
    names = {re.split(r"[=<>!~;\[ ]", line, maxsplit=1)[0] for line in lines}
    assert names == {"numpy", "scipy", "matplotlib"} and all("==" in line for line in lines), lines
    done = run_grader("prepare")
    assert done.returncode == 2 and "--packages FILE, --warm" in done.stderr, done.stderr


def test_results_document_is_built_without_pytest():
    tests = [result_entry(name="a", number="1.2", score=4, max_score=8, status="failed", output="x",
                        visibility="visible"),
             result_entry(name="b", number="1.10", score=2.5, max_score=2.5, status="passed", output="",
                        visibility="after_due_date", tags=("t",))]
    document = results_document(tests, execution_time=1.5, output="summary", extra_data={})
    _valid(document)
    assert document["score"] == 6.5
    assert [t["number"] for t in document["tests"]] == ["1.2", "1.10"]
    assert "Total: 6.5 / 10.5" in score_table(document)


def test_results_problems_are_named():
    found = problems({"score": "1", "output_format": "md", "test_output_format": "md", "execution_time": 1,
                      "tests": [{"name": "a", "number": "1", "score": 1, "max_score": 1, "status": "ok",
                                 "output": "", "visibility": "hiden"}]})
    assert any("score" in p for p in found), found
    assert any("status" in p for p in found) and any("visibility" in p for p in found), found


def test_decorator_typos_are_errors_not_silent_defaults():
    import pytest
    from gradescope_utils.autograder_utils.decorators import number, visibility, weight

    from backprop_grader.errors import GraderError

    @weight(2)
    @number("1.1")
    @visibility("hiden")
    def test_something():
        """Something"""

    with pytest.raises(GraderError, match="hiden"):
        attributes(test_something)


def test_the_backprop_grader_command_is_installed(tmp_path):
    command = Path(sys.executable).parent / "backprop-grader"
    done = subprocess.run([str(command), "grade", str(SUBMISSIONS / "correct" / "einsum"), "--results",
                           str(tmp_path / "results.json")], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Total: 100 / 100" in done.stdout


def test_simulate_checks_its_paths_before_running_setup(tmp_path):
    started = time.monotonic()
    missing = run_grader("simulate", str(SUBMISSIONS / "correct" / "loops"), str(tmp_path / "typo"), cwd=tmp_path)
    assert "typo does not exist" in _one_line_exit_2(missing)
    (tmp_path / "not-a.zip").write_text("hello")
    not_zip = run_grader("simulate", str(SUBMISSIONS / "correct" / "loops"), "--zip", str(tmp_path / "not-a.zip"),
                         cwd=tmp_path)
    assert "not a zip" in _one_line_exit_2(not_zip)
    assert time.monotonic() - started < 30 and "setup.sh" not in missing.stdout + not_zip.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a.zip"]


def test_simulate_keeps_results_and_what_run_autograder_printed_for_its_owner_only(tmp_path):
    done = run_grader("simulate", str(SUBMISSIONS / "correct" / "loops"), cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "simulated-results"
    assert "Kept in simulated-results/" in done.stdout  # where the command ran, not the checkout
    document = json.loads((out / "loops" / "results.json").read_text())
    _valid(document)
    assert document["score"] == 100
    assert "Total: 100 / 100" in (out / "loops" / "stdout.txt").read_text()
    for path, mode in ((out, 0o700), (out / "loops", 0o700), (out / "loops" / "results.json", 0o600),
                       (out / "loops" / "stdout.txt", 0o600)):
        assert path.stat().st_mode & 0o777 == mode, path


def test_a_fresh_checkout_can_batch_after_the_readmes_first_command(tmp_path):
    """The README's first command creates .venv; batch (its YAML, progress bar and plots) then works with no other
    step, while the Gradescope upload still ships requirements.txt alone."""
    checkout = tmp_path / "checkout"
    shutil.copytree(PROJECT, checkout, symlinks=True, ignore=shutil.ignore_patterns(
        ".venv", ".git", ".cache", "__pycache__", "*.egg-info", "simulated-results", "graded"))
    first = subprocess.run([str(checkout / "run_autograder"), "--submission",
                            str(checkout / "selftest" / "submissions" / "correct" / "vectorized"), "--results",
                            str(tmp_path / "results.json")], capture_output=True, text=True, timeout=900)
    assert first.returncode == 0 and "Total: 100 / 100" in first.stdout, first.stderr[-3000:]
    shutil.copytree(SUBMISSIONS / "template" / "untouched", tmp_path / "class" / "bob")
    done = subprocess.run([str(checkout / ".venv" / "bin" / "python"), "-m", "backprop_grader", "batch", "class"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "graded" / "scores.svg").is_file() and (tmp_path / "graded" / "grades.csv").is_file()
    with zipfile.ZipFile(_built(checkout, tmp_path)) as archive:
        assert "requirements-instructor.txt" not in archive.namelist()


def _built(checkout: Path, folder: Path) -> Path:
    out = folder / "autograder.zip"
    done = subprocess.run([str(checkout / ".venv" / "bin" / "python"), "-m", "backprop_grader", "build", "--out",
                           str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.parametrize("command", ["grade", "batch"])
def test_output_to_a_reader_that_left_is_no_traceback_and_everything_is_written(command, tmp_path):
    """`batch ... | head` or `grade ... | head`: the reader may close the pipe before the last line is printed."""
    correct = SUBMISSIONS / "correct" / "vectorized"
    if command == "grade":
        arguments = ["grade", str(correct), "--results", str(tmp_path / "results.json")]
    else:
        shutil.copytree(correct, tmp_path / "class" / "student1")
        arguments = ["batch", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--jobs", "1"]
    reader, writer = os.pipe()
    os.close(reader)  # gone before the first line
    try:
        done = subprocess.run([sys.executable, "-m", "backprop_grader", *arguments], cwd=PROJECT, stdout=writer,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(writer)
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    assert done.returncode == 1
    if command == "grade":
        _valid(json.loads((tmp_path / "results.json").read_text()))
    else:
        assert "student1" in (tmp_path / "out" / "grades.csv").read_text()
