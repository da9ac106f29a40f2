"""Each student is sealed in: nothing a submission starts or leaves reaches the next grading, and batch stops cleanly.

Each test attacks as a student would, then grades another submission after it, on this machine, as root, both
with the worker's namespaces and in the fallback that a container refusing them gives (BACKPROP_SANDBOX_VIEW=off):
a process that looks like a zombie while its threads run, a courier of hidden networks through /proc/PID/root,
shared memory, the user's kernel keyrings and the folders anyone may write, and a batch stopped by Ctrl-C,
SIGTERM or SIGKILL while a job hangs. Processes and files are recognised by a name made for each test, never by
user: other gradings may run at the same time as the same pool users. Every wait is for an event, bounded.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import PROJECT, SUBMISSIONS

from backprop_grader.frontends import simulate as simulate_module
from backprop_grader.sandbox.isolation import users as users_module

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox users and namespaces need root")

CORRECT = SUBMISSIONS / "correct" / "vectorized"
SURVIVOR = SUBMISSIONS / "hostile" / "zombie_leader_survivor"
MODES = {"namespaces": {}, "fallback": {"BACKPROP_SANDBOX_VIEW": "off"}}

_NAMED = """import ctypes
ctypes.CDLL(None).prctl(15, {marker!r}, 0, 0, 0)  # PR_SET_NAME: what this process and its children are called
"""
# The sandbox user's kernel keyrings (which outlive its processes): add_key and keyctl on this machine's architecture
_KEYRINGS = """
_CALLS = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(__import__("platform").machine())
_libc.syscall.restype = ctypes.c_long


def _keyctl(*arguments):
    return _libc.syscall(_CALLS[1], *(ctypes.c_long(a) if isinstance(a, int) else a for a in arguments))


def _keyrings():
    if _CALLS is None:
        return []
    persistent = _keyctl(22, -1, -2)  # KEYCTL_GET_PERSISTENT of our uid, linked into the process keyring
    return [-4] + ([persistent] if persistent > 0 else [])  # -4: KEY_SPEC_USER_KEYRING
"""
_COURIER = _NAMED + """import glob, os
import numpy as np
from survivor import compute_gradients as _correct  # leaves a zombie-looking survivor that holds our namespaces

MARK = {marker!r}.decode()
FILES = [f"/tmp/{{MARK}}", f"/var/tmp/{{MARK}}", f"/dev/shm/{{MARK}}", f"/run/lock/{{MARK}}",
         f"/tmp/{{MARK}}-open/inner/{{MARK}}"]
KEY = int.from_bytes(MARK.encode()[-4:], "big") & 0x7FFFFFFF
_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmat.restype = ctypes.c_void_p
""" + _KEYRINGS.replace("{", "{{").replace("}", "}}") + """


def _shared_memory(create):
    segment = _libc.shmget(KEY, 4096, 0o1666 if create else 0)  # IPC_CREAT | 0666
    if segment < 0:
        return None
    address = _libc.shmat(segment, None, 0)
    return None if address in (None, ctypes.c_void_p(-1).value) else address


def _found():
    paths = FILES + [p for f in FILES for p in glob.glob(f"/proc/[0-9]*/root{{f}}")]
    for path in paths:
        try:
            print(f"FOUND: {{path}}: {{open(path).read()[:200]}}")
        except OSError:
            pass
    address = _shared_memory(False)
    if address is not None and ctypes.string_at(address, 5) == b"SEEN ":
        print(f"FOUND: shared memory: {{ctypes.string_at(address, 200)}}")
    for ring in _keyrings():
        key = _keyctl(10, ring, b"user", MARK.encode(), 0)  # KEYCTL_SEARCH
        text = ctypes.create_string_buffer(200)
        if key > 0 and _keyctl(11, key, text, 200) > 0:  # KEYCTL_READ
            print(f"FOUND: keyring {{ring}}: {{text.value[:200]}}")


def _leave(text):
    for path in FILES:
        try:
            os.makedirs(os.path.dirname(path), mode=0o777, exist_ok=True)
            with open(path, "a") as f:
                f.write(text)
            os.chmod(path, 0o666)
        except OSError:
            pass
    address = _shared_memory(True)
    if address is not None:
        ctypes.memmove(address, text.encode()[:4000], min(len(text), 4000))
    data = text.encode()[:4000]
    for ring in _keyrings():  # add_key("user", MARK, data) to the user's keyring and its persistent keyring
        _libc.syscall(_CALLS[0], b"user", MARK.encode(), data, ctypes.c_size_t(len(data)), ctypes.c_long(ring))


_found()
_leave(f"SEEN {{MARK}} at import\\n")


def compute_gradients(z, t, W_kj, W_ji, case):
    _leave(f"SEEN {{MARK}} network {{float(np.sum(W_kj)):.12f}}\\n")
    return _correct(z, t, W_kj, W_ji, case)
"""
_HANGING = _NAMED + """import os, time
if os.fork() == 0:  # a child that sleeps on, bounded
    time.sleep(600)
    os._exit(0)


def compute_gradients(z, t, W_kj, W_ji, case):
    while True:
        pass
"""


def _marker() -> bytes:
    """A process name of 15 characters at most, unique to this test run."""
    return f"sealed{secrets.token_hex(4)}".encode()


def _named(marker: bytes) -> list[int]:
    """Pids of the processes any of whose threads is called marker, whatever their state or user."""
    found = []
    for comm in Path("/proc").glob("[0-9]*/task/[0-9]*/comm"):
        try:
            if comm.read_bytes().strip() == marker:
                found.append(int(comm.parts[2]))
        except OSError:
            continue
    return sorted(set(found))


def _alive_named(marker: bytes) -> list[int]:
    """As _named, finished zombies (nothing left running) left out."""
    alive = []
    for pid in _named(marker):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] not in ("Z", "X") or int(fields[17]) > 1:
            alive.append(pid)
    return alive


def _survivor_submission(folder: Path, marker: bytes, source: str | None = None) -> Path:
    """A submission that names its processes `marker` and imports the zombie-leader survivor example."""
    folder.mkdir(parents=True)
    shutil.copy(SURVIVOR / "backprop.py", folder / "survivor.py")
    (folder / "backprop.py").write_text(source or _NAMED.format(marker=marker) + "from survivor import *  # noqa\n")
    return folder


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The upload installed as on Gradescope (setup.sh's environment, which the sandbox user can run): the
    fallback, with no view of its own, needs a Python that other users may read, which a checkout may not be."""
    root = Path(tempfile.mkdtemp(prefix="backprop-sealed-test-"))
    zip_path = tmp_path_factory.mktemp("upload") / "autograder.zip"
    subprocess.run([sys.executable, "-m", "backprop_grader", "build", "--out", str(zip_path)], cwd=PROJECT,
                   check=True, capture_output=True)
    simulate_module._install(zip_path, root)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module", params=list(MODES))
def mode(request) -> str:
    """Each test below runs with the namespaces and in the fallback; module-scoped, so that the tests sharing the
    fallback's installed upload are run by one xdist worker, which installs it once."""
    return request.param


def _clean_environment(root: Path, mode: str) -> dict:
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(root / "source"),
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **MODES[mode]}


def _grade(submission: Path, results: Path, mode: str, request) -> dict:
    """Grade one submission: from the checkout with the namespaces, from the installed upload in the fallback."""
    if mode == "namespaces":
        argv, env = [sys.executable, "-m", "backprop_grader", "grade", str(submission), "--quiet"], None
    else:
        root = request.getfixturevalue("installed")
        argv, env = [str(root / "run_autograder"), "--submission", str(submission)], _clean_environment(root, mode)
    done = subprocess.run([*argv, "--results", str(results)], cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(results.read_text())


_JOB_DRIVER = """
import multiprocessing, sys
from pathlib import Path
from backprop_grader.frontends import batch_job

config, out, submissions = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
ours, theirs = multiprocessing.Pipe()
job = multiprocessing.get_context("fork").Process(target=batch_job.serve, args=(theirs, config))
job.start()
theirs.close()
for submission in submissions:
    ours.send((submission, str(out / Path(submission).name / "results.json"), str(out / "job.log")))
    ours.recv()
ours.send(None)
job.join()
"""


def _graded_by_one_job(classroom: Path, out: Path, mode: str, request) -> dict[str, str]:
    """Each submission of the class graded in turn by one batch job, as one sandbox user: the total of each.
    With the namespaces, by batch itself; in the fallback, by a job of the installed upload driven as batch
    drives it (the upload has no instructor extras)."""
    submissions = sorted(classroom.iterdir())
    if mode == "namespaces":
        done = subprocess.run([sys.executable, "-m", "backprop_grader", "batch", str(classroom), "--out", str(out),
                               "--jobs", "1"], cwd=PROJECT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return _totals(out)
    root = request.getfixturevalue("installed")
    for submission in submissions:
        (out / submission.name).mkdir(parents=True)
    (out / "driver.py").write_text(_JOB_DRIVER)
    done = subprocess.run([str(root / "venv" / "bin" / "python"), str(out / "driver.py"),
                           str(root / "source" / "autograder.toml"), str(out), *map(str, submissions)],
                          cwd=root / "source", env=_clean_environment(root, mode), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return {s.name: f"{json.loads((out / s.name / 'results.json').read_text())['score']:g}" for s in submissions}


def _totals(out: Path) -> dict[str, str]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        return {row["submission"]: row["total"] for row in csv.DictReader(f)}


def _wait_for(condition, seconds: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds:g} s for {what}"
        time.sleep(0.05)


def _copies_of_student_code(marker: bytes) -> list[str]:
    """Files in the grader's temporary folders that hold the student's code (its marker)."""
    found = []
    for folder in Path(os.environ.get("TMPDIR", "/tmp")).glob("backprop-grader-*"):
        for path in folder.rglob("*.py"):
            try:
                if marker in path.read_bytes():
                    found.append(str(path))
            except OSError:
                continue
    return found


def test_cant_outlive_grading_as_a_zombie_looking_process(tmp_path, mode, request):
    marker = _marker()
    submission = _survivor_submission(tmp_path / "survivor", marker)
    assert _grade(submission, tmp_path / "survivor.json", mode, request)["score"] == 100
    assert _alive_named(marker) == [], "a process of the submission survived its grading"
    assert _grade(CORRECT, tmp_path / "next.json", mode, request)["score"] == 100


def test_cant_zero_the_next_students_of_a_batch_job(tmp_path, mode, request):
    """One job grades the three in turn, as one sandbox user: the survivor must not reach the two after it."""
    marker = _marker()
    classroom = tmp_path / "class"
    _survivor_submission(classroom / "a_survivor", marker)
    for name in ("b_next", "c_last"):
        shutil.copytree(CORRECT, classroom / name)
    totals = _graded_by_one_job(classroom, tmp_path / "out", mode, request)
    assert totals == {"a_survivor": "100", "b_next": "100", "c_last": "100"}
    assert _alive_named(marker) == []


def test_cant_carry_hidden_networks_to_the_next_grading(tmp_path, mode, request):
    """Two couriers graded in turn by one job: the first leaves every network it is asked (hidden ones too) in
    its /tmp, kept alive by a survivor, in the folders anyone may write, in System V shared memory and in the
    sandbox user's keyring and persistent keyring (which no namespace holds: seccomp refuses them); the
    second looks for them everywhere, /proc/PID/root included, and prints what it finds into its visible output."""
    marker = _marker()
    classroom = tmp_path / "class"
    for name in ("a_courier", "b_courier"):
        _survivor_submission(classroom / name, marker, _COURIER.format(marker=marker))
    totals = _graded_by_one_job(classroom, tmp_path / "out", mode, request)
    second = (tmp_path / "out" / "b_courier" / "results.json").read_text()
    assert "FOUND:" not in second, re.findall(r"FOUND:[^\\]*", second)[:5]
    assert totals == {"a_courier": "100", "b_courier": "100"}
    assert _alive_named(marker) == []
    key = int.from_bytes(marker[-4:], "big") & 0x7FFFFFFF
    segments = [line.split() for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]]
    assert key not in [int(fields[0]) for fields in segments], "the shared memory segment outlived its grading"
    left = [path for path in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
            if any(p.name.startswith(marker.decode()) for p in Path(path).iterdir())]
    assert left == [], "files of the submission outlived its grading"


def test_the_courier_finds_what_it_left_in_its_own_worker(tmp_path):
    """The positive control of the courier: within one worker, what it leaves it finds (so the test above would
    see a leak)."""
    marker = _marker()
    source = _COURIER.format(marker=marker).replace("_found()\n_leave(", "_leave(") + "\n_found()\n"
    submission = _survivor_submission(tmp_path / "courier", marker, source)
    document = _grade(submission, tmp_path / "r.json", "namespaces", None)
    assert "FOUND:" in json.dumps(document)


_KEYRING_PROBE = """import ctypes, errno, sys
from backprop_grader.sandbox.isolation import keyrings
_libc = ctypes.CDLL(None, use_errno=True)
""" + _KEYRINGS + """
MARK, action = sys.argv[1], sys.argv[2]
if action == "filtered":
    print(keyrings.refuse_keyrings())
if action in ("leave", "filtered"):
    for ring in _keyrings():
        done = _libc.syscall(_CALLS[0], b"user", MARK.encode(), b"SEEN", ctypes.c_size_t(4), ctypes.c_long(ring))
        print(ring, done > 0 or errno.errorcode[ctypes.get_errno()])
else:
    for ring in _keyrings():
        key = _keyctl(10, ring, b"user", MARK.encode(), 0)
        print(ring, key > 0)
        _keyctl(9, ring, key) if key > 0 else None  # KEYCTL_UNLINK: tidy up
"""


def test_the_courier_reaches_the_keyrings_where_no_filter_refuses_them():
    """The positive control of the courier's keyrings: two processes of one user (root, as this test runs; the
    probe takes its keys back), one after the other, outside a worker: what the first leaves in the user's keyring
    and persistent keyring the second finds. Under the worker's filter (isolation/keyrings.py), add_key is refused."""
    marker = _marker().decode()

    def probe(action: str) -> list[str]:
        done = subprocess.run([sys.executable, "-c", _KEYRING_PROBE, marker, action], capture_output=True, text=True,
                              timeout=60, cwd=PROJECT,
                              env={"PATH": os.environ["PATH"], "PYTHONPATH": str(PROJECT)})
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.split()

    left = probe("leave")
    assert len(left) == 4 and left[1::2] == ["True", "True"], left  # the user's keyring and its persistent one
    found = probe("find")
    assert found[1::2] == ["True", "True"], found
    assert probe("filtered") == ["seccomp", "-4", "EPERM"]  # (getting the persistent keyring is refused too)


_GRADE_AND_READ_THE_LOCK = """
import json, sys
from pathlib import Path
from backprop_grader.frontends.grade import grade
from backprop_grader.sandbox.isolation import users
document = grade(Path(sys.argv[1]), Path(sys.argv[2]))
name = document["extra_data"]["confinement"]["user"]
print(json.dumps({"score": document["score"], "lock": (users._lock_folder() / f"{name}.lock").read_text()}))
"""  # the lock file is read while this process still holds its lock: no other grading can have claimed it since


def test_a_grading_vouches_for_its_user_only_when_every_worker_was_sealed(tmp_path, mode, request):
    """The next claim of a user skips its search for leftovers only on its last holder's word, given at a clean
    end once every worker has ended (users.vouch): with the namespaces, the word is given; in the fallback, whose
    workers are not sealed, never."""
    if mode == "namespaces":
        python, env = sys.executable, {k: v for k, v in _clean_environment(PROJECT, mode).items() if k != "PYTHONPATH"}
        env["PYTHONPATH"] = str(PROJECT)
    else:
        root = request.getfixturevalue("installed")
        python, env = str(root / "venv" / "bin" / "python"), _clean_environment(root, mode)
    done = subprocess.run([python, "-c", _GRADE_AND_READ_THE_LOCK, str(CORRECT), str(tmp_path / "r.json")],
                          cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["score"] == 100
    assert outcome["lock"] == ("sealed and ended\n" if mode == "namespaces" else ""), outcome


_CLAIM_ONE = """
import json, os, sys
from backprop_grader.sandbox.isolation import users
name, action, leftover = sys.argv[1:4]
seen, searches = [], []
take, search = users._take_voucher, users.clear_leftovers
users._take_voucher = lambda fd: seen.append(os.fstat(fd).st_mtime_ns) or seen.append(take(fd)) or seen[-1]
users.clear_leftovers = lambda *args, **kwargs: searches.append(1) or search(*args, **kwargs)
user = users.claim(skip=tuple(n for n in users.pool_names() if n != name))
outcome = {"changed_at": seen[0], "voucher": seen[1], "searched": bool(searches), "left": os.path.exists(leftover)}
if action == "leave":  # what a worker without a view of its own could leave in /tmp
    with open(leftover, "w") as f:
        f.write("left")
    os.chown(leftover, user.uid, user.gid)
elif action == "doubt":
    users.doubt(user.uid)
if action != "crash":
    users.vouch()
lock = users._lock_folder() / f"{name}.lock"
outcome.update(lock=lock.read_text(), ended_at=lock.stat().st_mtime_ns)  # read while we still hold it
print(json.dumps(outcome))
"""
# each action, and what its run leaves in the lock file: a clean end's word, or nothing (a doubt, a crash)
_CLAIMS = [("crash", ""), ("leave", "sealed and ended\n"), ("doubt", ""), ("leave", "sealed and ended\n"),
           ("crash", ""), ("doubt", "")]


def test_a_voucher_spares_one_search_and_a_doubt_or_a_crash_gives_none(tmp_path):
    """A file the user owns in /tmp stands for anything a run could leave. Vouched for, the next claim does not
    search, and empties the lock file; a run that doubted its user, or ended without a word, leaves nothing to
    spare the next claim's search, which removes the file. Whether a claim searched is seen from inside it (a
    `cleanup` of another run may remove the file between two claims, never make one search). Another run on the
    machine may also claim the user between two of ours, and leave its own word: each claim then still spares
    its search exactly on a word, but what our previous claim left is checked only where no one else wrote the
    lock file since (its time unchanged), and the sequence is run again until that is so."""
    name = users_module.pool_names()[-1]  # the pool's last user: the one other gradings are least likely to hold
    leftover = Path("/tmp") / f"{_marker().decode()}-left"

    def claim(action: str) -> dict:
        for _ in range(50):  # if another grading holds it right now, wait for it
            done = subprocess.run([sys.executable, "-c", _CLAIM_ONE, name, action, str(leftover)], cwd=PROJECT,
                                  capture_output=True, text=True, timeout=120, env={"PATH": os.environ["PATH"]})
            if "no sandbox user could be claimed" not in done.stderr:
                break
            time.sleep(0.2)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)

    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            outcomes = [claim(action) for action, _ in _CLAIMS]
            for (action, word), outcome in zip(_CLAIMS, outcomes):
                assert outcome["searched"] != outcome["voucher"], outcome  # a search, unless its last holder vouched
                assert not (outcome["searched"] and outcome["left"]), outcome  # a search removes what it finds
                assert outcome["lock"] == word, (action, outcome)  # emptied at the claim; only a clean end vouches
            untouched = [later["changed_at"] == earlier["ended_at"] for earlier, later in zip(outcomes, outcomes[1:])]
            for (_, word), later, alone in zip(_CLAIMS, outcomes[1:], untouched):
                assert not alone or later["voucher"] == bool(word), (word, later)  # our word reaches the next claim
            if all(untouched):
                return
            time.sleep(secrets.randbelow(1000) / 1000)  # out of step with the other run, which may be this test
        pytest.fail("other runs claimed the user between our claims in every try for 5 minutes")
    finally:
        leftover.unlink(missing_ok=True)


def _hanging_batch(tmp_path: Path, marker: bytes) -> tuple[subprocess.Popen, Path]:
    """A batch of a correct submission, one that hangs (with a sleeping child) and one more, with one job,
    started in a session of its own; returned once the hanging one is being graded."""
    classroom = tmp_path / "class"
    shutil.copytree(CORRECT, classroom / "a_first")
    (classroom / "b_hangs").mkdir(parents=True)
    (classroom / "b_hangs" / "backprop.py").write_text(_HANGING.format(marker=marker))
    shutil.copytree(CORRECT, classroom / "c_last")
    config = (PROJECT / "autograder.toml").read_text(encoding="utf-8")
    config = re.sub(r"(?m)^call_seconds = .*$", "call_seconds = 120", config)
    (tmp_path / "slow.toml").write_text(config, encoding="utf-8")
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "backprop_grader", "batch", str(classroom), "--out", str(out),
                                "--jobs", "1", "--config", str(tmp_path / "slow.toml")], cwd=PROJECT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    _wait_for(lambda: len(_alive_named(marker)) >= 2 or process.poll() is not None, what="the hanging submission")
    assert process.poll() is None, process.communicate()[1][-3000:]
    return process, out


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_cant_keep_batch_from_stopping(tmp_path, how):
    """One Ctrl-C (SIGINT to the whole process group) or SIGTERM to batch alone, while a job hangs: batch
    stops, writes grades.csv with what was graded, and leaves no student process and no copy of student code."""
    marker = _marker()
    process, out = _hanging_batch(tmp_path, marker)
    if how == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == (130 if how == "ctrl-c" else 143), stderr[-3000:]
    totals = _totals(out)
    assert totals["a_first"] == "100" and totals["b_hangs"] == "" and totals["c_last"] == "", totals
    assert _alive_named(marker) == []
    assert _copies_of_student_code(marker) == []


def test_a_second_ctrl_c_never_loses_grades_csv(tmp_path):
    marker = _marker()
    process, out = _hanging_batch(tmp_path, marker)
    os.killpg(process.pid, signal.SIGINT)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr[-3000:]
    assert _totals(out)["a_first"] == "100"
    assert _alive_named(marker) == []


def test_cant_outlive_a_batch_killed_outright(tmp_path):
    """SIGKILL to batch: its jobs notice (their lifeline to it closes) and end their workers; the copies of student
    code they could not remove are removed when the next grading starts."""
    marker = _marker()
    process, _ = _hanging_batch(tmp_path, marker)
    process.kill()
    process.communicate(timeout=60)
    _wait_for(lambda: _alive_named(marker) == [], 60, "the hanging submission's processes to end")
    _grade(CORRECT, tmp_path / "next.json", "namespaces", None)
    assert _copies_of_student_code(marker) == []
