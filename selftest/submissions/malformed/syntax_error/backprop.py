"""A submission with a syntax error: a parenthesis never closed on line 11."""

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def compute_gradients(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj
    a = y @ W_ji
    x = sigmoid(a)
    delta = x - t
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)
