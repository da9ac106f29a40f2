"""Mistake (case 2 only): case 1's code for both cases, so case 2's outputs are sigmoids, x = σ(a) with δ = x − t,
instead of a softmax. Case 1 is right."""

import numpy as np


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def compute_gradients(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    x = sigmoid(y @ W_ji)  # the case is never looked at
    delta = x - t
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)
