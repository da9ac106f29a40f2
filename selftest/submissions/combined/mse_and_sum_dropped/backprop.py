"""Two mistakes at once: the MSE factor x(1 − x) in the output delta, and a loop that overwrites the sum over i."""

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def compute_gradients(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    if case == "sigmoid":
        x = sigmoid(a)
        delta = (x - t) * x * (1 - x)
    else:
        e = np.exp(a - a.max())
        x = e / e.sum()
        delta = (x * t.sum() - t) * x * (1 - x)
    dW_ji = np.outer(y, delta)
    for i in range(len(delta)):
        back = W_ji[:, i] * delta[i]  # should be +=
    dW_kj = np.outer(z, back * y * (1 - y))
    return dW_kj, dW_ji
