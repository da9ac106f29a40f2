"""batch's HTML pages: OUT/<submission>/feedback.html (what the student sees after the due date) and
OUT/index.html (report.md as a page, its plots inside it).

Each page stands alone: inline CSS, images as data: URIs, no script, no font, no remote URL. The Markdown the
grader wrote (results.json's outputs, report.md) is rendered as CommonMark by markdown-it-py, as the student's
browser would render it on Gradescope, with raw HTML off: student text in it was escaped where it was written
(markup.escape), and whatever HTML it still held would show as text. A link or image may only point inside the
out folder, or be one of our own data: images; any other is dropped by the renderer.
"""

from __future__ import annotations

import base64
import functools
import re
from pathlib import Path

from ..markup import escape
from .report import FEEDBACK_PAGE, INDEX_PAGE, SCORES_PLOT, TESTS_PLOT, Entry

_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; } td, th { border: 1px solid #ccc; padding: 0.2rem 0.5rem; }
pre { background: #f5f5f5; padding: 0.5rem; overflow-x: auto; white-space: pre-wrap; }
code { background: #f5f5f5; padding: 0 0.2rem; }
section.test { border: 1px solid #ddd; border-left: 6px solid #999; padding: 0 1rem; margin: 1rem 0; }
section.passed { border-left-color: #2e7d32; } section.failed { border-left-color: #c62828; }
.meta { color: #555; } img { max-width: 100%; }
"""
_VISIBILITY = {"visible": "visible", "hidden": "never shown to the student",
               "after_due_date": "hidden until the due date", "after_published": "hidden until grades are published"}
_RELATIVE = re.compile(r"^\./[A-Za-z0-9%._~-]+(/[A-Za-z0-9%._~-]+)*$")  # a path we wrote: ./quoted-name/page.html
_OUR_IMAGE = re.compile(r"^data:image/svg\+xml;base64,[A-Za-z0-9+/=]+$")
RENDERED = 2048  # texts whose HTML is remembered (render), the least recently used forgotten


def write_pages(entries: list[Entry], out: Path, report_markdown: str) -> None:
    """feedback.html in each graded submission's folder, and index.html from report.md with its plots inside."""
    for entry in entries:
        if entry.document and (out / entry.submission).is_dir():
            (out / entry.submission / FEEDBACK_PAGE).write_text(feedback_page(entry), encoding="utf-8")
    (out / INDEX_PAGE).write_text(index_page(report_markdown, out), encoding="utf-8")


def feedback_page(entry: Entry) -> str:
    """Everything the student sees once every test is visible: the score, the summary, and each test's output."""
    document = entry.document
    tests = document.get("tests", [])
    total = sum(t.get("max_score", 0) for t in tests)
    who = entry.who("name") or entry.who("email")
    head = [f"# Feedback for {escape(entry.submission, code=True)}",
            f"{escape(who)}" if who else "",
            f"**Score:** {document.get('score', 0):g} of {total:g} ({entry.status})"]
    body = [render("\n\n".join(h for h in head if h)), render(document.get("output", ""))]
    for test in tests:
        if test.get("visibility") == "hidden":
            continue  # never shown to the student, not even after the due date
        status = "passed" if test.get("status") == "passed" else "failed"
        title = (f"### {escape(test.get('number', ''))} {escape(test.get('name', ''))}\n\n"
                 f"{status}, {test.get('score', 0):g} of {test.get('max_score', 0):g} points, "
                 f"{_VISIBILITY.get(test.get('visibility'), escape(test.get('visibility', '')))}")
        body.append(f'<section class="test {status}">{render(title)}{render(test.get("output", ""))}</section>')
    return _page("Feedback", "\n".join(body))


def index_page(report_markdown: str, out: Path) -> str:
    """report.md as a page, its two plots embedded as data: URIs instead of files beside it."""
    text = report_markdown
    for name in (SCORES_PLOT, TESTS_PLOT):
        path = out / name
        data = base64.b64encode(path.read_bytes()).decode("ascii") if path.is_file() else ""
        text = text.replace(f"]({name})", f"](data:image/svg+xml;base64,{data})")
    return _page("Batch grading report", render(text))


@functools.lru_cache(maxsize=RENDERED)
def render(markdown: str) -> str:
    """CommonMark (with tables) as HTML, raw HTML shown as text, links and images only to what we wrote.
    Remembered: most of a class's test outputs and titles are word for word another student's (a test passed, the
    same mistake named), and rendering them was most of what writing the pages cost."""
    return _markdown().render(markdown)


@functools.cache
def _markdown():
    """A markdown-it-py renderer: CommonMark, tables on, raw HTML off, and our rule for links and images. Made
    once: making one costs more than rendering a test's output with it (a batch renders a few thousand)."""
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    renderer.validateLink = _allowed_link
    return renderer


def _allowed_link(url: str) -> bool:
    """Only a page of the out folder (./name/feedback.html) or one of our own SVG plots; never a remote URL."""
    return bool(_RELATIVE.match(url) or _OUR_IMAGE.match(url))


def _page(title: str, body: str) -> str:
    """A whole self-contained HTML document; its title is ours (student text goes only through render)."""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")

