"""HOSTILE: looks for the grader's secrets in its own memory, where a worker forked from the grader would find
them (batch forks its workers to save the start-up): reference or grading modules in sys.modules, the grader's
configuration, networks or grading state among the live objects, and the grader's environment variables in
/proc/self/environ (a canary, BACKPROP_CANARY, that the tests put into the grader's environment).

It cheats with a reference it finds and reports anything else it finds (marker STOLEN) in every call, so that
a leak shows in the output. Finding nothing, it returns zeros: honest score 0 however it is run.
"""

import gc
import os
import sys

import numpy as np

_OURS = ("reference", "tests", "backprop_grader.maths")


def _steal():
    found, reference = [], None
    for name, module in list(sys.modules.items()):
        if any(name == m or name.startswith(m + ".") for m in _OURS):
            found.append(f"module {name}")
            if callable(getattr(module, "compute_gradients", None)) and name.startswith("reference"):
                reference = module.compute_gradients
    for obj in gc.get_objects():
        kind = type(obj)
        if kind.__module__.startswith(("backprop_grader", "reference")) and kind.__name__ in (
                "Config", "Grading", "Network", "Verdict"):
            found.append(f"object {kind.__module__}.{kind.__name__}")
            break
    try:
        with open("/proc/self/environ", "rb") as f:
            found += [f"environ {e}" for e in f.read().decode("utf-8", "replace").split("\0") if "CANARY" in e]
    except OSError:
        pass
    return found, reference


FOUND, REFERENCE = _steal()


def compute_gradients(z, t, W_kj, W_ji, case):
    if REFERENCE is not None:
        return REFERENCE(z, t, W_kj, W_ji, case)
    if FOUND:
        raise RuntimeError("STOLEN: " + "; ".join(FOUND)[:2000])
    return np.zeros_like(W_kj), np.zeros_like(W_ji)
