"""A correct submission that prints a lot while debugging: at import and in every call."""

import numpy as np

print("debugging: module loaded " * 200)


def compute_gradients(z, t, W_kj, W_ji, case):
    y = 1.0 / (1.0 + np.exp(-(z @ W_kj)))
    a = y @ W_ji
    if case == "sigmoid":
        x = 1.0 / (1.0 + np.exp(-a))
        delta = x - t
    else:
        e = np.exp(a - a.max())
        x = e / e.sum()
        delta = x * t.sum() - t
    print("delta =", delta)
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)
