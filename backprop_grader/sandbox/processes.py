"""Processes below the grader: forking a child safely, each worker in a PID namespace of its own, and ending
every leftover.

Where the machine allows it (root, and no container that refuses namespaces), every worker is the first process
of a PID namespace of its own: killing it makes the kernel kill everything it started, whatever state that shows
(a process whose main thread left by the raw exit call looks like a zombie in /proc, yet its other threads run).
Elsewhere, leftovers are found by ancestry (the grader is a child subreaper, so whatever a worker abandons is
re-parented to it) and by user (isolation/users.py), and no sweep skips a process for the state it shows.
batch's jobs also spare their zygote (zygote.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from .isolation import namespaces, view

_SPARED: set[int] = set()  # our children that are not workers' leftovers (a zygote): never killed as such


def spare(pid: int) -> None:
    """Leave this child of ours alone when ending the workers' leftovers (it is a zygote, not a leftover)."""
    _SPARED.add(pid)


def unspare(pid: int) -> None:
    """That child has gone: its pid, once reused, is nobody to spare."""
    _SPARED.discard(pid)


@contextlib.contextmanager
def own_pid_namespace():
    """Meanwhile, the next child this thread forks is the first process of a new PID namespace (yields True), when
    the machine allows it (root, outside a container that refuses unshare); else an ordinary child (False).

    unshare(CLONE_NEWPID) changes only the namespace of the caller's future children, so this thread is put back
    into its own afterwards (setns), ready for the next worker's namespace."""
    if os.geteuid() != 0 or os.environ.get(view.OFF_SWITCH) == "off":  # off: as a container that refuses it
        yield False
        return
    own, forker = os.open("/proc/thread-self/ns/pid", os.O_RDONLY | os.O_CLOEXEC), os.getpid()
    try:
        try:
            namespaces.unshare(namespaces.CLONE_NEWPID)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            if os.getpid() == forker:  # never in the child, who is in the new namespace and stays there
                namespaces.setns(own, namespaces.CLONE_NEWPID)
    finally:
        os.close(own)


def become_subreaper() -> None:
    """Adopt orphaned descendants of the worker, so that they can be found and killed (Linux prctl)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def prefer_for_the_oom_killer(pid: int) -> None:
    """If memory runs out anyway, the kernel's OOM killer should pick the worker, never the grader. Written by us,
    the parent: once the worker has become the sandbox user, its /proc files are no longer its own to write."""
    try:
        Path(f"/proc/{pid}/oom_score_adj").write_text("1000")
    except OSError:
        pass


class Forked:
    """A worker started by os.fork, with the part of Popen's interface that Worker uses: pid and wait."""

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    namespaced = False  # whether it is the first process of a PID namespace of its own

    @classmethod
    def start(cls, become) -> Forked:
        """Fork, into a PID namespace of its own where allowed; the child runs become() (see fork_child)."""
        with own_pid_namespace() as namespaced:
            forked = cls(fork_child(become))
        forked.namespaced = namespaced
        return forked

    def wait(self, timeout: float | None = None) -> int:
        """The exit code (negative: killed by that signal), as Popen.wait gives it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if deadline is None else os.WNOHANG)
            except ChildProcessError:  # already collected elsewhere: as Popen, report 0
                pid, status = self.pid, 0
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
            elif time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
            else:
                time.sleep(0.001)
        return self.returncode


def fork_child(become) -> int:
    """Fork and return the child's pid; the child runs become() and always leaves through os._exit, never
    through its parent's code."""
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            become()
            code = 0
        except BaseException:  # nothing may unwind into the grader's code in the child
            traceback.print_exc()
        finally:
            os._exit(code)
    return pid


def close_all_but(keep: tuple[int, ...]) -> None:
    """Close every file descriptor above 2 except those in keep (a forked child inherits all of ours)."""
    low = 3
    for fd in sorted(set(keep)):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def kill_group(pid: int) -> None:
    """SIGKILL the worker and its session group (the worker itself even before it made that group: a worker
    stopped at once may not have reached setsid yet). Where it leads a PID namespace, the kernel then ends
    everything in it."""
    for kill in (os.kill, os.killpg):
        try:
            kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def processes_of(uid: int) -> list[int]:
    """Pids of the processes that run as uid (real, effective or saved), those that show as zombies but still
    have a running thread included; only the truly finished ones, which can do nothing, are left out."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if str(uid) in fields.get("Uid", "").split()[:3] and _running(fields):
                pids.append(int(entry.name))
    return pids


def _running(fields: dict) -> bool:
    """Whether a process (its /proc status fields) still has a thread that runs: a finished one is a zombie with
    its leader alone left; a leader that left by the raw exit call is a zombie too, with its threads still there."""
    zombie = fields.get("State", "").strip()[:1] in ("Z", "X")
    return not zombie or fields.get("Threads", "1").strip() != "1"


def kill_descendants() -> None:
    """SIGKILL every living descendant of the grader, until none is left.

    We are a subreaper, so a worker's child that escaped its session (setsid, double fork) is re-parented to us
    when its parent dies and is still found here. Processes are killed by ancestry, never by user, so that
    graders running side by side (batch) never kill each other's workers.
    """
    for _ in range(100):
        alive = descendants(os.getpid())
        _reap()
        if not alive:
            return
        kill_all(alive)
        time.sleep(0.001)
    print(f"processes {alive} did not end", file=sys.stderr)


def kill_all(pids: list[int]) -> None:
    """SIGKILL each of these processes (those already gone are no error)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def end_orphans(live: set[int]) -> None:
    """End what processes killed outright (a batch job after a time-out, or by the OOM killer) left running:
    their students' background processes, which this process adopts (a subreaper, become_subreaper). They are
    its children in another session than its own, but for the `live` ones: whatever it starts itself (the fork
    server, the resource tracker, a font-cache helper) stays in its session and is left alone, and only the
    orphans' exit statuses are collected."""
    ours = os.getsid(0)
    for _ in range(100):
        orphans = [pid for pid in children_of(os.getpid(), zombies=True)
                   if pid not in live and _session(pid) not in (ours, None)]
        if not orphans:
            return
        for pid in orphans:
            kill_all([pid, *descendants(pid)])
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


def _process_tree() -> tuple[dict[int, list[int]], set[int]]:
    """Parent pid -> child pids, and the finished processes (zombies with no thread left running), from one
    scan of /proc."""
    children: dict[int, list[int]] = {}
    zombies = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            if fields[0] in ("Z", "X") and int(fields[17]) <= 1:  # num_threads: 1 is the dead leader alone
                zombies.add(int(entry.name))
    return children, zombies


def children_of(parent: int, *, zombies: bool = False) -> list[int]:
    """The living children of a process (and those that died and wait to be collected, with zombies)."""
    children, dead = _process_tree()
    return [pid for pid in children.get(parent, []) if zombies or pid not in dead]


def descendants(ancestor: int) -> list[int]:
    """Descendants of a process that still run a thread (a zombie-looking leader whose threads run included), but
    those spared (and theirs), from one scan of /proc."""
    children, zombies = _process_tree()
    found, stack = [], [pid for pid in children.get(ancestor, []) if pid not in _SPARED]
    while stack:
        pid = stack.pop()
        if pid not in zombies:
            found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _reap() -> None:
    """Collect the exit status of finished children, so that they stop being zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        unspare(pid)
