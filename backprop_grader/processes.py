"""Processes below the grader: forking a child safely, adopting orphans, and ending every leftover by ancestry.

The grader is a child subreaper, so that whatever a worker starts and abandons (setsid, double fork) is re-parented
to it and can still be found and killed; processes are found by ancestry in /proc, never by user, so that graders
running side by side never touch each other's workers. batch's jobs also spare their zygote (zygote.py).
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
import time
import traceback
from pathlib import Path

_SPARED: set[int] = set()  # our children that are not workers' leftovers (a zygote): never killed as such


def spare(pid: int) -> None:
    """Leave this child of ours alone when ending the workers' leftovers (it is a zygote, not a leftover)."""
    _SPARED.add(pid)


def unspare(pid: int) -> None:
    """That child has gone: its pid, once reused, is nobody to spare."""
    _SPARED.discard(pid)


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

    @classmethod
    def start(cls, become) -> Forked:
        """Fork; the child runs become() (see fork_child)."""
        return cls(fork_child(become))

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
    """SIGKILL the worker's session group."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def processes_of(uid: int) -> list[int]:
    """Pids of the living processes owned by uid (zombies excluded)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if fields.get("Uid", "").split()[:1] == [str(uid)] and not fields.get("State", "").strip().startswith("Z"):
                pids.append(int(entry.name))
    return pids


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


def kill_all(pids: list[int]) -> None:
    """SIGKILL each of these processes (those already gone are no error)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _process_tree() -> tuple[dict[int, list[int]], set[int]]:
    """Parent pid -> child pids, and the zombies, from one scan of /proc."""
    children: dict[int, list[int]] = {}
    zombies = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            if fields[0] in ("Z", "X"):
                zombies.add(int(entry.name))
    return children, zombies


def children_of(parent: int, *, zombies: bool = False) -> list[int]:
    """The living children of a process (and those that died and wait to be collected, with zombies)."""
    children, dead = _process_tree()
    return [pid for pid in children.get(parent, []) if zombies or pid not in dead]


def descendants(ancestor: int) -> list[int]:
    """Living (non-zombie) descendants of a process, but those spared (and theirs), from one scan of /proc."""
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
