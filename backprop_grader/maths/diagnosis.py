"""Name the mistake behind a wrong gradient, the way a teaching assistant would, and only when it holds.

A failing gradient is compared with the closed forms of the known mistakes (mistakes.py) on the same network, with
the slips in what is returned added (sign flipped, a constant factor, transposed, the two gradients swapped), up to
MAX_DEVIATIONS things at once. An explanation found on one network is then checked on every network the caller
lets the diagnosis see (SPEC section 3): it must reproduce the student's array on each of them with the same
parameters (one constant factor everywhere, the same output), and where the student is right it must be right
too. The simplest explanation that holds everywhere is named; a combination is named only when no single mistake
holds. When none holds, or two different ones hold equally, nothing is named: the entries are described instead,
by which factor of the formula (δ_i, y_j, z_k, the sum over i, y_j(1−y_j)) is wrong (locate.py).

A visible test passes only visible networks (the worked example, the finite-difference networks, the scale
probes); a hidden test may pass any. Matching uses the grader's own tolerance, so a mistake is named only where
the student's array equals its closed form as closely as a correct gradient would have to equal the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import combinations, islice

import numpy as np

from .. import messages as msg
from .locate import factor_text, locate
from .mistakes import FORMULA_MISTAKES, applies, compatible, mistake_gradients
from .verdicts import LAYERS, Verdict, pass_atol, within

MAX_DEVIATIONS = 2  # more than two things wrong at once is never guessed
GENERATING = 3  # explanations are looked for on this many failing networks, then checked on all of them
SCALED_FORMS = frozenset({"mse_delta_doubled"})  # another mistake times a constant: never with a fitted factor
HELD_MEMORY = 4096  # checks of an explanation on a network remembered (one wrong submission makes 400 to 900)


@dataclass
class Diagnosis:
    """What a wrong gradient matches: `mistakes` (keys of messages.MISTAKE_NAMES) and, for visible tests, details.

    `alternatives` holds other explanations that hold equally well (then nothing is claimed as certain);
    `factor` is the constant factor when one is part of the explanation; `output` the single output whose term
    replaced the sum; `pattern` describes the entries in words when no mistake holds (visible tests only).
    """

    mistakes: tuple[str, ...] = ()
    alternatives: tuple[tuple[str, ...], ...] = ()
    factor: float | None = None
    output: int | None = None
    pattern: str = ""

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
        return msg.DIAGNOSIS_UNKNOWN

    def details(self) -> str:
        """The diagnosis with its numbers (factor, output index) or entry pattern: for visible tests only."""
        text = self.name()
        extras = []
        if self.factor is not None:
            extras.append(msg.DIAGNOSIS_FACTOR.format(factor=factor_text(self.factor)))
        if self.output is not None:
            extras.append(msg.DIAGNOSIS_ONE_OUTPUT.format(i=self.output))
        if self.pattern:
            extras.append(self.pattern)
        return text + ("; " + "; ".join(extras) if extras else "") + "."

    def rechecks(self) -> list[str]:
        """One sentence per named mistake on what to re-check in the derivation (nothing specific when unsure)."""
        if self.alternatives or not self.mistakes:
            return [msg.RECHECK_UNKNOWN]
        return [msg.MISTAKE_RECHECKS[m] for m in self.mistakes]


@dataclass(frozen=True)
class Explanation:
    """Formula mistakes and slips that reproduce a student's array, with their parameters."""

    formula: frozenset
    slips: frozenset
    output: int | None = None  # one_output_term: the output used, counted from the first ...
    offset: int | None = None  # ... and from the last (output − I), so "the last output" holds on any I
    factor: float | None = None  # constant_factor: the factor, in full precision

    @property
    def mistakes(self) -> frozenset:
        return self.formula | self.slips

    @property
    def size(self) -> int:
        return len(self.mistakes)


@dataclass
class Seen:
    """One network and the student's pair of arrays on it (hidden layer first)."""

    network: object
    arrays: tuple


def diagnose(verdict: Verdict, tolerance: dict, evidence: list[Verdict] = ()) -> Diagnosis | None:
    """The diagnosis of a failing gradient with values or shape wrong; None when it passed or gave no array.

    `evidence` are verdicts of the same layer on the other networks this test may use: the explanation must hold
    on each of them. Without evidence only the verdict's own network is used.
    """
    if verdict.passed or verdict.student is None or verdict.kind not in ("values", "shape"):
        return None
    seen = [_seen(v) for v in [verdict, *evidence] if v is verdict or v.network is not verdict.network]
    return diagnose_seen([s for s in seen if s is not None], verdict.layer, tolerance)


def diagnose_arrays(network, layer: str, arrays, tolerance: dict) -> Diagnosis | None:
    """The diagnosis of `arrays` (the student's pair, hidden layer first) on one network; None when it is right."""
    return diagnose_seen([Seen(network, _as_pair(arrays))], layer, tolerance)


def diagnose_seen(seen: list[Seen], layer: str, tolerance: dict) -> Diagnosis | None:
    """The diagnosis of one layer over several networks; the first is the one shown. None when it is right."""
    index = LAYERS.index(layer)
    shown = seen[0]
    student = shown.arrays[index]
    correct = _reference(shown.network)[index]
    if student is None or not np.all(np.isfinite(student)):
        return None
    if student.shape == correct.shape and within(student, correct, tolerance):
        return None
    failing = (s for s in seen if _failing(s, index, tolerance))  # found as needed: the first usually settles it
    holding: list[Explanation] = []
    tried: set = set()
    for source in islice(failing, GENERATING):
        candidates = set(_matches(source, layer, tolerance)) - tried
        tried |= candidates
        holding += [e for e in candidates if all(_holds_remembered(e, s, layer, tolerance) for s in seen)]
        if holding:
            break
    if holding:
        return _choose(holding, shown, layer, tolerance)
    if student.shape != correct.shape:
        return None  # the shape message says it all
    return Diagnosis(pattern=locate(shown, layer, tolerance, seen, _reference(shown.network)))


def _seen(verdict: Verdict) -> Seen | None:
    """The verdict's network and the student's arrays, when the call returned a pair."""
    reply = verdict.reply
    if reply is None or not reply.ok or len(reply.arrays) != 2:
        return None
    return Seen(verdict.network, _as_pair(reply.arrays))


def _as_pair(arrays) -> tuple:
    """Both arrays as float arrays; a layer that is missing or not numeric becomes None."""
    pair = []
    for n in range(2):
        try:
            pair.append(np.asarray(arrays[n], dtype=float))
        except (IndexError, TypeError, ValueError):
            pair.append(None)
    return tuple(pair)


def _failing(s: Seen, index: int, tolerance: dict) -> bool:
    """Whether the student's array for this layer is finite and wrong on this network."""
    student, correct = s.arrays[index], _reference(s.network)[index]
    if student is None or not np.all(np.isfinite(student)):
        return False
    return student.shape != correct.shape or not within(student, correct, tolerance)


def _choose(holding: list[Explanation], shown: Seen, layer: str, tolerance: dict) -> Diagnosis:
    """The simplest explanation that holds; equally simple ones are alternatives (one mistake each) or nothing.

    Simplest means fewest mistakes, then no fitted factor: a closed form (÷I, say) says more than a fitted
    constant that happens to equal it on the networks seen.
    """
    smallest = min(e.size for e in holding)
    best = [e for e in holding if e.size == smallest]
    best = [e for e in best if "constant_factor" not in e.slips] or best
    if len({_ordered(e.mistakes) for e in best}) > 1:
        other = LAYERS[1 - LAYERS.index(layer)]
        if shown.arrays[LAYERS.index(other)] is not None:
            seen = {frozenset(m.mistakes) for m in _matches(shown, other, tolerance)}
            best = [e for e in best if any(e.mistakes & s for s in seen)] or best
    distinct = list(dict.fromkeys(_ordered(e.mistakes) for e in best))
    if len(distinct) > 1 and smallest > 1:
        return Diagnosis(pattern=locate(shown, layer, tolerance, [shown]))
    first = next(e for e in best if _ordered(e.mistakes) == distinct[0])
    if len(distinct) > 1:
        return Diagnosis(mistakes=distinct[0], alternatives=tuple(distinct[1:]))
    return Diagnosis(mistakes=distinct[0], factor=first.factor, output=_output_on(first, shown, layer, tolerance))


def _output_on(e: Explanation, shown: Seen, layer: str, tolerance: dict) -> int | None:
    """The output whose term the student used, on the network shown."""
    if "one_output_term" not in e.formula:
        return None
    for output in _outputs(e, shown.network):
        if _reproduces(e, shown, layer, output, tolerance):
            return output
    return e.output


def _matches(s: Seen, layer: str, tolerance: dict) -> list[Explanation]:
    """Every explanation with at most MAX_DEVIATIONS mistakes that reproduces the student's array on one network.

    Each way of reading the student's array (which layer it is, transposed or not) is compared with every variant
    of that shape at once (_compare_all): the same rule as _close, one numpy pass instead of hundreds of small ones.
    """
    student = s.arrays[LAYERS.index(layer)]
    if student is None or not np.all(np.isfinite(student)):
        return []
    found = []
    I = s.network.shape[2]
    for source in LAYERS:
        swapped = {"swapped_order"} if source != layer else set()
        for transposed in (False, True):
            slips = swapped | ({"transposed"} if transposed else set())
            shown = student.T if transposed else student
            stack = _stacked(s.network, source, shown.shape, MAX_DEVIATIONS - len(slips))
            if stack is None:
                continue
            # a symmetric closed form: transposing the student's array changes nothing, so it is not a slip
            symmetric = _close_all(student, stack, tolerance) if transposed and shown.shape == student.shape else None
            budgets = [MAX_DEVIATIONS - len(formula) - len(slips) for formula, _ in stack.rows]
            for n, (extra, factor) in enumerate(_compare_all(shown, stack, budgets, tolerance)):
                formula, output = stack.rows[n]
                if extra is None or (symmetric is not None and symmetric[n]):
                    continue
                if "constant_factor" in extra and formula & SCALED_FORMS:
                    continue  # 2(x−t)x(1−x) times c is (x−t)x(1−x) times 2c: one explanation, named once
                found.append(Explanation(formula, frozenset(slips | extra), output,
                                         None if output is None else output - I, factor))
    return found


def _compare_all(student: np.ndarray, stack: _Stack, budgets: list[int], tolerance: dict) -> list[tuple]:
    """For each closed form of the stack: (extra slips, factor) when the student's array equals it, its negative
    (sign flipped) or a constant multiple of it, as its budget of deviations allows; (None, None) when none does."""
    equal = _close_all(student, stack, tolerance)
    negated = _close_all(-student, stack, tolerance)  # −s near e is s near −e: the same differences and sizes
    factors = stack.flat @ student.ravel() / stack.squares  # the least-squares constant of each closed form
    scaled = _close_all(student, _Stack(stack.rows, factors[:, None, None] * stack.arrays), tolerance)
    answers: list[tuple] = []
    for n, budget in enumerate(budgets):
        if equal[n]:
            answers.append((frozenset(), None))
        elif budget >= 1 and negated[n]:
            answers.append((frozenset({"sign_flipped"}), None))
        elif budget >= 1 and abs(factors[n]) > 1e-3 and scaled[n]:
            answers.append((frozenset({"constant_factor"}), float(factors[n])))
        else:
            answers.append((None, None))
    return answers


def _close_all(student: np.ndarray, stack: _Stack, tolerance: dict) -> np.ndarray:
    """within(student, expected) for each array of the stack: n booleans, by the same rule."""
    atol = pass_atol(stack.largest, tolerance["atol_scale"])
    with np.errstate(invalid="ignore"):  # NaN or infinity compare as not close, as in within
        inside = np.abs(student - stack.arrays) <= atol[:, None, None] + tolerance["rtol"] * stack.magnitude
    return inside.reshape(len(stack.rows), -1).all(axis=1)


def _holds(e: Explanation, s: Seen, layer: str, tolerance: dict) -> bool:
    """Whether the explanation, with its parameters, reproduces the student's array on this network.

    A network without a finite array for this layer says nothing either way; a mistake that could not have
    returned arrays on this network (W_ji.T on J ≠ I) is refuted by arrays returned there.
    """
    student = s.arrays[LAYERS.index(layer)]
    if student is None or not np.all(np.isfinite(student)):
        return True
    net = s.network
    if not all(applies(m, net.case, net.shape) for m in e.formula):
        return False
    return any(_reproduces(e, s, layer, output, tolerance) for output in _outputs(e, net))


def _holds_remembered(e: Explanation, s: Seen, layer: str, tolerance: dict) -> bool:
    """_holds, through _held's memory: the student's array goes in by value (dtype, shape, bytes)."""
    student = s.arrays[LAYERS.index(layer)]
    if student is None:
        return True  # nothing returned for this layer says nothing either way, as in _holds
    return _held(e, s.network, layer, tolerance["rtol"], tolerance["atol_scale"], student.dtype.str, student.shape,
                 student.tobytes())


@lru_cache(maxsize=HELD_MEMORY)
def _held(e: Explanation, network, layer: str, rtol: float, atol_scale: float, dtype: str, shape: tuple,
          data: bytes) -> bool:
    """_holds on the student's array rebuilt from its bytes, remembered: a wrong submission's tests diagnose the
    same arrays about seven times over overlapping lists of networks, and _holds was most of what that cost.

    Sound because the answer is computed from the key alone: the explanation (frozen, equal only when every
    parameter is), the network (hashed by identity and held by the key, so its id cannot be reused while the entry
    lasts; its numbers never change, as _cache relies on too), the layer, the two tolerances the pass rule reads (a
    rule reading more would fail loudly here), and a copy of the student's array. Another submission's array, or
    this one changed in place, is another key: it can miss, never be answered wrongly. Bounded: the least recently
    used check goes when HELD_MEMORY are kept.
    """
    student = np.frombuffer(data, dtype=dtype).reshape(shape)
    arrays = (student, None) if layer == LAYERS[0] else (None, student)
    return _holds(e, Seen(network, arrays), layer, {"rtol": rtol, "atol_scale": atol_scale})


def _outputs(e: Explanation, net) -> list:
    """The outputs one_output_term may mean on this network: the same index, or the same place from the end."""
    if e.output is None:
        return [None]
    I = net.shape[2]
    return list(dict.fromkeys(o for o in (e.output, I + e.offset) if 0 <= o < I))


def _reproduces(e: Explanation, s: Seen, layer: str, output, tolerance: dict) -> bool:
    """The explanation's array on this network equals the student's."""
    student = s.arrays[LAYERS.index(layer)]
    source = LAYERS[1 - LAYERS.index(layer)] if "swapped_order" in e.slips else layer
    expected = _variant(s.network, e.formula, output)[LAYERS.index(source)]
    shown = student.T if "transposed" in e.slips else student
    if shown.shape != expected.shape or not np.isfinite(expected).all():
        return False
    scale = -1.0 if "sign_flipped" in e.slips else 1.0
    scale *= e.factor if e.factor is not None else 1.0
    return within(shown, scale * expected, tolerance)


@dataclass
class _Variants:
    """The closed forms of one network under formula mistakes, computed when first asked for."""

    arrays: dict = field(default_factory=dict)  # (formula, output) -> (dW_kj, dW_ji)
    complete: dict | None = None  # every applicable variant with finite values, once listed
    stacks: dict = field(default_factory=dict)  # (layer, shape, budget) -> _Stack or None: _stacked


class _Stack:
    """Closed forms of one shape stacked (n, rows, columns), with what comparing arrays with them needs."""

    def __init__(self, rows: list[tuple], arrays: np.ndarray):
        self.rows, self.arrays = rows, arrays  # rows: (formula, output) of each closed form
        self.magnitude = np.abs(arrays)
        self.largest = self.magnitude.reshape(len(rows), -1).max(axis=1, initial=0.0)

    @cached_property
    def flat(self) -> np.ndarray:
        """Each closed form as one row of numbers (for the least-squares factors: a scaled stack needs none)."""
        return self.arrays.reshape(len(self.rows), -1)

    @cached_property
    def squares(self) -> np.ndarray:
        """Each closed form's sum of squares."""
        return np.einsum("ij,ij->i", self.flat, self.flat)


def _stacked(network, layer: str, shape: tuple, budget: int) -> _Stack | None:
    """The closed forms of one layer on this network that have this shape, are not all zero and need at most
    `budget` formula mistakes, stacked; None when there are none. Made once per network: batch's jobs share their
    networks among submissions, so every wrong submission after the first finds them made."""
    cache = _cache(network)
    key = (layer, shape, budget)
    if key not in cache.stacks:
        index = LAYERS.index(layer)
        rows = [(variant, pair[index]) for variant, pair in _variants(network).items()
                if len(variant[0]) <= budget and pair[index].shape == shape and np.any(pair[index])]
        cache.stacks[key] = _Stack([v for v, _ in rows], np.stack([a for _, a in rows])) if rows else None
    return cache.stacks[key]


@lru_cache(maxsize=512)
def _cache(network) -> _Variants:
    return _Variants()


def _variant(network, formula: frozenset, output) -> tuple:
    """One variant's closed forms on one network, computed once."""
    cache = _cache(network)
    key = (formula, output)
    if key not in cache.arrays:
        cache.arrays[key] = mistake_gradients(network, formula, output)
    return cache.arrays[key]


def _variants(network) -> dict:
    """Every variant with at most MAX_DEVIATIONS applicable, compatible formula mistakes, finite on this network."""
    cache = _cache(network)
    if cache.complete is None:
        applicable = [m for m in FORMULA_MISTAKES if applies(m, network.case, network.shape)]
        listed = {}
        for size in range(MAX_DEVIATIONS + 1):
            for formula in combinations(applicable, size):
                if not compatible(formula):
                    continue
                chosen = frozenset(formula)
                for output in range(network.shape[2]) if "one_output_term" in chosen else (None,):
                    pair = _variant(network, chosen, output)
                    if all(np.all(np.isfinite(a)) for a in pair):
                        listed[chosen, output] = pair
        cache.complete = listed
    return cache.complete


def _reference(network) -> tuple:
    """The reference gradients of a network (the variant without mistakes)."""
    return _variant(network, frozenset(), None)


def _ordered(mistakes) -> tuple[str, ...]:
    """Mistakes in a fixed order (that of messages.MISTAKE_NAMES), so the same finding always reads the same."""
    return tuple(m for m in msg.MISTAKE_NAMES if m in mistakes)


def _joined(mistakes: tuple[str, ...]) -> str:
    """One mistake's name, or two joined as a combination."""
    names = [msg.MISTAKE_NAMES[m] for m in mistakes]
    return names[0] if len(names) == 1 else msg.DIAGNOSIS_BOTH.format(first=names[0], second=names[1])
