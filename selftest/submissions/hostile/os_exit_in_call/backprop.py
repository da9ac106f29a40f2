"""HOSTILE: correct in case 1; kills its own process with os._exit(0) in every case-2 call. Honest score 50."""

import os

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
    if case == "softmax":
        os._exit(0)
    return _correct(z, t, W_kj, W_ji, case)
