"""A correct submission that imports the kit's forward.py without uploading it (the grader provides it)."""

import numpy as np

from forward import forward


def compute_gradients(z, t, W_kj, W_ji, case):
    y, x = forward(z, W_kj, W_ji, case)
    delta = x - t if case == "sigmoid" else x * t.sum() - t
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)
