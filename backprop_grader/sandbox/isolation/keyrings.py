"""No kernel keyrings for student code: a seccomp filter that refuses add_key, request_key and keyctl.

The kernel's keyrings belong to a user id, not to a namespace the worker can be given: a user's keyring and its
persistent keyring are shared by every process of that uid on the machine and outlive them (the persistent one
for days). The pool hands one sandbox user to submission after submission, so a worker could leave a key that the
next submission's worker reads: a channel around every namespace, found by trying it. Docker's default seccomp
profile refuses these calls for the same reason (so Gradescope's container already does); every worker of ours
refuses them too, before any student code runs. Nothing of the homework needs them.

libseccomp is called directly through ctypes, by its soname: the pyseccomp binding (which the network's filter
uses where no network namespace can be made) runs ldconfig twice when imported, some 20 ms for each worker.
A filter is inherited by every process the worker starts and can never be removed.
"""

from __future__ import annotations

import ctypes
import errno
import functools

SECCOMP = "seccomp"
NONE = "none"
CALLS = ("add_key", "request_key", "keyctl")
_ALLOW = 0x7FFF0000  # SCMP_ACT_ALLOW
_ERRNO = 0x00050000  # SCMP_ACT_ERRNO(e) is this | e: the call fails with e, as under Docker's profile


def refuse_keyrings() -> str:
    """Load the filter into this process: "seccomp" when it holds, "none" when the machine cannot filter."""
    library = _library()
    if library is None:
        return NONE
    context = library.seccomp_init(_ALLOW)  # other architectures' calls (i386's on x86-64) kill: libseccomp's default
    if not context:
        return NONE
    try:
        for name in CALLS:
            number = library.seccomp_syscall_resolve_name(name.encode())
            if number < 0 or library.seccomp_rule_add(context, _ERRNO | errno.EPERM, number, 0) != 0:
                return NONE
        return SECCOMP if library.seccomp_load(context) == 0 else NONE  # it sets no_new_privs first
    finally:
        library.seccomp_release(context)


@functools.cache
def _library():
    """libseccomp with the signatures we call, loaded once (a zygote loads it for all its workers: prepare())."""
    try:
        library = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError:
        return None
    library.seccomp_init.restype = ctypes.c_void_p
    library.seccomp_init.argtypes = [ctypes.c_uint32]
    library.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    library.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    library.seccomp_load.argtypes = [ctypes.c_void_p]
    library.seccomp_release.argtypes = [ctypes.c_void_p]
    return library


def prepare() -> None:
    """Load libseccomp now, in a process that forks workers, so that each does not load it again."""
    _library()
