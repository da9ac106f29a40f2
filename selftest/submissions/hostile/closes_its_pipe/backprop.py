"""Hostile: in case 2 it closes its reply pipe and keeps running, hoping the grader waits on it forever.

Case 1 is correct, so its honest score is 50.
"""

import os
import sys
import time

import numpy as np


def compute_gradients(z, t, W_kj, W_ji, case):
    if case == "softmax":
        os.close(int(sys.argv[2]))
        time.sleep(30)
    y = 1 / (1 + np.exp(-(z @ W_kj)))
    x = 1 / (1 + np.exp(-(y @ W_ji)))
    delta = x - t
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)
