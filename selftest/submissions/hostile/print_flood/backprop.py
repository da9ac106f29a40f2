"""HOSTILE: prints 20 MB at import, 1 MB per call, and writes straight to file descriptors 1 and 2.

Otherwise correct: honest score 100. The output is capped (output_kb) and grading stays fast.
"""

import os
import sys

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

_LINE = "flood " * 16 + "\n"  # 97 bytes

for _ in range(20 * 1024 * 1024 // len(_LINE)):
    print(_LINE, end="")
for _fd in (1, 2):
    try:
        os.write(_fd, b"x" * (4 << 20))
    except OSError:
        pass
sys.stderr.write("E" * (2 << 20))


def compute_gradients(z, t, W_kj, W_ji, case):
    print(_LINE * ((1 << 20) // len(_LINE)), end="")
    try:
        os.write(1, b"y" * (1 << 20))
    except OSError:
        pass
    return _correct(z, t, W_kj, W_ji, case)
