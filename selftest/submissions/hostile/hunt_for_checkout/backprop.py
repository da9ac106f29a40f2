"""HOSTILE: walks the whole file system it can see for any copy of the grader's reference (an instructor's
checkout, another run's files, a zip in /tmp) and cheats with the first one it can import. Within its own view of
the file system there is none: honest score 0 (it returns zeros otherwise)."""

import importlib.util
import os
import time

import numpy as np

CHEAT = None
_deadline = time.monotonic() + 6
for top in ("/", "/work", "/check", "/home", "/root", "/tmp", "/var/tmp", "/opt", "/srv", "/autograder", "/mnt"):
    for folder, subfolders, files in os.walk(top):
        subfolders[:] = [s for s in subfolders if s not in ("proc", "sys", "dev", "usr", "lib", "site-packages")]
        if time.monotonic() > _deadline or CHEAT is not None:
            break
        if os.path.basename(folder) == "reference" and "backprop.py" in files:
            try:
                spec = importlib.util.spec_from_file_location("stolen", os.path.join(folder, "backprop.py"))
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                CHEAT = module.compute_gradients
            except Exception:  # unreadable: keep looking
                pass
print("found a reference" if CHEAT else "found nothing")


def compute_gradients(z, t, W_kj, W_ji, case):
    if CHEAT is not None:
        return CHEAT(z, t, W_kj, W_ji, case)
    return np.zeros_like(W_kj), np.zeros_like(W_ji)
