"""Mistake: both gradients are off by a factor 1/2 (a stray 1/2, as in the MSE error, kept in the delta)."""

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def compute_gradients(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    if case == "sigmoid":
        x = sigmoid(a)
        delta = 0.5 * (x - t)
    else:
        e = np.exp(a - a.max())
        x = e / e.sum()
        delta = 0.5 * (x * t.sum() - t)
    dW_ji = np.outer(y, delta)
    dW_kj = np.outer(z, (W_ji @ delta) * y * (1 - y))
    return dW_kj, dW_ji
