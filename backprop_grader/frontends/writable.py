"""Where a command writes (results.json, a zip, an output folder): checked before any work, and each failure to
write told as one line naming the path and the true reason (permission denied, no space left, not a folder),
never a traceback, and never one reason taken for another."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from ..errors import GraderError

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)  # the errors a full disk (or a full quota) gives


def reason(exc: OSError, path: Path | str) -> str:
    """Why writing `path` failed, in words: the error's own cause, with the path it concerns when that is
    another (the folder one may not write, the file that stands where a folder should be)."""
    concerned = exc.filename if exc.filename and str(exc.filename) != str(path) else None
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied on {_nearest_existing(Path(path))}"
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.EDQUOT:
        return "the disk quota is used up"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return f"{_not_a_folder(Path(path))} is a file, not a folder"
    if exc.errno == errno.EISDIR:
        return f"{concerned or path} is a folder, not a file"
    return (exc.strerror or str(exc)).lower()


def _nearest_existing(path: Path) -> Path:
    """`path` if it exists, else the nearest folder above it that does: the one whose permissions refused."""
    return next(place for place in (path, *path.parents) if os.path.lexists(place))


def _not_a_folder(path: Path) -> Path:
    """The first of `path` and the folders above it that exists and is not a folder."""
    for place in reversed((path, *path.parents)):
        if place.exists() and not place.is_dir():
            return place
    return path


def message(path: Path | str, exc: OSError, option: str = "") -> str:
    """The one line: "cannot write --out graded: permission denied on /srv"."""
    return f"cannot write {option + ' ' if option else ''}{path}: {reason(exc, path)}"


@contextlib.contextmanager
def writing(path: Path | str, option: str = ""):
    """Turn an OSError of the block, which writes `path`, into a GraderError saying why (one line, exit 2)."""
    try:
        yield
    except OSError as exc:
        raise GraderError(message(path, exc, option)) from None


def check_file(path: Path | str, option: str) -> None:
    """Before any work: `path` can be written as a file (in its folder, or where that folder would be made)."""
    path = Path(path)
    with writing(path, option):
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        _try_in(path.parent)


def check_folder(path: Path | str, option: str) -> None:
    """Before any work: `path` is a folder one can write files in, or one that can be made."""
    path = Path(path)
    with writing(path, option):
        _try_in(path)


def _try_in(folder: Path) -> None:
    """Create and delete an empty file in the folder, or, when it does not exist yet, in the nearest folder above
    it that does (where it would be made): the write that follows meets the same permission, read-only file system
    or file in the way now, before any work, and a command that stops here leaves nothing behind."""
    place = _nearest_existing(folder)
    if not place.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(place))
    handle, probe = tempfile.mkstemp(dir=place, prefix=".backprop-write-test-")
    os.close(handle)
    os.unlink(probe)
