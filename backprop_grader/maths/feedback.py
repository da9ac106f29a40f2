"""Turn verdicts into the Markdown a student reads in one test, never revealing a hidden network's numbers.

A visible failing test shows the case, layer, network, shapes, the largest error and where it is, a small table of
the worst entries (yours, expected, a finite-difference estimate), the diagnosis and what to re-check. A hidden
test (visibility after_due_date) shows only counts and the diagnosis's name, which carries no number.
"""

from __future__ import annotations

import re

import numpy as np

from reference.backprop import compute_gradients

from .. import messages as msg
from ..markup import code_block, escape
from .diagnosis import Diagnosis, diagnose
from .grading import NUMERICAL_CEILING
from .verdicts import LAYERS, Verdict, finite_differences

# The networks a visible test's diagnosis may use (SPEC section 3): nothing visible depends on a hidden network.
VISIBLE_GROUPS = ("worked", "fd", "probe0", "probe1")
HIDDEN_EXTRA_GROUPS = ("worked", "fd")  # a hidden test's diagnosis uses its own networks and these
# Failures of the import itself: test 0.1 explains them once, the graded tests only point there.
STARTUP_KINDS = ("not_found", "syntax_error", "import_error", "forbidden_import", "missing_function",
                 "wrong_signature", "missing_module", "not_utf8")


def evidence(grading, case: str, layer: str, *, visible: bool, group: str = "worked") -> list[Verdict]:
    """The verdicts of one layer that a test's diagnosis may use: visible networks only for a visible test (the
    finite-difference check's are hidden ones when the rubric makes it hidden)."""
    groups = [g for g in VISIBLE_GROUPS if grading.is_visible(case, g)] if visible else (group, *HIDDEN_EXTRA_GROUPS)
    return [v for g in dict.fromkeys(groups) for v in grading.verdicts(case, g, layer)]


def nothing_returned(replies: list) -> bool:
    """Whether no call returned gradients at all: then a check on them could not run, and says so."""
    return not any(r.ok for r in replies)


def probe_could_run(probe: dict) -> bool:
    """Whether check 0.5 could judge one case: the worked example's gradients came back close enough to the
    expected ones for their error to say how they were computed."""
    errors = probe.get("relative_errors")
    return bool(errors) and errors[0] < NUMERICAL_CEILING


def layer_report(verdicts: list[Verdict], case: str, layer: str, *, visible: bool, limits: dict,
                 tolerance: dict, evidence: list[Verdict] = (), first: bool = True) -> str:
    """The output of a layer test (N.1 to N.4, the edge cases): the first failure explained, or counts if hidden.

    `evidence` are the other verdicts of this layer the diagnosis may check its explanation on (see evidence()).
    `first`: whether this is the first layer reported in its test; a later one does not say again why a hidden
    test shows only counts.
    """
    failed = [v for v in verdicts if not v.passed]
    head = f"**{msg.CASE_NAMES[case]}, {msg.LAYER_NAMES[layer]}**"
    if not failed:
        return f"{head}\n\n{msg.PASSED_ALL.format(count=len(verdicts))}"
    if any(v.reply is not None and v.reply.kind in STARTUP_KINDS for v in failed):
        return f"{head}\n\n{msg.NOT_RUN_IMPORT}"  # nothing was imported: test 0.1 says why, once
    if not visible:
        counts = msg.HIDDEN_FAILED.format(failed=len(failed), count=len(verdicts))
        why = " " + msg.HIDDEN_UNPUBLISHED if first else ""
        return "\n\n".join([head, counts + why + _kinds(failed),
                            *hidden_diagnoses(failed, tolerance, [*verdicts, *evidence])])
    worst = failed[0]
    paragraphs = [head, verdict_report(worst, limits, tolerance, evidence=[*verdicts, *evidence])]
    if len(verdicts) > 1:
        paragraphs.append(msg.FAILED_ON.format(failed=len(failed), count=len(verdicts)))
    return "\n\n".join(paragraphs) + _printed(worst)


def verdict_report(verdict: Verdict, limits: dict, tolerance: dict, *, against: str = "",
                   evidence: list[Verdict] = ()) -> str:
    """Everything a visible test says about one failing gradient: where, how wrong, the table, the diagnosis."""
    where = on_network(verdict.network)
    if verdict.student is None:  # no array came back: what went wrong comes first, then where
        if verdict.reply is not None and verdict.reply.kind in STARTUP_KINDS:
            return msg.NOT_RUN_IMPORT  # test 0.1 says why, once
        return "\n\n".join([explain(verdict, limits), where + "."])
    paragraphs = [where + _shapes(verdict), against or explain(verdict, limits)]
    if verdict.kind == "values":
        paragraphs.append(worst_entries_table(verdict, tolerance["finite_difference_step"]))
    found = diagnose(verdict, tolerance, evidence)
    if found is not None:
        paragraphs += diagnosis_paragraphs(found, visible=True)
    return "\n\n".join(paragraphs)


def on_network(network) -> str:
    """"On the worked example (sigmoid; K, J, I = 2, 4, 3)": one pair of parentheses, whether the network's
    name ends in its own parenthesis or not."""
    K, J, I = network.shape
    sizes = msg.NETWORK_SIZES.format(K=K, J=J, I=I)
    name, opened, said = network.label.partition(" (")
    if opened and said.endswith(")"):
        return msg.ON_NETWORK.format(network=name, details=f"{said[:-1]}; {sizes}")
    return msg.ON_NETWORK.format(network=network.label, details=sizes)


SHOWN_DIGITS = 3  # significant figures of expected values in visible tables


def diagnosis_paragraphs(found: Diagnosis, *, visible: bool) -> list[str]:
    """The diagnosis (with its numbers when visible) and, when visible, what to re-check."""
    if not visible:
        return [f"{msg.DIAGNOSIS_LABEL} {found.name()}."]
    return [f"{msg.DIAGNOSIS_LABEL} {found.details()}",
            f"{msg.RECHECK_LABEL} {' '.join(found.rechecks())}"]


def hidden_diagnoses(failed: list[Verdict], tolerance: dict, evidence: list[Verdict] = ()) -> list[str]:
    """For hidden tests: the one diagnosis that holds on every failing network, no values, no indices.

    A name is given only when one explanation reproduces the student's arrays on all the failing networks that
    returned arrays (and on `evidence`); otherwise nothing is named.
    """
    examined = [v for v in failed if v.kind in ("values", "shape")]  # crashes have no formula
    if not examined:
        return []
    found = diagnose(examined[0], tolerance, [*examined[1:], *evidence])
    if found is None or not found.mistakes:
        return []
    if len(examined) == len(failed):
        text = msg.HIDDEN_DIAGNOSIS.format(name=found.name(), count=len(examined), failed=len(failed))
    else:
        text = msg.HIDDEN_DIAGNOSIS_SAMPLED.format(name=found.name(), count=len(examined), failed=len(failed),
                                                   examined=len(examined))
    return [f"{msg.DIAGNOSIS_LABEL} {text}."]


def explain(verdict: Verdict, limits: dict) -> str:
    """One paragraph on why a single gradient failed."""
    layer, reply = msg.LAYER_NAMES[verdict.layer], verdict.reply
    if verdict.kind == "shape":
        matrix = "W_kj" if verdict.layer == "W_kj" else "W_ji"
        return msg.WRONG_SHAPE.format(layer=layer, got=_shape(verdict.student.shape),
                                      expected=_shape(verdict.expected.shape), axes=msg.LAYER_AXES[verdict.layer],
                                      layer_matrix=matrix)
    if verdict.kind == "not_finite":
        bad = ~np.isfinite(verdict.student)
        return msg.NOT_FINITE.format(layer=layer, count=int(bad.sum()), size=bad.size, where=_index(verdict.where))
    if verdict.kind == "values":
        return msg.WRONG_VALUES.format(layer=layer, error=verdict.error, where=_index(verdict.where))
    return failure_text(reply, limits)


def failure_text(reply, limits: dict) -> str:
    """The student's sentence for a worker failure (exception, time-out, wrong return type, ...).

    Student-controlled text (tracebacks, messages) goes inside a code block it cannot close.
    """
    template = msg.FAILURE.get(reply.kind, "{message}")
    names = reply.details.get("names") or []
    if reply.kind == "missing_module":
        names = _without_provided_forward(names)
    traceback = reply.details.get("traceback", reply.message)
    message = reply.message
    if reply.kind == "missing_function" and "file" in reply.details:
        message = _missing_function(reply.details)
    elif reply.kind == "wrong_signature":
        message = escape(message, code=True)  # the student's parameter list, defaults and all
    elif reply.kind in _STUDENT_TEXT_KINDS:
        message = escape(" ".join(str(message).split()))
    text = template.format(message=message, traceback=code_block(traceback),
                           memory_mb=limits.get("memory_mb", "?"),
                           names=escape(", ".join(names)) if names else "no functions")
    if reply.kind == "exception" and "MemoryError" in traceback:
        text = msg.MEMORY_LIMIT.format(memory_mb=limits.get("memory_mb", "?")) + "\n\n" + text
    return text


def _missing_function(details: dict) -> str:
    """What the file defines instead of compute_gradients, its names (the student's) escaped."""
    file = escape(details["file"], code=True)
    if details.get("what"):
        text = msg.NOT_A_FUNCTION.format(file=file, what=escape(details["what"]))
    else:
        text = msg.MISSING_FUNCTION.format(file=file)
    return text + (msg.DID_YOU_MEAN.format(close=escape(details["close"], code=True)) if details.get("close") else "")


# Failures whose message quotes something the student chose (a repr, a type's or an exception's text).
# (File and module names too: the worker writes them into its sentences as it found them.)
_STUDENT_TEXT_KINDS = ("non_numeric", "exit", "not_a_pair", "wrong_count", "too_large", "not_utf8", "syntax_error",
                       "missing_module", "forbidden_import", "died", "protocol", "missing_function")


def _without_provided_forward(names: list[str]) -> list[str]:
    """The files listed as the student's, without the kit's forward.py that the grader puts beside them."""
    shown = []
    for entry in names:
        if entry.startswith("your files "):
            own = [f for f in entry[len("your files "):].split(", ") if f != "forward.py"]
            if own:
                shown.append("your files " + ", ".join(own))
            if len(own) < len(entry[len("your files "):].split(", ")):
                shown.append(msg.PROVIDED_FORWARD_NAME)
        else:
            shown.append(entry)
    return shown


def worst_entries_table(verdict: Verdict, step: float, rows: int = 5) -> str:
    """A Markdown table of the largest errors: entry, yours, expected (closed form), finite differences of E.

    Expected values are shown to 3 significant figures: enough to see what is wrong, too few to copy them into
    a submission and pass (the pass rule asks for a relative 1e-4).
    """
    net, index_of = verdict.network, LAYERS.index(verdict.layer)
    expected = compute_gradients(*net.arguments())[index_of]
    estimate = finite_differences(net, step)[index_of]
    difference = np.abs(verdict.student - expected)
    order = np.argsort(difference, axis=None, kind="stable")[::-1][:rows]
    lines = [msg.TABLE_HEAD, "|---|---|---|---|---|"]
    for flat in order:
        index = np.unravel_index(flat, difference.shape)
        lines.append(f"| {_index(index)} | {verdict.student[index]:.6g} | {expected[index]:.{SHOWN_DIGITS}g} "
                     f"| {estimate[index]:.{SHOWN_DIGITS}g} | {difference[index]:.3g} |")
    return "\n".join(lines)


def worked_example_inputs(network) -> str:
    """The worked example's inputs as Python a student can paste and follow by hand (every digit, as graded): it
    is public (the student kit has it), so a failing N.1 or N.2 shows it whatever its visibility."""
    K, J, I = network.shape
    lines = [_python_array("z", network.z, f"(K,) = ({K},)"), _python_array("t", network.t, f"(I,) = ({I},)"),
             _python_array("W_kj", network.W_kj, f"(K, J) = ({K}, {J})"),
             _python_array("W_ji", network.W_ji, f"(J, I) = ({J}, {I})"), f'case = "{network.case}"']
    return msg.WORKED_EXAMPLE_INPUTS.format(block="```python\n" + "\n".join(lines) + "\n```")


def _python_array(name: str, array: np.ndarray, shape: str) -> str:
    """`name = np.array([...])  # shape`, each number written to round-trip exactly, one row per line."""
    rows = array.tolist() if array.ndim == 2 else [array.tolist()]
    written = [("[" + ", ".join(repr(float(v)) for v in row) + "]") for row in rows]
    indent = " " * len(f"{name} = np.array([")
    body = ("[" + f",\n{indent}".join(written) + "]") if array.ndim == 2 else written[0]
    return f"{name} = np.array({body})  # {shape}"


def _shapes(verdict: Verdict) -> str:
    """": your array has shape (4, 3), expected (3, 4)." for a returned array, or ": shapes (3, 4) are right."."""
    got, expected = _shape(verdict.student.shape), _shape(verdict.expected.shape)
    return msg.SHAPES_RIGHT.format(shape=got) if got == expected else msg.SHAPES.format(got=got, expected=expected)


def _kinds(failed: list[Verdict]) -> str:
    """For hidden tests: how the failures went, in words, with no numbers from the networks."""
    counts: dict = {}
    for v in failed:
        kind = v.kind if v.kind in msg.HIDDEN_KINDS else (v.reply.kind if v.reply else "")
        counts[kind] = counts.get(kind, 0) + 1
    if len(counts) == 1:
        return " " + msg.HIDDEN_KINDS_ALL.format(what=msg.HIDDEN_KINDS.get(next(iter(counts)), msg.HIDDEN_KIND_OTHER))
    parts = [msg.HIDDEN_KIND_COUNT.format(count=n, what=msg.HIDDEN_KINDS.get(kind, msg.HIDDEN_KIND_OTHER))
             for kind, n in counts.items()]
    text = "; ".join(parts) + "."
    return " " + text[0].upper() + text[1:]


def _printed(verdict: Verdict, limit: int = 2000) -> str:
    """What the student's code printed during the call, if anything."""
    return printed_output(verdict.reply.output if verdict.reply else "", limit)


def printed_output(text: str, limit: int = 2000) -> str:
    """A paragraph with what student code printed, cut to `limit` characters with a mark where it was cut."""
    if not text.strip():
        return ""
    shown = text[:limit] + ("\n" + msg.OUTPUT_TRUNCATED if len(text) > limit else "")
    return msg.STUDENT_OUTPUT.format(limit=limit, block=code_block(shown))


def _shape(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _index(index) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def summary(records: list[dict], notes: list[str]) -> str:
    """The top-level output a student reads first: what passed, the one thing to fix first, then the notes.

    Only visible tests are read, so the summary never says more about a hidden test than that it exists.
    """
    visible = [r for r in records if r["visibility"] == "visible"]
    graded = [r for r in visible if r["max_score"] > 0]
    hidden = len(records) - len(visible)
    lines = [msg.SUMMARY_PASSED.format(passed=sum(r["status"] == "passed" for r in graded), count=len(graded),
                                       score=sum(r["score"] for r in graded),
                                       max_score=sum(r["max_score"] for r in graded))
             + (" " + msg.SUMMARY_HIDDEN.format(count=hidden) if hidden else "")]
    first = _most_important(visible)
    if first is None:
        lines.append(msg.SUMMARY_ALL_PASSED)
    else:
        lines.append(msg.SUMMARY_FIRST_FIX.format(number=first["number"], name=first["name"],
                                                  reason=_headline(first["output"])))
    return "\n\n".join(lines + notes)


def _most_important(visible: list[dict]) -> dict | None:
    """The failing visible test to fix first: nothing found or imported, then graded tests in order, then checks."""
    failing = [r for r in visible if r["status"] == "failed"]
    for test in failing:
        if test["number"] == "0.1":
            return test
    graded = [r for r in failing if r["max_score"] > 0]
    return (graded or failing or [None])[0]


def _explanation(paragraphs: list[str]) -> list[str]:
    """The explanatory paragraphs of an output, without its heading and context, up to any table or count."""
    context = ("**", msg.ON_NETWORK_START, msg.PASSED_SHARE_START)
    stop = ("|", msg.FAILED_ON.split("{")[0], msg.STUDENT_OUTPUT.strip().split("{")[0],
            msg.WORKED_EXAMPLE_INPUTS.split("(")[0])
    body = [p for p in paragraphs if not p.startswith(context)]
    chosen = []
    for paragraph in body:
        if paragraph.startswith(stop):
            break
        chosen.append(paragraph)
    return chosen


def _headline(output: str, limit: int = 900) -> str:
    """The diagnosis and what to re-check when the output has them, else its first explanatory paragraph."""
    paragraphs = [p for p in output.split("\n\n") if p.strip()]
    chosen = [p for p in paragraphs if p.startswith((msg.DIAGNOSIS_LABEL, msg.RECHECK_LABEL))]
    if not chosen:
        chosen = _explanation(paragraphs)
    text = "\n\n".join(chosen) or output
    if len(text) <= limit:
        return text
    return _cut(text, limit)


def _cut(text: str, limit: int) -> str:
    """The text cut to about `limit` characters, with any code block it cuts open closed by its own fence, and
    never inside a code span: a span cut open would show its backticks and render the student's name after them
    as Markdown (an image, a link), so the cut goes before it."""
    cut = text[:limit].rstrip()
    open_fence = ""
    for line in cut.split("\n"):
        fence = re.fullmatch(r"(`{3,})\s*", line)
        if fence and (not open_fence or fence.group(1) == open_fence):
            open_fence = "" if open_fence else fence.group(1)
    if not open_fence:
        last = cut.rfind("\n") + 1
        cut = cut[:last + _before_open_span(cut[last:])].rstrip()
    cut += " …"
    return cut + "\n" + open_fence if open_fence else cut


def _before_open_span(line: str) -> int:
    """Where a code span left open in this line starts (its length when none is): CommonMark closes a span with
    the next run of as many backticks as opened it."""
    opened = None
    for run in re.finditer(r"`+", line):
        if opened is None:
            opened = run
        elif len(run.group(0)) == len(opened.group(0)):
            opened = None
    return len(line) if opened is None else opened.start()
