"""Numerically differentiated: central differences of its own forward pass, (E(w + h) − E(w − h)) / 2h.

Accurate enough to pass every graded test, so the informational test 0.5 must flag it instead.
"""

import numpy as np

STEP = 1e-5


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
    grad = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        plus, minus = W.copy(), W.copy()
        plus[index] += STEP
        minus[index] -= STEP
        grad[index] = (f(plus) - f(minus)) / (2 * STEP)
    return grad


def compute_gradients(z, t, W_kj, W_ji, case):
    dW_kj = numerical_gradient(lambda W: error(z, t, W, W_ji, case), W_kj)
    dW_ji = numerical_gradient(lambda W: error(z, t, W_kj, W, case), W_ji)
    return dW_kj, dW_ji
