"""The workers' seccomp filters (sandbox/isolation/seccomp.py): a refused call fails with its errno, only under its
argument conditions, and a filter that cannot be made whole is not loaded at all.

Each filter is loaded in a child process of its own (a filter can never be removed), which prints what it saw.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import PROJECT

from backprop_grader.sandbox.isolation import seccomp

pytestmark = pytest.mark.skipif(seccomp._library() is None, reason="libseccomp.so.2 is not on this machine")

_PROBE = """import errno, json, os, socket, sys
from backprop_grader.sandbox.isolation import seccomp
R = seccomp.Refusal
refusals = {refusals}
seen = {{"loaded": seccomp.refuse(refusals)}}
for name, make in (("inet", lambda: socket.socket()), ("unix", lambda: socket.socket(socket.AF_UNIX)),
                   ("pair", lambda: socket.socketpair())):
    try:
        make().close() if name != "pair" else [s.close() for s in make()]
        seen[name] = "allowed"
    except OSError as exc:
        seen[name] = errno.errorcode[exc.errno]
seen["pid"] = os.getpid() > 0
print(json.dumps(seen))
"""


def _probe(refusals: str) -> dict:
    """What a fresh process saw of sockets after loading the filter of these refusals (Python source)."""
    code = _PROBE.format(refusals=refusals)
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=60,
                          check=True)
    return json.loads(done.stdout)


def test_a_refused_call_fails_with_its_errno_and_the_rest_runs():
    """socket() refused with EACCES; socketpair() refused too, but only for families other than AF_UNIX."""
    seen = _probe('[R("socket", errno.EACCES), R("socketpair", errno.EACCES, when=((0, seccomp.NOT_EQUAL, '
                  'socket.AF_UNIX),))]')
    assert seen == {"loaded": True, "inet": "EACCES", "unix": "EACCES", "pair": "allowed", "pid": True}


def test_an_unknown_call_is_skipped_only_when_not_required():
    """A call this libseccomp does not know: skipped when optional (the rest still holds); when required, no
    filter is loaded at all (the caller then says the refusal did not hold)."""
    optional = _probe('[R("no_such_call_anywhere", errno.EPERM, required=False), R("socket", errno.EACCES)]')
    assert optional["loaded"] is True and optional["inet"] == "EACCES"
    required = _probe('[R("no_such_call_anywhere", errno.EPERM), R("socket", errno.EACCES)]')
    assert required == {"loaded": False, "inet": "allowed", "unix": "allowed", "pair": "allowed", "pid": True}
