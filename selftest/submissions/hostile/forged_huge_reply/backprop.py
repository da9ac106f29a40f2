"""Hostile: in case 2 it forges an "ok" reply carrying 8 MiB of numbers, hoping to exhaust the grader's memory.

Case 1 is correct, so its honest score is 50: replies far larger than two gradients are refused unread.
"""

import json
import os
import struct
import sys
import time

import numpy as np


def compute_gradients(z, t, W_kj, W_ji, case):
    if case == "softmax":
        size = 524288
        head = json.dumps({"ok": True, "op": "result", "shapes": [[size], [size]]}).encode()
        os.write(int(sys.argv[2]), struct.pack(">II", len(head), 16 * size) + head + bytes(16 * size))
        time.sleep(20)
    y = 1 / (1 + np.exp(-(z @ W_kj)))
    x = 1 / (1 + np.exp(-(y @ W_ji)))
    delta = x - t
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)
