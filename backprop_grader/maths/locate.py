"""When no named mistake explains a wrong gradient: where it is wrong, in words, naming nothing (SPEC section 3).

Which entries are right (whole rows or columns, signs, a factor per column), whether the whole array is off by a
factor on this network only, whether it follows from other hidden units (tanh, ReLU, linear) with the student's
own output delta, and, for a hidden layer right up to a factor per column, whether the student's δ_j is their own
output delta back-propagated: which factor of the formula (δ_i, y_j, z_k, the sum over i, y_j(1−y_j)) is wrong.
"""

from __future__ import annotations

import numpy as np

from reference.backprop import forward, sigmoid

from .. import messages as msg
from .mistakes import HIDDEN_DERIVATIVES, HIDDEN_UNITS
from .verdicts import LAYERS, pass_atol, within


def locate(shown, layer: str, tolerance: dict, seen: list = (), correct: tuple = ()) -> str:
    """Which entries, and which factor of the formula, are wrong on the network shown (a diagnosis.Seen, whose
    reference gradients are `correct`); no mistake is named."""
    index = LAYERS.index(layer)
    student, expected = shown.arrays[index], correct[index]
    pattern = describe_entries(student, expected, layer, tolerance)
    factor = _single_factor(student, expected, tolerance)
    if factor is not None:
        return msg.PATTERN_NETWORK_FACTOR.format(factor=factor_text(factor))
    units = other_hidden_units(list(seen) or [shown], tolerance)
    if units is not None:
        return msg.PATTERN_OTHER_UNITS.format(units=msg.UNIT_NAMES[units])  # says more than any entry pattern
    if pattern == msg.PATTERN_LINE_FACTORS["W_kj", 0]:
        return pattern + _hidden_term(shown, correct[1], tolerance)
    return pattern


def other_hidden_units(seen: list, tolerance: dict) -> str | None:
    """The hidden units (tanh, ReLU or linear) that the student's two gradients follow from, with the student's own
    output delta, on every network seen; None when none, or more than one, or sigmoid units do.

    What no known mistake explains may still be another network: its dE/dW_ji is y_j δ_i with the student's y_j, and
    its dE/dW_kj back-propagates that δ_i through the derivative of those units. The δ_i is read from dE/dW_ji, so
    this holds whatever the output side does, and says nothing about it but that it is not the homework's.
    """
    pairs = [s for s in seen if all(a is not None and np.all(np.isfinite(a)) for a in s.arrays)]
    if not pairs:
        return None
    units = [u for u in ("sigmoid", *HIDDEN_UNITS) if all(_follows_from_units(s, u, tolerance) for s in pairs)]
    return units[0] if len(units) == 1 and units[0] != "sigmoid" else None


def _follows_from_units(s, units: str, tolerance: dict) -> bool:
    """Whether both of the student's gradients are those of hidden units `units` and some output delta δ_i."""
    z, _, W_kj, W_ji, _ = s.network.arguments()
    student_kj, student_ji = s.arrays
    if student_kj.shape != W_kj.shape or student_ji.shape != W_ji.shape:
        return False
    pre = z @ W_kj  # (J,) s_j
    if units == "sigmoid":
        y = sigmoid(pre)
        derivative = y * (1 - y)
    else:
        y = HIDDEN_UNITS[units](pre)
        derivative = HIDDEN_DERIVATIVES[units](pre, y)
    if not np.any(y):  # every ReLU off: such units give zero gradients, whatever δ_i
        return within(student_ji, 0 * student_ji, tolerance) and within(student_kj, 0 * student_kj, tolerance)
    delta = y @ student_ji / (y @ y)  # (I,) the student's own δ_i, by least squares
    return (within(student_ji, np.outer(y, delta), tolerance)
            and within(student_kj, np.outer(z, (W_ji @ delta) * derivative), tolerance))


def _single_factor(student: np.ndarray, expected: np.ndarray, tolerance: dict) -> float | None:
    """The factor when the array is a multiple of the expected one on this network (but, since no explanation
    held, not with the same factor on the others)."""
    if not np.any(expected):
        return None
    factor = float(np.vdot(student, expected) / np.vdot(expected, expected))
    return factor if abs(factor) > 1e-3 and within(student, factor * expected, tolerance) else None


def _hidden_term(shown, correct_ji: np.ndarray, tolerance: dict) -> str:
    """For a hidden layer whose columns are right up to a factor each (z_k right, δ_j wrong): where in δ_j."""
    net = shown.network
    student_ji = shown.arrays[1]
    if student_ji is None or student_ji.shape != correct_ji.shape or not np.all(np.isfinite(student_ji)):
        return ""
    if within(student_ji, correct_ji, tolerance):
        return "; " + msg.PATTERN_DELTA_RIGHT
    z, _, W_kj, W_ji, _ = net.arguments()
    y = compute_y(net)
    own_delta = _own_output_delta(student_ji, y)
    if own_delta is not None:
        backpropagated = np.outer(z, (W_ji @ own_delta) * y * (1 - y))
        if within(shown.arrays[0], backpropagated, tolerance):
            return "; " + msg.PATTERN_OWN_DELTA
    return ""


def compute_y(net) -> np.ndarray:
    """The hidden units y_j of a network."""
    z, _, W_kj, W_ji, case = net.arguments()
    return forward(z, W_kj, W_ji, case)[0]


def _own_output_delta(student_ji: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """The δ_i of the student's dE/dW_ji when it has the form y_j δ_i (least squares), else None."""
    if np.any(y == 0):
        return None
    delta = y @ student_ji / (y @ y)
    return delta if np.allclose(np.outer(y, delta), student_ji, rtol=1e-6, atol=1e-12) else None


def describe_entries(student: np.ndarray, expected: np.ndarray, layer: str, tolerance: dict) -> str:
    """Which entries are right, in words: whole rows or columns right or wrong, signs, per-column factors."""
    atol = float(pass_atol(np.max(np.abs(expected), initial=0.0), tolerance["atol_scale"]))
    right = np.isclose(student, expected, rtol=tolerance["rtol"], atol=atol)
    rows, columns = msg.AXIS_NAMES[layer]
    if not np.any(np.abs(student) > atol):
        return msg.PATTERN_ALL_ZERO
    for described in (_by_lines(right, columns, axis=0), _by_lines(right, rows, axis=1)):
        if described:
            return described
    flipped = np.isclose(student, -expected, rtol=tolerance["rtol"], atol=atol) & ~right
    if np.all(right | flipped):
        return msg.PATTERN_UP_TO_SIGN.format(where=_lines_with(flipped, columns, rows))
    for axis in (0, 1):
        if _proportional_lines(student, expected, axis, tolerance):
            return msg.PATTERN_LINE_FACTORS[layer, axis]
    if right.any():
        return msg.PATTERN_SOME_RIGHT.format(right=int(right.sum()), size=right.size)
    return msg.PATTERN_ALL_WRONG


def _by_lines(right: np.ndarray, name: tuple, axis: int) -> str:
    """"only the column of output i=0 is right" or "every row for input k=1 is wrong", when it is that clean."""
    whole_right = right.all(axis=axis)
    whole_wrong = (~right).all(axis=axis)
    if not np.all(whole_right | whole_wrong) or whole_right.all() or not whole_right.any():
        return ""  # only a clean split into right and wrong lines says something
    label, symbol = name
    if whole_right.sum() <= whole_wrong.sum():
        lines = ", ".join(f"{symbol}={n}" for n in np.flatnonzero(whole_right))
        return msg.PATTERN_ONLY_RIGHT.format(line=msg.LINE_WORD[axis], label=label, lines=lines)
    lines = ", ".join(f"{symbol}={n}" for n in np.flatnonzero(whole_wrong))
    return msg.PATTERN_EVERY_WRONG.format(line=msg.LINE_WORD[axis], label=label, lines=lines)


def _lines_with(mask: np.ndarray, columns: tuple, rows: tuple) -> str:
    """Where the sign-flipped entries are, by column when whole columns, else by row, else by count."""
    if np.all(mask.all(axis=0) | ~mask.any(axis=0)):
        return f"the {msg.LINE_WORD[0]}s of {columns[0]} " + ", ".join(
            f"{columns[1]}={n}" for n in np.flatnonzero(mask.all(axis=0)))
    if np.all(mask.all(axis=1) | ~mask.any(axis=1)):
        return f"the {msg.LINE_WORD[1]}s of {rows[0]} " + ", ".join(
            f"{rows[1]}={n}" for n in np.flatnonzero(mask.all(axis=1)))
    return f"{int(mask.sum())} entries"


def _proportional_lines(student: np.ndarray, expected: np.ndarray, axis: int, tolerance: dict) -> bool:
    """Whether each column (axis 0) or row (axis 1) is a multiple of the expected one, with different factors."""
    if student.shape[1 - axis] < 2 or student.shape[axis] < 2:
        return False
    s, e = (student, expected) if axis == 0 else (student.T, expected.T)
    norms = np.einsum("ij,ij->j", e, e)
    if np.any(norms == 0):
        return False
    factors = np.einsum("ij,ij->j", s, e) / norms
    return within(s, e * factors, tolerance) and not np.allclose(factors, factors[0], rtol=1e-3)


def factor_text(factor: float) -> str:
    """A factor with enough digits to tell it from 1: 0.5, −3.62, 1.0002, 0.99985."""
    digits = 3
    if factor != 1 and abs(factor - 1) < 0.01:
        digits = 2 + int(np.ceil(-np.log10(abs(factor - 1))))
    return f"{factor:.{digits}g}"
