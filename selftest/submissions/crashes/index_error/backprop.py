"""Crashes: an off-by-one loop in a helper two calls deep raises IndexError on every network."""

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def back_propagate(W_ji, delta):
    J, I = W_ji.shape
    hidden = np.zeros(J)
    for j in range(J):
        for i in range(I + 1):
            hidden[j] += W_ji[j, i] * delta[i]  # i == I is one past the last output
    return hidden


def hidden_delta(W_ji, delta, y):
    return back_propagate(W_ji, delta) * y * (1 - y)


def compute_gradients(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    if case == "sigmoid":
        x = sigmoid(a)
        delta = x - t
    else:
        e = np.exp(a - a.max())
        x = e / e.sum()
        delta = x * t.sum() - t
    return np.outer(z, hidden_delta(W_ji, delta, y)), np.outer(y, delta)
