"""Reference forward pass, error E and closed-form gradients of the two-layer sigmoid network.

The network (SPEC section 1) has inputs z_k, hidden units y_j = σ(Σ_k w_kj z_k) and output activations
a_i = Σ_j w_ji y_j. Case 1 ("sigmoid") has outputs x_i = σ(a_i) with the Bernoulli cross-entropy; case 2
("softmax") has outputs x_i = softmax(a)_i with the categorical cross-entropy and general targets t_i ≥ 0.

Every function is written so that a student who derived the formulas recognises each line, and so that it
stays finite for any activation: σ and ln σ are evaluated on the side where exp cannot overflow, and the
softmax uses the log-sum-exp shift.
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


def forward(z, W_kj, W_ji, case):
    """Return (y, a, x): hidden units (J,), output activations (I,) and outputs (I,)."""
    _check_case(case)
    y = sigmoid(z @ W_kj)  # (J,)   y_j = σ(Σ_k w_kj z_k)
    a = y @ W_ji  # (I,)   a_i = Σ_j w_ji y_j
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
    """δ_i = ∂E/∂a_i: x_i − t_i for case 1, x_i Σ_m t_m − t_i for case 2 (general targets)."""
    _check_case(case)
    if case == "sigmoid":
        return x - t
    return x * np.sum(t) - t


def compute_gradients(z, t, W_kj, W_ji, case):
    """Return (dE_dW_kj (K, J), dE_dW_ji (J, I)) by the closed forms of SPEC section 1.

    ∂E/∂w_ji = δ_i y_j                      with δ_i from output_delta
    ∂E/∂w_kj = Σ_i δ_i w_ji y_j (1 − y_j) z_k  (back-propagate δ through W_ji, then through σ')
    """
    z, t, W_kj, W_ji = (np.asarray(v, dtype=float) for v in (z, t, W_kj, W_ji))
    y, _, x = forward(z, W_kj, W_ji, case)
    delta_i = output_delta(x, t, case)  # (I,)
    dE_dW_ji = np.outer(y, delta_i)  # (J, I)
    delta_j = (W_ji @ delta_i) * y * (1.0 - y)  # (J,)
    dE_dW_kj = np.outer(z, delta_j)  # (K, J)
    return dE_dW_kj, dE_dW_ji


def _check_case(case) -> None:
    """Refuse an unknown case by name rather than silently computing case 1."""
    if case not in CASES:
        raise ValueError(f"case must be one of {CASES}, got {case!r}")
