"""HOSTILE: at import, hunts for the grader's reference solution, tests and configuration, and cheats with them.

It tries /autograder/source, $AUTOGRADER_ROOT, folders above its working folder and above __file__, the grader's
command line and working folder in /proc, importing `reference` from sys.path, and a bounded walk of the file
system for autograder.toml. If it can read reference/backprop.py it returns the reference's gradients (cheating);
otherwise it returns zeros. Under full isolation it can read nothing: honest score 0. (Under reduced isolation,
where it runs as the grader's own user, it finds the reference and scores 100: that is expected.)
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
                      ("config", "autograder.toml"), ("networks", "backprop_grader/networks.py")):
        path = os.path.join(root, rel)
        if what not in FOUND and _readable(path):
            FOUND[what] = path


def _candidate_roots():
    roots = ["/autograder/source", "/autograder"]
    if os.environ.get("AUTOGRADER_ROOT"):
        roots.append(os.path.join(os.environ["AUTOGRADER_ROOT"], "source"))
    for start in (os.getcwd(), os.path.dirname(os.path.abspath(__file__))):
        here = start
        for _ in range(8):
            roots += [here, os.path.join(here, "source")]
            here = os.path.dirname(here)
    # The grader's processes: their working folders and the paths on their command lines.
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            roots.append(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            pass
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                words = f.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        for word in words:
            if word.startswith("/"):
                here = word
                for _ in range(4):
                    here = os.path.dirname(here)
                    roots += [here, os.path.join(here, "source")]
    return roots


def _walk(budget_seconds=3.0, max_dirs=30000):
    """A bounded walk of the file system for autograder.toml."""
    end, seen = time.monotonic() + budget_seconds, 0
    for top, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(top, d) not in ("/proc", "/sys", "/dev", "/run")]
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
        _walk()


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
