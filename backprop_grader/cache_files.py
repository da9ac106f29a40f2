"""The grader's own cache folder (`.cache/` beside the code, locked with it by setup.sh): JSON files kept whole.

Both the seeded networks (cache.py) and what a fresh worker has loaded (shadowing.py) are kept here. Nothing in
this module is secret, so a grader may use it before it forks the student's worker.
"""

from __future__ import annotations

import json
import os
import tempfile

from .config import PROJECT_ROOT

CACHE_DIR = PROJECT_ROOT / ".cache"
# Files of one kind ("networks-<key>.json": one per configuration and code version) kept at most; older ones go
# when a new one is written, so that a checkout whose code or configurations change does not pile them up.
KEPT_PER_KIND = 16


def read(name: str):
    """A stored file's content, or None when it is missing or unreadable (then it is simply computed again)."""
    try:
        return json.loads((CACHE_DIR / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write(name: str, data) -> None:
    """Store atomically, readable by the grader only; skip quietly where the folder is not writable (a locked
    install that setup.sh filled before locking)."""
    try:
        CACHE_DIR.mkdir(mode=0o700, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=CACHE_DIR, prefix=f".{name}-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(temporary, CACHE_DIR / name)
    except OSError:
        return
    _prune(name)


def _prune(name: str) -> None:
    """Remove the oldest files of name's kind (what precedes its last "-") beyond KEPT_PER_KIND, never name
    itself. Another grading reading one at that moment finds it gone and computes it again."""
    kind = name.rpartition("-")[0] + "-"
    try:
        others = [entry for entry in os.scandir(CACHE_DIR)
                  if entry.name.startswith(kind) and entry.name != name and entry.is_file(follow_symlinks=False)]
        others.sort(key=lambda entry: entry.stat(follow_symlinks=False).st_mtime, reverse=True)
        for entry in others[KEPT_PER_KIND - 1:]:
            os.unlink(entry.path)
    except OSError:
        return
