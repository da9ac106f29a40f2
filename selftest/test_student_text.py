"""Student-controlled text (file, folder and notebook names, a Gradescope export's names) never renders as Markdown
or HTML of its own: not in results.json, report.md, index.html or a feedback page; and what batch's pages and
files say about a class (each student's mistakes, the checks that could not run, the export's loose ends).

Hostile names are made here (a newline cannot be committed to git everywhere): a correct submission nested in
folders whose names hold a backtick, a newline, `# Your score: 100`, a remote image, `<img>` and `<script>`,
graded by run_autograder and by batch. The Markdown is rendered by markdown-it-py as the most permissive reader
would (raw HTML on), and the result must hold no element, link or image of the student's making.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import PROJECT, SUBMISSIONS, run_grader
from markdown_it import MarkdownIt

from backprop_grader import markup
from backprop_grader import messages as msg
from backprop_grader.frontends import report

CORRECT = SUBMISSIONS / "correct" / "vectorized"
TEMPLATE = SUBMISSIONS / "template" / "untouched"
PIXEL = "![ok](https:evil.example,pixel.png)"  # a folder name cannot hold "/"
HOSTILE = f"a`b``c\n# Your score: 100\n{PIXEL} <img src=x onerror=alert(1)> <script>alert(2) | &lt;i&gt;"
# What a rendered page may hold: our structure, never an element a student could ask for.
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "strong", "em", "code",
                "pre", "table", "thead", "tbody", "tr", "th", "td", "section", "a", "img", "ul", "li", "br", "hr"}


class _Elements(HTMLParser):
    """Every element of a page with its attributes, and its text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(page)
    return parser


def _permissive(markdown: str) -> str:
    """Markdown rendered by a reader that lets raw HTML through: only our escaping keeps the student's out."""
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def assert_no_student_markup(page: str, *, images=(), headings: bool = False) -> None:
    """No element, attribute, link or image the student made: only allowed tags, no remote address anywhere,
    no script or event handler, images only ours (data: URIs, or the plots beside report.md), no heading
    unless the page has its own."""
    parsed = _parse(page)
    for tag, attrs in parsed.elements:
        assert tag in ALLOWED_TAGS, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "a":  # a page in the out folder, its name percent-encoded: no scheme, no host
            href = attrs.get("href", "")
            assert href.startswith("./") and ":" not in href and "//" not in href, attrs
            continue
        for name, value in attrs.items():
            ours = (value or "").startswith("data:image/svg+xml;base64,")
            assert ours or ("evil.example" not in (value or "") and "//" not in (value or "")), (tag, name, value)
        if tag == "img":
            assert attrs.get("src", "").startswith("data:image/svg+xml;base64,") or attrs.get("src") in images, attrs
    assert headings or not [t for t, _ in parsed.elements if t in ("h1", "h2", "h3")], page
    assert "<script>" not in page and "<img src=x" not in page


def _nest(root: Path, names: list[str], source: Path = CORRECT) -> Path:
    """source's files copied into root/names[0]/names[1]/...; returns root."""
    folder = root.joinpath(*names)
    folder.mkdir(parents=True)
    for file in source.iterdir():
        if file.is_file():
            shutil.copy(file, folder / file.name)
    return root


def _grade(submission: Path, results: Path) -> dict:
    done = subprocess.run([str(PROJECT / "run_autograder"), "--submission", str(submission), "--results",
                           str(results)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(results.read_text(encoding="utf-8"))


def _outputs(document: dict) -> list[str]:
    return [document["output"], *[t["output"] for t in document["tests"]]]


def test_escape_keeps_every_hostile_string_inert():
    for text in (HOSTILE, "`", "``", " ` ", "", "\\", "\x1b[31mred", "a\u202eb", "x|y"):
        for code in (True, False):
            html = _permissive(f"Found {markup.escape(text, code=code)} here.")
            parsed = _parse(html)
            assert [t for t, _ in parsed.elements] in (["p"], ["p", "code"]), (text, code, html)
            shown = "".join(parsed.text)
            assert "\n" not in shown.strip() and "\x1b" not in shown and "\u202e" not in shown, shown


def test_hostile_folder_names_reach_results_json_as_text(tmp_path):
    """The discovery note quotes the path: it shows the student's names, and no heading, image or HTML."""
    submission = _nest(tmp_path / "submission", [HOSTILE, "x" + HOSTILE.replace("\n", " ")])
    document = _grade(submission, tmp_path / "results.json")
    assert document["score"] == 100
    for output in _outputs(document):
        assert_no_student_markup(_permissive(output), headings=False)
    shown = "".join(_parse(_permissive(document["output"])).text)
    assert "# Your score: 100" in shown and PIXEL in shown and "<script>alert(2)" in shown
    assert "a`b``c\\n# Your score" in shown  # the newline shown as \n, on the note's line


def test_hostile_file_names_in_the_listing_and_a_hostile_notebook_name(tmp_path):
    """Nothing found: the listing names every file. A notebook with a hostile name: its note quotes it."""
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    (nothing / (HOSTILE.replace("\n", " ") + ".txt")).write_text("hello")
    (nothing / "compute_gradient.py").write_text("def compute_gradient(z, t, W_kj, W_ji, case):\n    pass\n")
    document = _grade(nothing, tmp_path / "nothing.json")
    assert document["score"] == 0
    for output in _outputs(document):
        assert_no_student_markup(_permissive(output), headings=False)
    assert any(PIXEL in "".join(_parse(_permissive(o)).text) for o in _outputs(document)), _outputs(document)

    notebook = tmp_path / "notebook"
    notebook.mkdir()
    (notebook / (HOSTILE + ".ipynb")).write_text("{ not a notebook", encoding="utf-8")
    document = _grade(notebook, tmp_path / "notebook.json")
    for output in _outputs(document):
        assert_no_student_markup(_permissive(output), headings=False)
    assert msg.NOTEBOOK_NOT_JSON.split("{")[0] in document["tests"][0]["output"]

    (notebook / (HOSTILE + ".ipynb")).write_text(json.dumps(_NOTEBOOK), encoding="utf-8")
    document = _grade(notebook, tmp_path / "defines_nothing.json")  # its name in the missing-function message
    for output in _outputs(document):
        assert_no_student_markup(_permissive(output), headings=False)
    assert "does not define" in document["tests"][0]["output"]


_NOTEBOOK = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
             "cells": [{"cell_type": "code", "id": "a1", "metadata": {}, "execution_count": None, "outputs": [],
                        "source": "def compute_gradient(z, t, W_kj, W_ji, case):\n    return None\n"}]}


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory) -> dict:
    """A Gradescope export with hostile folder and student names, one folder the metadata does not list and one
    entry with no folder, graded by batch."""
    root = tmp_path_factory.mktemp("hostile") / "export"
    _nest(root, [HOSTILE, "deeper <b>"])  # a correct submission, nested: a discovery note
    _nest(root, ["plain"], TEMPLATE)
    _nest(root, ["unlisted"], CORRECT)
    people = {HOSTILE: HOSTILE.replace("a`b", "Eve"), "plain": "=1+1 <script>alert(3)</script>",
              "ghost`\n# nobody": "Nobody"}
    lines = []
    for folder, name in people.items():
        lines += [f"{json.dumps(folder)}:", "  :submitters:", f"  - :name: {json.dumps(name)}",
                  "    :email: someone@example.edu", "    :sid: '1'"]
    (root / "submission_metadata.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = root.parent / "out"
    done = run_grader("batch", str(root), "--out", str(out), "--jobs", "1", timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"out": out, "run": done}


def test_batch_report_shows_hostile_names_as_text(hostile_class):
    out = hostile_class["out"]
    text = (out / report.REPORT_NAME).read_text(encoding="utf-8")
    assert_no_student_markup(_permissive(text), images=(report.SCORES_PLOT, report.TESTS_PLOT), headings=True)
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert all(h.startswith(("# Batch grading report", "## ")) for h in headings), headings


def test_batch_pages_are_self_contained_and_escape_student_text(hostile_class):
    out = hostile_class["out"]
    pages = [out / report.INDEX_PAGE, *out.glob(f"*/{report.FEEDBACK_PAGE}")]
    assert len(pages) == 4, pages  # the index and one page per graded submission
    for page in pages:
        assert_no_student_markup(page.read_text(encoding="utf-8"), headings=True)
    index = _parse((out / report.INDEX_PAGE).read_text(encoding="utf-8"))
    links = [attrs["href"] for tag, attrs in index.elements if tag == "a"]
    assert len(links) == 3 and all((out / _unquoted(link)).is_file() for link in links), links
    images = [attrs["src"] for tag, attrs in index.elements if tag == "img"]
    assert len(images) == 2 and all(src.startswith("data:image/svg+xml;base64,") for src in images)
    shown = "".join(index.text)
    assert "# Your score: 100" in shown and "<script>alert(3)</script>" in shown


def test_every_test_is_on_the_feedback_page_with_its_output(hostile_class):
    out = hostile_class["out"]
    document = json.loads((out / "plain" / "results.json").read_text(encoding="utf-8"))
    page = _parse((out / "plain" / report.FEEDBACK_PAGE).read_text(encoding="utf-8"))
    shown = "".join(page.text)
    for test in document["tests"]:
        assert f"{test['number']} {test['name']}" in shown
    assert msg.FAILURE["not_implemented"].split(" (")[0] in shown
    assert msg.HIDDEN_UNPUBLISHED in shown  # hidden tests' outputs are there too


def test_metadata_without_folder_and_folder_without_metadata_are_warned(hostile_class):
    stderr, text = hostile_class["run"].stderr, (hostile_class["out"] / report.REPORT_NAME).read_text()
    for needle in ("`unlisted` has no entry in submission_metadata.yml", "lists `` ghost`\\n# nobody ``"):
        assert needle in stderr and needle in text, (needle, stderr[-2000:])


def test_grades_csv_names_each_mistake_and_lms_csv_each_student(hostile_class):
    out = hostile_class["out"]
    with open(out / report.CSV_NAME, newline="", encoding="utf-8") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    assert "is not implemented yet" in rows["plain"][report.MISTAKES_COLUMN]
    assert rows["unlisted"][report.MISTAKES_COLUMN] == ""
    with open(out / report.LMS_NAME, newline="", encoding="utf-8") as handle:
        people = list(csv.DictReader(handle))
    assert {(p["submission"], p["score"]) for p in people} == {(HOSTILE, "100"), ("plain", "0"), ("unlisted", "100")}
    assert any(p["name"] == "'=1+1 <script>alert(3)</script>" for p in people)  # never a spreadsheet formula


def _unquoted(link: str) -> str:
    from urllib.parse import unquote

    return unquote(link.removeprefix("./"))


def test_could_not_be_checked_is_a_status_not_a_mistake(hostile_class):
    """The untouched template's checks that could not run are listed as such, never counted as a mistake."""
    out = hostile_class["out"]
    entry = report.Entry("plain", document=json.loads((out / "plain" / "results.json").read_text()))
    assert report.not_checked(entry) and all(n.startswith("0.") for n in report.not_checked(entry))
    assert not any(d.startswith(msg.CHECK_NOT_RUN.split(":")[0]) for d in report.mistakes_of(entry)), \
        report.mistakes_of(entry)
    text = (out / report.REPORT_NAME).read_text(encoding="utf-8")
    assert "| Could not be checked |" not in text
