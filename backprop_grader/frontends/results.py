"""Pure builders of Gradescope's results.json (SPEC section 4), its check, its writing and a readable table.

Nothing here knows about pytest: the plugin hands over plain values, and the tests of this module need no run.
"""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from pathlib import Path

from .. import messages as msg
from ..config import VISIBILITIES
from ..errors import GraderError
from .writable import NO_SPACE, message

STATUSES = ("passed", "failed")
_TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
             "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
_TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
              "tags", "visibility", "extra_data"}


def result_entry(*, name: str, number: str, score: float, max_score: float, status: str, output: str,
               visibility: str, tags=(), extra_data: dict | None = None) -> dict:
    """One test of results.json, with every field Gradescope reads."""
    entry = {"name": name, "number": number, "score": _round(score), "max_score": _round(max_score),
             "status": status, "output": output, "output_format": "md", "visibility": visibility,
             "tags": list(tags)}
    if extra_data:
        entry["extra_data"] = extra_data
    return entry


def results_document(tests: list[dict], *, execution_time: float, output: str, extra_data: dict) -> dict:
    """The whole results.json: the score is the sum of the tests' scores."""
    return {
        "score": _round(sum(t["score"] for t in tests)),
        "execution_time": _round(execution_time),
        "output": output,
        "output_format": "md",
        "test_output_format": "md",
        "stdout_visibility": "hidden",
        "extra_data": extra_data,
        "tests": sorted(tests, key=lambda t: number_key(t["number"])),
    }


def autograder_error_document(*, reason: str, traceback_text: str, execution_time: float) -> dict:
    """What a run leaves when the grader itself failed: a visible 0-point test saying it is not the student's fault."""
    test = result_entry(name="Autograder error", number="0.0", score=0, max_score=0, status="failed",
                      output=msg.AUTOGRADER_FAULT, visibility="visible", tags=("autograder-error",))
    return results_document([test], execution_time=execution_time, output=msg.AUTOGRADER_FAULT,
                            extra_data={"autograder_error": reason, "traceback": traceback_text})


def problems(document) -> list[str]:
    """Every way the document departs from Gradescope's specification (an empty list when it is valid)."""
    if not isinstance(document, dict):
        return ["results.json is not a JSON object"]
    found = [f"unknown top-level key {k!r}" for k in document if k not in _TOP_KEYS]
    found += _numeric(document, "score", "results") + _numeric(document, "execution_time", "results")
    for key in ("output_format", "test_output_format"):
        if document.get(key) != "md":
            found.append(f"{key} is {document.get(key)!r}, expected 'md'")
    tests = document.get("tests")
    if not isinstance(tests, list):
        return found + ["tests is not a list"]
    for n, test in enumerate(tests):
        where = f"tests[{n}]"
        if not isinstance(test, dict):
            found.append(f"{where} is not an object")
            continue
        found += [f"{where} has unknown key {k!r}" for k in test if k not in _TEST_KEYS]
        found += _numeric(test, "score", where) + _numeric(test, "max_score", where)
        for key in ("name", "number", "output"):
            if not isinstance(test.get(key), str):
                found.append(f"{where}.{key} is missing or not a string")
        if test.get("status") not in STATUSES:
            found.append(f"{where}.status is {test.get('status')!r}")
        if test.get("visibility") not in VISIBILITIES:
            found.append(f"{where}.visibility is {test.get('visibility')!r}")
        if not isinstance(test.get("tags", []), list):
            found.append(f"{where}.tags is not a list")
    return found


RESERVED_BYTES = 2 << 20  # results.json's room, taken before student code runs: far more than any document needs


def reserve(path: Path) -> None:
    """Create results.json at full size before student code runs, holding a valid autograder-error document
    padded with spaces: a student who fills the disk (or /tmp) can then no longer keep a valid file from being
    written, since write_results can always rewrite this one in place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    placeholder = json.dumps(autograder_error_document(reason="the grader stopped before it finished",
                                                       traceback_text="", execution_time=0.0)).encode()
    if path.is_symlink():
        path.unlink()  # never write through a link someone else may have planted
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        os.write(fd, placeholder)
        os.posix_fallocate(fd, 0, RESERVED_BYTES)  # the blocks themselves, not a sparse promise of them
        os.pwrite(fd, b" " * (RESERVED_BYTES - len(placeholder)), len(placeholder))
    finally:
        os.close(fd)


def write_results(document: dict, path: Path) -> None:
    """Write results.json atomically, so that a reader never sees half a file; when the disk is full, into the
    room reserve() took (the document shortened to fit if it must). Any other failure (permission denied, a file
    where a folder should be) is a GraderError that says so: only a full disk is helped by the reserved room."""
    path = Path(path)
    text = json.dumps(document, indent=2, allow_nan=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise GraderError(message(path, exc)) from None
        try:
            _write_in_place(document, text, path)
        except OSError as again:
            raise GraderError(message(path, again)) from None


def _write_in_place(document: dict, text: str, path: Path) -> None:
    """Overwrite the reserved results.json without allocating a block (the disk may be full)."""
    room = path.stat().st_size if path.is_file() and not path.is_symlink() else 0
    data = text.encode()
    if len(data) > room:
        data = json.dumps(_shortened(document)).encode()
    if len(data) > room:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))  # nor room reserved for it
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
    try:
        os.pwrite(fd, data + b" " * (room - len(data)), 0)
    finally:
        os.close(fd)


def _shortened(document: dict) -> dict:
    """The document with each output cut to its first lines: what fits when room is short."""
    short = dict(document, output=document.get("output", "")[:2000])
    short["tests"] = [dict(t, output=t.get("output", "")[:2000]) for t in document.get("tests", [])]
    short.pop("extra_data", None)
    return short


def score_table(document: dict) -> str:
    """The tests and the total as a plain-text table, for a terminal."""
    rows = [("test", "name", "score", "visibility")]
    for test in document.get("tests", []):
        mark = "ok " if test["status"] == "passed" else "FAIL"
        rows.append((f"{mark} {test['number']}", test["name"], f"{test['score']:g}/{test['max_score']:g}",
                     test["visibility"]))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    total = sum(t["max_score"] for t in document.get("tests", []))
    lines.append(f"\nTotal: {document['score']:g} / {total:g}")
    return "\n".join(lines)


def _numeric(table: dict, key: str, where: str) -> list[str]:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return [f"{where}.{key} is {value!r}, expected a finite number"]
    return []


def _round(value: float) -> float:
    return round(float(value), 6)


def number_key(number: str) -> tuple:
    """A test number's place in the rubric's order: "1.10" after "1.9", "0.x" first."""
    return tuple(int(p) if p.isdigit() else 0 for p in number.split("."))
