"""Who submitted, from Gradescope's submission_metadata.json: for the instructor's log, never for the student.

Gradescope writes the file beside the submission folder (/autograder/submission_metadata.json). The grader only
reads it to print and record whose work it graded; missing or malformed metadata changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..markup import escape

METADATA_NAME = "submission_metadata.json"
MAX_BYTES = 1 << 20


def read_submitter(submission: Path) -> dict:
    """{"names": [...], "submission_id": ...} from the metadata beside the submission, or {} when there is none.

    Only the parent folder is looked at: a file of that name inside the submission is the student's, not
    Gradescope's, and is ignored.
    """
    path = Path(submission).resolve().parent / METADATA_NAME
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return {}
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    users = document.get("users")
    names = [u["name"] for u in users if isinstance(u, dict) and isinstance(u.get("name"), str)] \
        if isinstance(users, list) else []
    submitter = {"names": names} if names else {}
    if isinstance(document.get("id"), (int, str)) and submitter:
        submitter["submission_id"] = document["id"]
    return submitter


def log_line(submitter: dict) -> str:
    """One line for the instructor-facing log (stdout on Gradescope), or "" when nobody is known."""
    if not submitter:
        return ""
    who = ", ".join(escape(name, code=True) for name in submitter["names"])  # a newline cannot forge a log line
    number = f" (submission {submitter['submission_id']})" if "submission_id" in submitter else ""
    return f"Grading the submission of {who}{number}."
