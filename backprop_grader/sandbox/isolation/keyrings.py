"""No kernel keyrings for student code: a seccomp filter that refuses add_key, request_key and keyctl.

The kernel's keyrings belong to a user id, not to a namespace the worker can be given: a user's keyring and its
persistent keyring are shared by every process of that uid on the machine and outlive them (the persistent one
for days). The pool hands one sandbox user to submission after submission, so a worker could leave a key that the
next submission's worker reads: a channel around every namespace, found by trying it. Docker's default seccomp
profile refuses these calls for the same reason (so Gradescope's container already does); every worker of ours
refuses them too, before any student code runs. Nothing of the homework needs them.
"""

from __future__ import annotations

import errno

from . import seccomp

SECCOMP = "seccomp"
NONE = "none"
CALLS = ("add_key", "request_key", "keyctl")


def refuse_keyrings() -> str:
    """Load the filter into this process: "seccomp" when it holds, "none" when the machine cannot filter."""
    return SECCOMP if seccomp.refuse([seccomp.Refusal(call, errno.EPERM) for call in CALLS]) else NONE
