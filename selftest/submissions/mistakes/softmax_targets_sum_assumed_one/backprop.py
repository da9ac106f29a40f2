"""Mistake (case 2 only): takes Σ_m t_m as 1, so the softmax delta is x − t; right for one-hot targets only."""

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def compute_gradients(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    if case == "sigmoid":
        x = sigmoid(a)
    else:
        e = np.exp(a - a.max())
        x = e / e.sum()
    delta = x - t
    dW_ji = np.outer(y, delta)
    dW_kj = np.outer(z, (W_ji @ delta) * y * (1 - y))
    return dW_kj, dW_ji
