"""Two mistakes: the gradient of −E (δ = t − x, as for gradient ascent) and tanh's derivative 1 − y² in the
hidden layer. Loops over hidden units."""

import numpy as np


def compute_gradients(z, t, W_kj, W_ji, case):
    y = 1 / (1 + np.exp(-(z @ W_kj)))
    a = y @ W_ji
    if case == "sigmoid":
        x = 1 / (1 + np.exp(-a))
        delta = t - x
    else:
        x = np.exp(a - a.max())
        x = x / x.sum()
        delta = t - x * t.sum()
    dW_ji = np.outer(y, delta)
    dW_kj = np.zeros_like(W_kj)
    for j in range(len(y)):
        dW_kj[:, j] = z * (W_ji[j] @ delta) * (1 - y[j] ** 2)
    return dW_kj, dW_ji
