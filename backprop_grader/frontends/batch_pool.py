"""batch's grading jobs: up to `jobs` of them grade a class's submissions at once, each result kept as it is
written.

Each job is a process forked from a server that has already imported numpy and pytest (multiprocessing's
forkserver), which loads the grader and the graded suite once and then grades submission after submission
(batch_job.py). A submission that hangs or crashes its job costs one autograder error, never the batch: the job
is ended, with whatever its student code left running, and a new one takes its place. Results are kept per
submission with a fingerprint of what graded them, so an interrupted or repeated run grades only what is new.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

from .. import __version__
from ..config import PROJECT_ROOT
from ..errors import GraderError
from ..sandbox import policy, processes, scratch
from ..sandbox.isolation import view
from .class_input import content_hash
from .report import ERROR, GRADED, Entry

RESULTS, FINGERPRINT, LOG = "results.json", "fingerprint.json", "grader.log"
_START_SECONDS = 300.0  # for a job to load the grader and collect the suite before its first submission
# What the fork server imports once, so that every grading job starts with it loaded. Nothing secret: each job
# forks its zygote, the clean parent of its student workers, before it loads the reference, tests or
# configuration (policy.can_fork), so the reference, grading and diagnosis modules are imported there, afterwards.
SERVER_FOLDER = PROJECT_ROOT  # where the fork server starts: its import path begins there (_server_environment)
_PRELOAD = ["numpy", "pytest", "_pytest.python", "_pytest.fixtures", "_pytest.helpconfig", "_pytest.skipping",
            "_pytest._argcomplete", "readline", "gradescope_utils.autograder_utils.decorators",
            "backprop_grader.frontends.batch_job", "backprop_grader.frontends.batch_pool"]


SOCKET_PATH_TOO_LONG = ("the temporary folder {folder} has too long a path for the Unix socket batch's jobs are "
                        "started through (at most about 100 characters in all): set TMPDIR to a shorter folder")


def start_fork_server() -> None:
    """Start the fork server now, if it is not running: it imports numpy and pytest (some 300 ms) while batch
    goes on finding the submissions. Batch() starts it too, when it is not."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(_PRELOAD)
    try:
        with _server_environment():
            multiprocessing.forkserver.ensure_running()
    except OSError as exc:
        if "too long" not in str(exc):
            raise
        raise GraderError(SOCKET_PATH_TOO_LONG.format(folder=tempfile.gettempdir())) from None


def _serve(*args) -> None:
    """A grading job's life: batch_job.serve, imported where the job runs (the fork server has it loaded), so
    that batch's own process never imports pytest."""
    from . import batch_job

    batch_job.serve(*args)


def plural(number: int, noun: str) -> str:
    """'1 job', '2 jobs'."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


class Batch:
    """Grades submissions in parallel grading jobs, keeping each result as soon as it is written."""

    def __init__(self, submissions: dict[str, Path], out: Path, config_path: Path, *, jobs: int, timeout: float,
                 packages: tuple = ()):
        """jobs: how many grade at once. As root, each claims a sandbox user of its own when it starts (isolation/
        users.py: a pool shared safely by every grading on the machine), so that one student's code can neither
        signal nor read a classmate graded at the same moment. packages: those students may import (the jobs'
        zygotes import the heavy ones once, zygote.WARMED)."""
        self.submissions, self.out, self.config_path, self.packages = submissions, out, config_path, packages
        _keep_private(out)
        self.jobs, self.timeout = jobs, timeout  # the thread pool of grade_all runs at most `jobs` at once
        self.isolation = ""  # what announce_isolation said before grading, for report.md
        self.newly_graded = self.skipped = 0
        self._config_hash = hashlib.sha256(config_path.read_bytes()).hexdigest()
        self._running: dict[str, _Job] = {}
        self._idle: list[_Job] = []
        self._context = multiprocessing.get_context("forkserver")
        start_fork_server()
        processes.become_subreaper()  # see processes.end_orphans
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake = os.pipe()  # written once when stopping: wakes every thread waiting on a job

    def grade_all(self, *, force: bool) -> tuple[list[Entry], bool]:
        """Grade what is not graded yet (everything with force); (entries, whether Ctrl-C stopped it)."""
        entries, todo = [], {}
        for submission, path in self.submissions.items():
            fingerprint = self.fingerprint(path)
            kept = None if force else self._kept(submission, fingerprint)
            if kept is not None:
                entries.append(kept)
            else:
                todo[submission] = (path, fingerprint)
        self.skipped = len(entries)
        if self.skipped:
            print(f"Keeping {plural(self.skipped, 'submission')} graded earlier under this configuration and "
                  "grader version (--force regrades them).", file=sys.stderr)
        interrupted = self._grade_in_parallel(todo, entries)
        return entries, interrupted

    def fingerprint(self, path: Path) -> dict:
        """What a result depends on: the configuration, the grader's version and the submission's content."""
        return {"config_sha256": self._config_hash, "grader_version": __version__,
                "submission_sha256": content_hash(path)}

    def _grade_in_parallel(self, todo: dict, entries: list[Entry]) -> bool:
        """Run up to `jobs` graders at once with a progress bar; on Ctrl-C stop them and keep what finished."""
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="grading", unit="submission", file=sys.stderr, dynamic_ncols=True)
        pool = ThreadPoolExecutor(max_workers=max(1, min(self.jobs, len(todo))))
        futures = [pool.submit(self._grade_one, submission, *job) for submission, job in todo.items()]
        pending = set(futures)
        try:
            while pending:  # short waits: a signal is handled within a fraction of a second, whatever the jobs do
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    entry = future.result()
                    if entry is not None:
                        entries.append(entry)
                        self.newly_graded += 1
                        bar.set_postfix(errors=sum(e.status == ERROR for e in entries), refresh=False)
                    bar.update(1)
        except KeyboardInterrupt:
            self._stopping.set()
            os.write(self._wake[1], b"x")  # every job's thread waiting for an answer returns at once
            pool.shutdown(wait=False, cancel_futures=True)
            self._stop_running()
            pool.shutdown(wait=True)
            entries.extend(e for f in futures if f.done() and not f.cancelled() and f.exception() is None
                           and (e := f.result()) is not None and e not in entries)
            return True
        finally:
            pool.shutdown(wait=True)
            self._close_idle()
            self._end_orphans()
            scratch.remove_abandoned()  # what the jobs ended outright kept in the temporary folder
            bar.close()
        return False

    def _grade_one(self, submission: str, path: Path, fingerprint: dict) -> Entry | None:
        """Grade one submission in an idle job (or a new one); None when the batch is being interrupted."""
        folder = self.out / submission
        folder.mkdir(parents=True, exist_ok=True)
        results_path = folder / RESULTS
        for stale in (folder / FINGERPRINT, results_path):
            stale.unlink(missing_ok=True)
        started = time.monotonic()
        with self._lock:
            if self._stopping.is_set():
                return None
            job = self._idle.pop() if self._idle else _Job(self._context, self.config_path, self.packages)
            self._running[submission] = job
        finished = timed_out = reusable = False
        try:
            finished, timed_out, reusable = job.grade(path, results_path, folder / LOG, self.timeout, self._wake[0])
        finally:
            if not reusable:  # it hung, died or retired: a new job takes the next submission
                if self._stopping.is_set():
                    job.kill()  # no grace: the batch is stopping
                job.close() if finished else job.end()
                self._end_orphans()
                if not finished:
                    scratch.remove_abandoned()  # the copies of student code it held (jobs do not sweep for them)
            with self._lock:
                self._running.pop(submission, None)
                if reusable:
                    self._idle.append(job)
        if self._stopping.is_set():
            results_path.unlink(missing_ok=True)  # half-graded: graded again next time
            return None
        code = 0 if finished else job.process.exitcode
        entry = self._entry(submission, folder, code, timed_out, time.monotonic() - started)
        (folder / FINGERPRINT).write_text(json.dumps({**fingerprint, "status": entry.status}, indent=2) + "\n")
        return entry

    def _entry(self, submission: str, folder: Path, code: int, timed_out: bool, seconds: float) -> Entry:
        """What grading left: the grader's results.json, or an autograder-error one written here in its place."""
        document = None if timed_out else _read_json(folder / RESULTS)
        if timed_out:
            reason = f"grading took longer than {self.timeout:g} s (--timeout), so the grader was stopped"
        elif not _looks_like_results(document):
            reason = f"the grader exited with code {code} and left no valid results.json (see {LOG})"
        elif (document.get("extra_data") or {}).get("autograder_error"):
            return Entry(submission, document=document, status=ERROR, reason=document["extra_data"]["autograder_error"])
        else:
            return Entry(submission, document=document)
        from . import results

        try:
            log = (folder / LOG).read_text(encoding="utf-8", errors="replace")[-8000:]
        except OSError:  # the job was ended before it began this submission's log
            log = ""
        document = results.autograder_error_document(reason=reason, traceback_text=log, execution_time=seconds)
        results.write_results(document, folder / RESULTS)
        return Entry(submission, document=document, status=ERROR, reason=reason)

    def _kept(self, submission: str, fingerprint: dict) -> Entry | None:
        """The earlier result of a submission graded under the same fingerprint; autograder errors are retried."""
        folder = self.out / submission
        stored = _read_json(folder / FINGERPRINT)
        document = _read_json(folder / RESULTS)
        if not isinstance(stored, dict) or stored.get("status") != GRADED or not _looks_like_results(document):
            return None
        if {k: v for k, v in stored.items() if k != "status"} != fingerprint:
            return None
        return Entry(submission, document=document)

    def _stop_running(self) -> None:
        """End every job now (Ctrl-C, SIGTERM): killed outright, all at once, so that none keeps us waiting; the
        workers they leave, re-parented to us, are ended next (processes.end_orphans)."""
        with self._lock:
            running = list(self._running.values()) + self._idle
            self._idle = []
        for job in running:
            job.kill()
        for job in running:
            job.end()

    def _end_orphans(self) -> None:
        """End what a job that was ended left running (see processes.end_orphans), sparing the jobs alive."""
        with self._lock:
            live = {job.process.pid for job in [*self._running.values(), *self._idle]}
        processes.end_orphans(live)

    def _close_idle(self) -> None:
        """Let the idle jobs end their pytest sessions and leave."""
        with self._lock:
            idle, self._idle = self._idle, []
        for job in idle:
            job.close()


class _Job:
    """A grading job (batch_job.serve, in a process from the fork server: _serve) and our end of its connection."""

    def __init__(self, context, config_path: Path, packages: tuple = ()):
        self.connection, theirs = context.Pipe()
        lifeline, self._lifeline = context.Pipe(duplex=False)  # we only hold it: it closes when we die
        self.process = context.Process(target=_serve, args=(theirs, str(config_path), lifeline, packages))
        with _server_environment():  # the fork server is started again if it died
            self.process.start()
        theirs.close()
        lifeline.close()
        self._ending = threading.Lock()  # Ctrl-C may end a job while its own thread ends it too
        self._ready = False  # it said "ready": loaded, its suite collected, waiting for submissions

    def grade(self, submission: Path, results: Path, log: Path, timeout: float,
              wake: int) -> tuple[bool, bool, bool]:
        """Have the job grade one submission: (whether it finished, whether it ran out of time, whether it may
        grade another: not after a fault that left its pytest session unsound). A byte on `wake` (the batch
        is stopping) ends the wait at once, as unfinished."""
        try:
            if not self._ready:  # its start (the zygote, the configuration, the suite) is not the submission's time
                started = multiprocessing.connection.wait([self.connection, wake], _START_SECONDS)
                if self.connection not in started or self.connection.recv() != "ready":
                    return False, False, False
                self._ready = True
            self.connection.send((str(submission), str(results), str(log)))
            ready = multiprocessing.connection.wait([self.connection, wake], timeout)
            if not ready:
                return False, True, False
            if self.connection not in ready:
                return False, False, False
            answer = self.connection.recv()
        except (EOFError, OSError):  # the job died
            return False, False, False
        return True, False, answer == "done"

    def close(self) -> None:
        """Ask the job to leave, and end it if it does not."""
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.process.join(timeout=10)
        self.end()

    def kill(self) -> None:
        """SIGKILL the job and its process group (its zygote), without waiting."""
        processes.kill_group(self.process.pid)

    def end(self) -> None:
        """End the job and its process group now (see _end); once, whichever thread asks first."""
        with self._ending:
            if not self.connection.closed:
                _end(self.process)
                self.connection.close()
                self._lifeline.close()


def _keep_private(out: Path) -> None:
    """As root, the out folder is its owner's only: student code runs as the sandbox user, who could otherwise
    read the results (hidden tests included) and logs of the submissions graded before its own."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chmod(out, 0o700)


@contextlib.contextmanager
def _server_environment():
    """Meanwhile, policy.FORK_SERVER_ENVIRONMENT is our whole environment: whenever multiprocessing starts its
    fork server (first, or again after it died), the server keeps the environment it is started with, and workers
    forked below it would carry it in their memory and in /proc/self/environ, so it must not be the instructor's.

    And SERVER_FOLDER is our current folder: the server is a `python -c`, whose import path starts with the folder
    it starts in (multiprocessing ignores the path it is given), and it imports _PRELOAD first thing. Started where
    the instructor is (/tmp, say, which students' code can write to), it would import a planted numpy.py as root."""
    saved, here = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(policy.FORK_SERVER_ENVIRONMENT, TMPDIR=saved.get("TMPDIR", "/tmp"))
    if view.OFF_SWITCH in saved:  # the jobs' workers are confined as the instructor asked (a container's way)
        os.environ[view.OFF_SWITCH] = saved[view.OFF_SWITCH]
    os.chdir(SERVER_FOLDER)
    try:
        yield
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)


def _end(process: multiprocessing.Process) -> None:
    """Stop a job and its process group: SIGINT first, so that it ends its student worker, then SIGKILL."""
    for sig, grace in ((signal.SIGINT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:  # gone, or not yet the leader of its own group
            try:
                os.kill(process.pid, sig)
            except ProcessLookupError:  # gone (its exit status may not have reached us yet)
                pass
        process.join(timeout=grace)
        if process.exitcode is not None:
            return


def _read_json(path: Path):
    """A JSON file's content, or None when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _looks_like_results(document) -> bool:
    return isinstance(document, dict) and isinstance(document.get("tests"), list) and "score" in document
