"""Mistake (case 2 only): the softmax written without the exponential, x = a / Σa. Column vectors throughout."""

import numpy as np


def compute_gradients(z, t, W_kj, W_ji, case):
    z_col = z.reshape(-1, 1)  # (K, 1)
    t_col = t.reshape(-1, 1)  # (I, 1)
    y = 1 / (1 + np.exp(-(W_kj.T @ z_col)))  # (J, 1)
    a = W_ji.T @ y  # (I, 1)
    if case == "sigmoid":
        x = 1 / (1 + np.exp(-a))
        delta = x - t_col
    else:
        x = a / a.sum()  # the exponentials are missing
        delta = x * t_col.sum() - t_col
    dW_ji = y @ delta.T  # (J, I)
    delta_j = (W_ji @ delta) * y * (1 - y)  # (J, 1)
    dW_kj = z_col @ delta_j.T  # (K, J)
    return dW_kj, dW_ji
