"""Grade one submission: discover the file, run the graded suite with the plugin, always write results.json."""

from __future__ import annotations

import gc
import itertools
import os
import stat
import sys
import time
import traceback
from pathlib import Path
from typing import NamedTuple

from .. import __version__
from .. import messages as msg
from ..config import PROJECT_ROOT, load_config
from ..errors import GraderError
from ..sandbox import (
    Limits,
    Reply,
    Worker,
    claim_identity,
    importing_meanwhile,
    isolation_note,
    scratch,
    vouch_for_users,
)
from ..sandbox.policy import can_fork
from . import results
from .discovery import configured_caps, explain_not_found, find_submission, unpack_into
from .metadata import log_line, read_submitter
from .writable import NO_SPACE, message

TESTS_DIR = PROJECT_ROOT / "tests"
_SEARCHED = 200  # folders, and files in each, that warmed_named reads at most
_SEARCHED_BYTES = 1 << 20  # and bytes of each file
# pytest's built-in plugins that the graded suite never uses: each one costs hook registration in every run.
# No terminal output (we print our own table), no cache files, no forced garbage collection at the end.
_UNUSED_PLUGINS = [arg for name in ("terminal", "cacheprovider", "unraisableexception", "threadexception",
                                    "debugging", "unittest", "legacypath", "tmpdir", "monkeypatch", "recwarn",
                                    "pastebin", "junitxml", "doctest", "setuponly", "setupplan", "stepwise",
                                    "warnings", "logging", "faulthandler", "subtests", "assertion")
                   for arg in ("-p", f"no:{name}")]


def grade(submission: Path, results_path: Path, *, config_path: Path | None = None) -> dict:
    """Grade one submission (folder, zip or single file) and write results.json; never raises for the student."""
    scratch.remove_abandoned()  # copies of student code that a run killed outright left behind
    return guarded(submission, results_path, lambda found: _grade_found(found, Path(submission), config_path),
                   lambda: configured_caps(config_path))


def guarded(submission: Path, results_path: Path, grade_found, read_caps) -> dict:
    """Find the submission's file, grade it with grade_found(found) -> results document, and always write
    results.json: whatever fails, the student gets a valid one (an autograder error, with the traceback for the
    instructor only). read_caps() gives the caps of the configuration being graded by (discovery.Caps); it is
    called inside the guard, so a configuration that does not load is an autograder error too."""
    started = time.monotonic()
    document = None
    unpacked = None
    _reserve(results_path)
    try:
        caps = read_caps()
        folder, unpacked = _as_folder(Path(submission), caps)
        document = grade_found(find_submission(folder, caps))
    except Exception as exc:  # the catastrophic path: whatever failed, the student gets a valid results.json
        detail = "".join(traceback.format_exception(exc))
        print(f"AUTOGRADER ERROR: {exc}\n{detail}", file=sys.stderr)
        document = results.autograder_error_document(reason=str(exc), traceback_text=detail[-8000:],
                                                     execution_time=time.monotonic() - started)
    finally:
        if unpacked:
            scratch.remove(unpacked)
        if document is None:
            document = results.autograder_error_document(reason="interrupted", traceback_text="",
                                                         execution_time=time.monotonic() - started)
        document["execution_time"] = round(time.monotonic() - started, 6)
        results.write_results(document, results_path)
    return document


def _reserve(results_path: Path) -> None:
    """Take results.json's room before any student code runs, so that a full disk cannot stop it then. Where it
    cannot be written at all (permission denied, a file where a folder should be), nothing is graded: a GraderError
    says why in one line. A disk already full is no reason to stop: the end still tries, and says so if it fails."""
    try:
        results.reserve(results_path)
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise GraderError(message(results_path, exc)) from None


def _grade_found(found, submission: Path, config_path: Path | None) -> dict:
    """Fork the worker while nothing secret is loaded (when allowed), then read the configuration and grade."""
    identity = claim_identity()
    forking = can_fork()
    if forking:
        preload_named(found)
    early = start_worker(found, identity, fork=True) if forking else None
    parked = start_worker(found, identity, fork=True).worker if forking else None  # the hidden phase's, waiting
    if early and early.worker and parked:
        early.worker.successor = parked  # released to import while the visible phase runs, where that is sealed
    try:
        submitter = announce(submission)  # after the fork: the metadata holds earlier results, hidden ones too
        config = load_config(config_path)
        if early and early.worker:
            early.worker.configure(Limits(**config.limits), config.forbidden_imports)
        document = grade_found(found, config, identity, submitter, _run_pytest, started=early, parked=parked)
        print(f"isolation: {document['extra_data']['isolation']}", file=sys.stderr)  # the instructor's console
        return document
    finally:
        for worker in (early.worker if early else None, parked):
            if worker is not None:
                worker.close()
        vouch_for_users()  # every worker has ended: the next grading may skip its search for their leftovers


def preload_named(found) -> None:
    """Before the workers are forked: import the heavy packages the submission's code names (matplotlib's pyplot,
    scipy.special: sandbox/zygote.WARMED) here, once, rather than in each of its two workers (pyplot costs about
    half a second of CPU, which Gradescope's half CPU would pay twice). What the instructor does not allow stays
    refused in the workers all the same (import_guard.refuse_preloaded)."""
    named = warmed_named(found)
    if named:
        from ..sandbox.zygote import warm

        warm(named)


def warmed_named(found) -> tuple[str, ...]:
    """The packages of sandbox/zygote.WARMED that the submission's code names: the code imported (a notebook's
    cells) and the Python files and notebooks of its folder, searched as text (at most _SEARCHED files and bytes
    each; links are not followed). A submission whose imports escape this search only imports the package itself
    in its workers. (batch's jobs fork the workers of a submission that names one from their warm zygote.)"""
    from ..sandbox.zygote import WARMED

    if found.path is None:
        return ()
    texts = [found.source_text or ""]
    for folder, _, files in itertools.islice(os.walk(found.path.parent), _SEARCHED):
        texts += [_head(os.path.join(folder, name)) for name in files[:_SEARCHED] if name.endswith((".py", ".ipynb"))]
    return tuple(package for package in WARMED if any(package in text for text in texts))


def _head(path: str) -> str:
    """The first _SEARCHED_BYTES of a regular file as text; "" for a link (never followed), a named pipe (never
    waited on) or anything else that is not a plain file."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return ""
        return file.read(_SEARCHED_BYTES).decode("utf-8", "replace")


def announce(submission: Path) -> dict:
    """Who submitted (Gradescope's metadata), printed for the instructor's log; {} when unknown."""
    submitter = read_submitter(submission)  # for the instructor's log and extra_data only
    if submitter:
        print(log_line(submitter))
    return submitter


class Started(NamedTuple):
    """What start_worker gives: the worker, or, when there is none, the reply that explains why."""

    worker: Worker | None
    unavailable: Reply | None


def start_worker(found, identity, limits: Limits | None = None, forbidden: tuple = (), *, fork: bool = False,
                  zygote=None) -> Started:
    """The worker, spawned so that it imports the submission while we go on; or no worker and the reply that
    explains it when there is no submission file. Forked, it has numpy loaded already and waits for its limits."""
    if found.path is None:
        return Started(None, Reply(False, "not_found", explain_not_found(found)))
    if fork:
        import numpy  # noqa: F401  (loaded here, the worker is spared its import; we need it anyway)

        # With collections off here (__main__), every object so far is young: a worker that turns the collector
        # on would walk them all, and copy nearly every page it shares with us. Frozen, it never does.
        gc.freeze()
    worker = Worker(found.path, limits, forbidden, identity, found.source_text, fork=fork, zygote=zygote)
    worker.spawn()
    return Started(worker, None)


def hidden_worker(found, identity, config, parked=None, zygote=None):
    """What gives the hidden phase its worker (grading.Grading): the fork parked before anything secret was
    loaded, now given its limits; else one from the zygote or a fresh Python. (Whoever parked it ends it.)"""
    def make():
        if found.path is None:
            return None
        if parked is not None:
            parked.configure(Limits(**config.limits), config.forbidden_imports)
            return parked
        return start_worker(found, identity, Limits(**config.limits), config.forbidden_imports, zygote=zygote).worker
    return make


def notes_for(found) -> list[str]:
    """The notes the student's output ends with: how the file was found, when not by the first rule. (How student
    code was isolated is for the instructor: extra_data and the console.)"""
    return [msg.NOTE_DISCOVERY.format(note=found.note)] if found.note else []


def extra_for(found, submitter: dict) -> dict:
    """The instructor-only extra_data every results.json starts with."""
    extra = {"grader_version": __version__, "submission_file": str(found.path or "")}
    if submitter:
        extra["submitter"] = submitter
    return extra


def grade_found(found, config, identity, submitter: dict, run_tests, *, started: Started | None = None,
                parked=None, zygote=None) -> dict:
    """Grade a found submission under `config`: what grade and batch's jobs do alike. Its worker (started early,
    else now, from the zygote or a fresh Python), the hidden phase's worker when that is asked for (the parked
    fork, else a new one), the Grading, the graded tests run by run_tests(grading, notes, extra) -> (the plugin
    that recorded them, a detail for an error), and the results document. The worker is always ended."""
    worker, unavailable = started or start_worker(found, identity, Limits(**config.limits),
                                                  config.forbidden_imports, zygote=zygote)
    try:
        # Imported only now, once the worker is spawned: it imports numpy and the submission meanwhile.
        from ..maths.grading import Grading

        grading = Grading(config, worker, unavailable, hidden_worker(found, identity, config, parked, zygote))
        plugin, detail = run_tests(grading, notes_for(found), extra_for(found, submitter))
        return document_of(plugin, worker, detail)
    finally:
        if worker is not None:
            worker.close()


def _run_pytest(grading, notes: list[str], extra: dict) -> tuple:
    """The graded suite in a pytest session of its own, with our plugin: (the plugin, pytest's exit code). The
    workers are asked everything while pytest is imported (a quarter of a grading's time) in a thread meanwhile;
    the tests then read the replies."""
    from ..maths import cache

    cache.prepare(grading)
    with importing_meanwhile("pytest", f"{__package__}.plugin"):
        grading.ask_everything()
    import pytest

    from .plugin import GradescopePlugin

    plugin = GradescopePlugin(grading, notes=notes, extra=extra)
    code = pytest.main(pytest_arguments(), plugins=[plugin])
    return plugin, f" (pytest exit {int(code)})"


def pytest_arguments() -> list[str]:
    """pytest's arguments for the graded suite (its configuration reaches it through the plugin, not these)."""
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the graded suite needs no installed plugin; scanning costs
    return [str(TESTS_DIR), *_UNUSED_PLUGINS, "--import-mode=importlib", "--rootdir", str(PROJECT_ROOT),
            "-c", str(TESTS_DIR / "pytest.ini")]


def document_of(plugin, worker, detail: str = "") -> dict:
    """The results document of one graded submission, from the plugin's records; a GraderError when the graded
    suite did not run (a test file that cannot be collected, or no test at all)."""
    from ..maths import feedback

    if plugin.collection_faults or not plugin.records:
        raise GraderError(f"the graded suite did not run{detail}: {plugin.collection_faults[:3]}")
    plugin.extra["worker_start"] = (worker.first_start or "none") if worker else "none"  # "fork" or "fresh python"
    plugin.extra["isolation"] = isolation_note(worker.isolation if worker else None)
    plugin.extra["confinement"] = (worker.isolation or {}) if worker else {}
    for fault in plugin.faults:  # one test's grader fault costs that test, never the points earned elsewhere
        print(f"AUTOGRADER FAULT in {fault}", file=sys.stderr)
    return results.results_document(plugin.records, execution_time=0.0,
                                    output=feedback.summary(plugin.records, plugin.notes), extra_data=plugin.extra)


def _as_folder(submission: Path, caps) -> tuple[Path, Path | None]:
    """A folder to grade, and a temporary folder to delete afterwards when we unpacked a zip or a lone file."""
    if submission.is_dir():
        return submission, None
    if not submission.exists():
        raise GraderError(f"the submission {submission} does not exist")
    temporary = scratch.make("submission")  # removed at the next start if we are killed
    (temporary / "submission").mkdir()
    unpack_into(submission, temporary / "submission", caps)
    return temporary / "submission", temporary
