"""Reference forward pass, error E and closed-form gradients of the two-layer sigmoid network.

The network (SPEC section 1) has inputs z_k, hidden units y_j = σ(Σ_k w_kj z_k) and output activations
a_i = Σ_j w_ji y_j. Case 1 ("sigmoid") has outputs x_i = σ(a_i) with the Bernoulli cross-entropy; case 2
("softmax") has outputs x_i = softmax(a)_i with the categorical cross-entropy and general targets t_i ≥ 0.

Every function is written so that a student who derived the formulas recognises each line, and so that it
stays finite for any activation: σ and ln σ are evaluated on the side where exp cannot overflow, and the
softmax uses the log-sum-exp shift.

`compute_gradients` is also accurate to the last digits where units saturate. A difference such as 1 − y or
x − t, taken when y or x is within a rounding of 1, keeps none of the digits of the tiny true result. So the
gradients never subtract to get 1 − y or 1 − x: 1 − σ(u) is σ(−u), and 1 − x_i for the softmax is Σ_{m≠i} x_m.
The output delta is then a difference of two non-negative terms that only cancel where x_i is close to the
target in the middle of the range, where the inputs' own rounding moves the gradient as much. Its sums are
added in one fixed order (weighted_sum), so a network gives the same bits in every process on every machine.
"""

from __future__ import annotations

import numpy as np

CASES = ("sigmoid", "softmax")


def sigmoid(a: np.ndarray) -> np.ndarray:
    """σ(a) = 1 / (1 + e^(−a)), computed without overflow for any a."""
    a = np.asarray(a, dtype=float)
    e = np.exp(-np.abs(a))  # in (0, 1], never overflows
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_sigmoid(a: np.ndarray) -> np.ndarray:
    """ln σ(a) = −ln(1 + e^(−a)), exact even where σ(a) rounds to 0."""
    return -np.logaddexp(0.0, -np.asarray(a, dtype=float))


def log_softmax(a: np.ndarray) -> np.ndarray:
    """ln softmax(a)_i = a_i − ln Σ_m e^(a_m), shifted by max(a) so that exp cannot overflow."""
    a = np.asarray(a, dtype=float)
    shifted = a - np.max(a)
    return shifted - np.log(np.sum(np.exp(shifted)))


def weighted_sum(v: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Σ_n v_n W[n, :], that is v @ W, added up row after row in the order n = 0, 1, ...

    The same bits in every process on every machine. `@` hands the sum to BLAS, whose kernel, and so whose
    rounding, depends on the processor and the environment (OPENBLAS_CORETYPE gave one rounding apart between a
    batch job and a lone `grade`); and the reference is what every student's numbers are compared with.
    """
    W = np.asarray(W, dtype=float)
    total = np.zeros(W.shape[1])
    for v_n, row in zip(np.asarray(v, dtype=float), W):
        total = total + v_n * row
    return total


def forward(z, W_kj, W_ji, case):
    """Return (y, a, x): hidden units (J,), output activations (I,) and outputs (I,)."""
    _check_case(case)
    y = sigmoid(weighted_sum(z, W_kj))  # (J,)   y_j = σ(Σ_k w_kj z_k)
    a = weighted_sum(y, W_ji)  # (I,)   a_i = Σ_j w_ji y_j
    x = sigmoid(a) if case == "sigmoid" else np.exp(log_softmax(a))  # (I,)
    return y, a, x


def error(z, t, W_kj, W_ji, case) -> float:
    """The cross-entropy E of SPEC section 1, from the activations so that ln x never sees 0."""
    _, a, _ = forward(z, W_kj, W_ji, case)
    t = np.asarray(t, dtype=float)
    if case == "sigmoid":
        # E = −Σ_i [t_i ln x_i + (1 − t_i) ln(1 − x_i)], with 1 − σ(a) = σ(−a)
        return float(-np.sum(t * log_sigmoid(a) + (1.0 - t) * log_sigmoid(-a)))
    # E = −Σ_i t_i ln x_i
    return float(-np.sum(t * log_softmax(a)))


def output_delta(x, t, case):
    """δ_i = ∂E/∂a_i: x_i − t_i for case 1, x_i Σ_m t_m − t_i for case 2 (general targets).

    The textbook form, from the outputs x. Its error is a rounding of 1, so it keeps no digit of a δ_i smaller
    than that, as where x_i saturates at a target of 0 or 1; compute_gradients uses output_delta_from_activations.
    """
    _check_case(case)
    if case == "sigmoid":
        return x - t
    return x * np.sum(t) - t


def output_delta_from_activations(a, t, case):
    """δ_i = ∂E/∂a_i from the activations a (I,), as the same formulas with 1 − x_i never taken by subtraction:

    case 1: x_i − t_i = x_i (1 − t_i) − t_i (1 − x_i),              with 1 − x_i = σ(−a_i)
    case 2: x_i Σ_m t_m − t_i = x_i Σ_{m≠i} t_m − t_i Σ_{m≠i} x_m,   since 1 − x_i = Σ_{m≠i} x_m
    """
    _check_case(case)
    a, t = np.asarray(a, dtype=float), np.asarray(t, dtype=float)
    if case == "sigmoid":
        return sigmoid(a) * (1.0 - t) - t * sigmoid(-a)
    x = np.exp(log_softmax(a))  # (I,)
    others = 1.0 - np.eye(a.size)  # (I, I)  others[m, i] = 1 where m ≠ i: column i sums over m ≠ i
    return x * weighted_sum(t, others) - t * weighted_sum(x, others)


def compute_gradients(z, t, W_kj, W_ji, case):
    """Return (dE_dW_kj (K, J), dE_dW_ji (J, I)) by the closed forms of SPEC section 1.

    ∂E/∂w_ji = δ_i y_j                      with δ_i from output_delta_from_activations
    ∂E/∂w_kj = Σ_i δ_i w_ji y_j (1 − y_j) z_k  (back-propagate δ through W_ji, then through σ')

    The forward pass is the one of `forward`, written out to keep s_j for 1 − y_j = σ(−s_j).
    """
    _check_case(case)
    z, t, W_kj, W_ji = (np.asarray(v, dtype=float) for v in (z, t, W_kj, W_ji))
    s = weighted_sum(z, W_kj)  # (J,)   s_j = Σ_k w_kj z_k
    y = sigmoid(s)  # (J,)
    one_minus_y = sigmoid(-s)  # (J,)   1 − y_j, exact even where y_j rounds to 1
    a = weighted_sum(y, W_ji)  # (I,)   a_i = Σ_j w_ji y_j
    delta_i = output_delta_from_activations(a, t, case)  # (I,)
    dE_dW_ji = np.outer(y, delta_i)  # (J, I)
    delta_j = weighted_sum(delta_i, W_ji.T) * y * one_minus_y  # (J,)   Σ_i δ_i w_ji y_j (1 − y_j)
    dE_dW_kj = np.outer(z, delta_j)  # (K, J)
    return dE_dW_kj, dE_dW_ji


def _check_case(case) -> None:
    """Refuse an unknown case by name rather than silently computing case 1."""
    if case not in CASES:
        raise ValueError(f"case must be one of {CASES}, got {case!r}")
