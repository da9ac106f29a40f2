"""Turn a Jupyter notebook into the Python module the worker imports: its code cells, in order, magics neutralised.

The grader reads the notebook (here, never in the worker) and writes a small module that runs each code cell
with exec(compile(cell, "backprop.ipynb, cell 3", "exec")). Tracebacks and syntax errors therefore name the
cell and the line the student sees in Jupyter, with no line map to keep in step. Cells are numbered from the
top of the notebook, markdown cells included, because that is how a student counts them on screen.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

from .. import messages as msg
from ..markup import escape

# Cell magics whose body is Python: the body runs, only the %% line goes. Any other cell magic (%%bash,
# %%writefile, %%html, ...) holds something else, and the whole cell is neutralised.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
_ESCAPE = re.compile(r"^(\s*)([!%].*)$")  # `%matplotlib inline`, `!pip install numpy`, `%%time`
_ASSIGNED_ESCAPE = re.compile(r"^(\s*[\w.]+(?:\s*,\s*[\w.]+)*\s*=\s*)([!%].*)$")  # `files = !ls`
_NEUTRALISED = "  # neutralised by the grader: "


class UnreadableNotebook(ValueError):
    """The notebook could not be read; the message is for the student."""


def cell_name(notebook: str, number: int) -> str:
    """The filename a cell's code is compiled under, as tracebacks will show it."""
    return f"{notebook}, cell {number}"


def _unreadable(template: str, path: Path, detail: str) -> str:
    """The student's message for an unreadable notebook: its name and the parser's words are theirs to choose
    (a cell's text can be quoted in the parser's error), so both are escaped."""
    return template.format(file=escape(path.name, code=True), detail=escape(detail))


def read_code_cells(path: Path) -> list[tuple[int, str]]:
    """(number from the top, source) of each code cell, after checking the notebook against its schema."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableNotebook(_unreadable(msg.NOTEBOOK_NOT_UTF8, path, exc.reason)) from exc
    import nbformat  # only when a notebook is graded: it costs a tenth of a second to import

    try:
        if not isinstance(json.loads(text), dict):
            raise ValueError("the file is JSON, but not a JSON object")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing cell ids: nbformat repairs them, the student need not care
            notebook = nbformat.reads(text, as_version=4)
            nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        raise UnreadableNotebook(_unreadable(msg.NOTEBOOK_INVALID, path, _first_line(exc))) from exc
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise UnreadableNotebook(_unreadable(msg.NOTEBOOK_NOT_JSON, path, _first_line(exc))) from exc
    except RecursionError:  # JSON nested thousands of levels deep: no notebook is, and the parser gives up
        raise UnreadableNotebook(_unreadable(msg.NOTEBOOK_NOT_JSON, path, msg.NOTEBOOK_TOO_DEEP)) from None
    return [(number, cell.source) for number, cell in enumerate(notebook.cells, start=1)
            if cell.cell_type == "code"]


def neutralise(source: str) -> str:
    """The cell with IPython magics and shell lines turned into `pass` lines, keeping every line number.

    A cell that already compiles is left alone, so a line such as `!important` inside a multi-line string
    is never touched: no magic line is valid Python, so a cell that compiles has none.
    """
    try:
        compile(source, "<cell>", "exec")
        return source
    except (SyntaxError, ValueError):
        pass
    lines = source.split("\n")
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        magic = first[2:].split(maxsplit=1)[0] if first[2:].strip() else ""
        if magic not in _PYTHON_CELL_MAGICS:
            return "\n".join(_comment_out(line) for line in lines)
    out, continued = [], False
    for line in lines:
        if continued:
            out.append(_comment_out(line))
        elif _ESCAPE.match(line):
            indent, command = _ESCAPE.match(line).groups()
            out.append(f"{indent}pass{_NEUTRALISED}{command}")
        elif _ASSIGNED_ESCAPE.match(line):
            target, command = _ASSIGNED_ESCAPE.match(line).groups()
            out.append(f"{target}None{_NEUTRALISED}{command}")
        else:
            out.append(line)
            continue
        continued = line.rstrip().endswith("\\")  # a shell line continued onto the next one
    return "\n".join(out)


def module_source(path: Path) -> str:
    """The Python the worker imports for this notebook: every code cell, neutralised, run in order."""
    cells = [(cell_name(path.name, number), neutralise(source)) for number, source in read_code_cells(path)]
    body = ",\n".join(f"    ({name!r}, {source!r})" for name, source in cells)
    return _TEMPLATE.format(notebook=path.name, cells=body)


def _comment_out(line: str) -> str:
    """A line that does nothing, with its text kept as a comment (an empty line stays empty)."""
    return f"#{_NEUTRALISED}{line}" if line.strip() else line


def _first_line(exc: Exception) -> str:
    """The first line of an error's text, short enough for a student message."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


_TEMPLATE = '''\
"""The code cells of {notebook}, written by the grader; each runs in order, as "Run All" would in Jupyter."""

import linecache as __grader_linecache


def display(*objects, **options):
    """Jupyter's display(), which shows nothing here."""


__grader_cells__ = [
{cells}
]
for __grader_name__, __grader_code__ in __grader_cells__:
    __grader_linecache.cache[__grader_name__] = (
        len(__grader_code__), None, __grader_code__.splitlines(True), __grader_name__)
    exec(compile(__grader_code__, __grader_name__, "exec"), globals())
'''
