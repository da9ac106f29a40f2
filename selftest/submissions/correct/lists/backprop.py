"""A correct submission that returns Python lists of lists, in a list rather than a tuple."""

import numpy as np


def compute_gradients(z, t, W_kj, W_ji, case):
    y = 1 / (1 + np.exp(-(z @ W_kj)))
    a = y @ W_ji
    if case == "sigmoid":
        x = 1 / (1 + np.exp(-a))
        delta = x - t
    else:
        x = np.exp(a) / np.exp(a).sum()
        delta = x * t.sum() - t
    dE_dW_ji = [[float(y[j] * d) for d in delta] for j in range(len(y))]
    back = (W_ji @ delta) * y * (1 - y)
    dE_dW_kj = [[float(zk * b) for b in back] for zk in z]
    return [dE_dW_kj, dE_dW_ji]
