"""Find the student's file in a submission folder, by the rules of SPEC section 2.

Discovery only reads files, never imports them: whether a `.py` file defines compute_gradients is decided
from its syntax tree, so nothing a student wrote runs in the grading process.
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import shutil
import tokenize
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from . import messages as msg
from .errors import GraderError
from .notebook import UnreadableNotebook, module_source

EXPECTED = "backprop.py"
NOTEBOOK = "backprop.ipynb"
FUNCTION = "compute_gradients"
MAX_LISTED = 50
_IGNORED_PARTS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}
_DEFINES = re.compile(rf"^\s*def\s+{FUNCTION}\b", re.MULTILINE)  # for files whose syntax is broken


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
    """Apply SPEC section 2's rules in order; the first that applies wins, and every rule but the first notes it."""
    folder = Path(folder)
    files = _files(folder)
    if (folder / EXPECTED).is_file():
        return Found(folder / EXPECTED)
    nested = [f for f in files if f.name == EXPECTED]
    if len(nested) == 1:
        return Found(nested[0], note=msg.NOTE_NESTED.format(file=_relative(nested[0], folder)))
    notebook = _the_notebook(files)
    if notebook is not None:
        return _from_notebook(notebook, folder, files)
    defining = [f for f in files if f.suffix == ".py" and defines_function(f)]
    if len(defining) == 1:
        return Found(defining[0], note=msg.NOTE_OTHER_NAME.format(file=_relative(defining[0], folder)))
    return Found(None, problem=_why_nothing_fits(folder, files, nested), listing=_listing(folder, files))


def explain_not_found(found: Found) -> str:
    """What the student reads when nothing could be graded: the problem, what was expected, what was submitted."""
    listing = "\n".join(found.listing) or "- (nothing)"
    return msg.DISCOVERY_LISTING.format(problem=found.problem, expected=msg.EXPECTED_SUBMISSION, listing=listing)


def defines_function(path: Path, name: str = FUNCTION) -> bool:
    """Whether a Python file defines name (a def or an assignment, not an import), read from its syntax tree."""
    source = read_source(path)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return bool(_DEFINES.search(source))  # graded anyway, so that the student sees their syntax error
    return name in _defined_names(tree)


def read_source(path: Path) -> str:
    """A Python file's text as Python would decode it (PEP 263), undecodable bytes replaced."""
    data = path.read_bytes()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8"
    try:
        return data.decode(encoding, errors="replace")
    except LookupError:  # an encoding declaration naming no known codec
        return data.decode("utf-8", errors="replace")


def _defined_names(tree: ast.AST) -> set[str]:
    """Names bound by function and class definitions and by assignments anywhere in the tree."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _the_notebook(files: list[Path]) -> Path | None:
    """Rule 3's notebook: the one backprop.ipynb, or else the only .ipynb; None when there is no single one."""
    named = [f for f in files if f.name == NOTEBOOK]
    if named:
        return named[0] if len(named) == 1 else None
    notebooks = [f for f in files if f.suffix == ".ipynb"]
    return notebooks[0] if len(notebooks) == 1 else None


def _from_notebook(notebook: Path, folder: Path, files: list[Path]) -> Found:
    """A Found that imports the notebook's code cells, or the reason the notebook cannot be read."""
    try:
        source = module_source(notebook)
    except UnreadableNotebook as exc:
        return Found(None, problem=str(exc), listing=_listing(folder, files))
    return Found(notebook, source_text=source, note=msg.NOTE_NOTEBOOK.format(file=_relative(notebook, folder)))


def _why_nothing_fits(folder: Path, files: list[Path], nested: list[Path]) -> str:
    """The one sentence that says why no rule applied, with a hint when a file nearly fits."""
    if not files:
        return msg.DISCOVERY_EMPTY
    if len(nested) > 1:
        where = ", ".join(f"`{_relative(f, folder)}`" for f in nested)
        return msg.DISCOVERY_AMBIGUOUS.format(count=len(nested), name=EXPECTED, where=where)
    notebooks = [f for f in files if f.name == NOTEBOOK]
    if len(notebooks) > 1:
        where = ", ".join(f"`{_relative(f, folder)}`" for f in notebooks)
        return msg.DISCOVERY_AMBIGUOUS.format(count=len(notebooks), name=NOTEBOOK, where=where)
    hints = [_near_miss(f, folder) for f in files if f.suffix == ".py"]
    return " ".join([msg.DISCOVERY_NOTHING, *[h for h in hints if h]][:3])


def _near_miss(path: Path, folder: Path) -> str:
    """A hint when a Python file defines a function named almost compute_gradients (compute_gradient, ...)."""
    try:
        names = _defined_names(ast.parse(read_source(path)))
    except (SyntaxError, ValueError):
        return ""
    close = difflib.get_close_matches(FUNCTION, sorted(names), n=1, cutoff=0.75)
    return msg.DISCOVERY_NEAR_MISS.format(file=_relative(path, folder), defined=close[0]) if close else ""


def _listing(folder: Path, files: list[Path]) -> list[str]:
    """Markdown list items naming what was submitted, at most MAX_LISTED of them."""
    items = [f"- `{_relative(f, folder)}`" for f in files[:MAX_LISTED]]
    if len(files) > MAX_LISTED:
        items.append(msg.DISCOVERY_LISTING_MORE.format(count=len(files) - MAX_LISTED))
    return items


def _relative(path: Path, folder: Path) -> str:
    """path as the student named it inside their submission."""
    return path.relative_to(folder).as_posix()


def _files(folder: Path) -> list[Path]:
    """Every regular file below folder, skipping editor and OS clutter and hidden files, in a stable order."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        hidden = any(part.startswith(".") for part in parts)
        if path.is_file() and not path.is_symlink() and not hidden and not set(parts) & _IGNORED_PARTS:
            found.append(path)
    return found


def unpack_into(submission: Path, target: Path) -> None:
    """Put a submission (a folder, a zip of one, or a single file) into `target`, as Gradescope unpacks uploads."""
    if submission.is_dir():
        shutil.copytree(submission, target, symlinks=True, dirs_exist_ok=True)
    elif zipfile.is_zipfile(submission):
        unzip(submission, target)
    elif submission.is_file():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(submission, target / submission.name)
    else:
        raise GraderError(f"the submission {submission} does not exist")


def unzip(archive: Path, target: Path) -> None:
    """Extract a zip, refusing members that would land outside the target (`../` or absolute names)."""
    target.mkdir(parents=True, exist_ok=True)
    base = target.resolve()
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.infolist():
            destination = (base / member.filename).resolve()
            if base not in destination.parents or member.is_dir():
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(member) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out)
