"""What a batch leaves for the instructor: grades.csv, report.md and its two plots, from the graded results.

Everything here reads plain results.json documents, so the report can be rebuilt from a finished --out folder.
The two plots are SVG bar charts written directly (charts.py).
"""

from __future__ import annotations

import csv
import functools
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from .. import messages as msg
from ..markup import escape
from . import charts
from .results import number_key

GRADED, ERROR, NOT_GRADED = "graded", "autograder error", "not graded"  # NOT_GRADED: left by Ctrl-C
CSV_NAME, REPORT_NAME, SCORES_PLOT, TESTS_PLOT = "grades.csv", "report.md", "scores.svg", "tests.svg"
FEEDBACK_PAGE, INDEX_PAGE = "feedback.html", "index.html"
LMS_NAME = "lms.csv"  # one row per student: name, email, sid, score (for a gradebook upload; see README.md)
MISTAKES_COLUMN = "mistakes"  # grades.csv: the named mistakes of a submission, "; " between them
TOP_DIAGNOSES = 15  # the report lists this many of the most common diagnoses
_SPREADSHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a cell starting with one of these runs as a formula


@dataclass
class Entry:
    """One submission of the batch: who submitted it and what grading left (a results.json document)."""

    submission: str
    students: list = field(default_factory=list)  # dicts with "name", "email", "sid" where known
    document: dict | None = None
    status: str = GRADED  # GRADED, ERROR, or NOT_GRADED (in grades.csv only, after Ctrl-C)
    reason: str = ""  # why it is an autograder error

    def who(self, key: str) -> str:
        """The students' names (or emails, sids) joined, for one cell of the spreadsheet."""
        return "; ".join(str(s.get(key) or "") for s in self.students if s.get(key))


def graded_tests(entries: list[Entry]) -> list[tuple[str, str, float]]:
    """(number, name, max_score) of every test that carries points, in test-number order."""
    found = {}
    for entry in entries:
        for test in (entry.document or {}).get("tests", []):
            if test.get("max_score", 0) > 0:
                found.setdefault(test["number"], (test["name"], test["max_score"]))
    return [(number, *found[number]) for number in sorted(found, key=number_key)]


def write_grades_csv(entries: list[Entry], path: Path) -> None:
    """One row per submission with the students, the total and each test's score: a plain CSV with a header."""
    tests = graded_tests(entries)
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["submission", "name", "email", "sid", "total", "status", *[t[0] for t in tests],
                         MISTAKES_COLUMN])
        for entry in sorted(entries, key=lambda e: e.submission):
            scores = {t["number"]: t["score"] for t in (entry.document or {}).get("tests", [])}
            total = (entry.document or {}).get("score", 0) if entry.status == GRADED else ""
            writer.writerow([_cell(entry.submission), _cell(entry.who("name")), _cell(entry.who("email")),
                             _cell(entry.who("sid")), _number(total), entry.status,
                             *[_number(scores.get(number, "")) for number, _, _ in tests],
                             _cell("; ".join(mistakes_of(entry)))])


def write_lms_csv(entries: list[Entry], path: Path) -> None:
    """One row per student of a graded submission (a group's members get a row each): name, email, sid, score,
    the columns a gradebook upload matches students and scores by. Submissions not graded are left out."""
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["name", "email", "sid", "score", "submission"])
        for entry in sorted(entries, key=lambda e: e.submission):
            if entry.status != GRADED or not entry.document:
                continue
            for person in entry.students or [{}]:
                writer.writerow([_cell(str(person.get(key) or "")) for key in ("name", "email", "sid")]
                                + [_number(entry.document.get("score", 0)), _cell(entry.submission)])


def mistakes_of(entry: Entry) -> list[str]:
    """The named mistakes of one graded submission, sorted; none for one not graded or an autograder error."""
    if entry.status != GRADED or not entry.document:
        return []
    return sorted(diagnoses_of(entry.document))


def not_checked(entry: Entry) -> list[str]:
    """The numbers of the checks that could not run on a submission (nothing imported, nothing returned): a
    status of the check, never a mistake of the student's."""
    if not entry.document:
        return []
    return [t["number"] for t in entry.document.get("tests", [])
            if t.get("status") == "failed" and t.get("output", "").startswith(_NOT_CHECKED)]


# ---------------------------------------------------------------------------------------------------------------
# Diagnoses: the mistake a failing test's output names. Adjust here when the wording of the outputs changes.
# ---------------------------------------------------------------------------------------------------------------

def diagnosis(test: dict) -> str | None:
    """The mistake one failing test names, or None: a structured diagnosis wins over reading the Markdown."""
    extra = test.get("extra_data") or {}
    if isinstance(extra.get("diagnosis"), str) and extra["diagnosis"].strip():
        return extra["diagnosis"].strip()
    for tag in test.get("tags") or []:
        label, _, text = str(tag).partition(":")
        if label.strip().lower() in ("diagnosis", "mistake") and text.strip():
            return text.strip()
    lines = _prose_lines(test.get("output", ""))
    labelled = [text for line in lines if (text := _after_label(line))]
    if labelled:
        return _normalise(_first_clause(labelled[0], stops=("; ", ". ")))
    named = [line for line in lines if not _is_generic(line)]
    return _normalise(_first_clause(named[0], stops=(": ", "; ", ". "))) if named else None


def diagnoses_of(document: dict) -> set[str]:
    """Every diagnosis of one submission's failing tests, each once: the report counts students, not tests."""
    return {d for t in document.get("tests", []) if t.get("status") == "failed" and (d := diagnosis(t))}


_NOT_CHECKED = msg.CHECK_NOT_RUN.split(":")[0]  # "Could not be checked"


def hit_time_limit(document: dict) -> list[str]:
    """The numbers of the tests in which the student's code was stopped by a time limit."""
    before, _, after = msg.FAILURE["timeout"].partition("{message}")
    pieces = [p.strip() for p in (before, after.split("{")[0]) if p.strip()]
    return [t["number"] for t in document.get("tests", [])
            if t.get("status") == "failed" and pieces and all(p in t.get("output", "") for p in pieces)]


def _normalise(text: str) -> str:
    """One spelling per diagnosis: hidden tests add "(on 3 of 25 failing networks)", sentences start in capitals."""
    text = re.sub(r"\s*\(on \d+ of (the )?\d+[^)]*\)$", "", text.strip())
    text = re.sub(r" on \d+ (of \d+ )?networks$", "", text)
    first = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if first.isalpha() else text  # never "Compute_gradients"


def _after_label(line: str) -> str:
    """The text after a "**Diagnosis:**"-style label, or "" when the line has none."""
    label = getattr(msg, "DIAGNOSIS_LABEL", "**Diagnosis:**")
    return line[len(label):].strip() if line.startswith(label) else ""


@functools.cache
def _generic_patterns() -> tuple[re.Pattern, ...]:
    """Lines that measure or explain but name no mistake: built from the message templates, so they follow them
    (once: a class's report reads thousands of lines)."""
    names = ("WRONG_VALUES", "FD_WRONG", "PASSED_SHARE", "PASSED_ALL", "HIDDEN_FAILED", "GATED", "PASSED",
             "STUDENT_OUTPUT", "INFO_NOT_FOUND", "CHECK_NOT_RUN", "CHECK_NUMERICAL_NOT_RUN", "NOT_RUN_IMPORT")
    templates = [getattr(msg, n) for n in names if isinstance(getattr(msg, n, None), str)]
    templates.append(msg.FAILURE.get("skipped", ""))
    patterns = [re.compile(_template_regex(t.strip().split("\n")[0])) for t in templates if t.strip()]
    patterns += [re.compile(r"\*\*.*\*\*$"),  # a bold heading: which case and layer
                 re.compile(r"On the "),  # which network, and its shapes
                 re.compile(r"(\w[\w ]*: \d+(, )?)+\.?$")]  # a count of failure kinds, e.g. "timeout: 1, skipped: 24."
    return tuple(patterns)


def _template_regex(template: str) -> str:
    """A message template as a regex that matches its start, each {placeholder} matching anything."""
    parts = re.split(r"\{[^}]*\}", template)
    return ".*?".join(re.escape(p) for p in parts)


def _is_generic(line: str) -> bool:
    return any(p.match(line) for p in _generic_patterns())


def _prose_lines(markdown: str) -> list[str]:
    """The non-empty lines of a Markdown output outside code blocks (tracebacks and printed output)."""
    lines, fenced = [], False
    for raw in markdown.splitlines():
        line = raw.strip()
        if line.startswith("```"):
            fenced = not fenced
        elif line and not fenced:
            lines.append(line)
    return lines


def _first_clause(text: str, *, stops: tuple) -> str:
    """The text up to the first stop (a sentence end, a colon...), without its final full stop."""
    found = (text.find(s) for s in stops)
    cut = min((i for i in found if i > 0 and " " in text[:i]), default=len(text))  # not after "ImportError:"
    return text[:cut].rstrip(" .:")


# ---------------------------------------------------------------------------------------------------------------
# report.md and the plots
# ---------------------------------------------------------------------------------------------------------------

def write_report(entries: list[Entry], out: Path, *, context: dict) -> str:
    """report.md beside scores.svg and tests.svg; context says what was graded, how long it took, if interrupted.
    `entries` are those of grades.csv, the ones left "not graded" by Ctrl-C included, so that both files count
    the same submissions. Returns the report's Markdown (pages.py renders it as index.html)."""
    graded = [e for e in entries if e.status == GRADED and e.document]
    tests = graded_tests(entries)
    maximum = sum(t[2] for t in tests)
    totals = [float(e.document["score"]) for e in graded]
    rates = _pass_rates(graded, tests)
    plot_scores(totals, maximum, out / SCORES_PLOT)
    plot_tests(rates, out / TESTS_PLOT)
    sections = [_summary(entries, graded, totals, maximum, context), _tests_section(rates),
                _diagnoses_section(graded), _problems_section(entries), students_section(entries)]
    text = "\n\n".join(sections) + "\n"
    (out / REPORT_NAME).write_text(text, encoding="utf-8")
    return text


def students_section(entries: list[Entry]) -> str:
    """Which submission made which named mistake, with the checks that could not run as a status of their own,
    each submission linked to its feedback page (FEEDBACK_PAGE in its folder)."""
    lines = ["## Submissions", "", "| submission | students | total | status | mistakes | could not be checked |",
             "|---|---|---|---|---|---|"]
    for entry in sorted(entries, key=lambda e: e.submission):
        total = _number(entry.document.get("score", 0)) if entry.status == GRADED and entry.document else ""
        name = escape(entry.submission)
        if entry.document:
            name = f"[{name}](./{quote(entry.submission, safe='')}/{FEEDBACK_PAGE})"
        lines.append(f"| {name} | {escape(entry.who('name') or entry.who('email'))} | {total} | {entry.status} | "
                     f"{_md('; '.join(mistakes_of(entry)))} | {', '.join(not_checked(entry))} |")
    return "\n".join(lines)


def _summary(entries, graded, totals, maximum, context) -> str:
    """The title and the headline numbers, one per row, so that a script can read them too."""
    timed = [e for e in graded if hit_time_limit(e.document)]
    rows = [("submissions", len(entries)), ("graded", len(graded)),
            ("autograder errors", sum(e.status == ERROR for e in entries)), ("hit a time limit", len(timed))]
    if any(e.status == NOT_GRADED for e in entries):
        rows.insert(2, ("not graded", sum(e.status == NOT_GRADED for e in entries)))
    if totals:
        rows += [("mean total", f"{statistics.mean(totals):.1f} / {maximum:g}"),
                 ("median total", f"{statistics.median(totals):g}"),
                 ("full marks", sum(t >= maximum for t in totals)), ("zero", sum(t == 0 for t in totals))]
    lines = ["# Batch grading report", "",
             f"{escape(context.get('input', ''), code=True)} graded with backprop-grader "
             f"{context.get('version', '')}, configuration {escape(context.get('config', ''), code=True)}, "
             f"{_jobs(context.get('jobs', '?'))}, "
             f"wall time {context.get('wall_seconds', 0):.1f} s ({context.get('newly_graded', 0)} graded in this "
             f"run, {context.get('skipped', 0)} kept from an earlier run)."]
    if context.get("isolation"):
        lines += ["", f"**Isolation:** {context['isolation'].removeprefix('batch: ')}"]
    for warning in context.get("warnings", []):  # they quote folder names: escaped where they were written
        lines += ["", f"**Warning:** {warning}"]
    if context.get("interrupted"):
        pending = context.get("pending", 0)
        lines += ["", f"**Interrupted:** {pending} submission{'' if pending == 1 else 's'} "
                      f"{'was' if pending == 1 else 'were'} not graded (marked \"{NOT_GRADED}\" in {CSV_NAME}); "
                      "run the same command again to grade them."]
    lines += ["", "| | |", "|---|---|", *[f"| {name} | {value} |" for name, value in rows], "",
              f"![Histogram of totals]({SCORES_PLOT})"]
    return "\n".join(lines)


def _jobs(count) -> str:
    return "1 job" if count == 1 else f"{count} jobs"


def _pass_rates(graded: list[Entry], tests) -> list[tuple[str, str, float, int, int]]:
    """(number, name, max_score, passed, of) for each test with points."""
    rates = []
    for number, name, max_score in tests:
        statuses = [t["status"] for e in graded for t in e.document.get("tests", []) if t["number"] == number]
        rates.append((number, name, max_score, statuses.count("passed"), len(statuses)))
    return rates


def _tests_section(rates) -> str:
    lines = ["## Tests", "", f"![Pass rate per test]({TESTS_PLOT})", "",
             "| test | name | points | passed | pass rate |", "|---|---|---|---|---|"]
    for number, name, max_score, passed, of in rates:
        lines.append(f"| {number} | {_md(name)} | {max_score:g} | {passed} of {of} | {_percent(passed, of)} |")
    return "\n".join(lines)


def _diagnoses_section(graded: list[Entry]) -> str:
    """The most common diagnoses, each counted once per student."""
    counts = Counter(d for e in graded for d in diagnoses_of(e.document))
    lines = ["## Most common diagnoses", ""]
    if not counts:
        return "\n".join(lines + ["No failing test named a mistake."])
    lines += ["| diagnosis | students |", "|---|---|"]
    lines += [f"| {_md(text)} | {count} |" for text, count in
              sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_DIAGNOSES]]
    return "\n".join(lines)


def _problems_section(entries: list[Entry]) -> str:
    """The submissions an instructor should look at by hand: autograder errors and time limits."""
    lines = ["## Autograder errors and time limits", ""]
    rows = [(e, f"autograder error: {escape(e.reason)}") for e in entries if e.status == ERROR]
    rows += [(e, f"time limit in tests {', '.join(numbers)}") for e in entries
             if e.status == GRADED and e.document and (numbers := hit_time_limit(e.document))]
    if not rows:
        return "\n".join(lines + ["None."])
    lines += ["| submission | students | what happened |", "|---|---|---|"]
    lines += [f"| {escape(e.submission)} | {escape(e.who('name') or e.who('email'))} | {_md(what)} |"
              for e, what in sorted(rows, key=lambda row: row[0].submission)]
    return "\n".join(lines)


def plot_scores(totals: list[float], maximum: float, path: Path) -> None:
    """A histogram of the totals, with bins of 5 points (or fewer when the maximum is small)."""
    bins = score_bins(maximum) or [0.0, max([*totals, 1.0])]
    full = sum(t >= maximum for t in totals) if maximum > 0 else 0
    title = f"Totals of {len(totals)} submissions ({full} with full marks)"
    xlabel = f"total (out of {maximum:g}; the last bar includes {maximum:g})"
    path.write_text(charts.histogram(totals, bins, title=title, xlabel=xlabel), encoding="utf-8")


def score_bins(maximum: float) -> list[float]:
    """Bin edges from 0 to exactly the maximum: bins of 5 points (a tenth of the maximum when it is below 20).
    The last bin holds the full marks (a histogram's last bin is closed), so no bar reaches past the maximum."""
    if maximum <= 0:
        return []
    count = max(1, round(maximum / 5)) if maximum >= 20 else 10
    return [maximum * i / count for i in range(count + 1)]


def plot_tests(rates, path: Path) -> None:
    """One horizontal bar per test: the share of submissions that passed it."""
    labels = [number for number, *_ in rates]
    shares = [100 * passed / of if of else 0 for *_, passed, of in rates]
    path.write_text(charts.horizontal_bars(labels, shares, title="Pass rate per test",
                                           xlabel="passed (% of graded submissions)"), encoding="utf-8")


def _cell(text: str) -> str:
    """A text cell that a spreadsheet shows as text, never runs as a formula (CSV injection)."""
    return "'" + text if text.startswith(_SPREADSHEET_FORMULA) else text


def _number(value) -> str:
    """A score as a spreadsheet reads it: full precision to 1e-6 (like results.json), no trailing zeros."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{round(float(value), 6):.6f}".rstrip("0").rstrip(".")


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def _md(text: str) -> str:
    """The grader's own Markdown (a test's name, a diagnosis read from an output, whose student text is escaped
    already) inside a table cell: on one line, its pipes escaped unless they are already."""
    return re.sub(r"(?<!\\)\|", r"\\|", str(text).replace("\n", " "))
