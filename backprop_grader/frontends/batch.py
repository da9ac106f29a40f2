"""`backprop-grader batch INPUT --out DIR`: grade a whole class on one machine, in parallel, and report on it.

INPUT is a folder of submissions (folders or zips), a zip of one, or a Gradescope "Export Submissions" folder or
zip (class_input.py). Submissions are graded by one grading job per core (batch_pool.py), each a process that
loads the grader and the graded suite once and then grades submission after submission (batch_job.py); then
grades.csv, report.md and a page per submission are written (report.py, pages.py), also after Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from .. import __version__, sandbox
from ..config import DEFAULT_CONFIG, PROJECT_ROOT, load_config
from ..errors import GraderError
from ..sandbox import scratch
from ..sandbox.isolation import view
from .batch_pool import Batch, plural, start_fork_server
from .class_input import METADATA, find_submissions, input_root, metadata_warnings, read_metadata
from .report import ERROR, Entry
from .writable import check_folder

DEFAULT_TIMEOUT = 300.0  # seconds for one submission: generous, since the grader's own limits stop student code
MISSING_EXTRAS = ("batch needs the instructor extras ({missing} is missing): run bin/ensure-venv in the project "
                  "(it installs them into .venv), or pip install -r requirements-instructor.txt")


def register(commands) -> None:
    """Add the batch command's arguments."""
    parser = commands.add_parser("batch", help="grade a whole class (folder, zip or Gradescope export) in parallel")
    parser.add_argument("input", type=Path, help="a folder of submissions, a zip of one, or a Gradescope export")
    parser.add_argument("--out", type=Path, default=Path("graded"),
                        help="where each submission's results.json, grades.csv and report.md go")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help=f"submissions graded at once (default: one per core, {os.cpu_count() or 1} here)")
    parser.add_argument("--force", action="store_true", help="regrade submissions already graded")
    parser.add_argument("--config", type=Path, default=None,
                        help="the autograder.toml to use (default: the project's)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds for one submission before it counts as an autograder error")


def run(args) -> int:
    """Grade every submission, then write grades.csv and report.md; exit 130 when interrupted (143 by SIGTERM)."""
    try:
        return _run(args)
    except KeyboardInterrupt:  # before grading began: nothing to keep
        print("Interrupted before grading began: nothing was graded.", file=sys.stderr)
        return 130


def _run(args) -> int:
    """run(), but for an interruption before grading began."""
    _require_extras()
    if args.jobs < 1 or args.timeout <= 0:
        raise GraderError("--jobs must be at least 1 and --timeout positive")
    check_folder(args.out, "--out")  # before any grading: one line with the true reason, if any
    config_path = (args.config or DEFAULT_CONFIG).resolve()
    packages = load_config(config_path).packages  # a bad configuration stops here, once, not in every submission
    start_fork_server()  # it loads what the jobs need while the submissions are found
    started = time.monotonic()
    scratch.remove_abandoned()  # copies of student code that a batch killed outright left behind
    _stop_on_signals()
    unpacked = scratch.make("batch")
    try:
        root = input_root(args.input.resolve(), unpacked)
        submissions = find_submissions(root, exclude=args.out.resolve())
        if not submissions:
            raise GraderError(f"no submissions found in {args.input}: expected a folder per submission")
        students = read_metadata(root / METADATA) if (root / METADATA).is_file() else {}
        warnings = metadata_warnings(submissions, students) if (root / METADATA).is_file() else []
        isolation = announce_isolation()
        batch = Batch(submissions, args.out.resolve(), config_path, jobs=min(args.jobs, len(submissions)),
                      timeout=args.timeout, packages=packages)
        batch.isolation = isolation
        entries, interrupted = batch.grade_all(force=args.force)
    finally:
        scratch.remove(unpacked)
    for entry in entries:
        entry.students = students.get(entry.submission, [])
    _finish(entries, students, batch, args, started, interrupted, warnings)
    return 128 + _STOPPED_BY[0] if interrupted else 0


_STOPPED_BY = [signal.SIGINT]  # the signal that stopped the batch: its exit status is 128 + its number


def _stop_on_signals() -> None:
    """Ctrl-C (SIGINT) or SIGTERM stops the batch at once, whatever its jobs are doing: the first one raises
    KeyboardInterrupt in the main thread, and any later one is ignored, so that grades.csv and report.md are
    always written with what was graded (the rest listed as not graded)."""
    def stop(number, _frame):
        for each in (signal.SIGINT, signal.SIGTERM):
            signal.signal(each, signal.SIG_IGN)
        _STOPPED_BY[0] = number
        raise KeyboardInterrupt

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, stop)


def _require_extras() -> None:
    """Fail with one clear line when the instructor extras are not installed (Gradescope's image lacks them)."""
    for module in ("yaml", "tqdm", "markdown_it"):
        try:
            __import__(module)
        except ImportError:
            raise GraderError(MISSING_EXTRAS.format(missing=module)) from None


def _finish(entries, students: dict, batch, args, started: float, interrupted: bool, warnings=()) -> None:
    """Write grades.csv and report.md from what was graded (also after Ctrl-C), and say where they are."""
    from ..cli import shown
    from . import pages, report

    context = {"input": str(args.input), "version": __version__, "config": batch.config_path.name,
               "jobs": batch.jobs, "wall_seconds": time.monotonic() - started, "interrupted": interrupted,
               "newly_graded": batch.newly_graded, "skipped": batch.skipped,
               "pending": len(batch.submissions) - len(entries), "isolation": batch.isolation,
               "warnings": list(warnings)}
    done = [e for e in entries if e.document is not None]
    graded = {e.submission for e in done}
    # after Ctrl-C, the rest are listed too, so that the spreadsheet shows who still needs grading
    pending = [Entry(name, students=students.get(name, []), status=report.NOT_GRADED)
               for name in batch.submissions if name not in graded]
    report.write_grades_csv(done + pending, batch.out / report.CSV_NAME)
    report.write_lms_csv(done, batch.out / report.LMS_NAME)
    pages.write_pages(done, batch.out, report.write_report(done + pending, batch.out, context=context))
    errors = sum(e.status == ERROR for e in done)
    print(f"{len(done)} of {plural(len(batch.submissions), 'submission')} graded ({batch.skipped} kept from an "
          f"earlier run, {plural(errors, 'autograder error')}) in {context['wall_seconds']:.1f} s with "
          f"{plural(batch.jobs, 'job')}.\n"
          f"Grades: {shown(batch.out / report.CSV_NAME)}\nReport: {shown(batch.out / report.REPORT_NAME)}\n"
          f"Pages: {shown(batch.out / report.INDEX_PAGE)}")
    if interrupted:
        print(f"Interrupted: {plural(len(pending), 'submission')} not graded (listed in grades.csv as "
              f"\"{report.NOT_GRADED}\"): run the same command again to grade the rest.", file=sys.stderr)


def announce_isolation() -> str:
    """Say, before grading, how student code will be isolated: on the console, and in report.md."""
    seen = view.probe(sandbox.isolated_path(), PROJECT_ROOT)
    who = ("as an unprivileged sandbox user of each job's own" if os.geteuid() == 0
           else "as you (batch is not run as root: no separate user)")
    if seen == view.NAMESPACES:
        line = f"batch: student code runs {who}, seeing only its own folder and the Python runtime, with no network."
    else:
        line = (f"batch: WARNING: student code runs {who} and CAN SEE THE WHOLE FILE SYSTEM (this machine refuses "
                "mount namespaces), your checkout and other submissions included; only a seccomp filter keeps it "
                "off the network. Grade untrusted submissions as root, or where namespaces are allowed.")
    print(line, file=sys.stderr)
    return line


