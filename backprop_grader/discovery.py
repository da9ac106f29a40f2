"""Find the student's file in a submission folder, by the rules of SPEC section 2."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

EXPECTED = "backprop.py"
_IGNORED_PARTS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}


@dataclass
class Found:
    """The file to import (None when nothing fits), a note when a fallback rule chose it, or why nothing fits.

    source_text, when set, is the Python to import in place of path's content (a notebook's code cells).
    """

    path: Path | None
    source_text: str | None = None
    note: str = ""
    problem: str = ""
    listing: list = field(default_factory=list)


def find_submission(folder: Path) -> Found:
    """Apply the rules in order: top-level backprop.py, then exactly one backprop.py below."""
    folder = Path(folder)
    files = _files(folder)
    if (folder / EXPECTED).is_file():
        return Found(folder / EXPECTED)
    nested = [f for f in files if f.name == EXPECTED]
    if len(nested) == 1:
        where = nested[0].relative_to(folder)
        return Found(nested[0], note=f"graded {where}, found below the top level of your submission")
    listing = [str(f.relative_to(folder)) for f in files][:50]
    if len(nested) > 1:
        problem = f"your submission has {len(nested)} files named {EXPECTED}; keep exactly one"
    elif not files:
        problem = f"your submission is empty: upload {EXPECTED}"
    else:
        problem = f"no {EXPECTED} was found: upload a file named {EXPECTED} that defines compute_gradients"
    return Found(None, problem=problem, listing=listing)


def _files(folder: Path) -> list[Path]:
    """Every regular file below folder, skipping editor and OS clutter, in a stable order."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        parts = set(path.relative_to(folder).parts)
        if path.is_file() and not path.is_symlink() and not parts & _IGNORED_PARTS:
            found.append(path)
    return found
