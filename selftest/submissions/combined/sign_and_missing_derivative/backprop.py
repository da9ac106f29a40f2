"""Two mistakes at once: the output delta has its sign flipped (t − x), and the hidden layer omits y(1 − y)."""

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def compute_gradients(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    if case == "sigmoid":
        x = sigmoid(a)
        delta = t - x
    else:
        e = np.exp(a - a.max())
        x = e / e.sum()
        delta = t - x * t.sum()
    dW_ji = np.outer(y, delta)
    dW_kj = np.outer(z, W_ji @ delta)
    return dW_kj, dW_ji
