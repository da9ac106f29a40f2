"""`cleanup`: what gradings left on the machine is removed, and nothing a running grading uses."""

from __future__ import annotations

import os
import pwd
import random
import subprocess
import sys
import tempfile

import pytest
from helpers import PROJECT, run_grader

from backprop_grader.sandbox import scratch
from backprop_grader.sandbox.isolation import users

# a scratch folder made, then its run leaves
_ABANDON = "from backprop_grader.sandbox import scratch; print(scratch.make('cleanup-test'))"


def test_cleanup_removes_the_folders_of_runs_that_have_gone_and_keeps_those_alive(tmp_path, monkeypatch):
    # in a temporary folder of this test's own: any other grading on the machine removes what it finds abandoned
    # in /tmp, and may come first
    environment = dict(os.environ, TMPDIR=str(tmp_path))
    made = subprocess.run([sys.executable, "-c", _ABANDON], cwd=PROJECT, capture_output=True, text=True, check=True,
                          env=environment)
    abandoned = made.stdout.strip()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    alive = scratch.make("cleanup-test")  # this process holds its lock
    try:
        done = subprocess.run([sys.executable, "-m", "backprop_grader", "cleanup"], cwd=PROJECT, capture_output=True,
                              text=True, timeout=300, env=environment)
        assert done.returncode == 0, done.stderr
        assert f"removed {abandoned}" in done.stdout, done.stdout
        assert not os.path.exists(abandoned)
        assert alive.is_dir(), "the folder of a run that is alive was removed"
    finally:
        scratch.remove(alive)


def test_grade_removes_what_a_killed_run_left_before_it_grades(tmp_path):
    """grade sweeps the temporary folder first, as cleanup does (batch does so when it starts and ends, not for
    each submission)."""
    environment = dict(os.environ, TMPDIR=str(tmp_path))
    made = subprocess.run([sys.executable, "-c", _ABANDON], cwd=PROJECT, capture_output=True, text=True, check=True,
                          env=environment)
    abandoned = made.stdout.strip()
    assert os.path.isdir(abandoned)
    done = subprocess.run([sys.executable, "-m", "backprop_grader", "grade", str(PROJECT / "selftest" / "submissions"
                           / "correct" / "vectorized"), "--results", str(tmp_path / "r.json"), "--quiet"],
                          cwd=PROJECT, capture_output=True, text=True, timeout=300, env=environment)
    assert done.returncode == 0, done.stderr
    assert not os.path.exists(abandoned)


def test_a_folder_being_made_is_never_taken_for_an_abandoned_one(tmp_path, monkeypatch):
    """Gradings start at any moment beside each other: one that removes abandoned folders while another makes
    its own must never remove the new one (it is locked before it gets the name that is looked for)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    sweeper = subprocess.Popen([sys.executable, "-c", _SWEEP], cwd=PROJECT, env=dict(os.environ, TMPDIR=str(tmp_path)))
    try:
        for _ in range(300):
            folder = scratch.make("race-test")
            assert folder.is_dir() and (folder / ".owner").exists(), f"{folder} was removed while it was made"
            scratch.remove(folder)
    finally:
        sweeper.kill()
        sweeper.wait()


_SWEEP = "from backprop_grader.sandbox import scratch\nwhile True:\n    scratch.remove_abandoned()\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox users are system accounts: only root may delete them")
def test_cleanup_users_deletes_the_extra_sandbox_users_and_keeps_the_first():
    # one of the pool's last users, drawn: no grading claims one unless dozens run at once, and another run of
    # this test on the machine at the same moment most likely draws another
    last = random.choice(users.pool_names()[-32:])
    users.claim(skip=tuple(n for n in users.pool_names() if n != last))  # made as a grading makes it
    assert pwd.getpwnam(last)  # while it is held: no cleanup deletes a user in use
    users.release(users.SandboxUser(last, 0, 0))
    done = run_grader("cleanup", "--users")
    assert done.returncode == 0, done.stderr
    # gone: deleted by this cleanup ("deleted the user ..."), or, when another run of the suite cleans up at the
    # same moment, by that one (each deletes every extra user no grading holds, the other's drawn one included)
    with pytest.raises(KeyError):
        pwd.getpwnam(last)
    assert f"deleted the user {users.BASE_NAME}\n" not in done.stdout
