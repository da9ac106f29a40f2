"""Mistake: the hidden units are tanh (y = tanh(s)), back-propagated through tanh's own derivative 1 − y², as in
many tutorials; the homework's hidden units are sigmoids. The outputs and their deltas are right for each case."""

import numpy as np


def compute_gradients(z, t, W_kj, W_ji, case):
    y = np.tanh(z @ W_kj)  # (J,)
    a = y @ W_ji  # (I,)
    if case == "sigmoid":
        x = 1 / (1 + np.exp(-a))
        delta = x - t
    else:
        e = np.exp(a - a.max())
        x = e / e.sum()
        delta = x * t.sum() - t
    dW_ji = np.outer(y, delta)
    dW_kj = np.outer(z, (W_ji @ delta) * (1 - y ** 2))
    return dW_kj, dW_ji
