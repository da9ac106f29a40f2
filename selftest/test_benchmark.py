"""The benchmark's own parts that measure the product (not timings: those are the benchmark's to report)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
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


def test_batch_cpu_per_submission_counts_the_workers(tmp_path):
    """benchmark.batch_throughput's CPU per submission is what the batch costs in all, its workers included: a
    submission whose import burns 0.3 s of CPU costs at least that in each of its two workers (visible, hidden).
    (The jobs are a fork server's children, which no one waits for: only a cgroup counts them.)"""
    sys.path.insert(0, str(PROJECT / "bench"))
    try:
        import benchmark
    finally:
        sys.path.remove(str(PROJECT / "bench"))
    burner = tmp_path / "burns_at_import"
    burner.mkdir()
    correct = (PROJECT / "selftest" / "submissions" / "correct" / "vectorized" / "backprop.py").read_text()
    (burner / "backprop.py").write_text(
        "import time\n_started = time.process_time()\nwhile time.process_time() - _started < 0.3:\n    pass\n"
        + correct)
    if not benchmark.counting_cpu.available():
        pytest.skip("no cgroup can be made here to count CPU in (root, with cpuacct or cgroup v2)")
    rate, cpu_ms = benchmark.batch_throughput(2, count=2, examples=[burner])
    assert rate > 0
    assert cpu_ms >= 2 * 300 * 0.95, cpu_ms
