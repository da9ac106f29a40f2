"""`backprop-grader student-kit [--out FILE]`: zip `student_template/` into the kit students download.

The kit is built only from `student_template/` (the stub `backprop.py`, the given forward pass `forward.py`, the
public self-check `check.py` and its README), so nothing from `reference/`, `tests/`, `autograder.toml` or the
grader's diagnosis of mistakes can end up in it. Hidden files and `__pycache__` are left out, and entries carry
a fixed date, so the same template always gives the same zip. What is taken from autograder.toml: the list of
packages students may import, written into the README's and check.py's line that names it, so the kit says what
the grader allows; and the graded cases (rubric.cases), written into check.py's line that names them.

The kit also holds `worked_example.json`: the inputs of the worked example of tests N.1 and N.2 for each graded
case, written from the very networks the grader grades (networks.worked_example), never from a copy. It is public
by design; no random network, seed or expected gradient goes into it.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from ..config import CASE_NUMBERS, CASES, PROJECT_ROOT, load_config
from ..errors import GraderError
from ..maths import networks
from .build import ZIP_TIME
from .writable import check_file, writing

TEMPLATE = PROJECT_ROOT / "student_template"
KIT_FOLDER = "backprop_kit"  # the folder the zip unpacks into


WORKED_EXAMPLE = "worked_example.json"  # written into the kit from networks.worked_example, for each graded case
_CASE_LABELS = {case: f"case {n} ({case})" for case, n in CASE_NUMBERS.items()}  # as check.py names them


def _tuple_line(names: tuple) -> str:
    """check.py's line: a Python tuple, written as the template writes it."""
    return "PACKAGES = (" + ", ".join(f'"{n}"' for n in names) + ("," if len(names) == 1 else "") + ")"


def _cases_line(cases: tuple) -> str:
    """check.py's line naming the graded cases, a dict written as the template writes it."""
    return "CASES = {" + ", ".join(f'"{case}": "{_CASE_LABELS[case]}"' for case in cases) + "}"


# The line of each file that names the packages, and how to write it for a list.
_PACKAGE_LINES = {
    "check.py": (re.compile(r"^PACKAGES = \(.*\)$", re.MULTILINE), _tuple_line),
    "README.md": (re.compile(r"(?<=and these packages, and nothing else: ).*$", re.MULTILINE),
                  lambda names: ", ".join(names) + "."),
}
_CASES_LINE = ("check.py", re.compile(r"^CASES = \{.*\}$", re.MULTILINE))


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


def with_cases(name: str, text: str, cases: tuple) -> str:
    """A template file's text with check.py's line naming the cases written for `cases` (others unchanged)."""
    if name != _CASES_LINE[0]:
        return text
    written, count = _CASES_LINE[1].subn(_cases_line(cases), text, count=1)
    if count != 1:
        raise GraderError(f"student_template/{name} has no line naming the cases ({_CASES_LINE[1].pattern})")
    return written


def worked_example_json(cases: tuple = CASES) -> str:
    """The inputs of the worked example of each graded case, exactly as graded (every float round-trips)."""
    examples = {}
    for case in cases:
        network, n = networks.worked_example(case), CASE_NUMBERS[case]
        examples[case] = {"tests": [f"{n}.1", f"{n}.2"], "z": network.z.tolist(), "t": network.t.tolist(),
                          "W_kj": network.W_kj.tolist(), "W_ji": network.W_ji.tolist()}
    about = ("The worked example of the graded tests N.1 and N.2: call compute_gradients(z, t, W_kj, W_ji, case) "
             "with these arrays (numpy.array of each list) and follow the computation by hand.")
    cases = ",\n".join(f'    {json.dumps(case)}: {{\n' + ",\n".join(f"      {json.dumps(key)}: {json.dumps(value)}"
                                                          for key, value in example.items()) + "\n    }"
                       for case, example in examples.items())
    return f'{{\n  "about": {json.dumps(about)},\n  "cases": {{\n{cases}\n  }}\n}}\n'  # one array a line


def build_kit(out: Path, template: Path = TEMPLATE, config_path: Path | None = None) -> list[str]:
    """Zip the template's files under `KIT_FOLDER/` into `out`, and the worked example of the graded cases;
    return their names relative to the template."""
    config = load_config(config_path)
    contents = {}
    for path in kit_files(template):
        name = path.relative_to(template).as_posix()
        data = path.read_bytes()
        if name in _PACKAGE_LINES:
            text = with_packages(name, data.decode("utf-8"), config.packages)
            data = with_cases(name, text, config.cases).encode("utf-8")
        contents[name] = data
    contents[WORKED_EXAMPLE] = worked_example_json(config.cases).encode("utf-8")  # never a template's copy
    check_file(out, "--out")
    try:
        with writing(out, "--out"):
            out.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name in sorted(contents):
                    entry = zipfile.ZipInfo(f"{KIT_FOLDER}/{name}", date_time=ZIP_TIME)
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    entry.external_attr = 0o644 << 16
                    archive.writestr(entry, contents[name])
    except GraderError:
        out.unlink(missing_ok=True)  # a kit cut short (a full disk) is never left behind
        raise
    return sorted(contents)
