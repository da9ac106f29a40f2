"""`cleanup`: what gradings left on the machine is removed, and nothing a running grading uses."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys

import pytest
from helpers import PROJECT, run_grader

from backprop_grader.sandbox import scratch
from backprop_grader.sandbox.isolation import users

# a scratch folder made, then its run leaves
_ABANDON = "from backprop_grader.sandbox import scratch; print(scratch.make('cleanup-test'))"


def test_cleanup_removes_the_folders_of_runs_that_have_gone_and_keeps_those_alive():
    made = subprocess.run([sys.executable, "-c", _ABANDON], cwd=PROJECT, capture_output=True, text=True, check=True)
    abandoned = made.stdout.strip()
    alive = scratch.make("cleanup-test")  # this process holds its lock
    try:
        done = run_grader("cleanup")
        assert done.returncode == 0, done.stderr
        assert f"removed {abandoned}" in done.stdout
        assert not os.path.exists(abandoned)
        assert alive.is_dir(), "the folder of a run that is alive was removed"
    finally:
        scratch.remove(alive)


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox users are system accounts: only root may delete them")
def test_cleanup_users_deletes_the_extra_sandbox_users_and_keeps_the_first():
    last = users.pool_names()[-1]  # the pool's last user: no grading claims it unless 63 others run at once
    users.claim(skip=tuple(users.pool_names()[:-1]))  # made as a grading makes it, then released
    users.release(users.SandboxUser(last, 0, 0))
    assert pwd.getpwnam(last)
    done = run_grader("cleanup", "--users")
    assert done.returncode == 0, done.stderr
    assert f"deleted the user {last}" in done.stdout
    with pytest.raises(KeyError):
        pwd.getpwnam(last)
    assert f"deleted the user {users.BASE_NAME}\n" not in done.stdout
