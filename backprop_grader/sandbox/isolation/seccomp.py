"""libseccomp through ctypes, by its soname: the small part that the workers' filters use (allow every call but
some, each refused with an errno, perhaps only when its arguments compare so).

Not the pyseccomp binding: importing it runs ldconfig twice, some 10 ms of CPU for each worker (two per
submission) where no network namespace can be made, as on Gradescope. simulate's container emulation, which needs
more of libseccomp (architectures, attributes), still uses pyseccomp.

A filter is inherited by every process the worker starts and can never be removed.
"""

from __future__ import annotations

import ctypes
import functools
from typing import NamedTuple

_ALLOW = 0x7FFF0000  # SCMP_ACT_ALLOW
_ERRNO = 0x00050000  # SCMP_ACT_ERRNO(e) is this | e: the call fails with e, as under Docker's profile
NOT_EQUAL = 1  # SCMP_CMP_NE


class Refusal(NamedTuple):
    """A call to refuse with `errno`: always, or only while every (argument index, comparison, value) of `when`
    holds. A refusal that is not `required` is skipped where this libseccomp does not know the call (a newer
    one, say io_uring's on an old library): there is nothing to refuse then."""

    call: str
    errno: int
    when: tuple[tuple[int, int, int], ...] = ()
    required: bool = True


class _Comparison(ctypes.Structure):
    """struct scmp_arg_cmp."""

    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def refuse(refusals: list[Refusal]) -> bool:
    """Load a filter into this process that allows every call but `refusals`; False when the machine cannot
    filter (no libseccomp, a kernel without seccomp) or a required call is unknown, and nothing was loaded then.
    Calls of other architectures than this process's (i386's on x86-64) kill it: libseccomp's default."""
    library = _library()
    if library is None:
        return False
    context = library.seccomp_init(_ALLOW)
    if not context:
        return False
    try:
        for refusal in refusals:
            number = library.seccomp_syscall_resolve_name(refusal.call.encode())
            if number < 0 and not refusal.required:
                continue
            comparisons = (_Comparison * max(len(refusal.when), 1))(*(_Comparison(i, op, value, 0)
                                                                      for i, op, value in refusal.when))
            if number < 0 or library.seccomp_rule_add_array(context, _ERRNO | refusal.errno, number,
                                                            len(refusal.when), comparisons) != 0:
                return False
        return library.seccomp_load(context) == 0  # it sets no_new_privs first
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
    library.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                               ctypes.POINTER(_Comparison)]
    library.seccomp_load.argtypes = [ctypes.c_void_p]
    library.seccomp_release.argtypes = [ctypes.c_void_p]
    return library


def prepare() -> None:
    """Load libseccomp now, in a process that forks workers, so that each does not load it again."""
    _library()
