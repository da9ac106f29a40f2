"""Right formulas, scaled by a rounded constant 1.0002 (a 'learning-rate-like' factor left in): off by 2e-4, which
the grader's 1e-4 tolerance does not forgive."""

import numpy as np

SCALE = 1.0002


def compute_gradients(z, t, W_kj, W_ji, case):
    y = 1 / (1 + np.exp(-(z @ W_kj)))
    a = y @ W_ji
    x = 1 / (1 + np.exp(-a)) if case == "sigmoid" else np.exp(a - a.max()) / np.exp(a - a.max()).sum()
    delta = x - t if case == "sigmoid" else x * t.sum() - t
    return SCALE * np.outer(z, (W_ji @ delta) * y * (1 - y)), SCALE * np.outer(y, delta)
