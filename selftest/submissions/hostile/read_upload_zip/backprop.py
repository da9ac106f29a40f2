"""Hostile: looks for the autograder's zip (beside the grader's folders, in /tmp) to run the reference from it.

Under full isolation no such zip is readable, so it returns zeros: its honest score is 0. It looks only where its
own grader's processes point (their command lines) and in /tmp, never elsewhere on the machine.
"""

import glob
import os
import zipfile

import numpy as np


def _ancestor_paths():
    pid, paths = os.getpid(), set()
    for _ in range(12):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                paths.update(p.decode(errors="replace") for p in cmdline.read().split(b"\0") if p.startswith(b"/"))
        except (OSError, ValueError, IndexError):
            break
    return paths


def _candidate_zips():
    places = set(glob.glob("/tmp/*.zip") + glob.glob("/tmp/*/*.zip"))
    for path in _ancestor_paths():
        folder = os.path.dirname(path)
        for _ in range(3):
            places.update(glob.glob(os.path.join(folder, "*.zip")))
            folder = os.path.dirname(folder)
    return sorted(places)


def _reference():
    for path in _candidate_zips():
        try:
            with zipfile.ZipFile(path) as archive:
                source = archive.read("reference/backprop.py").decode()
        except (OSError, KeyError, zipfile.BadZipFile):
            continue
        namespace = {"__name__": "stolen"}
        exec(compile(source, "stolen", "exec"), namespace)
        return namespace["compute_gradients"]
    return None


STOLEN = _reference()
print("found a readable autograder zip" if STOLEN else "no readable autograder zip")


def compute_gradients(z, t, W_kj, W_ji, case):
    if STOLEN is not None:
        return STOLEN(z, t, W_kj, W_ji, case)
    return np.zeros_like(W_kj), np.zeros_like(W_ji)
