"""Mistake: the output delta uses the activation a where the output x belongs (δ = a − t). Matrix form."""

import numpy as np


def compute_gradients(z, t, W_kj, W_ji, case):
    y = 1 / (1 + np.exp(-(z @ W_kj)))
    a = y @ W_ji
    if case == "sigmoid":
        delta = a - t  # should be σ(a) − t
    else:
        delta = a * t.sum() - t  # should be softmax(a) Σt − t
    dW_ji = np.outer(y, delta)
    dW_kj = np.outer(z, (W_ji @ delta) * y * (1 - y))
    return dW_kj, dW_ji
