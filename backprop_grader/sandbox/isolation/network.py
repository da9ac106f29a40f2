"""No network for student code where no network namespace could be made: a seccomp filter (seccomp.py) that
refuses every socket(), before any student code runs; only socketpair() of two connected Unix sockets
(multiprocessing's pipes) is allowed.

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

from . import seccomp

SECCOMP = "seccomp"
NONE = "none"
_REFUSALS = [seccomp.Refusal("socket", errno.EACCES),
             seccomp.Refusal("socketpair", errno.EACCES, when=((0, seccomp.NOT_EQUAL, socket.AF_UNIX),)),
             *(seccomp.Refusal(call, errno.ENOSYS, required=False)  # unknown to an old libseccomp: nothing to refuse
               for call in ("io_uring_setup", "io_uring_enter", "io_uring_register"))]


def refuse_internet() -> str:
    """Load the filter into this process: "seccomp" when it holds, "none" when the machine cannot filter."""
    return SECCOMP if seccomp.refuse(_REFUSALS) else NONE
