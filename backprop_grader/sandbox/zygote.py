"""A clean process that forks student workers for a grader that already holds secrets (batch's grading jobs).

A worker forked straight from a grader gets a copy of the grader's memory, so grade() forks before it reads the
configuration, the reference or the tests, and only once. A batch job grades submission after submission in one
process, with all of that loaded, so it starts a zygote first: a fork of itself taken while it still held
nothing secret, which from then on only forks workers. The job sends it the worker's settings and descriptors
(its pipes and its log) over a Unix socket; the zygote forks twice, so the worker is orphaned at once and adopted
by the job (a child subreaper): the job can then wait for it and kill it like any worker of its own. A zygote
can also fork a zygote, which imports the heavy packages students may use (matplotlib, scipy) before it forks any
worker: batch's jobs ask their bare zygote for one when a submission first needs it.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

from .. import cache_files
from . import client, confinement, import_guard, processes, shadowing
from .confinement import Limits

_MESSAGE = 1 << 16  # bytes: the settings of one worker are far smaller
_ANSWER_SECONDS = 30.0  # a fork takes milliseconds; a zygote that does not answer in this time is given up
# What the zygote imports of an allowed package before it forks any worker, so that a submission that plots or
# uses scipy does not import it again in each of its two workers (matplotlib's pyplot costs about half a second
# of CPU, scipy.special a quarter): the parts students use, none of which starts a thread.
WARMED = {"matplotlib": ("matplotlib", "matplotlib.pyplot"), "scipy": ("scipy", "scipy.special")}


class Zygote:
    """The job's end of a zygote: fork_worker() returns the pid of a new worker, a child of the caller."""

    def __init__(self, pid: int, channel: socket.socket):
        self.pid, self._channel = pid, channel

    @classmethod
    def start(cls, packages: tuple = ()) -> Zygote:
        """Fork the zygote now. Call it only while this process holds nothing secret (sandbox/policy.py). It imports
        what WARMED lists of `packages` (those students may import) before it forks the first worker."""
        processes.become_subreaper()  # the workers, orphaned by the zygote's second fork, are adopted by us
        fresh = shadowing.fresh_modules(client.WORKER_SOURCE)  # measured here, once, if not kept yet
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                ours.close()
                warm(packages)
                _serve(theirs, fresh)
                code = 0
            finally:
                os._exit(code)
        theirs.close()
        ours.settimeout(_ANSWER_SECONDS)
        processes.spare(pid)  # not a worker's leftover: kill_descendants leaves it alone
        return cls(pid, ours)

    def fork_worker(self, fds: tuple[int, int, int], workdir: Path, program: Path, identity, limits: Limits,
                    forbidden: tuple, mountpoint: Path) -> tuple[int, bool]:
        """A new worker (requests read end, replies write end, log) that runs `program`, its view mounted on
        mountpoint; OSError if the zygote is gone. Its pid, once it is our child, and whether it is the first
        process of a PID namespace of its own."""
        settings = {"workdir": str(workdir), "program": str(program), "identity": identity,
                    "limits": limits.__dict__, "forbidden": list(forbidden), "mountpoint": str(mountpoint)}
        socket.send_fds(self._channel, [json.dumps(settings).encode()], list(fds))
        answer = self._channel.recv(64).split()
        if len(answer) != 2 or not all(part.isdigit() for part in answer):
            raise OSError(f"the zygote could not fork a worker: {b' '.join(answer)[:64]!r}")
        return int(answer[0]), answer[1] == b"1"

    def fork_zygote(self, packages: tuple) -> Zygote:
        """A new zygote forked from this one, a clean copy at any time, that imports what WARMED lists of `packages`
        before it forks workers; like a worker, a child of the caller. batch's jobs make their warm zygote so, when
        a submission first needs it: a class that neither plots nor uses scipy never pays for the imports. OSError
        if this zygote is gone."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            socket.send_fds(self._channel, [json.dumps({"warm": list(packages)}).encode()], [theirs.fileno()])
        finally:
            theirs.close()
        answer = self._channel.recv(64).split()
        if len(answer) != 2 or not answer[0].isdigit():
            ours.close()
            raise OSError(f"the zygote could not fork a zygote: {b' '.join(answer)[:64]!r}")
        ours.settimeout(_ANSWER_SECONDS)
        processes.spare(int(answer[0]))  # not a worker's leftover: kill_descendants leaves it alone
        return Zygote(int(answer[0]), ours)

    def close(self) -> None:
        """End the zygote: it leaves when its socket closes (it is killed if it does not)."""
        self._channel.close()
        deadline = time.monotonic() + _ANSWER_SECONDS
        try:
            while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
                if time.monotonic() > deadline:
                    os.kill(self.pid, signal.SIGKILL)
                time.sleep(0.001)
        except ChildProcessError:
            pass
        processes.unspare(self.pid)


def warm(packages: tuple) -> None:
    """Import WARMED's modules of these packages, as a worker's would be imported: headless matplotlib, its
    configuration and font list in the grader's cache folder (built once, read by later runs), from a folder that
    holds no matplotlibrc. The workers forked from this process keep what this loaded (import_guard.PRELOADED);
    what cannot be imported is left to the worker, which then fails as it would have. The environment and the
    current folder are as they were afterwards (matplotlib has read what it needs), so that a grader may still
    fork its workers (policy.can_fork)."""
    before, saved = set(sys.modules), dict(os.environ)
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["MPLCONFIGDIR"] = str(cache_files.CACHE_DIR / "matplotlib")
    here = os.getcwd()
    os.chdir("/")
    try:
        for package in packages:
            for module in WARMED.get(package, ()):
                try:
                    importlib.import_module(module)
                except Exception:  # noqa: BLE001 (a broken install: the worker's own import says what is wrong)
                    break
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)
    import_guard.PRELOADED = import_guard.PRELOADED | (frozenset(sys.modules) - before)


def _serve(channel: socket.socket, fresh: frozenset | None) -> None:
    """The zygote's loop: fork a worker per message until the job closes the socket."""
    confinement.prepare_confinement()  # worked out once here, inherited by every worker
    gc.freeze()  # Python's advice for a process that forks: its objects stay out of the collector's passes, whose
    # writes would copy their pages into every worker (two per submission since the hidden phase has its own)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    processes.close_all_but((channel.fileno(),))
    while True:
        message, fds, _, _ = socket.recv_fds(channel, _MESSAGE, 3)
        if not message:
            return
        try:
            settings = json.loads(message)
            if "warm" in settings:
                pid, namespaced = _fork_zygote(tuple(settings["warm"]), fds, fresh), False
            else:
                pid, namespaced = _fork_worker(settings, fds, fresh)
            channel.send(f"{pid} {int(namespaced)}".encode())
        except (OSError, ValueError, KeyError, TypeError) as exc:
            channel.send(f"error: {exc}".encode()[:64])
        finally:
            for fd in fds:
                os.close(fd)


def _fork_zygote(packages: tuple, fds: list[int], fresh: frozenset | None) -> int:
    """Fork a child that forks a zygote serving on the one socket sent, and leaves at once: the zygote's pid,
    once its parent has gone (it is then the job's child, as a worker is)."""
    if len(fds) != 1:
        raise ValueError(f"expected 1 descriptor, got {len(fds)}")
    channel = fds[0]

    def become_zygote():
        processes.close_all_but((channel,))  # nothing of the zygote it was forked from: its socket to the job
        warm(packages)
        _serve(socket.socket(fileno=channel), fresh)

    return _handed_over(lambda: (processes.fork_child(become_zygote), False))[0]


def _fork_worker(settings: dict, fds: list[int], fresh: frozenset | None) -> tuple[int, bool]:
    """Fork a child that forks the worker, into a PID namespace of its own where allowed, and leaves at once;
    the worker's pid, once its parent has gone, and whether it has that namespace."""
    if len(fds) != 3:
        raise ValueError(f"expected 3 descriptors, got {len(fds)}")
    fd_in, fd_out, log = fds
    identity = tuple(settings["identity"]) if settings["identity"] else None
    limits = Limits(**settings["limits"])

    def fork_worker():
        with processes.own_pid_namespace() as namespaced:  # the middle leaves next: no need to set it back
            worker = processes.fork_child(lambda: confinement.become_worker(
                fd_in, fd_out, Path(settings["workdir"]), log, Path(settings["program"]), identity, limits,
                tuple(settings["forbidden"]), fresh, Path(settings["mountpoint"])))
        return worker, namespaced

    return _handed_over(fork_worker)


def _handed_over(fork) -> tuple[int, bool]:
    """Run fork() -> (pid, namespaced) in a child that leaves at once, so that the process it forked is orphaned
    and adopted by the job (a child subreaper); what fork() returned, once that has happened."""
    read_end, write_end = os.pipe()
    middle = os.fork()
    if middle == 0:
        code = 70
        try:  # whatever fails, the middle leaves here: it must never go on as a second zygote
            os.close(read_end)
            pid, namespaced = fork()
            os.write(write_end, f"{pid} {int(namespaced)}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read().split()
    os.waitpid(middle, 0)  # once it is reaped, the process has been handed to the job (the subreaper)
    if len(answer) != 2 or not answer[0].isdigit():
        raise OSError("the fork failed")
    return int(answer[0]), answer[1] == b"1"
