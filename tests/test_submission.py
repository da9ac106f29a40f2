"""Informational checks, worth 0 points and always visible (SPEC section 3)."""

import numpy as np

from backprop_grader import messages as msg
from backprop_grader.errors import GradeFailure
from backprop_grader.frontends.discovery import imports_in_source
from backprop_grader.markup import escape
from backprop_grader.maths import feedback
from backprop_grader.rubric import informational


@informational("0.1", tags=("submission",))
def test_submission_found_and_imported(grading):
    """Submission found and imported"""
    startup = grading.startup()
    if not startup.ok:
        raise GradeFailure(msg.INFO_NOT_FOUND.format(reason=feedback.failure_text(startup, grading.config.limits)))
    found = escape(grading.worker.source_file.name, code=True)
    print(msg.INFO_FOUND.format(file=found) + feedback.printed_output(startup.output))


def _skip_unless_imported(grading) -> None:
    """Checks 0.2 to 0.5 say in one sentence that nothing was imported (test 0.1 says why), whatever the reason,
    never "passed" and never a finding about gradients that were never computed."""
    if not grading.startup().ok:
        raise GradeFailure(msg.CHECK_NOT_IMPORTED)


@informational("0.2", tags=("submission",))
def test_inputs_not_modified(grading):
    """Input arrays left unmodified"""
    _skip_unless_imported(grading)
    replies = grading.visible_replies()
    if feedback.nothing_returned(replies):
        raise GradeFailure(msg.CHECK_NOT_RUN)
    modified = [r.details.get("modified") or [] for r in replies if r.details.get("modified")]
    if modified:
        names = sorted({name for names in modified for name in names})
        raise GradeFailure(msg.INFO_INPUTS_MODIFIED.format(names=", ".join(names), count=len(modified)))


@informational("0.3", tags=("submission",))
def test_outputs_are_finite_floats(grading):
    """Gradients are finite floats"""
    _skip_unless_imported(grading)
    replies = grading.visible_replies()
    if feedback.nothing_returned(replies):
        raise GradeFailure(msg.CHECK_NOT_RUN)
    bad = [r for r in replies if r.ok and not all(np.all(np.isfinite(a)) for a in r.arrays)]
    if bad:
        raise GradeFailure(msg.INFO_NOT_FINITE.format(count=len(bad)))


@informational("0.4", tags=("submission",))
def test_no_forbidden_import(grading):
    """No autodiff library imported"""
    replies = [grading.startup(), *grading.visible_replies()]
    attempted = {name for r in replies for name in r.details.get("forbidden") or []}
    if grading.worker is not None:  # and from outside the worker, where removing its guard changes nothing
        attempted |= imports_in_source(grading.worker.source_file) & set(grading.config.refused_imports)
    attempted = sorted(attempted)
    if attempted:  # also when that import is why nothing was imported: this check exists to say so
        raise GradeFailure(msg.INFO_FORBIDDEN.format(names=", ".join(attempted)))
    _skip_unless_imported(grading)


@informational("0.5", tags=("submission",))
def test_not_numerically_differentiated(grading):
    """Gradients are analytic, not numerically differentiated"""
    _skip_unless_imported(grading)
    probes = {case: grading.looks_numerical(case) for case in grading.config.cases}
    grading.extra["numerical_probe"] = probes  # rounded where they are made (Grading.looks_numerical)
    if not any(feedback.probe_could_run(p) for p in probes.values()):
        raise GradeFailure(msg.CHECK_NUMERICAL_NOT_RUN if len(probes) > 1 else msg.CHECK_NUMERICAL_NOT_RUN_ONE_CASE)
    if any(p["flagged"] for p in probes.values()):
        raise GradeFailure(msg.INFO_NUMERICAL)

