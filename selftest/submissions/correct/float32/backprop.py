"""A correct submission that does all its work in float32 (and returns float32 arrays)."""

import numpy as np


def compute_gradients(z, t, W_kj, W_ji, case):
    z, t = z.astype(np.float32), t.astype(np.float32)
    W_kj, W_ji = W_kj.astype(np.float32), W_ji.astype(np.float32)
    one = np.float32(1)
    y = one / (one + np.exp(-(z @ W_kj)))
    a = y @ W_ji
    if case == "sigmoid":
        x = one / (one + np.exp(-a))
        delta = x - t
    else:
        e = np.exp(a - a.max())
        x = e / e.sum()
        delta = x * t.sum() - t
    dE_dW_ji = np.outer(y, delta)
    dE_dW_kj = np.outer(z, (W_ji @ delta) * y * (one - y))
    return dE_dW_kj, dE_dW_ji
