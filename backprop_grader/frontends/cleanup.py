"""`backprop-grader cleanup [--users]`: remove what gradings on this machine left behind.

Every grading removes its own temporary folders and ends its student processes, and the next one removes what a
run killed outright left; this command does it now, for an instructor who is done grading on a laptop: the
temporary folders of runs that have gone, and, as root, whatever the sandbox users still run or own in the
folders anyone may write. With --users it also deletes the extra sandbox users that gradings made on demand
(backprop-student-2, -3, ...); backprop-student, which setup.sh makes, stays. Users in use by a grading that is
running are left alone.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import subprocess

from ..errors import GraderError
from ..sandbox import scratch
from ..sandbox.isolation import users


def register(commands) -> None:
    """Add the cleanup command's arguments."""
    parser = commands.add_parser("cleanup", help="remove what gradings left on this machine (folders, processes)")
    parser.add_argument("--users", action="store_true",
                        help="also delete the extra sandbox users made on demand (root only; backprop-student stays)")


def run(args) -> int:
    """Clean up and say, one line each, what was removed."""
    for path in scratch.remove_abandoned():
        print(f"removed {path}")
    if os.geteuid() != 0:
        if args.users:
            raise GraderError("cleanup --users needs root (sudo): the sandbox users are system accounts")
        print("not root: the sandbox users' processes and files were left alone (run with sudo to clear them)")
        return 0
    for name in users.pool_names():
        _clean_user(name, delete=args.users and name != users.BASE_NAME)
    return 0


def _clean_user(name: str, *, delete: bool) -> None:
    """End the user's processes and remove its files, while holding its pool lock; delete it if asked."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return
    lock = users.lock_file(name)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"{name} is in use by a grading that is running: left alone")
        os.close(lock)
        return
    try:
        user = users.SandboxUser(name, entry.pw_uid, entry.pw_gid)
        if not users.clear_leftovers(user):
            print(f"{name}: some of its processes could not be ended")
            return
        if delete:
            _delete(name)
    finally:
        os.close(lock)


def _delete(name: str) -> None:
    """userdel, saying so; a machine without it keeps the user and says why."""
    userdel = shutil.which("userdel", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if userdel is None:
        print(f"{name} kept: userdel is not available")
        return
    done = subprocess.run([userdel, name], capture_output=True, text=True, check=False)
    print(f"deleted the user {name}" if done.returncode == 0 else f"{name} kept: {done.stderr.strip()[:200]}")
