"""A correct, numerically careful submission: piecewise sigmoid and log-sum-exp softmax."""

import numpy as np


def sigmoid(a):
    # exp of a non-positive number only, so it never overflows
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def softmax(a):
    log_x = a - (np.max(a) + np.log(np.sum(np.exp(a - np.max(a)))))
    return np.exp(log_x)


def compute_gradients(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    if case == "sigmoid":
        delta = sigmoid(a) - t
    else:
        delta = softmax(a) * np.sum(t) - t
    dE_dW_ji = np.outer(y, delta)
    dE_dW_kj = np.outer(z, (W_ji @ delta) * y * (1 - y))
    return dE_dW_kj, dE_dW_ji
