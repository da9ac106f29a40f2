"""HOSTILE: correct, but first fills /tmp, /var/tmp, /dev/shm and its own folder with files under the size limit (a full disk must not keep a valid results.json from being written). Honest score 100."""

import numpy as np

import filler

filler.fill()


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


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
    dW_ji = np.outer(y, delta)
    dW_kj = np.outer(z, (W_ji @ delta) * y * (1 - y))
    return dW_kj, dW_ji
