"""Find the student's file in a submission folder, by the rules of SPEC section 2.

Discovery only reads files, never imports them: whether a `.py` file defines compute_gradients is decided
from its syntax tree, so nothing a student wrote runs in the grading process.
"""

from __future__ import annotations

import ast
import difflib
import io
import json
import os
import re
import shutil
import tokenize
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import messages as msg
from ..config import submission_caps
from ..errors import GraderError
from ..markup import escape
from .notebook import UnreadableNotebook, module_source, neutralise, read_code_cells

EXPECTED = "backprop.py"
NOTEBOOK = "backprop.ipynb"
FUNCTION = "compute_gradients"
MAX_LISTED = 50
MAX_SCANNED, MAX_SCANNED_BYTES = 200, 2 << 20  # files read for imports, and the largest read (far above any homework)
_IMPORT_LINE = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", re.MULTILINE)
_IGNORED_PARTS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}
_DEFINES = re.compile(rf"^\s*def\s+{FUNCTION}\b", re.MULTILINE)  # for files whose syntax is broken
# Left in place of a submission that was too large to unpack or copy, so that discovery, perhaps in another
# process (simulate's run_autograder), tells the student why; it holds only the counts, as JSON numbers.
REFUSED = ".backprop-grader-refused.json"


@dataclass(frozen=True)
class Caps:
    """The most a submission may hold, unpacked: autograder.toml's [submission]."""

    max_files: int
    max_megabytes: float

    @property
    def max_bytes(self) -> int:
        return int(self.max_megabytes * 1024 * 1024)


def configured_caps(config_path: Path | None = None) -> Caps:
    """The caps of the configuration at config_path (the project's autograder.toml by default), read without
    loading its seeds here (config.submission_caps)."""
    return Caps(**submission_caps(config_path))


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


def find_submission(folder: Path, caps: Caps) -> Found:
    """Apply SPEC section 2's rules in order; the first that applies wins, and every rule but the first notes it.
    A submission beyond the caps (or refused as such when unpacked) is graded as nothing found, saying why."""
    folder = Path(folder)
    too_large = _refused(folder) or _beyond_caps(folder, caps)
    if too_large:
        return Found(None, problem=too_large)
    files = _files(folder)
    if (folder / EXPECTED).is_file():
        return Found(folder / EXPECTED)
    nested = [f for f in files if f.name == EXPECTED]
    if len(nested) == 1:
        return Found(nested[0], note=msg.NOTE_NESTED.format(file=_shown(nested[0], folder)))
    notebook = _the_notebook(files)
    if notebook is not None:
        return _from_notebook(notebook, folder, files)
    defining = [f for f in files if f.suffix == ".py" and defines_function(f)]
    if len(defining) == 1:
        return Found(defining[0], note=msg.NOTE_OTHER_NAME.format(file=_shown(defining[0], folder)))
    return Found(None, problem=_why_nothing_fits(folder, files, nested), listing=_listing(folder, files))


def explain_not_found(found: Found) -> str:
    """What the student reads when nothing could be graded: the problem, what was expected, what was submitted."""
    if not found.listing and found.problem.startswith(msg.SUBMISSION_TOO_LARGE_START):
        return found.problem
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


def imports_in_source(source_file: Path) -> set[str]:
    """The top-level modules that the submission's code names in an import (`import x`, `from x import y`,
    `__import__("x")`, `importlib.import_module("x")`), read from the syntax trees of source_file (a notebook's
    code cells) and every Python file beside or below it, which the worker could import. Nothing is run: this
    holds whatever the student's code does to the worker's import guard."""
    folder = source_file.parent
    sources = [source_file] if source_file.suffix == ".ipynb" else []
    sources += [f for f in _files(folder) if f.suffix == ".py"]
    names: set[str] = set()
    for path in sources[:MAX_SCANNED]:
        if path.is_symlink():
            continue  # never followed by the grader (it may run as root)
        try:
            if path.suffix == ".ipynb":
                texts = [neutralise(cell) for _, cell in read_code_cells(path)]
            else:
                texts = [read_source(path)] if path.stat().st_size <= MAX_SCANNED_BYTES else []
        except (OSError, UnreadableNotebook):
            continue
        for text in texts:
            try:
                names |= _imported_names(ast.parse(text))
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                names |= {m.group(1) for m in _IMPORT_LINE.finditer(text)}  # unparsable: the plain import lines
    return names


def _imported_names(tree: ast.AST) -> set[str]:
    """Top-level module names imported anywhere in a syntax tree, statements and calls with a literal name."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and _call_name(node.func) in ("__import__", "import_module"):
            names.add(node.args[0].value.partition(".")[0])
    return names


def _call_name(func: ast.AST) -> str:
    """`f` for a call of f(...) or of something.f(...)."""
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


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
    return Found(notebook, source_text=source, note=msg.NOTE_NOTEBOOK.format(file=_shown(notebook, folder)))


def _why_nothing_fits(folder: Path, files: list[Path], nested: list[Path]) -> str:
    """The one sentence that says why no rule applied, with a hint when a file nearly fits."""
    if not files:
        return msg.DISCOVERY_EMPTY
    if len(nested) > 1:
        where = ", ".join(_shown(f, folder) for f in nested)
        return msg.DISCOVERY_AMBIGUOUS.format(count=len(nested), name=escape(EXPECTED, code=True), where=where)
    notebooks = [f for f in files if f.name == NOTEBOOK]
    if len(notebooks) > 1:
        where = ", ".join(_shown(f, folder) for f in notebooks)
        return msg.DISCOVERY_AMBIGUOUS.format(count=len(notebooks), name=escape(NOTEBOOK, code=True), where=where)
    hints = [_near_miss(f, folder) for f in files if f.suffix == ".py"]
    return " ".join([msg.DISCOVERY_NOTHING, *[h for h in hints if h]][:3])


def _near_miss(path: Path, folder: Path) -> str:
    """A hint when a Python file defines a function named almost compute_gradients (compute_gradient, ...)."""
    try:
        names = _defined_names(ast.parse(read_source(path)))
    except (SyntaxError, ValueError):
        return ""
    close = difflib.get_close_matches(FUNCTION, sorted(names), n=1, cutoff=0.75)
    if not close:
        return ""
    return msg.DISCOVERY_NEAR_MISS.format(file=_shown(path, folder), defined=escape(close[0], code=True))


def _listing(folder: Path, files: list[Path]) -> list[str]:
    """Markdown list items naming what was submitted, at most MAX_LISTED of them."""
    items = [f"- {_shown(f, folder)}" for f in files[:MAX_LISTED]]
    if len(files) > MAX_LISTED:
        items.append(msg.DISCOVERY_LISTING_MORE.format(count=len(files) - MAX_LISTED))
    return items


def _relative(path: Path, folder: Path) -> str:
    """path as the student named it inside their submission."""
    return path.relative_to(folder).as_posix()


def _shown(path: Path, folder: Path) -> str:
    """path as the student named it, as a code span that no name can break out of (markup.escape)."""
    return escape(_relative(path, folder), code=True)


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


def measure(submission: Path, caps: Caps) -> tuple[int, int] | None:
    """(entries, bytes) of a submission (a folder, a zip or a single file), unpacked, counted without unpacking
    it or following a link, and without counting further once past a cap: (entries, bytes) beyond a cap, or None
    within both. A zip's sizes are those its directory declares, which extraction cannot exceed (zipfile stops
    each member at its declared size and checks its CRC)."""
    if submission.is_dir() and not submission.is_symlink():
        return _walk_size(submission, caps)
    if zipfile.is_zipfile(submission):
        with zipfile.ZipFile(submission) as zipped:
            members = zipped.infolist()
        entries, size = len(members), sum(m.file_size for m in members)
    else:
        entries, size = 1, submission.lstat().st_size
    return (entries, size) if entries > caps.max_files or size > caps.max_bytes else None


def _walk_size(folder: Path, caps: Caps) -> tuple[int, int] | None:
    """measure() for a folder: scandir, no link followed, stopping as soon as a cap is passed."""
    entries = size = 0
    pending = [folder]
    while pending:
        try:
            listing = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in listing:
            entries += 1
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            else:
                size += entry.stat(follow_symlinks=False).st_size
            if entries > caps.max_files or size > caps.max_bytes:
                return entries, size
    return None


def _beyond_caps(folder: Path, caps: Caps) -> str:
    """The student's message when the folder is beyond a cap, else ""."""
    measured = _walk_size(folder, caps) if folder.is_dir() else None
    return _too_large(*measured, caps, past=True) if measured else ""


def _refused(folder: Path) -> str:
    """The message of a refusal left by unpack_into, else "" (only its two numbers are read, never its text)."""
    marker = folder / REFUSED
    try:
        if marker.is_symlink() or not marker.is_file() or len(os.listdir(folder)) != 1:
            return ""
        counts = json.loads(marker.read_text(encoding="utf-8"))
        caps = Caps(int(counts["max_files"]), float(counts["max_megabytes"]))
        return _too_large(int(counts["entries"]), int(counts["bytes"]), caps, past=False)
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _too_large(entries: int, size: int, caps: Caps, *, past: bool) -> str:
    """What the student reads: which cap, and what to upload instead. `past`: counting stopped at the cap, so
    only "more than" the cap is known."""
    if entries > caps.max_files:
        count = f"more than {caps.max_files:,}" if past else f"{entries:,}"
        what = msg.TOO_MANY_FILES.format(count=count, limit=f"{caps.max_files:,}")
    else:
        size_text = f"more than {caps.max_megabytes:g} MB" if past else f"{size / 2**20:,.1f} MB"
        what = msg.TOO_MANY_BYTES.format(size=size_text, limit=f"{caps.max_megabytes:g} MB")
    return msg.SUBMISSION_TOO_LARGE.format(what=what)


def unpack_into(submission: Path, target: Path, caps: Caps) -> None:
    """Put a submission (a folder, a zip of one, or a single file) into `target`, as Gradescope unpacks uploads;
    one beyond the caps is neither unpacked nor copied: `target` gets the REFUSED note that discovery reads."""
    if not submission.exists():
        raise GraderError(f"the submission {submission} does not exist")
    measured = measure(submission, caps)
    if measured is not None:
        target.mkdir(parents=True, exist_ok=True)
        counts = {"entries": measured[0], "bytes": measured[1], "max_files": caps.max_files,
                  "max_megabytes": caps.max_megabytes}
        (target / REFUSED).write_text(json.dumps(counts), encoding="utf-8")
    elif submission.is_dir():
        shutil.copytree(submission, target, symlinks=True, dirs_exist_ok=True)
    elif zipfile.is_zipfile(submission):
        unzip(submission, target)
    else:
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(submission, target / submission.name)


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
