"""A correct submission as textbook code writes it: the sigmoid and the softmax from scipy.special."""

import numpy as np
from scipy.special import expit, softmax


def compute_gradients(z, t, W_kj, W_ji, case):
    y = expit(z @ W_kj)
    a = y @ W_ji
    x = expit(a) if case == "sigmoid" else softmax(a)
    delta = x - t if case == "sigmoid" else x * t.sum() - t
    dW_ji = np.outer(y, delta)
    dW_kj = np.outer(z, (W_ji @ delta) * y * (1 - y))
    return dW_kj, dW_ji
