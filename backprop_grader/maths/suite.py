"""What each kind of graded test does, so that the files in tests/ stay a readable list of the rubric."""

from __future__ import annotations

from .. import messages as msg
from ..config import CASE_NUMBERS
from ..errors import GradeFailure
from . import feedback
from .grading import Grading
from .verdicts import LAYERS


def all_or_nothing(grading: Grading, number: str, case: str, layer: str) -> None:
    """N.1, N.2: one gradient on the worked example, full points or none."""
    verdicts = grading.verdicts(case, "worked", layer)
    if not all(v.passed for v in verdicts):
        visible = _visible(grading, number)
        report = feedback.layer_report(verdicts, case, layer, visible=visible, limits=grading.config.limits,
                                       tolerance=grading.config.tolerance,
                                       evidence=feedback.evidence(grading, case, layer, visible=visible))
        if any(v.reply is None or v.reply.kind not in feedback.STARTUP_KINDS for v in verdicts):
            report += "\n\n" + feedback.worked_example_inputs(verdicts[0].network)  # public: the kit has it
        raise GradeFailure(report)


def share(grading: Grading, number: str, case: str, group: str, layers: tuple, set_score) -> None:
    """N.3, N.4 and the edge cases: points for the share of networks on which every named layer passes."""
    per_layer = {layer: grading.verdicts(case, group, layer) for layer in layers}
    passed = [all(per_layer[layer][n].passed for layer in layers) for n in range(len(per_layer[layers[0]]))]
    points = grading.config.rubric(number).points
    set_score(points * sum(passed) / len(passed))
    if not all(passed):
        visible = _visible(grading, number)
        failing = [(layer, v) for layer, v in per_layer.items() if not all(x.passed for x in v)]
        reports = [feedback.layer_report(v, case, layer, visible=visible, limits=grading.config.limits,
                                         tolerance=grading.config.tolerance, first=n == 0,
                                         evidence=feedback.evidence(grading, case, layer, visible=visible, group=group))
                   for n, (layer, v) in enumerate(failing)]
        raise GradeFailure(_share_line(passed, points) + "\n\n" + "\n\n".join(reports))


def gated_share(grading: Grading, number: str, case: str, group: str, set_score) -> None:
    """1.6, 2.6, 2.7: like share over both layers, but worth nothing until the derivation is right in general:
    the worked example passes and both layers pass on most random networks (Grading.gate_opens)."""
    if not grading.gate_opens(case):
        set_score(0)
        n = CASE_NUMBERS[case]
        raise GradeFailure(msg.GATED.format(first=f"{n}.1", second=f"{n}.2"))
    share(grading, number, case, group, LAYERS, set_score)


def finite_differences(grading: Grading, number: str, case: str, set_score) -> None:
    """N.5: both gradients agree with central differences of E on random networks."""
    pairs = grading.finite_difference_verdicts(case)
    passed = [all(v.passed for v in pair) for pair in pairs]
    points = grading.config.rubric(number).points
    set_score(points * sum(passed) / len(passed))
    if all(passed):
        return
    lines = [_share_line(passed, points)]
    failed = next(v for pair in pairs for v in pair if not v.passed)
    visible = _visible(grading, number)
    evidence = feedback.evidence(grading, case, failed.layer, visible=visible, group="fd")
    if not visible:
        lines.append(feedback.layer_report([v for pair in pairs for v in pair if v.layer == failed.layer], case,
                                           failed.layer, visible=False, limits=grading.config.limits,
                                           tolerance=grading.config.tolerance, evidence=evidence))
    elif failed.kind == "values":
        against = msg.FD_WRONG.format(layer=msg.LAYER_NAMES[failed.layer], network=failed.network.label,
                                      error=failed.error, where=list(failed.where))
        lines.append(feedback.verdict_report(failed, grading.config.limits, grading.config.tolerance,
                                             against=against, evidence=evidence))
    else:
        lines.append(feedback.verdict_report(failed, grading.config.limits, grading.config.tolerance,
                                             evidence=evidence))
    raise GradeFailure("\n\n".join(lines))


def _visible(grading: Grading, number: str) -> bool:
    """Whether a test's output may show numbers now (only "visible" tests may)."""
    return grading.config.rubric(number).visibility == "visible"


def _share_line(passed: list, points: float) -> str:
    """"Passed on 20 of 25 networks: 9.6 of 12 points."."""
    earned = points * sum(passed) / len(passed)
    return msg.PASSED_SHARE.format(passed=sum(passed), count=len(passed), points=earned, max_points=points)
