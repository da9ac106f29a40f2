"""`backprop-grader student-kit [--out FILE]`: zip `student_template/` into the kit students download.

The kit is built only from `student_template/` (the stub `backprop.py`, the given forward pass `forward.py`, the
public self-check `check.py` and its README), so nothing from `reference/`, `tests/`, `autograder.toml` or the
grader's diagnosis of mistakes can end up in it. Hidden files and `__pycache__` are left out, and entries carry
a fixed date, so the same template always gives the same zip. The one thing taken from autograder.toml is the list
of packages students may import, written into the README's and check.py's line that names it, so the kit says
what the grader allows.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from .config import load_config
from .errors import GraderError

PROJECT = Path(__file__).resolve().parent.parent
TEMPLATE = PROJECT / "student_template"
KIT_FOLDER = "backprop_kit"  # the folder the zip unpacks into
_DATE = (2020, 1, 1, 0, 0, 0)


def _tuple_line(names: tuple) -> str:
    """check.py's line: a Python tuple, written as the template writes it."""
    return "PACKAGES = (" + ", ".join(f'"{n}"' for n in names) + ("," if len(names) == 1 else "") + ")"


# The line of each file that names the packages, and how to write it for a list.
_PACKAGE_LINES = {
    "check.py": (re.compile(r"^PACKAGES = \(.*\)$", re.MULTILINE), _tuple_line),
    "README.md": (re.compile(r"(?<=and these packages, and nothing else: ).*$", re.MULTILINE),
                  lambda names: ", ".join(names) + "."),
}


def register(commands) -> None:
    """Add the student-kit command's arguments."""
    parser = commands.add_parser("student-kit", help="zip student_template/ into the kit students download")
    parser.add_argument("--out", type=Path, default=Path("student_kit.zip"), help="the zip to write")
    parser.add_argument("--config", type=Path, default=None, help="the autograder.toml whose package list it names")


def run(args) -> int:
    """Write the kit and list what is in it."""
    names = build_kit(args.out, config_path=args.config)
    print(f"student kit written to {args.out}: {', '.join(names)} in {KIT_FOLDER}/")
    return 0


def kit_files(template: Path = TEMPLATE) -> list[Path]:
    """The files of the template that go into the kit, sorted: no hidden files, no caches or compiled files."""
    if not (template / "backprop.py").is_file():
        raise GraderError(f"no student template at {template}: expected {template / 'backprop.py'}")
    files = []
    for path in sorted(template.rglob("*")):
        parts = path.relative_to(template).parts
        if path.is_file() and not any(p.startswith(".") or p == "__pycache__" for p in parts) \
                and path.suffix not in (".pyc", ".pyo"):
            files.append(path)
    return files


def with_packages(name: str, text: str, packages: tuple) -> str:
    """A template file's text with its line naming the packages students may import written for `packages`."""
    if name not in _PACKAGE_LINES:
        return text
    pattern, line = _PACKAGE_LINES[name]
    written, count = pattern.subn(line(packages), text, count=1)  # names are identifiers: nothing to escape
    if count != 1:
        raise GraderError(f"student_template/{name} has no line naming the packages ({pattern.pattern})")
    return written


def build_kit(out: Path, template: Path = TEMPLATE, config_path: Path | None = None) -> list[str]:
    """Zip the template's files under `KIT_FOLDER/` into `out`; return their names relative to the template."""
    packages = load_config(config_path).packages
    files = kit_files(template)
    out.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            name = path.relative_to(template).as_posix()
            entry = zipfile.ZipInfo(f"{KIT_FOLDER}/{name}", date_time=_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            data = path.read_bytes()
            if name in _PACKAGE_LINES:
                data = with_packages(name, data.decode("utf-8"), packages).encode("utf-8")
            archive.writestr(entry, data)
            names.append(name)
    return names
