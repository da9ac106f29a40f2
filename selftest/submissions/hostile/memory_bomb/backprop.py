"""HOSTILE: correct in case 1; in every case-2 call allocates memory without end (touching every page).

The worker's address-space limit (memory_mb, 1024 MB) stops it: honest score 50, a clear message, and the
grader itself is unharmed. The allocation stops at 4 GB in any case, so it stays bounded even if a limit fails.
"""

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _correct(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    if case == "sigmoid":
        delta = sigmoid(a) - t
    else:
        e = np.exp(a - a.max())
        delta = e / e.sum() * t.sum() - t
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)


def compute_gradients(z, t, W_kj, W_ji, case):
    if case == "softmax":
        hoard = []
        for _ in range(4096):  # 1 MB each: at most 4 GB
            hoard.append(np.ones(1 << 17))
    return _correct(z, t, W_kj, W_ji, case)
