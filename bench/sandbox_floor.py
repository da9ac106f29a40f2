"""What the sandbox alone costs a submission in batch: the floor under any speed-up of grading.

A batch job asks two workers per submission (the visible phase's and the hidden phase's), each forked from the
job's zygote, confined (its view, network, user, limits; sealed in PID and IPC namespaces where the machine
allows), importing the submission and ended with everything it started. This does exactly that, for a
submission of one line that returns zeros, asked one network per worker, and nothing else: no pytest, no
reference, no judging. Its CPU time per submission (this process, the zygote, the processes it forks to hand
each worker over, and the workers; the mean over the rounds) bounds batch's
throughput from above: a machine of C cores grades at most C / that many submissions a second, whatever the
grader does besides.

Run by bench/benchmark.py in an environment of known variables only (as batch's fork server runs its jobs, so
that the zygote may fork workers); prints one JSON line: {"cpu_ms", "wall_ms", "sealed", "start"}.

Usage: python bench/sandbox_floor.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from backprop_grader.config import load_config
from backprop_grader.sandbox import Limits, Worker, Zygote, claim_identity, vouch_for_users
from backprop_grader.sandbox.policy import can_fork

SUBMISSION = "def compute_gradients(z, t, W_kj, W_ji, case):\n    return 0 * W_kj, 0 * W_ji\n"
ARGUMENTS = (np.ones(3), np.array([0.0, 1.0]), np.ones((3, 4)), np.ones((4, 2)))  # one small network


def _cpu() -> float:
    """CPU seconds of this process and of the children it has collected (the workers it adopted, as a job does)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _submission(folder: Path, zygote, identity, config) -> dict:
    """The two workers of one submission, one after the other: each started, asked once, ended."""
    isolation = {}
    for _ in ("visible", "hidden"):
        worker = Worker(folder / "backprop.py", Limits(**config.limits), config.forbidden_imports, identity,
                        zygote=zygote)
        try:
            reply = worker.call_many([ARGUMENTS], "sigmoid", 5.0)[0]
            if not reply.ok:
                raise SystemExit(f"the worker failed: {reply.kind}: {reply.message}")
            isolation = worker.isolation or {}
        finally:
            worker.close()
    return isolation


def main() -> None:
    """Measure and print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    zygote = Zygote.start(()) if can_fork() else None  # before anything else, as a job starts its own
    identity = claim_identity()
    config = load_config()  # the project's autograder.toml: its limits and the imports it allows and refuses
    walls = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "backprop.py").write_text(SUBMISSION)
        try:
            for _ in range(2):  # warm-up
                isolation = _submission(folder, zygote, identity, config)
            before = _cpu()
            for _ in range(args.rounds):
                started = time.perf_counter()
                isolation = _submission(folder, zygote, identity, config)
                walls.append(time.perf_counter() - started)
        finally:
            if zygote is not None:
                zygote.close()  # collected now: its CPU, and that of the processes it forked, count from here
            vouch_for_users()
    cpu = (_cpu() - before) / args.rounds
    print(json.dumps({"cpu_ms": cpu * 1000, "wall_ms": statistics.median(walls) * 1000,
                      "sealed": isolation.get("processes") == "namespace",
                      "start": "zygote" if zygote is not None else "fresh python", "isolation": isolation}))


if __name__ == "__main__":
    main()
