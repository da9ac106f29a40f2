"""Hostile: in case 2 it writes a deeply nested JSON header straight into the reply pipe, hoping to crash the grader.

Case 1 is correct, so its honest score is 50: the forged frame must cost only case 2, never the whole run.
"""

import os
import struct
import sys
import time

import numpy as np


def compute_gradients(z, t, W_kj, W_ji, case):
    if case == "softmax":
        head = b"[" * 100000 + b"]" * 100000
        os.write(int(sys.argv[2]), struct.pack(">II", len(head), 0) + head)
        time.sleep(20)
    y = 1 / (1 + np.exp(-(z @ W_kj)))
    x = 1 / (1 + np.exp(-(y @ W_ji)))
    delta = x - t
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)
