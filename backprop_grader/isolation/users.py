"""The sandbox users: one per grading run at a time, so that concurrent runs never share one.

Two gradings on one machine (simulate beside the test suite, two instructors, batch's parallel jobs) must not run
student code as the same user: one student's code could then signal, read or rewrite the other's worker and files.
A run claims a user from the pool backprop-student, backprop-student-2, ... by taking an exclusive lock on a file
named for it in a folder that only root can write; the lock lasts as long as the run's process (the kernel drops
it however the process ends). A user missing from the machine is created as setup.sh creates the first one.
Claiming a user also ends what an earlier run, killed outright, left running as that user, and removes its files
from the shared temporary folders.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import GraderError
from ..processes import kill_all, processes_of

BASE_NAME = "backprop-student"
POOL_SIZE = 64  # more concurrent gradings than this on one machine is a mistake, not a load
_LOCKS = Path("/run/backprop-grader") if Path("/run").is_dir() else Path("/var/lock/backprop-grader")
SHARED_TEMPORARY = ("/tmp", "/var/tmp", "/dev/shm")
_HELD: dict[str, int] = {}  # user name -> the descriptor whose lock this process holds


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
        fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
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
        _HELD[name] = fd
        user = SandboxUser(name, entry.pw_uid, entry.pw_gid)
        clear_leftovers(user)
        return user
    raise GraderError("no sandbox user could be claimed for student code, which never runs as root"
                      + (f": {problems[0]}" if problems else f" (all {POOL_SIZE} are in use)"))


def release(user: SandboxUser) -> None:
    """Give the user back to the pool (a batch job's end); the process's exit does the same."""
    fd = _HELD.pop(user.name, None)
    if fd is not None:
        os.close(fd)


def clear_leftovers(user: SandboxUser) -> None:
    """End every process of the user and remove its files from the shared temporary folders."""
    for _ in range(50):
        alive = processes_of(user.uid)
        if not alive:
            break
        kill_all(alive)
    remove_files_of(user.uid)


def remove_files_of(uid: int) -> list[str]:
    """Remove what uid owns at the top of the shared temporary folders (never following a link); the names."""
    removed = []
    for folder in SHARED_TEMPORARY:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
                if info.st_uid != uid:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(entry.path)  # safe against links swapped in while it runs (rmtree's fd walk)
                else:
                    os.unlink(entry.path)
                removed.append(entry.path)
            except OSError:
                continue
    return removed


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
