"""What the sandbox allows: which modules are secret, when a process may fork a student's worker, and the
environment a worker gets (STYLE rule 10: one list for each policy).

A worker forked from a grader inherits its memory and its environment, so a grader forks one only while it holds
nothing secret: no configuration read (its seeds), none of the modules that hold or use the reference, and an
environment of known variables only. run_autograder (bash) starts the grader with an environment written from
these lists again; change both together.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from .. import config as config_module
from .isolation.view import OFF_SWITCH

# What holds or computes the answers; while none of it is loaded, a fork of this process is safe to give student
# code. backprop_grader.maths is secret whole: every module of it uses the reference (selftest/test_layers.py).
SECRET_MODULES = ("reference", "tests", "backprop_grader.maths")

PATH = "/usr/local/bin:/usr/bin:/bin"
LANG = "C.UTF-8"
# numpy single-threaded, in every worker and in every process a worker may be forked from: its threads count
# against the worker's process limit.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# OpenBLAS's CPU settings, which some processors need: not secrets, passed on where they are set.
PASSED_THROUGH = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# The variables a grader's environment may hold for it to fork its worker (see can_fork): the ones above, and
# where the grader runs and imports from, and the switch that turns the file-system view off.
FORKABLE_ENVIRONMENT = frozenset({"PATH", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "AUTOGRADER_ROOT", OFF_SWITCH,
                                  *SINGLE_THREADED, *PASSED_THROUGH})
# batch's fork server's whole environment, and so that of every job and worker forked below it (with TMPDIR and
# the view's switch, where set): none of the instructor's variables (tokens, keys).
FORK_SERVER_ENVIRONMENT = {"PATH": PATH, "LANG": LANG, **SINGLE_THREADED}


def can_fork() -> bool:
    """Whether this process may fork the student's worker: a copy of its memory and environment must hold
    nothing secret, so no configuration read, no reference loaded, and an environment of known variables only
    (run_autograder and batch's fork server start the grader so; a shell's environment may hold tokens). Also
    numpy single-threaded, as in a fresh worker, and no thread of our own that a fork would leave holding a lock."""
    return (not secrets_loaded() and set(os.environ) <= FORKABLE_ENVIRONMENT
            and os.environ.get("OPENBLAS_NUM_THREADS") == "1" and threading.active_count() == 1)


def secrets_loaded() -> list[str]:
    """What this process holds that a forked worker must not inherit: a configuration (its seeds) read here, the
    reference and the modules that use it."""
    return [f"configuration {path}" for path in config_module.READ_HERE] + [
        name for name in sys.modules if any(name == m or name.startswith(m + ".") for m in SECRET_MODULES)]


def worker_environment(workdir: Path) -> dict:
    """An empty environment but for a PATH, a HOME in the private copy, and single-threaded numpy; matplotlib
    headless (Agg draws without a display, and plt.show() does nothing), its cache in the private copy."""
    env = {"PATH": PATH, "HOME": str(workdir), "TMPDIR": str(workdir), "LANG": LANG, **SINGLE_THREADED,
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(workdir / ".matplotlib")}
    env.update({k: os.environ[k] for k in PASSED_THROUGH if k in os.environ})
    return env
