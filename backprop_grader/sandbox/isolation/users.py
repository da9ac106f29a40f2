"""The sandbox users: one per grading run at a time, so that concurrent runs never share one.

Two gradings on one machine (simulate beside the test suite, two instructors, batch's parallel jobs) must not run
student code as the same user: one student's code could then signal, read or rewrite the other's worker and files.
A run claims a user from the pool backprop-student, backprop-student-2, ... by taking an exclusive lock on a file
named for it in a folder that only root can write; the lock lasts as long as the run's process (the kernel drops
it however the process ends). A user missing from the machine is created as setup.sh creates the first one.
Claiming a user also ends what an earlier run, killed outright, left running as that user, removes its IPC
objects and its files from the folders anyone may write, and checks that nothing of it remains: a user is never
handed to another submission while something of its last one may still run or wait there. That search (all of
/proc, every folder anyone may write) is skipped only when the last run that held the user vouched, at its clean
end, that every worker it ran as the user was sealed (the first process of a PID namespace of its own, with a
view and IPC of its own) and had ended: nothing of such a worker can outlive it (vouch()).
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ...errors import GraderError
from ..processes import processes_of

BASE_NAME = "backprop-student"
POOL_SIZE = 64  # more concurrent gradings than this on one machine is a mistake, not a load
_LOCKS = Path("/run/backprop-grader") if Path("/run").is_dir() else Path("/var/lock/backprop-grader")
# The folders anyone may write to, where a worker without a view of its own could leave files (nested too).
SHARED_TEMPORARY = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")
_IPC = {"shm": (7, 9), "msg": (7, 9), "sem": (4, 6)}  # /proc/sysvipc/<kind>: the columns of uid and cuid
_ENDING_SECONDS = 10.0  # a user whose processes do not all end within this time is not handed out again
_HELD: dict[str, int] = {}  # user name -> the descriptor whose lock this process holds
_UIDS: dict[str, int] = {}  # user name -> its uid, for the users held
_DOUBTED: set[int] = set()  # uids a worker of ours ran as without being sealed: never vouched for
_VOUCHER = b"sealed and ended\n"  # a lock file's content when its last holder vouched for the user (vouch())


@dataclass(frozen=True)
class SandboxUser:
    """A claimed user: its name, uid and gid."""

    name: str
    uid: int
    gid: int

    @property
    def identity(self) -> tuple[int, int]:
        return self.uid, self.gid


def pool_names(count: int = POOL_SIZE) -> list[str]:
    """backprop-student, backprop-student-2, ..."""
    return [BASE_NAME] + [f"{BASE_NAME}-{n}" for n in range(2, count + 1)]


def claim(*, skip: tuple[str, ...] = ()) -> SandboxUser:
    """Claim a user of the pool that no other run holds, creating it if missing (root only).
    GraderError when none can be had: student code then does not run at all, never as root."""
    if os.geteuid() != 0:
        raise GraderError("sandbox users can only be claimed by root")
    folder = _lock_folder()
    problems = []
    for name in pool_names():
        if name in skip or name in _HELD:
            continue
        fd = lock_file(name, folder)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            entry = _existing_or_created(name)
        except GraderError as exc:
            os.close(fd)
            problems.append(str(exc))
            break
        user = SandboxUser(name, entry.pw_uid, entry.pw_gid)
        if not _take_voucher(fd) and not clear_leftovers(user):
            os.close(fd)
            problems.append(f"what an earlier run left as {name} could not be ended")
            continue
        _HELD[name], _UIDS[name] = fd, user.uid
        return user
    raise GraderError("no sandbox user could be claimed for student code, which never runs as root"
                      + (f": {problems[0]}" if problems else f" (all {POOL_SIZE} are in use)"))


def lock_file(name: str, folder: Path | None = None) -> int:
    """An open descriptor of the user's lock file (root's folder), to flock: who holds its lock uses the user."""
    folder = folder or _lock_folder()
    return os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)


def release(user: SandboxUser) -> None:
    """Give the user back to the pool (a batch job's end); the process's exit does the same."""
    fd = _HELD.pop(user.name, None)
    _UIDS.pop(user.name, None)
    if fd is not None:
        os.close(fd)


def doubt(uid: int) -> None:
    """A worker ran as uid without being sealed: this run will not vouch for the user (the next claim searches)."""
    _DOUBTED.add(uid)


def vouch() -> list[str]:
    """At a run's clean end, once every worker it started has ended (the caller's to know): mark each user held
    whose workers were all sealed, so that the next run to claim it need not search for what they left. The
    names vouched for. A run that ends otherwise (killed, crashed) vouches for nothing: its users' lock files
    were emptied when it claimed them, and the next claim searches."""
    vouched = []
    for name, fd in _HELD.items():
        if _UIDS.get(name) not in _DOUBTED:
            os.pwrite(fd, _VOUCHER, 0)
            vouched.append(name)
    return vouched


def _take_voucher(fd: int) -> bool:
    """Whether the lock file (just locked) holds its last holder's voucher; it is emptied either way, before any
    worker of ours runs as the user, so that only this run's own clean end can vouch again."""
    vouched = os.pread(fd, len(_VOUCHER) + 1, 0) == _VOUCHER
    os.ftruncate(fd, 0)
    return vouched


def clear_leftovers(user: SandboxUser, *, keep: tuple = ()) -> bool:
    """End every process of the user, remove its IPC objects and its files from the folders anyone may write
    (but those in keep); True when nothing of it is left running."""
    ended = end_processes_of(user)
    remove_ipc_of(user.uid)
    remove_files_of(user.uid, keep=keep)
    return ended


def end_processes_of(user: SandboxUser) -> bool:
    """End every process that runs as the user, whatever state it shows, until /proc lists none; True then.

    The killing is done by a helper that has become the user: kill(-1) from it reaches every process of the
    user and nothing else, in every PID namespace below ours, without a scan that a process could slip through
    (one that forks as it is found, or whose leader looks like a zombie while its threads run)."""
    deadline = time.monotonic() + _ENDING_SECONDS
    while processes_of(user.uid):
        if time.monotonic() > deadline:
            print(f"processes of {user.name or user.uid} did not end: {processes_of(user.uid)}", file=sys.stderr)
            return False
        _kill_everything_as(user.uid, user.gid)
    return True


def _kill_everything_as(uid: int, gid: int) -> None:
    """SIGKILL every process of uid, from a child that has become uid (only its own processes are reachable)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            for _ in range(3):
                os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    time.sleep(0.001)  # the kernel finishes the killed processes' exit


def remove_ipc_of(uid: int) -> list[str]:
    """Remove the System V shared memory segments, message queues and semaphores the user owns or made (where
    the worker had no IPC namespace of its own, they outlive it); what was removed, as "shm 123"."""
    removed = []
    libc = ctypes.CDLL(None, use_errno=True)
    remove = {"shm": lambda i: libc.shmctl(i, 0, None), "msg": lambda i: libc.msgctl(i, 0, None),
              "sem": lambda i: libc.semctl(i, 0, 0)}  # IPC_RMID is 0
    for kind, (uid_column, creator_column) in _IPC.items():
        try:
            rows = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > creator_column and str(uid) in (fields[uid_column], fields[creator_column]):
                if remove[kind](int(fields[1])) == 0:
                    removed.append(f"{kind} {fields[1]}")
    return removed


def remove_files_of(uid: int, *, keep: tuple = ()) -> list[str]:
    """Remove what uid owns in the folders anyone may write and in those below them that anyone may write too,
    however deep (never following a link, never in keep); the paths removed. A folder of uid's own goes whole.
    Only folders that anyone may write are searched, since uid could leave nothing elsewhere: searching every
    folder others may merely enter would read whole virtual environments left in /tmp, for each worker."""
    removed: list[str] = []
    for folder in SHARED_TEMPORARY:
        _remove_below(folder, uid, {str(k) for k in keep}, removed, depth=0)
    return removed


def _remove_below(folder: str, uid: int, keep: set, removed: list, depth: int) -> None:
    """remove_files_of in one folder, and in the folders below it that anyone may write."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.path in keep:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if info.st_uid == uid:
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(entry.path)  # safe against links swapped in while it runs (rmtree's fd walk)
                else:
                    os.unlink(entry.path)
                removed.append(entry.path)
            elif stat.S_ISDIR(info.st_mode) and info.st_mode & 0o003 == 0o003 and depth < 32:
                _remove_below(entry.path, uid, keep, removed, depth + 1)
        except OSError:
            continue


def _lock_folder() -> Path:
    """The folder of the pool's lock files: root's, and no one else may write it (or plant a link in it)."""
    _LOCKS.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(_LOCKS)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
        raise GraderError(f"{_LOCKS} must be a folder owned by root that only root can write")
    return _LOCKS


def _existing_or_created(name: str) -> pwd.struct_passwd:
    """The user's entry, after creating it as setup.sh does when it is missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if useradd is None:
        raise GraderError(f"the user {name} is missing and useradd is not available to create it")
    done = subprocess.run([useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                           "/usr/sbin/nologin", name], capture_output=True, text=True, check=False)
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise GraderError(f"the user {name} could not be created: {done.stderr.strip()[:200]}") from None
