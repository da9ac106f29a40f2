"""HOSTILE: in case 2 writes forged replies straight into the worker's reply pipe (its number is in sys.argv),
then ends its process, so the grader reads only the forgery. The forged headers claim success with no arrays,
or carry fields of the wrong types (forbidden, modified, names, traceback, dtypes).

Case 1 is correct: honest score 50. The grader must treat every forgery as a failed call, never crash.
"""

import json
import os
import struct
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

_CALLS = [0]
FORGERIES = (
    {"op": "result", "ok": True, "forbidden": [], "modified": []},                      # success, no arrays
    {"op": "result", "ok": True, "forbidden": 7, "modified": 5},                         # wrong types
    {"op": "result", "ok": False, "kind": "exception", "traceback": 12345, "names": [1, 2]},
    {"op": "result", "ok": False, "kind": "missing_function", "names": 3, "forbidden": "torch"},
    {"op": "result", "ok": True, "forbidden": [{"a": 1}], "modified": [[1]], "dtypes": None},
)


def _frame(header, blobs=b""):
    head = json.dumps(header).encode()
    return struct.pack(">II", len(head), len(blobs)) + head + blobs


def compute_gradients(z, t, W_kj, W_ji, case):
    if case == "softmax":
        header = dict(FORGERIES[_CALLS[0] % len(FORGERIES)])
        _CALLS[0] += 1
        header.setdefault("shapes", [])
        if _CALLS[0] % 5 == 0:  # success with one array only
            header["shapes"] = [list(W_kj.shape)]
            payload = _frame(header, np.zeros(W_kj.shape, "<f8").tobytes())
        else:
            payload = _frame(header)
        os.write(int(sys.argv[2]), payload)
        os._exit(0)
    return _correct(z, t, W_kj, W_ji, case)
