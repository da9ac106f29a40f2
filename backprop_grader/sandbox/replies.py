"""What a worker's answer may be: the Reply the grader works with, built from a header it does not trust.

Student code shares the worker's process and can write its own frames into the pipe, so every field of a reply
is type-checked and capped here before anything else reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Reply:
    """What one request to the worker came back with; `kind` names the failure when ok is false."""

    ok: bool
    kind: str = ""
    message: str = ""
    arrays: tuple = ()
    details: dict = field(default_factory=dict)
    output: str = ""
    seconds: float = 0.0


_TEXT_FIELDS = {"traceback": 4000, "text": 300, "module": 100, "file": 300, "close": 100, "what": 100}
_LIST_FIELDS = ("forbidden", "modified", "names", "dtypes")
_NUMBER_FIELDS = ("line", "position", "count", "returncode", "printed")


def reply_budget(arguments: tuple) -> int:
    """Bytes of numbers a reply to this call may carry: far more than two gradients, far less than memory."""
    z, t, W_kj, W_ji = arguments
    return 8 * 16 * (W_kj.size + W_ji.size) + 4096


def reply_from(header: dict, arrays: list, expected: int) -> Reply:
    """A Reply from a worker header, keeping only known fields of the right types and sizes.

    Student code shares the worker's process and can write its own frames into the pipe, so nothing here is
    trusted: an "ok" reply to a call must carry exactly the two gradients, and every detail is type-checked and capped.
    """
    ok = header.get("ok") is True
    if ok and len(arrays) != expected:
        return Reply(False, "protocol", f"a reply claimed success with {len(arrays)} arrays instead of {expected}")
    kind = "" if ok else str(header.get("kind", ""))[:40]
    details: dict = {}
    for key, cap in _TEXT_FIELDS.items():
        if isinstance(header.get(key), str):
            details[key] = header[key][-cap:]
    for key in _LIST_FIELDS:
        value = header.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            details[key] = [v[:100] for v in value[:50]]
    for key in _NUMBER_FIELDS:
        if type(header.get(key)) is int:
            details[key] = header[key]
    return Reply(ok, kind, str(header.get("message", ""))[:2000], tuple(arrays) if ok else (), details)


def no_answer(seconds: float, during: str) -> Reply:
    """The reply for a worker that did not answer (or stopped reading) within its limit."""
    return Reply(False, "timeout", f"no answer within {seconds:g} s during the {during}")
