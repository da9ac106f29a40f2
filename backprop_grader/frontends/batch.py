"""`backprop-grader batch INPUT --out DIR`: grade a whole class on one machine, in parallel, and report on it.

INPUT is a folder of submissions (folders or zips), a zip of one, or a Gradescope "Export Submissions" folder or
zip: one `submission_<id>/` folder per submission beside `submission_metadata.yml`, which maps each folder name to
`{":submitters": [{":name", ":email", ":sid"}, ...], ":created_at", ":score", ...}` (Ruby symbols as keys).

Submissions are graded by one grading job per core (batch_job.py): a process forked from a server that has
already imported numpy and pytest (multiprocessing's forkserver), which loads the grader and the graded suite
once and then grades submission after submission, each with a new student worker. A submission that hangs or
crashes its job costs one autograder error, never the batch: the job is ended and a new one takes its place.
Results are kept per submission as they finish, with a fingerprint of what graded them, so an interrupted or
repeated run grades only what is new.
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
import threading
import time
import zipfile
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

from .. import __version__, sandbox
from ..config import DEFAULT_CONFIG, PROJECT_ROOT, load_config
from ..errors import GraderError
from ..sandbox import policy, processes, scratch
from ..sandbox.isolation import view
from . import batch_job
from .discovery import unzip
from .report import ERROR, GRADED, Entry
from .writable import check_folder

METADATA = "submission_metadata.yml"
RESULTS, FINGERPRINT, LOG = "results.json", "fingerprint.json", "grader.log"
_START_SECONDS = 300.0  # for a job to load the grader and collect the suite before its first submission
DEFAULT_TIMEOUT = 300.0  # seconds for one submission: generous, since the grader's own limits stop student code
MISSING_EXTRAS = ("batch needs the instructor extras ({missing} is missing): run bin/ensure-venv in the project "
                  "(it installs them into .venv), or pip install -r requirements-instructor.txt")
_IGNORED = ("__MACOSX",)
# What the fork server imports once, so that every grading job starts with it loaded. Nothing secret: each job
# forks its zygote, the clean parent of its student workers, before it loads the reference, tests or
# configuration (policy.can_fork), so the reference, grading and diagnosis modules are imported there, afterwards.
_PRELOAD = ["numpy", "pytest", "_pytest.python", "_pytest.fixtures", "_pytest.helpconfig", "_pytest.skipping",
            "_pytest._argcomplete", "readline", "gradescope_utils.autograder_utils.decorators",
            "backprop_grader.frontends.batch_job"]


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
    started = time.monotonic()
    scratch.remove_abandoned()  # copies of student code that a batch killed outright left behind
    _stop_on_signals()
    unpacked = scratch.make("batch")
    try:
        root = _input_root(args.input.resolve(), unpacked)
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
    print(f"{len(done)} of {_count(len(batch.submissions), 'submission')} graded ({batch.skipped} kept from an "
          f"earlier run, {_count(errors, 'autograder error')}) in {context['wall_seconds']:.1f} s with "
          f"{_count(batch.jobs, 'job')}.\n"
          f"Grades: {shown(batch.out / report.CSV_NAME)}\nReport: {shown(batch.out / report.REPORT_NAME)}\n"
          f"Pages: {shown(batch.out / report.INDEX_PAGE)}")
    if interrupted:
        print(f"Interrupted: {_count(len(pending), 'submission')} not graded (listed in grades.csv as "
              f"\"{report.NOT_GRADED}\"): run the same command again to grade the rest.", file=sys.stderr)


def metadata_warnings(submissions: dict, students: dict) -> list[str]:
    """A warning (Markdown, names escaped) for each submission folder the export's metadata does not list, and
    each entry of the metadata with no folder; printed on the console and kept for report.md."""
    from ..markup import escape

    warnings = [f"the folder {escape(name, code=True)} has no entry in {METADATA}: graded without a student name"
                for name in submissions if name not in students]
    warnings += [f"{METADATA} lists {escape(name, code=True)}, but the export has no such folder: not graded"
                 for name in students if name not in submissions]
    for warning in warnings:
        print(f"batch: warning: {warning}", file=sys.stderr)
    return warnings


def _count(number: int, noun: str) -> str:
    """'1 job', '2 jobs'."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


# ---------------------------------------------------------------------------------------------------------------
# The input: where the submissions are, and who submitted them
# ---------------------------------------------------------------------------------------------------------------

def _input_root(path: Path, scratch: Path) -> Path:
    """The folder that holds the submissions: a zip is unpacked first, and a lone wrapping folder is entered."""
    if not path.exists():
        raise GraderError(f"the input {path} does not exist")
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise GraderError(f"the input {path} is neither a folder nor a zip")
        unzip(path, scratch / "input")
        path = scratch / "input"
    for _ in range(3):  # e.g. export.zip -> assignment_123_export/ -> submission_*/
        children = _visible(path)
        if (path / METADATA).is_file() or len(children) != 1 or not children[0].is_dir():
            break
        inner = children[0]
        if not (inner / METADATA).is_file() and not any(c.is_dir() for c in _visible(inner)):
            break  # the one child is itself a submission
        path = inner
    return path


def find_submissions(root: Path, *, exclude: Path | None = None) -> dict[str, Path]:
    """Submission id -> its folder or zip: every visible sub-folder and zip of the root, by name."""
    found = {}
    for child in _visible(root):
        if exclude is not None and child.resolve() == exclude:
            continue
        if child.is_dir():
            found[child.name] = child
        elif child.suffix.lower() == ".zip":
            found[child.stem] = child
    return dict(sorted(found.items()))


def read_metadata(path: Path) -> dict[str, list[dict]]:
    """Submission folder name -> its submitters ({"name", "email", "sid"}) from Gradescope's metadata file."""
    import yaml

    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_tolerant_loader())  # a SafeLoader subclass
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise GraderError(f"cannot read {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise GraderError(f"{path} is not a Gradescope submission_metadata.yml: expected a mapping of submissions")
    return {str(key): _submitters(value) for key, value in raw.items()}


def _submitters(record) -> list[dict]:
    """The submitters of one record, whether its keys are Ruby symbols (":name") or plain ("name")."""
    record = _plain_keys(record) if isinstance(record, dict) else {}
    people = record.get("submitters") or []
    return [{k: str(v) for k, v in _plain_keys(p).items() if k in ("name", "email", "sid") and v is not None}
            for p in people if isinstance(p, dict)]


def _plain_keys(mapping: dict) -> dict:
    return {str(k).lstrip(":"): v for k, v in mapping.items()}


def _tolerant_loader():
    """A SafeLoader that reads Ruby-tagged values (`!ruby/object:...`) as plain data instead of refusing them."""
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader plus: any unknown tag is read as the plain mapping, list or string it tags."""

    def plain(loader, _suffix, node):
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", plain)
    Loader.add_multi_constructor("tag:", plain)
    return Loader


def _visible(folder: Path) -> list[Path]:
    return sorted(c for c in folder.iterdir() if not c.name.startswith(".") and c.name not in _IGNORED)


# ---------------------------------------------------------------------------------------------------------------
# Grading: one job per core, each grading one submission after another
# ---------------------------------------------------------------------------------------------------------------

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
        self._config_hash = _sha256(config_path.read_bytes())
        self._running: dict[str, _Job] = {}
        self._idle: list[_Job] = []
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(_PRELOAD)
        with _server_environment():
            multiprocessing.forkserver.ensure_running()
        processes.become_subreaper()  # see _end_orphans
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
            print(f"Keeping {_count(self.skipped, 'submission')} graded earlier under this configuration and "
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
        workers they leave, re-parented to us, are ended next (_end_orphans)."""
        with self._lock:
            running = list(self._running.values()) + self._idle
            self._idle = []
        for job in running:
            job.kill()
        for job in running:
            job.end()

    def _end_orphans(self) -> None:
        """End what a job that was ended left running (see _end_orphans), sparing the jobs alive."""
        with self._lock:
            live = {job.process.pid for job in [*self._running.values(), *self._idle]}
        _end_orphans(live)

    def _close_idle(self) -> None:
        """Let the idle jobs end their pytest sessions and leave."""
        with self._lock:
            idle, self._idle = self._idle, []
        for job in idle:
            job.close()


class _Job:
    """A grading job (batch_job.serve, in a process from the fork server) and our end of its connection."""

    def __init__(self, context, config_path: Path, packages: tuple = ()):
        self.connection, theirs = context.Pipe()
        lifeline, self._lifeline = context.Pipe(duplex=False)  # we only hold it: it closes when we die
        self.process = context.Process(target=batch_job.serve, args=(theirs, str(config_path), lifeline, packages))
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


def _keep_private(out: Path) -> None:
    """As root, the out folder is its owner's only: student code runs as the sandbox user, who could otherwise
    read the results (hidden tests included) and logs of the submissions graded before its own."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chmod(out, 0o700)


def _end_orphans(live_jobs: set[int]) -> None:
    """End what jobs killed outright (after a time-out, or by the OOM killer) left running: their students'
    background processes, which we adopt (a subreaper; see Batch.__init__). They are the children of ours in
    another session than ours, but for live jobs (ours only if the fork server died): whatever we start
    ourselves (the fork server, the resource tracker, a font-cache helper) stays in our session and is left
    alone, and only the orphans' exit statuses are collected."""
    ours = os.getsid(0)
    for _ in range(100):
        orphans = [pid for pid in processes.children_of(os.getpid(), zombies=True)
                   if pid not in live_jobs and _session(pid) not in (ours, None)]
        if not orphans:
            return
        for pid in orphans:
            for victim in [pid, *processes.descendants(pid)]:
                try:
                    os.kill(victim, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        time.sleep(0.001)


def _session(pid: int) -> int | None:
    """The session of a process, or None when it has gone."""
    try:
        return os.getsid(pid)
    except ProcessLookupError:
        return None


@contextlib.contextmanager
def _server_environment():
    """Meanwhile, policy.FORK_SERVER_ENVIRONMENT is our whole environment: whenever multiprocessing starts its
    fork server (first, or again after it died), the server keeps the environment it is started with, and workers
    forked below it would carry it in their memory and in /proc/self/environ, so it must not be the instructor's."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(policy.FORK_SERVER_ENVIRONMENT, TMPDIR=saved.get("TMPDIR", "/tmp"))
    if view.OFF_SWITCH in saved:  # the jobs' workers are confined as the instructor asked (a container's way)
        os.environ[view.OFF_SWITCH] = saved[view.OFF_SWITCH]
    try:
        yield
    finally:
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


def content_hash(path: Path) -> str:
    """A hash of a submission's files (names and bytes), or of a zip's bytes: its identity across runs."""
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(path.read_bytes())
        return digest.hexdigest()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(_sha256(file.read_bytes()).encode())
    return digest.hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_json(path: Path):
    """A JSON file's content, or None when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _looks_like_results(document) -> bool:
    return isinstance(document, dict) and isinstance(document.get("tests"), list) and "score" in document
