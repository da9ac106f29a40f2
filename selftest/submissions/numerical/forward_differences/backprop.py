"""Numerically differentiated: forward differences of its own forward pass, (E(w + h) − E(w)) / h.

Less accurate than central differences; with a small step it still passes some graded tests, and the
informational test 0.5 must flag it.
"""

import numpy as np

STEP = 1e-8


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def error(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    if case == "sigmoid":
        x = sigmoid(a)
        return -np.sum(t * np.log(x) + (1 - t) * np.log(1 - x))
    a = a - a.max()
    return -np.sum(t * (a - np.log(np.sum(np.exp(a)))))


def numerical_gradient(f, W):
    base = f(W)
    grad = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        moved = W.copy()
        moved[index] += STEP
        grad[index] = (f(moved) - base) / STEP
    return grad


def compute_gradients(z, t, W_kj, W_ji, case):
    dW_kj = numerical_gradient(lambda W: error(z, t, W, W_ji, case), W_kj)
    dW_ji = numerical_gradient(lambda W: error(z, t, W_kj, W, case), W_ji)
    return dW_kj, dW_ji
