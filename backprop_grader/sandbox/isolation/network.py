"""No network for student code where no network namespace could be made: a seccomp filter (libseccomp, through
its ctypes binding pyseccomp) that refuses every socket(), before any student code runs; only socketpair() of two
connected Unix sockets (multiprocessing's pipes) is allowed.

Unix sockets are refused too: without a network namespace the worker shares the machine's abstract Unix sockets
(which have no permissions at all) and sees named ones in the file system (a daemon's, an X server's), and student
code has no business with any of them.

A filter is inherited by every process the worker starts and can never be removed, so that a student can neither
fetch a solution nor send the networks out (TCP, UDP, DNS, raw sockets alike). io_uring is refused too, since it
can open sockets without the socket system call.
"""

from __future__ import annotations

import errno
import socket

SECCOMP = "seccomp"
NONE = "none"


def refuse_internet() -> str:
    """Load the filter into this process: "seccomp" when it holds, "none" when the machine cannot filter."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError):  # no binding, or no libseccomp.so.2 on the machine
        return NONE
    try:
        refuse = seccomp.ERRNO(errno.EACCES)
        rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        rules.add_rule(refuse, "socket")
        rules.add_rule(refuse, "socketpair", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
        for call in ("io_uring_setup", "io_uring_enter", "io_uring_register"):
            try:
                rules.add_rule(seccomp.ERRNO(errno.ENOSYS), call)
            except (ValueError, RuntimeError, OSError):  # unknown to an old libseccomp: nothing to refuse
                pass
        rules.load()
    except (RuntimeError, OSError, ValueError):
        return NONE
    return SECCOMP
