"""HOSTILE: loops forever while being imported. Honest score 0; grading must stop it and finish in time."""

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _correct(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    if case == "sigmoid":
        delta = sigmoid(a) - t
    else:
        e = np.exp(a - a.max())
        delta = e / e.sum() * t.sum() - t
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)


def compute_gradients(z, t, W_kj, W_ji, case):
    return _correct(z, t, W_kj, W_ji, case)


while True:
    pass
