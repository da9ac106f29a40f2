"""Finding the student's file (SPEC section 2), reading notebooks, and reading Gradescope's metadata.

Every test builds real files in tmp_path; the last ones grade a zip and a lone file through the real command line.
"""

import json
import re
import traceback
import zipfile
from pathlib import Path

import nbformat
import pytest
from helpers import PROJECT, SUBMISSIONS, grade
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from backprop_grader import messages as msg
from backprop_grader.frontends import discovery
from backprop_grader.frontends.discovery import Caps, explain_not_found, find_submission, imports_in_source
from backprop_grader.frontends.metadata import log_line, read_submitter
from backprop_grader.frontends.notebook import module_source, neutralise
from backprop_grader.sandbox import worker

CORRECT = (SUBMISSIONS / "correct" / "vectorized" / "backprop.py").read_text()
CAPS = Caps(max_files=2000, max_megabytes=100)  # the project's own
DEFINES = "def compute_gradients(z, t, W_kj, W_ji, case):\n    return z, t\n"


def _write(root: Path, files: dict) -> Path:
    """Create files (relative path -> text or bytes) below root and return root."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return root


def _notebook(root: Path, name: str, cells: list) -> Path:
    """A real notebook file, written by nbformat, from ("md" | "code", source) pairs."""
    made = [new_markdown_cell(s) if kind == "md" else new_code_cell(s) for kind, s in cells]
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=made), path)
    return path


# Rule 1 and 2: backprop.py at the top, or exactly one below.

def test_top_level_backprop_wins_without_a_note(tmp_path):
    _write(tmp_path, {"backprop.py": DEFINES, "old/backprop.py": DEFINES, "hw2.py": DEFINES})
    _notebook(tmp_path, "backprop.ipynb", [("code", DEFINES)])
    found = find_submission(tmp_path, CAPS)
    assert found.path == tmp_path / "backprop.py" and found.note == "" and found.source_text is None


def test_one_nested_backprop_is_graded_with_a_note(tmp_path):
    _write(tmp_path, {"hw/backprop.py": DEFINES, "__MACOSX/hw/._backprop.py": b"\x00\x05junk"})
    found = find_submission(tmp_path, CAPS)
    assert found.path == tmp_path / "hw" / "backprop.py"
    assert "`hw/backprop.py`" in found.note


def test_two_nested_backprops_are_ambiguous_and_listed(tmp_path):
    _write(tmp_path, {"a/backprop.py": DEFINES, "b/backprop.py": DEFINES})
    found = find_submission(tmp_path, CAPS)
    assert found.path is None
    assert "2 files named `backprop.py`" in found.problem
    assert found.listing == ["- `a/backprop.py`", "- `b/backprop.py`"]


def test_clutter_is_ignored(tmp_path):
    _write(tmp_path, {"__MACOSX/._backprop.py": b"\x00junk", ".hidden/backprop.py": DEFINES,
                      "__pycache__/backprop.py": DEFINES, ".ipynb_checkpoints/backprop-checkpoint.ipynb": "{}",
                      ".DS_Store": b"\x00"})
    found = find_submission(tmp_path, CAPS)
    assert found.path is None and found.problem == msg.DISCOVERY_EMPTY and found.listing == []


# Rule 3: exactly one notebook.

def test_backprop_ipynb_is_preferred_to_other_notebooks(tmp_path):
    _notebook(tmp_path, "scratch.ipynb", [("code", "x = 1")])
    _notebook(tmp_path, "hw/backprop.ipynb", [("code", DEFINES)])
    found = find_submission(tmp_path, CAPS)
    assert found.path == tmp_path / "hw" / "backprop.ipynb"
    assert "backprop.ipynb, cell 1" in found.source_text
    assert "notebook `hw/backprop.ipynb`" in found.note


def test_the_only_notebook_is_graded_whatever_its_name(tmp_path):
    _notebook(tmp_path, "Homework 2.ipynb", [("code", DEFINES)])
    assert find_submission(tmp_path, CAPS).path == tmp_path / "Homework 2.ipynb"


def test_two_unnamed_notebooks_fall_through_to_rule_4(tmp_path):
    _notebook(tmp_path, "a.ipynb", [("code", DEFINES)])
    _notebook(tmp_path, "b.ipynb", [("code", DEFINES)])
    _write(tmp_path, {"solution.py": DEFINES})
    assert find_submission(tmp_path, CAPS).path == tmp_path / "solution.py"


@pytest.mark.parametrize("content, expected", [
    (b'{"cells": [', msg.NOTEBOOK_NOT_JSON.split("(")[0]),
    (b"[1, 2]", msg.NOTEBOOK_NOT_JSON.split("(")[0]),
    (b'{"nbformat": 4, "nbformat_minor": 4, "cells": [{"cell_type": "code"}]}', msg.NOTEBOOK_INVALID.split("(")[0]),
    (b'{"nbformat": 99}', msg.NOTEBOOK_NOT_JSON.split("(")[0]),
    ('{"cells": "\u00e9"}'.encode("latin-1"), msg.NOTEBOOK_NOT_UTF8.split("(")[0]),
], ids=["truncated", "json-list", "schema", "version", "latin-1"])
def test_an_unreadable_notebook_gets_a_clear_problem(tmp_path, content, expected):
    _write(tmp_path, {"backprop.ipynb": content})
    found = find_submission(tmp_path, CAPS)
    assert found.path is None
    assert found.problem.startswith(expected.format(file="`backprop.ipynb`")), found.problem
    assert "- `backprop.ipynb`" in explain_not_found(found)


# Rule 4: exactly one .py that defines compute_gradients, decided from the syntax tree.

def test_another_name_defining_compute_gradients_is_graded_with_a_note(tmp_path):
    _write(tmp_path, {"hw2.py": CORRECT, "test_hw2.py": "from hw2 import compute_gradients\n", "notes.txt": "hi"})
    found = find_submission(tmp_path, CAPS)
    assert found.path == tmp_path / "hw2.py"
    assert "`hw2.py`" in found.note and "backprop.py" in found.note


def test_a_broken_file_that_defines_it_is_still_chosen_so_the_student_sees_the_error(tmp_path):
    _write(tmp_path, {"hw2.py": "def compute_gradients(z, t, W_kj, W_ji, case):\n    return (\n"})
    assert find_submission(tmp_path, CAPS).path == tmp_path / "hw2.py"


def test_two_files_defining_it_are_ambiguous(tmp_path):
    _write(tmp_path, {"a.py": DEFINES, "b.py": DEFINES})
    found = find_submission(tmp_path, CAPS)
    assert found.path is None and found.problem.startswith(msg.DISCOVERY_NOTHING)


def test_a_near_miss_is_named_when_nothing_fits(tmp_path):
    _write(tmp_path, {"hw2.py": "def compute_gradient(z, t, W_kj, W_ji, case):\n    pass\n"})
    found = find_submission(tmp_path, CAPS)
    assert found.path is None
    assert "`hw2.py` defines `compute_gradient`" in found.problem


def test_the_listing_is_capped(tmp_path):
    _write(tmp_path, {f"data/{n:03}.txt": "x" for n in range(60)})
    found = find_submission(tmp_path, CAPS)
    assert len(found.listing) == 51 and "10 more" in found.listing[-1]


def test_an_empty_submission_says_so(tmp_path):
    text = explain_not_found(find_submission(tmp_path, CAPS))
    assert text.startswith(msg.DISCOVERY_EMPTY) and msg.EXPECTED_SUBMISSION in text and "- (nothing)" in text


# Notebooks: magics neutralised, every line kept in place.

def test_line_magics_and_shell_lines_become_pass_keeping_line_numbers():
    cell = ("%matplotlib inline\n!pip install numpy \\\n    scipy\nimport numpy as np\nfiles = !ls\n"
            "if True:\n    %time x = 1")
    out = neutralise(cell)
    compile(out, "cell", "exec")
    lines = out.split("\n")
    assert len(lines) == len(cell.split("\n"))
    assert lines[0].startswith("pass  #") and lines[1].startswith("pass  #") and lines[2].lstrip().startswith("#")
    assert lines[3] == "import numpy as np"
    assert lines[4].startswith("files = None  #")
    assert lines[6].startswith("    pass  #")


def test_a_python_cell_magic_keeps_its_body_and_others_are_commented_out():
    timed = neutralise("%%time\nx = 1\ny = 2")
    assert timed.split("\n")[1:] == ["x = 1", "y = 2"]
    shell = neutralise("%%bash\necho hi\nls -l")
    assert all(line.startswith("#") for line in shell.split("\n")), shell
    compile(shell, "cell", "exec")


def test_a_cell_that_compiles_is_left_alone():
    cell = 'text = """\n!important\n%not a magic\n"""'
    assert neutralise(cell) == cell


def test_tracebacks_and_syntax_errors_name_the_notebook_cell_and_line(tmp_path):
    path = _notebook(tmp_path, "backprop.ipynb", [
        ("md", "# title"), ("code", "%matplotlib inline\nimport numpy as np"),
        ("code", "def compute_gradients(z, t, W_kj, W_ji, case):\n    return z[10], t\n")])
    namespace = {"__name__": "backprop"}
    exec(compile(module_source(path), str(path), "exec"), namespace)
    with pytest.raises(IndexError) as raised:
        namespace["compute_gradients"]([1], [2], None, None, "sigmoid")
    last = traceback.extract_tb(raised.value.__traceback__)[-1]
    assert (last.filename, last.lineno, last.line) == ("backprop.ipynb, cell 3", 2, "return z[10], t")

    broken = _notebook(tmp_path / "broken", "backprop.ipynb", [("code", "import numpy"), ("code", "x = 1\ny = (\n")])
    with pytest.raises(SyntaxError) as raised:
        exec(compile(module_source(broken), str(broken), "exec"), {"__name__": "backprop"})
    assert (raised.value.filename, raised.value.lineno) == ("backprop.ipynb, cell 2", 2)


# The worker's checks of what it imports and what compute_gradients returns (pure functions, no process).

@pytest.mark.parametrize("returned, kind", [
    (None, "returned_none"), ([[1.0]], "wrong_count"), ((1, 2, 3), "wrong_count"), ({"a": 1}, "not_a_pair"),
    ((None, [1.0]), "non_numeric"), (([1j], [1.0]), "non_numeric"), ((["a"], [1.0]), "non_numeric"),
    (([[1.0], [1.0, 2.0]], [1.0]), "non_numeric"),
])
def test_bad_return_values_are_named(returned, kind):
    arrays, failure = worker._as_arrays(returned)
    assert arrays is None and failure["kind"] == kind


def test_lists_float32_and_numpy_scalars_are_accepted():
    import numpy as np

    arrays, reply = worker._as_arrays([[[1, 2]], np.float32([[0.5]])])
    assert reply["ok"] and arrays[0].dtype == np.float64 and arrays[1].shape == (1, 1)


def test_close_names_are_suggested():
    assert worker._closest(["sigmoid", "compute_gradient"]) == "compute_gradient"
    assert worker._closest(["computeGradients"]) == "computeGradients"
    assert worker._closest(["sigmoid", "forward"]) is None


def test_encodings_python_can_read_pass_and_others_do_not(tmp_path):
    declared = tmp_path / "latin.py"
    declared.write_bytes("# -*- coding: latin-1 -*-\n# caf\u00e9\n".encode("latin-1"))
    assert worker._undecodable(str(declared)) is None
    utf16 = tmp_path / "utf16.py"
    utf16.write_bytes("x = 1\n".encode("utf-16"))
    failure = worker._undecodable(str(utf16))
    assert failure["kind"] == "not_utf8" and "UTF-16" in failure["message"]


# Gradescope's submission_metadata.json: the instructor's log only.

def test_metadata_beside_the_submission_names_the_submitters(tmp_path):
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission_metadata.json").write_text(json.dumps(
        {"id": 123, "users": [{"name": "Ada Lovelace", "email": "ada@example.org"}, {"name": "Alan Turing"}]}))
    submitter = read_submitter(tmp_path / "submission")
    assert submitter == {"names": ["Ada Lovelace", "Alan Turing"], "submission_id": 123}
    assert log_line(submitter) == "Grading the submission of `Ada Lovelace`, `Alan Turing` (submission 123)."
    forged = log_line({"names": ["Eve\nGrading the submission of Ada"]})
    assert "\n" not in forged and "Eve\\nGrading" in forged


@pytest.mark.parametrize("content", [None, "{not json", "[]", '{"users": "Ada"}', '{"users": [{"name": 3}]}',
                                     b"\xff\xfe"],
                         ids=["missing", "not-json", "list", "users-str", "name-int", "bytes"])
def test_missing_or_malformed_metadata_changes_nothing(tmp_path, content):
    (tmp_path / "submission").mkdir()
    if content is not None:
        data = content if isinstance(content, bytes) else content.encode()
        (tmp_path / "submission_metadata.json").write_bytes(data)
    assert read_submitter(tmp_path / "submission") == {} and log_line({}) == ""


def test_metadata_inside_the_submission_is_the_students_and_ignored(tmp_path):
    _write(tmp_path, {"submission/submission_metadata.json": '{"users": [{"name": "Someone Else"}]}'})
    assert read_submitter(tmp_path / "submission") == {}


# Real grading of what students upload: a zip with a folder inside, and a lone file with another name.

def test_a_zip_with_a_folder_inside_is_graded_and_metadata_stays_instructor_only(tmp_path):
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("hw/backprop.py", CORRECT)
        zipped.writestr("__MACOSX/hw/._backprop.py", b"\x00\x05junk")
    (tmp_path / "submission_metadata.json").write_text('{"id": 7, "users": [{"name": "Ada Lovelace"}]}')
    document = grade(archive, tmp_path / "results.json")
    assert document["score"] == 100
    assert "Note: graded `hw/backprop.py`" in document["output"]
    assert document["extra_data"]["submitter"] == {"names": ["Ada Lovelace"], "submission_id": 7}
    student_text = document["output"] + "".join(t["output"] for t in document["tests"])
    assert "Ada" not in student_text


def test_a_single_file_with_another_name_is_graded(tmp_path):
    lone = _write(tmp_path, {"hw2.py": CORRECT}) / "hw2.py"
    document = grade(lone, tmp_path / "results.json")
    assert document["score"] == 100
    assert "Note: graded `hw2.py`" in document["output"]
    assert "submitter" not in document["extra_data"]


# Caps on what a submission holds (autograder.toml [submission]), checked before anything is unpacked or copied.

def _zeros_zip(path: Path, megabytes: int, files: int = 1) -> Path:
    """A small zip that unpacks to `megabytes` of zeros (a zip bomb, in miniature) spread over `files` members."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("backprop.py", CORRECT)
        chunk = bytes(1 << 20)
        for n in range(files - 1 if files > 1 else 1):
            with archive.open(f"data/{n}.bin", "w", force_zip64=True) as member:
                for _ in range(megabytes if n == 0 else 0):
                    member.write(chunk)
    return path


def test_a_zip_beyond_the_size_cap_is_not_unpacked_and_scores_0_saying_why(tmp_path):
    bomb = _zeros_zip(tmp_path / "bomb.zip", megabytes=120)
    assert bomb.stat().st_size < 1 << 20
    unpacked = tmp_path / "unpacked"
    discovery.unpack_into(bomb, unpacked, Caps(max_files=2000, max_megabytes=100))
    assert [p.name for p in unpacked.iterdir()] == [discovery.REFUSED]  # nothing of the zip was written
    found = find_submission(unpacked, Caps(max_files=2000, max_megabytes=100))
    assert found.path is None and found.problem.startswith(msg.SUBMISSION_TOO_LARGE_START)
    assert "120.0 MB unpacked, and at most 100 MB" in found.problem
    document = grade(bomb, tmp_path / "results.json")  # the project's own caps: 100 MB
    assert document["score"] == 0
    first = next(t for t in document["tests"] if t["number"] == "0.1")
    assert msg.SUBMISSION_TOO_LARGE_START in first["output"] and "autograder" not in first["output"].lower()


def test_a_folder_with_too_many_files_is_refused_before_it_is_read_or_copied(tmp_path):
    folder = _write(tmp_path / "sub", {"backprop.py": CORRECT})
    for n in range(30):
        (folder / f"note{n}.txt").write_text("x")
    found = find_submission(folder, Caps(max_files=20, max_megabytes=100))
    assert found.path is None and "more than 20 files and folders, and at most 20 are accepted" in found.problem
    copy = tmp_path / "copy"
    discovery.unpack_into(folder, copy, Caps(max_files=20, max_megabytes=100))
    assert [p.name for p in copy.iterdir()] == [discovery.REFUSED]
    assert find_submission(folder, Caps(max_files=40, max_megabytes=100)).path == folder / "backprop.py"


def test_an_honest_submission_is_far_below_the_default_caps(tmp_path):
    caps = discovery.configured_caps()
    assert (caps.max_files, caps.max_megabytes) == (2000, 100)
    folder = _write(tmp_path, {"backprop.py": CORRECT, "helpers.py": "X = 1\n", "notes/README.md": "x" * 10000})
    assert find_submission(folder, caps).path == folder / "backprop.py"


def test_a_planted_refusal_note_is_read_only_for_its_numbers(tmp_path):
    folder = _write(tmp_path, {discovery.REFUSED: json.dumps({"entries": "```", "bytes": 1})})
    assert find_submission(folder, Caps(10, 1)).problem == msg.DISCOVERY_EMPTY  # hidden, and not a refusal


def test_a_notebook_nested_too_deeply_is_the_students_0_with_a_clear_message(tmp_path):
    (tmp_path / "backprop.ipynb").write_text('{"cells": ' + "[" * 100000 + "]" * 100000 + "}")
    found = find_submission(tmp_path, Caps(2000, 100))
    assert found.path is None and msg.NOTEBOOK_TOO_DEEP in found.problem
    document = grade(tmp_path, tmp_path.parent / "results.json")
    first = next(t for t in document["tests"] if t["number"] == "0.1")
    assert document["score"] == 0 and msg.NOTEBOOK_TOO_DEEP in first["output"]
    assert "autograder" not in document["output"].lower()


# Check 0.4 reads the submission's imports from its source too (outside the worker).

def test_imports_are_read_from_the_source_of_every_file_and_notebook_cell(tmp_path):
    _write(tmp_path, {"backprop.py": "import numpy as np\nfrom helpers import f\n",
                      "helpers.py": "import importlib\nT = importlib.import_module('torch.nn')\n",
                      "sub/deep.py": "def g():\n    import jax.numpy\n    return __import__('autograd')\n",
                      "broken.py": "import tensorflow\ndef (:\n"})
    names = imports_in_source(tmp_path / "backprop.py")
    assert {"numpy", "helpers", "importlib", "torch", "jax", "autograd", "tensorflow"} <= names
    notebook = _notebook(tmp_path / "nb", "backprop.ipynb", [("code", "%matplotlib inline\nimport torch"),
                                                             ("md", "import jax")])
    assert imports_in_source(notebook) == {"torch"}


def _tiny_caps_config(tmp_path: Path) -> Path:
    """The project's autograder.toml with a cap of 3 files and folders, as an instructor's --config."""
    text = (PROJECT / "autograder.toml").read_text(encoding="utf-8")
    path = tmp_path / "tiny-caps.toml"
    path.write_text(re.sub(r"(?m)^max_files = .*$", "max_files = 3", text), encoding="utf-8")
    return path


@pytest.mark.parametrize("packed", ["folder", "zip"])
def test_grade_takes_the_caps_from_the_configuration_given(tmp_path, packed):
    """`grade --config X` caps the submission by X's [submission], not by the project's autograder.toml: a
    folder is measured where it lies, a zip before it is unpacked."""
    folder = _write(tmp_path / "sub", {"backprop.py": CORRECT, **{f"note{n}.txt": "x" for n in range(5)}})
    submission = folder
    if packed == "zip":
        submission = tmp_path / "sub.zip"
        with zipfile.ZipFile(submission, "w") as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, path.name)
    capped = grade(submission, tmp_path / "capped.json", "--config", str(_tiny_caps_config(tmp_path)))
    first = next(t for t in capped["tests"] if t["number"] == "0.1")
    assert capped["score"] == 0, first["output"]
    assert msg.SUBMISSION_TOO_LARGE_START in first["output"] and "at most 3 are accepted" in first["output"]
    default = grade(submission, tmp_path / "default.json")
    assert default["score"] == 100, default["output"]
