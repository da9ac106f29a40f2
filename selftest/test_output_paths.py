"""Every command that writes (grade --results, build, student-kit, batch and simulate --out) and cannot: one line
naming the path and the true reason (a file where a folder should be, permission denied, no space left), exit 2,
no traceback, nothing graded, nothing half-written left behind.

Permission is tested as the unprivileged user nobody (root may write anywhere), a full disk as a tiny tmpfs in a
mount namespace of the command's own; each skips, saying why, where the machine cannot do that.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers import PROJECT, SUBMISSIONS, run_grader

SUBMISSION = SUBMISSIONS / "correct" / "vectorized"


def commands(place: Path) -> dict[str, list[str]]:
    """Each writing command, writing into `place`; its argument lists by name."""
    return {
        "grade": ["grade", str(SUBMISSION), "--results", str(place / "results.json")],
        "build": ["build", "--out", str(place / "autograder.zip")],
        "student-kit": ["student-kit", "--out", str(place / "kit.zip")],
        "batch": ["batch", str(SUBMISSIONS / "correct"), "--out", str(place / "graded")],
        "simulate": ["simulate", str(SUBMISSION), "--out", str(place / "simulated")],
    }


NAMES = list(commands(Path("/")))


def one_line(done: subprocess.CompletedProcess) -> str:
    """Exit status 2 and a single line on stderr (the command's own), no traceback."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:])
    assert len(lines) == 1 and lines[0].startswith("backprop-grader: cannot write "), done.stderr[-3000:]
    return lines[0]


@pytest.mark.parametrize("name", NAMES)
def test_a_file_where_a_folder_should_be(name, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    arguments = commands(blocker)[name]
    line = one_line(run_grader(*arguments, cwd=tmp_path, timeout=300))
    assert arguments[-1] in line and f"{blocker} is a file, not a folder" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_grade_results_that_is_a_folder(tmp_path):
    line = one_line(run_grader("grade", str(SUBMISSION), "--results", str(tmp_path), cwd=tmp_path))
    assert f"{tmp_path} is a folder, not a file" in line


@pytest.fixture
def locked():
    """A folder that nobody may enter but not write in (root's, mode 0755), inside a temporary one of ours."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv, to run the command as the unprivileged user nobody")
    if not _nobody_can_run_the_grader():
        pytest.skip(f"the user nobody cannot run the grader from {PROJECT}: the checkout or its .venv lies where "
                    "other users cannot read it (a folder of mode 0700, say)")
    top = Path(tempfile.mkdtemp(prefix="backprop-locked-test-"))
    top.chmod(0o755)
    folder = top / "locked"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(top)


@functools.cache
def _nobody_can_run_the_grader() -> bool:
    """Whether nobody can import the grader from this checkout with its Python (a clone in a private folder: no)."""
    done = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-c",
                           "import backprop_grader.cli, numpy"], cwd=PROJECT, capture_output=True, timeout=120,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(PROJECT)})
    return done.returncode == 0


def as_nobody(*arguments: str, mpl: Path) -> subprocess.CompletedProcess:
    """`python -m backprop_grader ARGS` as the user nobody (matplotlib's cache in a folder it may write)."""
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-m",
                           "backprop_grader", *arguments], cwd=PROJECT, capture_output=True, text=True, timeout=300,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
                               "MPLCONFIGDIR": str(mpl)})


@pytest.fixture
def mpl(locked):
    folder = locked.parent / "matplotlib"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    return folder


@pytest.mark.parametrize("name", NAMES)
def test_a_folder_one_may_not_write_is_permission_denied(name, locked, mpl):
    arguments = commands(locked)[name]
    line = one_line(as_nobody(*arguments, mpl=mpl))
    assert line.endswith(f"{arguments[-1]}: permission denied on {locked}"), line
    assert list(locked.iterdir()) == []


def test_run_autograders_form_of_grade_says_permission_denied_not_no_room(locked, mpl):
    """With --always-write-results (run_autograder's), a results.json that cannot be written at all stops
    grading at once with the true reason; it once read "no room left", as if the disk were full."""
    results = locked / "results" / "results.json"
    line = one_line(as_nobody("grade", str(SUBMISSION), "--results", str(results), "--always-write-results",
                              mpl=mpl))
    assert line == f"backprop-grader: cannot write {results}: permission denied on {locked}"


@pytest.fixture(scope="module")
def tiny_disk_works(tmp_path_factory) -> None:
    """Whether this machine lets us mount a tmpfs in a mount namespace of our own."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare, to mount a full tmpfs for the command alone")
    point = tmp_path_factory.mktemp("probe")
    done = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=4k tmpfs {point}"],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a mount namespace here: {done.stderr.strip()}")


@pytest.mark.parametrize("name", NAMES)
def test_a_full_disk_is_no_space_left(name, tiny_disk_works, tmp_path):
    """A tmpfs of one page with room for one file, filled: the command says the disk is full, and leaves
    nothing (such as a zip cut short) behind."""
    point = tmp_path / "full"
    point.mkdir()
    arguments = commands(point)[name]
    command = " ".join(f"'{a}'" for a in arguments)
    script = (f"mount -t tmpfs -o size=4k,nr_inodes=2 tmpfs {point} && head -c 4096 /dev/zero > {point}/filler; "
              f"cd {PROJECT} && {sys.executable} -m backprop_grader {command}; status=$?; "
              f"echo left: $(ls -A {point}); exit $status")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    line = one_line(done)
    assert line.endswith(f"{arguments[-1]}: no space left on the device"), line
    assert done.stdout.splitlines()[-1] == "left: filler", done.stdout


@pytest.mark.parametrize("name", ["grade", "build", "student-kit"])
def test_a_folder_that_does_not_exist_yet_is_made(name, tmp_path):
    arguments = commands(tmp_path / "new" / "folder")[name]
    done = run_grader(*arguments, *(["--quiet"] if name == "grade" else []), cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert Path(arguments[arguments.index("--results" if name == "grade" else "--out") + 1]).is_file()
