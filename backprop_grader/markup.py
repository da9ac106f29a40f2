"""The one way student-controlled text (file, folder and notebook names, printed output, exception text, the
names in a Gradescope export) reaches Markdown that anyone reads: results.json, report.md, the HTML pages.

Two shapes, one function each: `escape` for text inside a sentence (as a code span, or as escaped prose), and
`code_block` for text shown verbatim as a block. Neither lets the text close what holds it, start Markdown of its
own (a heading, an image, a link, a table row) or raw HTML (`<img>`, `<script>`): it renders as the characters
it is, in CommonMark and in the older Markdown dialects alike. Control characters (a newline in a folder name,
a terminal escape) are shown as their escapes, `\\n`, `\\x1b`, so the text stays on its line and says what it is.
"""

from __future__ import annotations

import re

# Characters that start Markdown of their own inside a line: code, emphasis, links and images, headings, table
# cells, strikethrough, and the backslash that escapes them. ("_" is left alone: it only emphasises, and the
# grader's own names, dE/dW_kj, are full of it.)
_MARKDOWN = re.compile(r"([\\`*\[\]#!|~])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Control characters, and the Unicode ones that break a line or reorder what a reader sees.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape(text, *, code: bool = False) -> str:
    """Student text made safe inside a Markdown sentence: as a code span when `code` (names of files and folders,
    shown as the student typed them), else as prose with every Markdown and HTML character escaped.

    Why two shapes: inside a code span nothing is Markdown (so a name needs no backslashes, only a delimiter
    longer than any run of backticks in it), while outside one every special character must be escaped; text
    escaped for one shape is wrong in the other, so callers say which one they are filling."""
    text = _CONTROL.sub(_visible, str(text))
    if code:
        return _code_span(text)
    text = _MARKDOWN.sub(r"\\\1", text)
    return "".join(_HTML.get(c, c) for c in text)


def code_block(text: str) -> str:
    """Text shown verbatim in a fenced Markdown code block whose fence is longer than any run of backticks in it,
    so that no line of the text can close the block and add Markdown of its own (images, links, fake results)."""
    text = str(text).replace("\x00", "\ufffd")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text.rstrip(chr(10))}\n{fence}"


def _code_span(text: str) -> str:
    """A CommonMark code span around text: delimited by more backticks than any run inside it, and padded with
    a space when the text touches a backtick (or is empty), which the span's rules strip again."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    if longest or not text.strip(" "):
        return f"{ticks} {text} {ticks}"
    return f"{ticks}{text}{ticks}"


def _visible(match: re.Match) -> str:
    """A control character as the escape Python would print for it: a newline as \\n, an escape as \\x1b."""
    character = match.group(0)
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(character) or (
        f"\\x{ord(character):02x}" if ord(character) < 0x100 else f"\\u{ord(character):04x}")
