"""Turn verdicts into the Markdown a student reads in one test, never revealing a hidden network's numbers."""

from __future__ import annotations

import numpy as np

from . import messages as msg
from .grading import Verdict


def layer_report(verdicts: list[Verdict], case: str, layer: str, *, visible: bool, limits: dict) -> str:
    """The output of a layer test (N.1 to N.4, the edge cases): one line per kind of failure."""
    failed = [v for v in verdicts if not v.passed]
    head = f"**{msg.CASE_NAMES[case]}, {msg.LAYER_NAMES[layer]}**"
    if not failed:
        return f"{head}\n\n{msg.PASSED_ALL.format(count=len(verdicts))}"
    if not visible:
        return f"{head}\n\n{msg.HIDDEN_FAILED.format(failed=len(failed), count=len(verdicts))}" + _kinds(failed)
    worst = failed[0]
    lines = [head, "", f"On the {worst.network.label} (K, J, I = {worst.network.shape}):", "", explain(worst, limits)]
    if worst.kind == "values":
        lines += ["", worst_entries_table(worst)]
    if len(verdicts) > 1:
        lines += ["", f"Failed on {len(failed)} of {len(verdicts)} networks."]
    return "\n".join(lines) + _printed(worst)


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
    """The student's sentence for a worker failure (exception, time-out, wrong return type, ...)."""
    template = msg.FAILURE.get(reply.kind, "{message}")
    names = ", ".join(reply.details.get("names") or []) or "no functions"
    return template.format(message=reply.message, traceback=reply.details.get("traceback", reply.message),
                           memory_mb=limits.get("memory_mb", "?"), names=names)


def worst_entries_table(verdict: Verdict, rows: int = 5) -> str:
    """A Markdown table of the largest errors: entry, student, expected."""
    difference = np.abs(verdict.student - verdict.expected)
    order = np.argsort(difference, axis=None)[::-1][:rows]
    lines = ["| entry | yours | expected | difference |", "|---|---|---|---|"]
    for flat in order:
        index = np.unravel_index(flat, difference.shape)
        lines.append(f"| {_index(index)} | {verdict.student[index]:.6g} | {verdict.expected[index]:.6g} "
                     f"| {difference[index]:.3g} |")
    return "\n".join(lines)


def _kinds(failed: list[Verdict]) -> str:
    """For hidden tests: how the failures went, by kind, with no numbers from the networks."""
    counts: dict = {}
    for v in failed:
        label = {"values": "wrong values", "shape": "wrong shape", "not_finite": "NaN or infinity"}.get(
            v.kind, v.reply.kind.replace("_", " ") if v.reply else v.kind)
        counts[label] = counts.get(label, 0) + 1
    return "\n\n" + ", ".join(f"{label}: {n}" for label, n in counts.items()) + "."


def _printed(verdict: Verdict, limit: int = 2000) -> str:
    """What the student's code printed during the call, if anything."""
    text = verdict.reply.output if verdict.reply else ""
    return msg.STUDENT_OUTPUT.format(limit=limit, text=text[:limit]) if text.strip() else ""


def _shape(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _index(index) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def summary(records: list[dict], notes: list[str]) -> str:
    """The top-level output a student reads first: the one thing to fix, then notes on how the run went."""
    failing = [r for r in records if r["status"] == "failed" and r["visibility"] == "visible" and r["max_score"] > 0]
    if failing:
        first = failing[0]
        reason = first["output"].split("\n\n")[1] if "\n\n" in first["output"] else first["output"]
        lines = [msg.SUMMARY_FIRST_FIX.format(number=first["number"], name=first["name"], reason=reason[:600])]
    else:
        lines = [msg.SUMMARY_ALL_PASSED]
    return "\n\n".join(lines + notes)
