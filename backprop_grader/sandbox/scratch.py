"""Temporary folders that hold copies of student code, and the removal of those that a killed run left behind.

A run that is killed outright (SIGKILL, a closed laptop, a machine out of memory) cannot clean up after itself.
So each such folder holds a lock file that its run keeps locked (flock) for as long as it lives: the kernel drops
the lock however the process ends, and a folder whose lock can be taken belongs to a run that is gone. Every
grade and batch removes those when it starts.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import tempfile
from pathlib import Path

PREFIX = "backprop-grader-"
_BUILDING = ".building-" + PREFIX  # a folder of ours before it is locked (make)
_LOCK = ".owner"
_HELD: dict[str, int] = {}  # folder -> the descriptor whose lock this process holds


def make(kind: str) -> Path:
    """A new private folder in the temporary folder, named for its kind, locked as ours while we live.

    It is made and locked under a name that remove_abandoned ignores, then renamed into place: a grading that
    starts at that moment elsewhere on the machine can never take it for an abandoned one and remove it between
    its lock file's creation and its lock."""
    building = Path(tempfile.mkdtemp(prefix=f"{_BUILDING}{kind}-"))
    fd = os.open(building / _LOCK, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    folder = building.with_name(PREFIX + building.name[len(_BUILDING):])
    try:
        os.mkdir(folder, 0o700)  # the name taken first, so that the rename below can never replace a folder
        os.rename(building, folder)
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
        os.close(fd)
        return make(kind)  # that name was someone's already: draw another
    _HELD[str(folder)] = fd
    return folder


def remove(folder: Path) -> None:
    """Remove a folder made by make(), and let go of its lock."""
    shutil.rmtree(folder, ignore_errors=True)
    fd = _HELD.pop(str(folder), None)
    if fd is not None:
        os.close(fd)


def remove_all() -> None:
    """Remove every folder this process made (a process that must leave at once)."""
    for folder in list(_HELD):
        remove(Path(folder))


def remove_abandoned() -> list[str]:
    """Remove the folders of ours (same owner) whose run has gone: their lock can be taken. The paths removed."""
    removed = []
    top = tempfile.gettempdir()
    try:
        entries = [e for e in os.scandir(top) if e.name.startswith(PREFIX) and e.path not in _HELD]
    except OSError:
        return removed
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
                continue
            fd = os.open(os.path.join(entry.path, _LOCK), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its run is alive
        finally:
            os.close(fd)
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed
