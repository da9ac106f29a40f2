"""The benchmark's own parts that measure the product (not timings: those are the benchmark's to report)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from helpers import PROJECT

from backprop_grader.sandbox.policy import FORK_SERVER_ENVIRONMENT


def test_sandbox_floor_measures_two_confined_workers_forked_from_a_zygote():
    """bench/sandbox_floor.py, run as benchmark.py runs it: each round's workers come from a zygote, answer their
    call and report their confinement, as root as a sandbox user (the floor is that of real workers)."""
    done = subprocess.run([sys.executable, str(PROJECT / "bench" / "sandbox_floor.py"), "--rounds", "2"],
                          cwd=PROJECT, capture_output=True, text=True, timeout=120, env=dict(FORK_SERVER_ENVIRONMENT))
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout.splitlines()[-1])
    assert measured["start"] == "zygote"
    assert measured["cpu_ms"] > 0 and measured["wall_ms"] > 0
    assert bool(measured["isolation"]["user"]) == (os.geteuid() == 0)
