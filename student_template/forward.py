"""The forward pass and the error E of the homework network: given code, use it as you like.

The network has no biases (a bias is a constant-1 input):

    hidden units   y_j = sigma(sum_k w_kj z_k)        sigma(a) = 1 / (1 + exp(-a))
    activations    a_i = sum_j w_ji y_j
    outputs        case "sigmoid": x_i = sigma(a_i)
                   case "softmax": x_i = exp(a_i) / sum_m exp(a_m)
    error          case "sigmoid": E = -sum_i [t_i ln x_i + (1 - t_i) ln(1 - x_i)]
                   case "softmax": E = -sum_i t_i ln x_i

Shapes: z (K,), t (I,), W_kj (K, J) with W_kj[k, j] = w_kj, W_ji (J, I) with W_ji[j, i] = w_ji.

Everything here is written to stay finite for large activations: E is computed from the activations a_i
directly, never as the logarithm of an x that has rounded to 0 or 1. check.py differentiates E numerically
with these functions; this file contains no gradient.
"""

import numpy as np

CASES = ("sigmoid", "softmax")


def sigmoid(a):
    """The logistic function 1 / (1 + exp(-a)), elementwise, without overflow for large |a|."""
    a = np.asarray(a, dtype=float)
    small = np.exp(-np.abs(a))  # in (0, 1]: never overflows
    return np.where(a >= 0, 1.0 / (1.0 + small), small / (1.0 + small))


def softmax(a):
    """exp(a_i) / sum_m exp(a_m), shifted by max(a) so that no exponential overflows."""
    a = np.asarray(a, dtype=float)
    shifted = np.exp(a - np.max(a))
    return shifted / np.sum(shifted)


def hidden(z, W_kj):
    """The hidden units y_j = sigma(sum_k w_kj z_k), shape (J,)."""
    return sigmoid(np.asarray(z, dtype=float) @ np.asarray(W_kj, dtype=float))


def activations(z, W_kj, W_ji):
    """The output activations a_i = sum_j w_ji y_j, shape (I,)."""
    return hidden(z, W_kj) @ np.asarray(W_ji, dtype=float)


def forward(z, W_kj, W_ji, case):
    """Return (y, x): the hidden units, shape (J,), and the outputs, shape (I,), for case "sigmoid" or "softmax"."""
    _check_case(case)
    y = hidden(z, W_kj)
    a = y @ np.asarray(W_ji, dtype=float)
    x = sigmoid(a) if case == "sigmoid" else softmax(a)
    return y, x


def E(z, t, W_kj, W_ji, case):
    """The error E of one training example (a float), for case "sigmoid" or "softmax".

    Computed from the activations: ln sigma(a) = -log(1 + exp(-a)) and ln(1 - sigma(a)) = -log(1 + exp(a)),
    both as numpy.logaddexp(0, .); ln softmax(a)_i = a_i - log(sum_m exp(a_m)).
    """
    _check_case(case)
    t = np.asarray(t, dtype=float)
    a = activations(z, W_kj, W_ji)
    if case == "sigmoid":
        return float(np.sum(t * np.logaddexp(0.0, -a) + (1.0 - t) * np.logaddexp(0.0, a)))
    peak = np.max(a)
    log_normaliser = peak + np.log(np.sum(np.exp(a - peak)))
    return float(-np.sum(t * (a - log_normaliser)))


def _check_case(case):
    if case not in CASES:
        raise ValueError(f"case must be 'sigmoid' or 'softmax', not {case!r}")
