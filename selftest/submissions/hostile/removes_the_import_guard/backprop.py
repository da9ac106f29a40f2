"""Removes the worker's import guard from inside its own process, then imports an autodiff library: check 0.4
must still see the attempt, from the source, outside the worker. The gradients themselves are numpy's and right."""

import sys

import numpy as np

sys.meta_path[:] = [finder for finder in sys.meta_path if "Import" not in type(finder).__name__
                    or "Path" in type(finder).__name__]
try:
    import torch  # noqa: F401
except ImportError:  # not installed here: the attempt is what counts
    torch = None


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
