"""The verdict on one gradient: the pass rule of SPEC section 3, judging a reply against the reference, and the
central finite differences of E that the numerical check compares with.

The pass rule is numpy.allclose(student, reference, rtol, atol) with atol = atol_scale × max(1, max|reference|),
the tolerances from autograder.toml's [tolerance]; the diagnosis uses the same rule (within) for the closed forms
it tries, so that a mistake is named only where a correct gradient would have had to match as closely.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from reference.backprop import error

from ..sandbox import Reply
from . import networks as nets

LAYERS = ("W_kj", "W_ji")  # the order compute_gradients returns them in


@dataclass
class Verdict:
    """One gradient of one network: passed or not, and what the student should read about it."""

    network: nets.Network
    layer: str
    passed: bool
    kind: str = ""  # "", a worker failure kind, "shape", "not_finite" or "values"
    reply: Reply | None = None
    student: np.ndarray | None = None
    expected: np.ndarray | None = None
    error: float = 0.0
    where: tuple = ()


def pass_atol(largest, atol_scale: float):
    """The pass rule's absolute tolerance, atol_scale × max(1, max|expected|), from max|expected| (a number, or an
    array of them: one per array of a stack)."""
    return atol_scale * np.maximum(1.0, largest)


def close_enough(student: np.ndarray, expected: np.ndarray, rtol: float, atol_scale: float) -> bool:
    """SPEC section 3's rule: numpy.allclose with atol = atol_scale × max(1, max|expected|)."""
    magnitude = np.abs(expected)
    atol = float(pass_atol(magnitude.max(initial=0.0), atol_scale))
    if student.shape != expected.shape:
        return bool(np.allclose(student, expected, rtol=rtol, atol=atol))
    # (array methods, not numpy's functions: the same rule, without their wrappers' cost on the diagnosis's
    # thousands of calls on arrays of a few dozen entries)
    with np.errstate(invalid="ignore"):  # NaN or infinity compare as not close, as in numpy.allclose
        return bool((np.abs(student - expected) <= atol + rtol * magnitude).all())


def within(student: np.ndarray, expected: np.ndarray, tolerance: dict) -> bool:
    """The pass rule with the configuration's [tolerance] (its rtol and atol_scale)."""
    return close_enough(student, expected, tolerance["rtol"], tolerance["atol_scale"])


def judge(network: nets.Network, reply: Reply, layer: str, expected: np.ndarray, tolerance: dict) -> Verdict:
    """The verdict on one layer's gradient from one reply of the worker."""
    if not reply.ok:
        return Verdict(network, layer, False, reply.kind, reply, expected=expected)
    student = reply.arrays[LAYERS.index(layer)]
    verdict = Verdict(network, layer, False, "", reply, student, expected)
    if student.shape != expected.shape:
        verdict.kind = "shape"
    elif not np.all(np.isfinite(student)):
        verdict.kind = "not_finite"
        verdict.where = tuple(int(i) for i in np.argwhere(~np.isfinite(student))[0])
    else:
        difference = np.abs(student - expected)
        verdict.where = tuple(int(i) for i in np.unravel_index(np.argmax(difference), difference.shape))
        verdict.error = float(difference[verdict.where]) if difference.size else 0.0
        verdict.passed = within(student, expected, tolerance)
        verdict.kind = "" if verdict.passed else "values"
    return verdict


@cache
def finite_differences(network: nets.Network, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Central differences of E (the grader's float64 forward pass) for every weight: (dW_kj, dW_ji)."""
    z, t, W_kj, W_ji, case = network.arguments()
    estimates = []
    for which, W in enumerate((W_kj, W_ji)):
        estimate = np.zeros_like(W)
        for index in np.ndindex(W.shape):
            plus, minus = W.copy(), W.copy()
            plus[index] += step
            minus[index] -= step
            weights = [(plus, W_ji), (minus, W_ji)] if which == 0 else [(W_kj, plus), (W_kj, minus)]
            estimate[index] = (error(z, t, *weights[0], case) - error(z, t, *weights[1], case)) / (2 * step)
        estimates.append(estimate)
    return tuple(estimates)
