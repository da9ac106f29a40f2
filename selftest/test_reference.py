"""The reference is right: a symbolic proof of its formulas, two independent numerical oracles, and stability.

- the sympy proof of `reference/derivation.py` holds for both cases, for every size (symbolic K, J, I) and on
  fixed sizes, and each line refuses every named mistake of SPEC section 3, on exactly the layers it changes;
- `compute_gradients` agrees with central finite differences of `error` and with complex-step derivatives of an
  analytic forward pass written here, on hundreds of random networks of every shape from 1 to 7 units;
- `error` and `compute_gradients` stay finite for saturating activations, `error` is accurate there (against
  50-digit mpmath), and the stable building blocks are exact at the extremes (the gradients' accuracy to the
  last digits is test_reference_accuracy.py's);
- an unknown case is refused, and sympy stays off the grading path.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest

from reference import derivation
from reference.backprop import CASES, compute_gradients, error, forward, log_sigmoid, log_softmax, sigmoid, weighted_sum

PROJECT = Path(__file__).resolve().parent.parent

NETWORKS_PER_CASE = 200  # random networks per case, for each numerical oracle
MAX_UNITS = 7  # K, J and I are drawn from 1..MAX_UNITS
FD_STEP = 1e-5  # central differences: truncation and rounding errors are both about 1e-10 here
FD_TOLERANCE = 1e-7  # relative to max(1, max|gradient|)
CS_STEP = 1e-20  # complex step: no subtraction, so the step can be tiny and the result exact to rounding
CS_TOLERANCE = 1e-13  # relative to max(1, max|gradient|)


# ---------------------------------------------------------------------------------------------------------------
# Random networks


def _targets(rng: np.random.Generator, case: str, I: int, n: int) -> np.ndarray:
    """Targets of every kind the spec allows, chosen by n: case 1 in [0, 1] with some exactly 0 or 1; case 2
    one-hot, probability vectors, and general non-negative vectors that do not sum to 1 (some all zero)."""
    if case == "sigmoid":
        t = rng.uniform(0.0, 1.0, I)
        exact = rng.random(I) < 0.3
        t[exact] = rng.integers(0, 2, exact.sum())
        return t
    kind = n % 4
    if kind == 0:
        return np.eye(I)[rng.integers(I)]
    if kind == 1:
        return rng.dirichlet(np.ones(I))
    if kind == 2:
        return rng.uniform(0.0, 2.0, I) * (rng.random(I) < 0.7)  # general, often with some zeros
    return np.zeros(I) if n % 20 == 3 else rng.uniform(0.0, 3.0, I)


def _random_networks(case: str, count: int = NETWORKS_PER_CASE, seed: int = 0) -> list[tuple[np.ndarray, ...]]:
    """(z, t, W_kj, W_ji) for `count` networks with K, J, I in 1..MAX_UNITS and inputs and weights of order 1."""
    rng = np.random.default_rng([seed, CASES.index(case)])
    networks = []
    for n in range(count):
        K, J, I = rng.integers(1, MAX_UNITS + 1, 3)
        z = rng.normal(0.0, 1.0, K)
        W_kj = rng.normal(0.0, 1.0, (K, J))
        W_ji = rng.normal(0.0, 1.0, (J, I))
        networks.append((z, _targets(rng, case, I, n), W_kj, W_ji))
    return networks


def _gap(numeric: tuple[np.ndarray, ...], analytic: tuple[np.ndarray, ...]) -> float:
    """Largest difference between two gradient pairs, relative to max(1, max|analytic|)."""
    scale = max(1.0, *(float(np.max(np.abs(g))) for g in analytic))
    return max(float(np.max(np.abs(n - g))) for n, g in zip(numeric, analytic)) / scale


def _derivatives(f, W_kj: np.ndarray, W_ji: np.ndarray, dtype, step: complex) -> tuple[np.ndarray, np.ndarray]:
    """∂f/∂w for every weight, by `f(W_kj, W_ji)` at weights moved by `step` (one weight at a time)."""
    grads = []
    for which in range(2):
        W = (W_kj, W_ji)[which]
        grad = np.zeros(W.shape)
        for index in np.ndindex(W.shape):
            moved = [W_kj.astype(dtype), W_ji.astype(dtype)]
            moved[which][index] += step
            grad[index] = f(*moved)
        grads.append(grad)
    return grads[0], grads[1]


def _finite_differences(z, t, W_kj, W_ji, case) -> tuple[np.ndarray, np.ndarray]:
    """Central differences (E(w + h) − E(w − h)) / 2h of the reference error, for every weight."""
    plus = _derivatives(lambda A, B: error(z, t, A, B, case), W_kj, W_ji, float, FD_STEP)
    minus = _derivatives(lambda A, B: error(z, t, A, B, case), W_kj, W_ji, float, -FD_STEP)
    return tuple((p - m) / (2 * FD_STEP) for p, m in zip(plus, minus))


def _analytic_error(z, t, W_kj, W_ji, case):
    """E written directly from SPEC section 1 with plain exp and log, so that it also accepts complex weights.

    Independent of the reference (no abs, no max, no logaddexp). ln(1 − σ(a)) is written as ln(1 / (1 + e^a)),
    the same analytic function, because 1 − σ(a) computed by subtraction loses digits when σ(a) is near 1.
    """
    y = 1 / (1 + np.exp(-(z @ W_kj)))
    a = y @ W_ji
    if case == "sigmoid":
        x = 1 / (1 + np.exp(-a))
        one_minus_x = 1 / (1 + np.exp(a))
        return -np.sum(t * np.log(x) + (1 - t) * np.log(one_minus_x))
    x = np.exp(a) / np.sum(np.exp(a))
    return -np.sum(t * np.log(x))


def _complex_step(z, t, W_kj, W_ji, case) -> tuple[np.ndarray, np.ndarray]:
    """Im E(w + ih) / h: the derivative to rounding accuracy, since nothing is subtracted."""
    grads = _derivatives(lambda A, B: _analytic_error(z, t, A, B, case).imag, W_kj, W_ji, complex, CS_STEP * 1j)
    return tuple(g / CS_STEP for g in grads)


# ---------------------------------------------------------------------------------------------------------------
# The symbolic proof


@pytest.mark.parametrize("case", CASES)
def test_sympy_proves_both_closed_forms_for_every_size(case):
    rows = derivation.prove_every_size(case)
    assert [name for name, _ in rows] == ["∂E/∂w_kj = Σ_i δ_i w_ji y_j (1 − y_j) z_k", "∂E/∂w_ji = δ_i y_j"]
    assert [(name, d) for name, d in rows if d != 0] == []


@pytest.mark.parametrize("case", CASES)
def test_sympy_proves_the_output_delta_for_every_size(case):
    statement, difference = derivation.prove_output_delta_every_size(case)
    assert "every I" in statement and difference == 0


def test_every_size_proof_covers_every_weight_of_every_size():
    """The claimed weight's indices and the sizes are symbols with k₀ ≥ 1 and K − k₀ ≥ 0, nothing else assumed."""
    for index, size in ((derivation.k0, derivation.K), (derivation.j0, derivation.J), (derivation.i0, derivation.I)):
        assert index.is_integer and index.is_positive
        rest = size - index
        assert rest.is_Symbol and rest.is_integer and rest.is_nonnegative and not rest.is_positive


@pytest.mark.parametrize("shape", derivation.SHAPES, ids=lambda s: "K{}J{}I{}".format(*s))
@pytest.mark.parametrize("case", CASES)
def test_sympy_proves_every_closed_form_on_fixed_sizes(case, shape):
    differences = derivation.prove(case, *shape)
    K, J, I = shape
    assert len(differences) == K * J + J * I
    assert [(w, d) for w, d in differences if d != 0] == []


def test_sympy_proves_the_lemmas():
    assert [(name, d) for name, d in derivation.prove_lemmas() if d != 0] == []


def _student(net, layer, p, q, mistakes=frozenset()):
    """∂E/∂w for the weight (p, q) of `layer` as a student making the formula `mistakes` of SPEC section 3 would
    write it (the names are those of backprop_grader.maths.diagnosis); no mistake gives the closed form."""
    def delta(i):
        d = net.x(i) - net.t(i) if "sum_t_taken_as_one" in mistakes else net.delta(i)
        return d * net.x(i) * (1 - net.x(i)) if "mse_factor_added" in mistakes else d

    if layer == "W_ji":
        return delta(q) * net.y(p)

    def term(i):  # output i's term of the sum sent back to hidden unit q
        sent_back = delta(i) * net.x(i) * (1 - net.x(i)) if "x_derivative_for_y" in mistakes else delta(i)
        return sent_back * (net.w_ji(i, q) if "transposed_weights_in_backprop" in mistakes else net.w_ji(q, i))

    back = term(net.first_output) if "one_output_term" in mistakes else net.sum_over_outputs(term)
    if not mistakes & {"missing_sigmoid_derivative", "x_derivative_for_y"}:
        back = back * net.y(q) * (1 - net.y(q))
    return back * net.z(p)


def _slip(name):
    """A slip in what is returned, applied to the right formulas."""
    other = {"W_kj": "W_ji", "W_ji": "W_kj"}
    slips = {"sign_flipped": lambda net, layer, p, q: -derivation.closed_form(net, layer, p, q),
             "constant_factor": lambda net, layer, p, q: 2 * derivation.closed_form(net, layer, p, q),
             "transposed": lambda net, layer, p, q: derivation.closed_form(net, layer, q, p),
             "gradients_swapped": lambda net, layer, p, q: derivation.closed_form(net, other[layer], p, q)}
    return slips[name]


# Every named mistake, with the layers it changes: the proof must refuse those and only those.
MISTAKES = {
    "sign_flipped": ("W_kj", "W_ji"), "constant_factor": ("W_kj", "W_ji"), "transposed": ("W_kj", "W_ji"),
    "gradients_swapped": ("W_kj", "W_ji"), "mse_factor_added": ("W_kj", "W_ji"),
    "sum_t_taken_as_one": ("W_kj", "W_ji"), "missing_sigmoid_derivative": ("W_kj",),
    "x_derivative_for_y": ("W_kj",), "transposed_weights_in_backprop": ("W_kj",), "one_output_term": ("W_kj",),
}
MISTAKE_CASES = [(case, name) for name in MISTAKES for case in CASES
                 if name != "sum_t_taken_as_one" or case == "softmax"]


def _wrong_formula(name):
    if name in ("sign_flipped", "constant_factor", "transposed", "gradients_swapped"):
        return _slip(name)
    return lambda net, layer, p, q: _student(net, layer, p, q, frozenset([name]))


def test_the_student_formula_without_mistakes_is_the_closed_form():
    """So that the mistakes below differ from the closed form by the mistake alone."""
    for case in CASES:
        assert all(d == 0 for _, d in derivation.prove_every_size(case, formula=_student))
        assert all(d == 0 for _, d in derivation.prove(case, 2, 2, 2, formula=_student))


@pytest.mark.parametrize(("case", "mistake"), MISTAKE_CASES)
def test_every_size_proof_refuses_each_named_mistake(case, mistake):
    rows = dict(derivation.prove_every_size(case, formula=_wrong_formula(mistake)))
    refused = {layer for layer, statement in derivation._STATEMENTS.items() if rows[statement] != 0}
    assert refused == set(MISTAKES[mistake])


@pytest.mark.parametrize(("case", "mistake"), MISTAKE_CASES)
def test_fixed_size_proof_refuses_each_named_mistake(case, mistake):
    """On K = J = I = 2, so that transposing a gradient or W_ji in back-propagation is defined."""
    net = derivation.build_network(case, 2, 2, 2)
    layer_of = {str(net.weight(layer, p, q)): layer for layer in derivation.LAYERS for p in range(2) for q in range(2)}
    rows = derivation.prove(case, 2, 2, 2, formula=_wrong_formula(mistake))
    assert {layer_of[w] for w, d in rows if d != 0} == set(MISTAKES[mistake])


def test_proof_report_says_what_it_proved_and_what_it_did_not():
    proved = derivation.ProofReport(derivation.prove_lemmas()[:1], {"sigmoid": derivation.prove_every_size("sigmoid")},
                                    {("sigmoid", 1, 1, 1): derivation.prove("sigmoid", 1, 1, 1)}, 0.0)
    assert proved.holds and proved.text().endswith("PROVED in 0.0 s")
    assert "✓ case 'sigmoid', every K, J, I and every weight: ∂E/∂w_ji = δ_i y_j" in proved.text()
    wrong = derivation.ProofReport([], {"sigmoid": derivation.prove_every_size("sigmoid", _slip("sign_flipped"))},
                                   {}, 0.0)
    assert not wrong.holds and wrong.text().endswith("NOT PROVED in 0.0 s")
    assert "✗ case 'sigmoid', every K, J, I and every weight: ∂E/∂w_ji = δ_i y_j: difference" in wrong.text()


def test_symbolic_networks_refuse_an_unknown_case():
    with pytest.raises(ValueError, match="tanh"):
        derivation.build_network("tanh", 1, 1, 1)
    with pytest.raises(ValueError, match="tanh"):
        derivation.build_indexed_network("tanh")


# ---------------------------------------------------------------------------------------------------------------
# Numerical oracles


@pytest.mark.parametrize("case", CASES)
def test_gradients_match_central_finite_differences(case):
    gaps = [_gap(_finite_differences(*net, case), compute_gradients(*net, case)) for net in _random_networks(case)]
    assert max(gaps) < FD_TOLERANCE, f"network {int(np.argmax(gaps))}: relative gap {max(gaps):.2e}"


@pytest.mark.parametrize("case", CASES)
def test_gradients_match_complex_step(case):
    gaps = [_gap(_complex_step(*net, case), compute_gradients(*net, case)) for net in _random_networks(case)]
    assert max(gaps) < CS_TOLERANCE, f"network {int(np.argmax(gaps))}: relative gap {max(gaps):.2e}"


@pytest.mark.parametrize("case", CASES)
def test_error_matches_the_analytic_forward_pass(case):
    for n, (z, t, W_kj, W_ji) in enumerate(_random_networks(case)):
        expected = _analytic_error(z, t, W_kj, W_ji, case)
        assert error(z, t, W_kj, W_ji, case) == pytest.approx(expected, rel=1e-12, abs=1e-12), f"network {n}"


@pytest.mark.parametrize("case", CASES)
def test_finite_differences_catch_a_missing_sigmoid_derivative(case):
    """The oracle is sharp: dropping y_j (1 − y_j) is off by far more than its tolerance on every network
    whose gradient is not identically 0 (in case 2, I = 1 or all-zero targets make E constant)."""
    networks = [(z, t, W_kj, W_ji) for z, t, W_kj, W_ji in _random_networks(case, count=50, seed=1)
                if case == "sigmoid" or (len(t) > 1 and t.any())]
    assert len(networks) >= 30
    for n, (z, t, W_kj, W_ji) in enumerate(networks):
        dE_dW_kj, dE_dW_ji = compute_gradients(z, t, W_kj, W_ji, case)
        y, _, _ = forward(z, W_kj, W_ji, case)
        wrong = (dE_dW_kj / (y * (1 - y)), dE_dW_ji)
        assert _gap(_finite_differences(z, t, W_kj, W_ji, case), wrong) > 1e4 * FD_TOLERANCE, f"network {n}"


def test_finite_differences_catch_targets_taken_as_summing_to_one():
    """With general case-2 targets, x_i − t_i in place of x_i Σ_m t_m − t_i is caught."""
    networks = [net for n, net in enumerate(_random_networks("softmax", count=80, seed=2)) if n % 4 == 2]
    for n, (z, t, W_kj, W_ji) in enumerate(networks):
        y, _, x = forward(z, W_kj, W_ji, "softmax")
        delta = x - t
        wrong = (np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta))
        assert _gap(_finite_differences(z, t, W_kj, W_ji, "softmax"), wrong) > 1e4 * FD_TOLERANCE, f"network {n}"


@pytest.mark.parametrize("case", CASES)
def test_reference_does_not_modify_its_arguments(case):
    for net in _random_networks(case, count=10):
        copies = [v.copy() for v in net]
        compute_gradients(*net, case)
        error(*net, case)
        assert all(np.array_equal(v, c) for v, c in zip(net, copies))


# ---------------------------------------------------------------------------------------------------------------
# Stability


def _mp_error(z, t, W_kj, W_ji, case) -> mpmath.mpf:
    """E in 50-digit arithmetic, in the log forms that never cancel."""
    with mpmath.workdps(50):
        K, J = W_kj.shape
        I = W_ji.shape[1]
        t = [mpmath.mpf(float(v)) for v in t]
        y = [1 / (1 + mpmath.exp(-mpmath.fsum(mpmath.mpf(z[k]) * W_kj[k, j] for k in range(K)))) for j in range(J)]
        a = [mpmath.fsum(mpmath.mpf(W_ji[j, i]) * y[j] for j in range(J)) for i in range(I)]
        if case == "sigmoid":
            return mpmath.fsum(t[i] * mpmath.log1p(mpmath.exp(-a[i])) + (1 - t[i]) * mpmath.log1p(mpmath.exp(a[i]))
                               for i in range(I))
        log_total = mpmath.log(mpmath.fsum(mpmath.exp(a_m) for a_m in a))
        return -mpmath.fsum(t[i] * (a[i] - log_total) for i in range(I))


@pytest.mark.parametrize("scale", [100, 1000])
@pytest.mark.parametrize("case", CASES)
def test_huge_activations_stay_finite_and_the_error_accurate(case, scale):
    for n, (z, t, W_kj, W_ji) in enumerate(_random_networks(case, count=40, seed=3)):
        W_kj, W_ji = scale * W_kj, scale * W_ji
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            E = error(z, t, W_kj, W_ji, case)
            grads = compute_gradients(z, t, W_kj, W_ji, case)
        assert np.isfinite(E) and all(np.all(np.isfinite(g)) for g in grads), f"network {n}"
        assert E == pytest.approx(float(_mp_error(z, t, W_kj, W_ji, case)), rel=1e-12, abs=1e-12), f"network {n}"


@pytest.mark.parametrize("case", CASES)
def test_error_is_exact_for_confidently_wrong_outputs(case):
    """y = 1 and a = (1000, −1000) with targets (0, 1): every wrong output costs exactly its activation."""
    z, t = np.array([1.0]), np.array([0.0, 1.0])
    W_kj, W_ji = np.array([[1000.0]]), np.array([[1000.0, -1000.0]])
    assert error(z, t, W_kj, W_ji, case) == 2000.0
    dE_dW_kj, dE_dW_ji = compute_gradients(z, t, W_kj, W_ji, case)
    assert np.array_equal(dE_dW_kj, [[0.0]])
    assert np.array_equal(dE_dW_ji, [[1.0, -1.0]])


def test_stable_functions_are_exact_at_the_extremes():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        assert log_sigmoid(-800.0) == -800.0
        assert log_sigmoid(800.0) == 0.0
        assert log_sigmoid(-40.0) == -40.0
        assert sigmoid(800.0) == 1.0
        assert sigmoid(-800.0) == 0.0
        assert sigmoid(-700.0) == pytest.approx(np.exp(-700.0), rel=1e-15)
        assert sigmoid(0.0) == 0.5
        assert np.array_equal(log_softmax(np.array([1000.0, 0.0, -1000.0])), [0.0, -1000.0, -2000.0])
        assert np.allclose(log_softmax(np.array([-1000.0, -1000.0])), -np.log(2.0), rtol=1e-15, atol=0)
        assert np.allclose(log_softmax(np.array([800.0, 800.0])), -np.log(2.0), rtol=1e-15, atol=0)


def test_weighted_sum_adds_row_after_row_whatever_the_shape_or_layout():
    """The reference's sums have one documented order, so the same network gives the same bits in every process
    and on every machine; `@` (BLAS) does not (its kernel depends on the processor), nor does np.sum (pairwise
    over 8 or more terms in one column)."""
    rng = np.random.default_rng(4)
    for _ in range(300):
        K, J = (int(n) for n in rng.integers(1, 13, 2))
        v, W = rng.normal(0.0, 1.0, K), rng.normal(0.0, 1.0, (K, J))
        expected = np.zeros(J)
        for k in range(K):
            expected = expected + v[k] * W[k]
        for layout in (W, np.asfortranarray(W), np.repeat(W, 2, axis=1)[:, ::2]):
            assert weighted_sum(v, layout).tobytes() == expected.tobytes(), (K, J)


# ---------------------------------------------------------------------------------------------------------------
# Refusals and the grading path


@pytest.mark.parametrize("bad", ["tanh", "Sigmoid", "", None, 1])
def test_reference_refuses_an_unknown_case(bad):
    z, t, W_kj, W_ji = _random_networks("sigmoid", count=1)[0]
    for function in (forward, error, compute_gradients):
        args = (z, W_kj, W_ji) if function is forward else (z, t, W_kj, W_ji)
        with pytest.raises(ValueError, match="case must be one of"):
            function(*args, bad)


def test_sympy_is_off_the_grading_path():
    """Only reference/derivation.py may import sympy; the grader, the graded suite and the reference may not."""
    importers = []
    for folder in ("backprop_grader", "tests", "reference", "student_template"):
        for path in sorted((PROJECT / folder).rglob("*.py")):
            if path.name != "derivation.py" and re.search(r"^\s*(import|from)\s+sympy\b", path.read_text(), re.M):
                importers.append(str(path.relative_to(PROJECT)))
    assert importers == []
    code = "import sys, reference, reference.backprop; print('sympy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
