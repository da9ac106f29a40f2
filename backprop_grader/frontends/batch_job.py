"""A grading job of `batch`: one long-lived process that grades submission after submission in one pytest session.

batch starts a job per core from its fork server (numpy and pytest loaded, a clean environment). The job first
starts its zygote, while it still holds nothing secret, so that every student worker is forked from a clean copy
(zygote.py); when a submission first uses matplotlib or scipy, that zygote forks a warm one (those imported) for
the submissions that use them. Only then does the job read the configuration, load the reference, draw the
networks and collect the graded suite, once. For each submission batch sends, it runs the collected tests again,
the way pytest-xdist's workers do: a new Grading with a new worker, the networks and their reference results
shared, and that submission's results.json written as grade() writes it. A submission then costs its tests and
its worker, not a process, an import of the grader and a pytest session of its own.

Nothing here may import the reference or the modules that use it at module level: the fork server imports this
module, and the zygotes are forked from the job.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path

import pytest

from .. import sandbox
from ..sandbox import Limits, claim_identity, policy, scratch
from ..sandbox.zygote import WARMED, Zygote
from . import grade
from .discovery import Caps
from .plugin import GradescopePlugin


def serve(connection, config_path: str, lifeline=None, packages: tuple = ()) -> None:
    """A job's life: its zygote, then one pytest session grading each submission sent until None arrives.
    `packages`: those students may import (a warm zygote imports the heavy ones, once for all the workers of the
    submissions that use them). As root, its student code runs as a sandbox user that it claims for itself: no
    other job or grading running on the machine at the same time uses it."""
    os.setsid()  # its own process group: a time-out ends the job and its zygotes together
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    zygote = Zygote.start(()) if policy.can_fork() else None  # else each worker is a fresh Python
    if lifeline is not None:
        _leave_with_the_batch(lifeline)  # a thread: only once the zygote is forked (it must be forked alone)
    loop = None
    try:
        from ..config import load_config

        config = load_config(config_path)
        loop = SubmissionLoop(connection, config, zygote, claim_identity(), announce=lifeline is not None,
                              packages=packages)
        pytest.main(grade.pytest_arguments(), plugins=[loop.plugin, loop])
    finally:
        for each in loop.zygotes if loop else [zygote] if zygote else []:
            each.close()
        sandbox.vouch_for_users()  # the next job or grading to claim our user may skip its search, if all were sealed


def _leave_with_the_batch(lifeline) -> None:
    """If batch is killed outright, our end of its lifeline (a pipe that it alone holds open) reads end-of-file:
    a watching thread then ends our workers with all they started, removes our copies of student code, and
    leaves. Nothing of a student outlives the batch, however it ends. (Not the parent-death signal: our parent
    is the fork server, which lives on while any job holds its own lifeline open.)"""
    def watch():
        try:
            lifeline.recv()
        except (EOFError, OSError):
            pass
        sandbox.end_all_workers()
        scratch.remove_all()
        os._exit(143)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


class SubmissionLoop:
    """The job's pytest plugin: its test loop runs the collected tests once per submission received."""

    def __init__(self, connection, config, zygote: Zygote | None, identity, *, announce: bool = False,
                 packages: tuple = ()):
        from ..maths import cache
        from ..maths.grading import Grading

        self.connection, self.config = connection, config
        self.zygotes = [zygote] if zygote else []  # [bare], [bare, warm] once a submission needed it, or []
        self.warmed = tuple(p for p in packages if p in WARMED)  # what a warm zygote would import
        self.identity, self.announce = identity, announce
        self.plugin = GradescopePlugin(configuration=config)
        self.unsound = False  # a pass over the tests broke off: pytest's state can no longer be trusted
        self.shared = Grading(config, None, None)  # the networks and their reference results, for every submission
        cache.prepare(self.shared)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        """Grade each submission sent (submission, results path, log path), answering "done", or "retiring" when
        the job must not grade another (then it ends); None, or batch going away, ends the session. For batch,
        "ready" first: a submission's time limit runs from then, not from the job's own start."""
        if self.announce:
            self.connection.send("ready")
        while True:
            try:
                job = self.connection.recv()
            except EOFError:
                return True
            if job is None:
                return True
            self._grade_one(session, *(Path(p) for p in job))
            if self.unsound:
                self.connection.send("retiring")
                return True
            self.connection.send("done")

    def _grade_one(self, session, submission: Path, results_path: Path, log: Path) -> None:
        """Grade one submission into its results.json, what the job prints going to its log."""
        with _output_to(log):
            grade.guarded(submission, results_path, lambda found: self._grade(session, found, submission),
                          lambda: Caps(**self.config.submission))

    def _grade(self, session, found, submission: Path) -> dict:
        """One submission's results document, as grade makes it (grade.grade_found): its workers from a zygote
        (the warm one when its code uses what that imported), then every collected test in turn."""
        submitter = grade.announce(submission)
        zygote = self._zygote_for(found)
        started = grade.start_worker(found, self.identity, Limits(**self.config.limits),
                                     self.config.forbidden_imports, zygote=zygote)
        if started.worker is not None and started.worker.zygote is None and zygote is not None:
            for failed in self.zygotes:  # it failed to fork: every later worker starts as a fresh Python
                failed.close()
            self.zygotes, zygote = [], None
        return grade.grade_found(found, self.config, self.identity, submitter,
                                 lambda grading, notes, extra: self._run_tests(session, grading, notes, extra),
                                 started=started, zygote=zygote)

    def _zygote_for(self, found) -> Zygote | None:
        """The warm zygote for a submission that uses what it imports (forked from the bare one the first time),
        else the bare one (None: no zygote). Forking from the warm one costs about 40 ms more CPU per submission (a
        larger process to copy and end, twice), which pays only for a submission that uses what it warmed (a
        plotting one saves about 1 s), and warming costs some 700 ms once: a job that grades none never pays it."""
        if not self.zygotes:
            return None
        if not self.warmed or not grade.warmed_named(found):  # (nothing named when there is no file)
            return self.zygotes[0]
        if len(self.zygotes) == 1:
            try:
                self.zygotes.append(self.zygotes[0].fork_zygote(self.warmed))
            except OSError:
                return self.zygotes[0]  # the bare one is gone too, then: the worker's start says so
        return self.zygotes[1]

    def _run_tests(self, session, grading, notes: list[str], extra: dict) -> tuple:
        """Every collected test once, for this submission's Grading (sharing the job's networks): (the plugin,
        no detail)."""
        grading.share_networks(self.shared)
        self.plugin.begin(grading, notes=notes, extra=extra)
        try:
            grading.ask_everything()  # in the order grade asks (the tests then read the replies)
            _run_tests(session.items)
        except BaseException:
            # Broken off mid-pass (a grader fault that escaped pytest): fixtures, capture and setup state may
            # still hold this submission's, so this job grades no other (batch starts a new one).
            self.unsound = True
            raise
        finally:
            self.plugin.finish()
        return self.plugin, ""


def _run_tests(items: list) -> None:
    """Run each test through pytest's whole protocol; the last one tears every fixture down (nextitem None).

    What a test printed is kept on the item (its report sections) and would pile up from one submission to the
    next, so it is cleared first, as pytest-rerunfailures does before it runs a test again.
    """
    for index, item in enumerate(items):
        item._report_sections = []
        following = items[index + 1] if index + 1 < len(items) else None
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)


@contextlib.contextmanager
def _output_to(log: Path):
    """Send what the job prints (and the tracebacks of its faults) to this submission's log meanwhile."""
    sys.stdout.flush(), sys.stderr.flush()
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    saved = os.dup(1), os.dup(2)
    os.dup2(descriptor, 1), os.dup2(descriptor, 2)
    os.close(descriptor)
    try:
        yield
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(saved[0], 1), os.dup2(saved[1], 2)
        os.close(saved[0]), os.close(saved[1])
