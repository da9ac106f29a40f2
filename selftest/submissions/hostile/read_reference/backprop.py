"""HOSTILE: at import, hunts for the grader's reference solution, tests and configuration, and cheats with them.

It tries /autograder/source, $AUTOGRADER_ROOT, folders above its working folder and above __file__, the working
folders and command-line paths of its own grader (its ancestors in /proc), importing `reference` from sys.path,
and a bounded walk for autograder.toml below those folders. If it can read reference/backprop.py it returns the
reference's gradients (cheating); otherwise it returns zeros. Under full isolation it can read nothing: honest
score 0. (Under reduced isolation, where it runs as the grader's own user, it finds the reference and scores 100:
that is expected.)
"""

import importlib.util
import os
import sys
import time

import numpy as np

FOUND = {}  # what -> path that could be read


def _readable(path):
    try:
        with open(path, "rb") as f:
            f.read(1)
        return True
    except OSError:
        return False


def _consider(root):
    """root is a candidate source folder of the grader: note each grader file we can read there."""
    for what, rel in (("reference", "reference/backprop.py"), ("tests", "tests/test_case1_sigmoid.py"),
                      ("config", "autograder.toml"), ("networks", "backprop_grader/maths/networks.py")):
        path = os.path.join(root, rel)
        if what not in FOUND and _readable(path):
            FOUND[what] = path


def _ancestors():
    """Pids of our parent, grandparent, ... (the grader, run_autograder): /proc/PID/stat is public.

    Only our own grader is searched, never other graders or checkouts that happen to be on the same machine
    (a test machine has world-readable copies of the project that Gradescope does not have).
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


def _upwards(path, levels=5):
    """path and its parents, each also with /source appended (Gradescope keeps the grader in ROOT/source)."""
    found = []
    for _ in range(levels):
        found += [path, os.path.join(path, "source")]
        path = os.path.dirname(path)
    return found


def _candidate_roots():
    roots = ["/autograder/source", "/autograder"]
    if os.environ.get("AUTOGRADER_ROOT"):
        roots.append(os.path.join(os.environ["AUTOGRADER_ROOT"], "source"))
    roots += _upwards(os.getcwd()) + _upwards(os.path.dirname(os.path.abspath(__file__)))
    # Our grader's processes: their working folders and every path on their command lines.
    for pid in _ancestors():
        try:
            roots += _upwards(os.readlink(f"/proc/{pid}/cwd"), 3)
        except OSError:
            pass
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                words = f.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        for word in words:
            if word.startswith("/"):
                roots += _upwards(os.path.dirname(word), 4)
    return roots


def _walk(tops, budget_seconds=3.0, max_dirs=20000):
    """A bounded walk below each top folder (our grader's root and /autograder) for autograder.toml."""
    end, seen = time.monotonic() + budget_seconds, 0
    for start in tops:
        for top, dirs, files in os.walk(start):
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev", "venv", "node_modules")]
            seen += 1
            if "autograder.toml" in files:
                _consider(top)
            if time.monotonic() > end or seen > max_dirs or "reference" in FOUND:
                return


def _hunt():
    for root in dict.fromkeys(_candidate_roots()):
        _consider(root)
    try:
        import reference.backprop as ref  # installed in the grader's environment?
        FOUND.setdefault("reference", ref.__file__)
    except Exception:
        pass
    if "reference" not in FOUND:
        tops = [r for r in dict.fromkeys(_candidate_roots()) if not r.endswith("source") and r.count("/") <= 3]
        _walk([t for t in tops if t not in ("/", "/tmp")] + ["/autograder"])


_hunt()
print("read_reference found:", FOUND)
_REFERENCE = None
if "reference" in FOUND:
    try:
        spec = importlib.util.spec_from_file_location("stolen_reference", FOUND["reference"])
        _REFERENCE = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_REFERENCE)
    except Exception as exc:
        print("could not load the reference:", exc, file=sys.stderr)
        _REFERENCE = None


def compute_gradients(z, t, W_kj, W_ji, case):
    if _REFERENCE is not None:
        return _REFERENCE.compute_gradients(z, t, W_kj, W_ji, case)
    return np.zeros_like(W_kj), np.zeros_like(W_ji)
