"""Mistake (case 2 only): only the diagonal of the softmax Jacobian, ∂x_i/∂a_i = x_i(1 − x_i), is kept, so
δ_i = (−t_i / x_i) x_i (1 − x_i) = t_i (x_i − 1). Loops over outputs."""

import numpy as np


def compute_gradients(z, t, W_kj, W_ji, case):
    y = 1 / (1 + np.exp(-(z @ W_kj)))
    a = y @ W_ji
    I = len(a)
    delta = np.zeros(I)
    if case == "sigmoid":
        x = 1 / (1 + np.exp(-a))
        for i in range(I):
            delta[i] = x[i] - t[i]
    else:
        x = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
        for i in range(I):
            dE_dx = -t[i] / x[i]
            dx_da = x[i] * (1 - x[i])  # the terms m != i of the Jacobian are dropped
            delta[i] = dE_dx * dx_da
    dW_ji = np.outer(y, delta)
    dW_kj = np.outer(z, (W_ji @ delta) * y * (1 - y))
    return dW_kj, dW_ji
