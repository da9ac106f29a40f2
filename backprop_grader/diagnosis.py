"""Name the mistake behind a wrong gradient, the way a teaching assistant would read it.

A failing gradient is compared with the closed forms of the known mistakes (SPEC section 3) computed on the same
network: formula mistakes (x(1−x) added, y(1−y) missing, x(1−x) for y(1−y), one output's term instead of the sum,
W_ji transposed in back-propagation, Σ_m t_m taken as 1) and slips in what is returned (sign flipped, a constant
factor, transposed, the two gradients swapped). Up to two of them are combined, and the simplest explanation
that fits wins; when two explanations of the same simplicity fit, both are named as alternatives, never as fact.
When nothing fits, the entries are described in words instead (which rows or columns are right).

Matching uses the grader's own tolerance, so a mistake is named only where the student's array equals its closed
form as closely as a correct gradient would have to equal the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations

import numpy as np

from reference.backprop import forward, output_delta

from . import messages as msg
from .grading import LAYERS, Verdict, close_enough
from .networks import Network

MAX_DEVIATIONS = 2  # more than two things wrong at once is reported as "more than one thing", never guessed
_FORMULA = ("mse_factor_added", "sum_t_taken_as_one", "missing_sigmoid_derivative", "x_derivative_for_y",
            "transposed_weights_in_backprop", "one_output_term")
_EXCLUSIVE = ({"missing_sigmoid_derivative", "x_derivative_for_y"},
              {"transposed_weights_in_backprop", "one_output_term"})


@dataclass
class Diagnosis:
    """What a wrong gradient matches: `mistakes` (keys of messages.MISTAKE_NAMES) and, for visible tests, details.

    `alternatives` holds other explanations that fit equally well (then nothing is claimed as certain);
    `factor` is the constant factor when one is part of the explanation; `output` the single output whose term
    replaced the sum; `pattern` describes the entries in words when no mistake matched (visible tests only).
    """

    mistakes: tuple[str, ...] = ()
    alternatives: tuple[tuple[str, ...], ...] = ()
    factor: float | None = None
    output: int | None = None
    pattern: str = ""
    several: bool = False  # more than MAX_DEVIATIONS things wrong, or nothing recognisable

    @property
    def found(self) -> bool:
        """Whether a known mistake (or combination) explains the gradient."""
        return bool(self.mistakes)

    def name(self) -> str:
        """The diagnosis without any number: safe for hidden tests."""
        if self.alternatives:
            options = [_joined(m) for m in (self.mistakes, *self.alternatives)]
            return msg.DIAGNOSIS_EITHER.format(options=" or ".join(options))
        if self.mistakes:
            return _joined(self.mistakes)
        return msg.DIAGNOSIS_SEVERAL if self.several else msg.DIAGNOSIS_UNKNOWN

    def details(self) -> str:
        """The diagnosis with its numbers (factor, output index) or entry pattern: for visible tests only."""
        text = self.name()
        extras = []
        if self.factor is not None:
            extras.append(msg.DIAGNOSIS_FACTOR.format(factor=self.factor))
        if self.output is not None:
            extras.append(msg.DIAGNOSIS_ONE_OUTPUT.format(i=self.output))
        if self.pattern:
            extras.append(self.pattern)
        return text + ("; " + "; ".join(extras) if extras else "") + "."

    def rechecks(self) -> list[str]:
        """One sentence per named mistake on what to re-check in the derivation (nothing when unsure)."""
        if self.alternatives or not self.mistakes:
            return [msg.RECHECK_UNKNOWN]
        return [msg.MISTAKE_RECHECKS[m] for m in self.mistakes]


@dataclass(frozen=True)
class _Match:
    """One explanation that fits: its mistakes and the numbers that go with them."""

    mistakes: frozenset
    factor: float | None = None
    output: int | None = None

    @property
    def size(self) -> int:
        return len(self.mistakes)


@dataclass
class _Candidates:
    """Closed forms of both layers under every formula variant of one network, computed once."""

    arrays: dict = field(default_factory=dict)  # (frozenset of mistakes, output or None) -> (dW_kj, dW_ji)
    nameable: dict = field(default_factory=dict)  # (layer, tolerance) -> the variants _matches compares with


def diagnose(verdict: Verdict, tolerance: dict) -> Diagnosis | None:
    """The diagnosis of a failing gradient with values or shape wrong; None when it passed or gave no array."""
    if verdict.passed or verdict.student is None or verdict.kind not in ("values", "shape"):
        return None
    return diagnose_arrays(verdict.network, verdict.layer, verdict.reply.arrays, tolerance)


def diagnose_arrays(network: Network, layer: str, arrays, tolerance: dict) -> Diagnosis | None:
    """The diagnosis of `arrays` (the student's pair, hidden layer first) for one layer; None when it is right."""
    student = np.asarray(arrays[LAYERS.index(layer)], dtype=float)
    other = np.asarray(arrays[1 - LAYERS.index(layer)], dtype=float) if len(arrays) == 2 else None
    if not np.all(np.isfinite(student)):
        return None
    candidates = _candidates(network)
    correct = candidates.arrays[frozenset(), None][LAYERS.index(layer)]
    if student.shape == correct.shape and _close(student, correct, tolerance):
        return None
    matches = _matches(student, layer, candidates, tolerance)
    if matches:
        return _from_matches(matches, other, layer, candidates, tolerance)
    if student.shape != correct.shape:
        return None  # the shape message says it all
    return Diagnosis(pattern=describe_entries(student, correct, layer, tolerance))


def _from_matches(matches: list[_Match], other, layer: str, candidates: _Candidates, tolerance: dict) -> Diagnosis:
    """The simplest explanations; ties broken by what the other returned gradient shows, else kept as alternatives.

    Simplest means fewest mistakes, then no fitted factor: on softmax networks with two outputs x_1(1−x_1) equals
    x_2(1−x_2), so the x(1−x) mistake is also "a constant factor" there, and the closed form is the better name.
    """
    smallest = min(m.size for m in matches)
    best = list(dict.fromkeys(m for m in matches if m.size == smallest))
    exact = [m for m in best if "constant_factor" not in m.mistakes]
    best = exact or best  # a fitted factor explains more than a fixed closed form does: prefer the latter
    if len(best) > 1 and other is not None:
        other_layer = LAYERS[1 - LAYERS.index(layer)]
        seen = {frozenset(m.mistakes) for m in _matches(other, other_layer, candidates, tolerance)}
        agreeing = [m for m in best if any(m.mistakes & s for s in seen)]
        best = agreeing or best
    distinct = list(dict.fromkeys(_ordered(m.mistakes) for m in best))
    first = next(m for m in best if _ordered(m.mistakes) == distinct[0])
    if len(distinct) > 1 and smallest > 1:
        return Diagnosis(several=True)
    return Diagnosis(mistakes=distinct[0], alternatives=tuple(distinct[1:]),
                     factor=first.factor if len(distinct) == 1 else None,
                     output=first.output if len(distinct) == 1 else None)


def _matches(student: np.ndarray, layer: str, candidates: _Candidates, tolerance: dict) -> list[_Match]:
    """Every explanation with at most MAX_DEVIATIONS mistakes whose closed form equals the student's array."""
    found = []
    for source in LAYERS:
        swapped = {"swapped_order"} if source != layer else set()
        for formula, output, expected in _nameable(candidates, source, tolerance):
            for transposed in (False, True):
                slips = swapped | ({"transposed"} if transposed else set())
                budget = MAX_DEVIATIONS - len(formula) - len(slips)
                shown = student.T if transposed else student
                if budget < 0 or shown.shape != expected.shape:
                    continue
                if transposed and expected.shape[0] == expected.shape[1] and _close(student, expected, tolerance):
                    continue  # a symmetric closed form: transposing changes nothing
                match = _compare(shown, expected, budget, tolerance)
                if match is not None:
                    found.append(_Match(frozenset(formula | slips | match.mistakes), match.factor, output))
    return found


def _compare(student: np.ndarray, expected: np.ndarray, budget: int, tolerance: dict) -> _Match | None:
    """Equal (no extra mistake), the negative (sign flipped), or a constant multiple (factor), as budget allows."""
    if _close(student, expected, tolerance):
        return _Match(frozenset())
    if budget < 1:
        return None
    if _close(student, -expected, tolerance):
        return _Match(frozenset({"sign_flipped"}))
    factor = float(np.vdot(student, expected) / np.vdot(expected, expected))
    if abs(factor) > 1e-3 and abs(factor - 1) > 1e-3 and abs(factor + 1) > 1e-3 \
            and _close(student, factor * expected, tolerance):
        return _Match(frozenset({"constant_factor"}), float(f"{factor:.3g}"))
    return None


def _nameable(candidates: _Candidates, layer: str, tolerance: dict) -> list[tuple]:
    """(formula, output, closed form) of each variant whose mistakes all change this layer and whose closed form
    is not all zero: the same for every student, so worked out once per network and layer."""
    key = (layer, tolerance["rtol"], tolerance["atol_scale"])
    if key not in candidates.nameable:
        index = LAYERS.index(layer)
        candidates.nameable[key] = [(formula, output, pair[index])
                                    for (formula, output), pair in candidates.arrays.items()
                                    if _effective(formula, output, layer, candidates, tolerance)
                                    and np.any(pair[index])]
    return candidates.nameable[key]


def _effective(formula: frozenset, output, layer: str, candidates: _Candidates, tolerance: dict) -> bool:
    """Whether every mistake of the variant changes this layer (one that changes nothing cannot be named)."""
    index = LAYERS.index(layer)
    mine = candidates.arrays[formula, output][index]
    for mistake in formula:
        fewer = formula - {mistake}
        key = (fewer, None if mistake == "one_output_term" else output)
        if key in candidates.arrays and _close(mine, candidates.arrays[key][index], tolerance):
            return False
    return True


@lru_cache(maxsize=256)
def _candidates(network: Network) -> _Candidates:
    """The closed form of both gradients for each formula variant (at most two formula mistakes) that applies."""
    K, J, I = network.shape
    applicable = [m for m in _FORMULA if _applies(m, network)]
    result = _Candidates()
    for size in range(MAX_DEVIATIONS + 1):
        for formula in combinations(applicable, size):
            chosen = frozenset(formula)
            if any(pair <= chosen for pair in _EXCLUSIVE):
                continue
            outputs = range(I) if "one_output_term" in chosen else (None,)
            for output in outputs:
                result.arrays[chosen, output] = mistake_gradients(network, chosen, output)
    return result


def _applies(mistake: str, network: Network) -> bool:
    """Mistakes that can happen on this network without crashing (or without being the right answer)."""
    K, J, I = network.shape
    if mistake == "sum_t_taken_as_one":
        return network.case == "softmax"
    if mistake == "transposed_weights_in_backprop":
        return J == I
    if mistake == "one_output_term":
        return I > 1
    return True


def mistake_gradients(network: Network, formula: frozenset, output=None) -> tuple[np.ndarray, np.ndarray]:
    """(dE/dW_kj, dE/dW_ji) as a student who made the `formula` mistakes would compute them."""
    z, t, W_kj, W_ji, case = network.arguments()
    y, _, x = forward(z, W_kj, W_ji, case)
    delta = x - t if "sum_t_taken_as_one" in formula else output_delta(x, t, case)  # (I,)
    if "mse_factor_added" in formula:
        delta = delta * x * (1 - x)
    sent_back = delta * x * (1 - x) if "x_derivative_for_y" in formula else delta  # (I,)
    if "transposed_weights_in_backprop" in formula:
        hidden = W_ji.T @ sent_back  # (J,), only when J == I
    elif "one_output_term" in formula:
        hidden = W_ji[:, output] * sent_back[output]  # (J,) one term of Σ_i
    else:
        hidden = W_ji @ sent_back  # (J,)
    if not formula & {"missing_sigmoid_derivative", "x_derivative_for_y"}:
        hidden = hidden * y * (1 - y)
    return np.outer(z, hidden), np.outer(y, delta)


def describe_entries(student: np.ndarray, expected: np.ndarray, layer: str, tolerance: dict) -> str:
    """Which entries are right, in words: whole rows or columns right or wrong, signs, per-column factors."""
    atol = tolerance["atol_scale"] * max(1.0, float(np.max(np.abs(expected), initial=0.0)))
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
    return _close(s, e * factors, tolerance) and not np.allclose(factors, factors[0], rtol=1e-3)


def _close(student: np.ndarray, expected: np.ndarray, tolerance: dict) -> bool:
    """The grader's pass rule, applied to a candidate closed form."""
    return close_enough(student, expected, tolerance["rtol"], tolerance["atol_scale"])


def _ordered(mistakes) -> tuple[str, ...]:
    """Mistakes in a fixed order (that of messages.MISTAKE_NAMES), so the same finding always reads the same."""
    return tuple(m for m in msg.MISTAKE_NAMES if m in mistakes)


def _joined(mistakes: tuple[str, ...]) -> str:
    """One mistake's name, or two joined as a combination."""
    names = [msg.MISTAKE_NAMES[m] for m in mistakes]
    return names[0] if len(names) == 1 else msg.DIAGNOSIS_BOTH.format(first=names[0], second=names[1])
