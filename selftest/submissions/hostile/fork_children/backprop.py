"""HOSTILE: forks children that sleep "forever" (bounded: 10 minutes), at import and in the first calls.

At most 50 children in all, so it stays harmless even if the process limit fails. Forking failures (the
process limit) are ignored. Otherwise correct: honest score 100; every child must be killed and none left behind.
"""

import os
import time

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

_FORKED = [0]


def _fork_sleepers(count):
    for _ in range(count):
        if _FORKED[0] >= 50:
            return
        try:
            pid = os.fork()
        except OSError:
            return
        _FORKED[0] += 1
        if pid == 0:
            try:
                if _FORKED[0] % 2:
                    os.setsid()  # half of them in a session of their own
                time.sleep(600)
            finally:
                os._exit(0)


_fork_sleepers(20)


def compute_gradients(z, t, W_kj, W_ji, case):
    _fork_sleepers(3)
    return _correct(z, t, W_kj, W_ji, case)
