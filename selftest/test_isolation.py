"""Isolation, tested the way Gradescope runs the grader: through `simulate`, as root, with the real zip.

Each hostile example submission (selftest/submissions/hostile/) gets exactly the points it honestly earns, a
valid results.json, no surviving process and a bounded time; and the sandbox user can reach nothing of ours.
Without root these tests cannot run for real, so they skip and say why.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers import PROJECT, SUBMISSIONS, example_submissions, expected_of

from backprop_grader.frontends import simulate as simulate_module
from backprop_grader.frontends.results import problems
from backprop_grader.sandbox import SANDBOX_USER
from backprop_grader.sandbox.isolation import users

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="isolation needs root to create and become the sandbox user")

HOSTILE = [p for p in example_submissions() if expected_of(p).get("isolation") == "full"]
HOSTILE += [SUBMISSIONS / "hostile" / "steal_from_memory"]  # its worker is forked from the grader here
REFERENCE_RUNS = [SUBMISSIONS / "correct" / "vectorized", SUBMISSIONS / "template" / "untouched"]


@pytest.fixture(scope="module")
def gradescope(tmp_path_factory):
    """One simulated Gradescope root (setup.sh run once) and every hostile example graded in it."""
    out = tmp_path_factory.mktemp("simulated")
    root = Path(tempfile.mkdtemp(prefix="backprop-gradescope-test-"))
    # stays 0700 until setup.sh has locked the grader's files
    upload = Path(tempfile.mkdtemp(prefix="backprop-upload-test-"))  # 0700, like simulate's
    zip_path = upload / "autograder.zip"
    subprocess.run([sys.executable, "-m", "backprop_grader", "build", "--out", str(zip_path)], cwd=PROJECT,
                   check=True, capture_output=True)
    simulate_module._install(zip_path, root)
    runs = REFERENCE_RUNS + HOSTILE
    names = simulate_module._names(runs)
    outcomes = {path: simulate_module._grade_one(path, name, root, out, quiet=True) for path, name in zip(runs, names)}
    yield root, outcomes
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(upload, ignore_errors=True)


def _as_sandbox_user(*argv: str, root: Path) -> subprocess.CompletedProcess:
    """Run a command as the sandbox user, as the worker would be, holding the user's pool lock meanwhile (as a
    grading does): a grading that claimed it at that moment would end the command as its leftover."""
    entry = pwd.getpwnam(SANDBOX_USER)
    lock = users.lock_file(SANDBOX_USER)
    fcntl.flock(lock, fcntl.LOCK_EX)  # waits while a grading running beside this test uses the user
    try:
        return subprocess.run(list(argv), user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], cwd="/tmp",
                              env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    finally:
        os.close(lock)


def test_correct_submission_gets_full_marks_with_full_isolation(gradescope):
    _, outcomes = gradescope
    outcome = outcomes[REFERENCE_RUNS[0]]
    assert outcome["problems"] == []
    assert outcome["score"] == 100
    isolation = outcome["document"]["extra_data"]["isolation"]
    assert "ran as the unprivileged user backprop-student" in isolation, isolation
    assert "a view of its own folder" in isolation and "no network" in isolation, isolation
    assert "unprivileged" not in outcome["document"]["output"]  # the instructor's business, not the student's
    assert outcome["document"]["extra_data"]["worker_start"] == "fork"  # run_autograder's clean environment


def test_template_gets_zero_with_a_friendly_message(gradescope):
    _, outcomes = gradescope
    document = outcomes[REFERENCE_RUNS[1]]["document"]
    assert document["score"] == 0
    assert all("not implemented yet" in t["output"] for t in document["tests"] if t["max_score"] > 0
               and t["visibility"] == "visible")


@pytest.mark.parametrize("submission", HOSTILE, ids=[p.name for p in HOSTILE])
def test_hostile_submission_earns_only_its_honest_score(gradescope, submission):
    _, outcomes = gradescope
    outcome, expected = outcomes[submission], expected_of(submission)
    assert outcome["problems"] == [], outcome["problems"]
    assert outcome["leftover_processes"] == [], "a process of the sandbox user survived grading"
    assert outcome["seconds"] < expected.get("max_seconds", 30)
    document = outcome["document"]
    assert problems(document) == []
    assert document["extra_data"]["worker_start"] in ("fork", "none")  # forked from the grader, if it has a file
    assert document["score"] == pytest.approx(expected["score"], abs=1e-6)
    tests = {t["number"]: t for t in document["tests"]}
    for number, status in expected.get("statuses", {}).items():
        assert tests[number]["status"] == status, (number, tests[number]["output"])
    for number, texts in expected.get("output_contains", {}).items():
        output = document["output"] if number == "summary" else tests[number]["output"]
        assert all(text in output for text in texts), (number, output)
    for number, texts in expected.get("output_excludes", {}).items():
        output = document["output"] if number == "summary" else tests[number]["output"]
        assert not any(text in output for text in texts), (number, output)


# batch's grading job, driven as batch drives it (batch itself needs the instructor extras, which the Gradescope
# root lacks): one job grades every hostile example in turn, each worker forked by the job's zygote.
_JOB_DRIVER = """
import multiprocessing, sys
from pathlib import Path
from backprop_grader.frontends import batch_job

config, out, submissions = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
ours, theirs = multiprocessing.Pipe()
job = multiprocessing.get_context("fork").Process(target=batch_job.serve, args=(theirs, config))
job.start()
theirs.close()
for index, submission in enumerate(submissions):
    ours.send((submission, str(out / f"{index}.json"), str(out / f"{index}.log")))
    ours.recv()
ours.send(None)
job.join()
"""


@pytest.fixture(scope="module")
def graded_by_one_job(gradescope, tmp_path_factory):
    """Every hostile example graded in turn by one batch job in the Gradescope root, in a PID namespace of its own
    (as simulate runs a grader); (results per example, leftover sandbox processes, the job's exit status)."""
    root, _ = gradescope
    work = tmp_path_factory.mktemp("job")  # root's only, like the grader's own files
    (work / "out").mkdir()
    (work / "driver.py").write_text(_JOB_DRIVER)
    copies = []
    for index, example in enumerate(HOSTILE):
        copies.append(work / "submissions" / f"{index:02d}" / example.name)
        shutil.copytree(example, copies[-1], symlinks=True)
    launcher = work / "run_autograder"  # what simulate's harness runs
    launcher.write_text(
        f"#!/bin/bash\ncd {root / 'source'} && exec env -i PATH=/usr/bin:/bin LANG=C.UTF-8 "
        f"PYTHONPATH={root / 'source'} OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "
        f"{root / 'venv' / 'bin' / 'python'} {work / 'driver.py'} {root / 'source' / 'autograder.toml'} "
        f"{work / 'out'} {' '.join(str(c) for c in copies)}\n")
    launcher.chmod(0o700)
    status, output, leftovers = simulate_module._run_grader(work)
    documents = {example: json.loads((work / "out" / f"{index}.json").read_text())
                 for index, example in enumerate(HOSTILE)}
    return documents, leftovers, status, output


@pytest.mark.parametrize("submission", HOSTILE, ids=[p.name for p in HOSTILE])
def test_hostile_submission_earns_only_its_honest_score_in_a_batch_job(graded_by_one_job, submission):
    """The same attacks against batch's grading job: its workers come from a zygote, a fork of the job taken
    before it loaded anything secret, and one job grades one submission after another."""
    documents, leftovers, status, output = graded_by_one_job
    assert status == 0, output[-3000:]
    assert leftovers == [], "a process of the sandbox user survived the job"
    document, expected = documents[submission], expected_of(submission)
    assert problems(document) == []
    assert document["extra_data"]["worker_start"] in ("fork", "none")
    assert document["score"] == pytest.approx(expected["score"], abs=1e-6)
    if document["extra_data"]["worker_start"] == "fork":
        assert "ran as the unprivileged user" in document["extra_data"]["isolation"]


_TWO_JOBS_DRIVER = """
import json, multiprocessing, sys
from pathlib import Path
from backprop_grader.frontends import batch, batch_job

config, out, submissions = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
context = multiprocessing.get_context("fork")
jobs = []
for _ in submissions:
    ours, theirs = context.Pipe()
    job = context.Process(target=batch_job.serve, args=(theirs, config))
    job.start()
    theirs.close()
    jobs.append((ours, job))
for index, ((ours, _), submission) in enumerate(zip(jobs, submissions)):
    ours.send((submission, str(out / f"{index}.json"), str(out / f"{index}.log")))
for ours, job in jobs:
    ours.recv()
    ours.send(None)
    job.join()
"""
_SABOTEUR = """import os, signal, time
from reference_copy import compute_gradients  # noqa: F401
if os.geteuid() != 0:  # as the sandbox user only: kill every process this user may signal, for 3 s
    end = time.monotonic() + 3
    while time.monotonic() < end:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        time.sleep(0.01)
"""
_SLOW_BUT_CORRECT = """import time
from reference_copy import compute_gradients as _correct
time.sleep(1)

def compute_gradients(z, t, W_kj, W_ji, case):
    time.sleep(0.01)
    return _correct(z, t, W_kj, W_ji, case)
"""


def test_parallel_batch_jobs_run_student_code_as_users_of_their_own(gradescope, tmp_path):
    """Two jobs at once: a student who kills every process its user may signal, for seconds, cannot touch the
    classmate graded beside it, whose job claims another user of the pool for its student code (created as
    setup.sh creates the first). With one user for both, the classmate scored 0."""
    root, _ = gradescope
    honest = (SUBMISSIONS / "correct" / "vectorized" / "backprop.py").read_text()
    folders = []
    for name, source in (("saboteur", _SABOTEUR), ("victim", _SLOW_BUT_CORRECT)):
        folders.append(tmp_path / "submissions" / name)
        folders[-1].mkdir(parents=True)
        (folders[-1] / "backprop.py").write_text(source)
        (folders[-1] / "reference_copy.py").write_text(honest)
    (tmp_path / "out").mkdir()
    (tmp_path / "driver.py").write_text(_TWO_JOBS_DRIVER)
    done = subprocess.run([str(root / "venv" / "bin" / "python"), str(tmp_path / "driver.py"),
                           str(root / "source" / "autograder.toml"), str(tmp_path / "out"), *map(str, folders)],
                          cwd=root / "source", capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                               "PYTHONPATH": str(root / "source"),
                               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    saboteur, victim = (json.loads((tmp_path / "out" / f"{n}.json").read_text()) for n in (0, 1))
    users = [document["extra_data"]["confinement"]["user"] for document in (saboteur, victim)]
    assert all(user.startswith(SANDBOX_USER) for user in users) and users[0] != users[1], users
    assert victim["score"] == 100, [t["output"][:300] for t in victim["tests"] if t["status"] == "failed"]


def test_cant_read_reference_tests_or_configuration(gradescope):
    root, _ = gradescope
    for path in ("reference/backprop.py", "tests/test_case1_sigmoid.py", "autograder.toml",
                 "backprop_grader/maths/grading.py"):
        done = _as_sandbox_user("/bin/cat", str(root / "source" / path), root=root)
        assert done.returncode != 0 and "Permission denied" in done.stderr, path


def test_cant_write_results(gradescope):
    root, _ = gradescope
    done = _as_sandbox_user("/bin/sh", "-c", f"echo '{{}}' > {root}/results/results.json", root=root)
    written = root / "results" / "results.json"
    assert done.returncode != 0, f"the sandbox user wrote results.json: {done.stdout}{done.stderr}"
    assert not written.exists() or "{}" not in written.read_text()


def test_cant_write_the_grading_environment(gradescope):
    root, _ = gradescope
    site = next((root / "venv" / "lib").glob("python3*/site-packages/numpy/__init__.py"))
    done = _as_sandbox_user("/bin/sh", "-c", f"echo 'import os' >> {site}", root=root)
    assert done.returncode != 0, f"the sandbox user appended to {site}: {done.stdout}{done.stderr}"


def test_sandbox_user_can_run_the_grading_python(gradescope):
    root, _ = gradescope
    done = _as_sandbox_user(str(root / "venv" / "bin" / "python"), "-I", "-c", "import numpy; print(numpy.pi)",
                            root=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("3.14"), done.stdout + done.stderr


def test_no_sandbox_process_survives_grading(gradescope):
    _, outcomes = gradescope
    assert {name: o["leftover_processes"] for name, o in outcomes.items() if o["leftover_processes"]} == {}


def test_setup_uses_the_system_python_that_refuses_pip_install(gradescope):
    root, _ = gradescope
    log = (root / "setup.log").read_text()
    assert "using /usr/bin/python3" in log, log
    if not list(Path("/usr/lib").glob("python3*/EXTERNALLY-MANAGED")):
        pytest.skip("this machine's system Python is not marked externally managed (PEP 668)")
    refused = subprocess.run(["/usr/bin/python3", "-m", "pip", "install", "--dry-run", "six"], capture_output=True,
                             text=True)
    assert refused.returncode != 0  # the system Python refuses, yet setup.sh succeeded through its venv


def test_setup_is_idempotent(gradescope):
    root, _ = gradescope
    done = subprocess.run(["bash", "setup.sh"], cwd=root / "source", capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def test_run_autograder_works_from_each_place(gradescope, tmp_path):
    root, _ = gradescope
    submission = SUBMISSIONS / "correct" / "vectorized"
    for n, script in enumerate((root / "run_autograder", root / "source" / "run_autograder",
                                PROJECT / "run_autograder")):
        results = tmp_path / f"results-{n}.json"
        done = subprocess.run([str(script), "--submission", str(submission), "--results", str(results)],
                              cwd=root, capture_output=True, text=True, timeout=300,
                              env={"PATH": "/usr/bin:/bin", "HOME": "/root", "AUTOGRADER_ROOT": str(root)})
        assert done.returncode == 0, done.stderr
        assert json.loads(results.read_text())["score"] == 100, script


def test_without_root_grading_works_and_says_isolation_is_reduced(gradescope, tmp_path):
    """The grader run as an ordinary user (nobody): process isolation and limits only, and it says so."""
    root, _ = gradescope
    readable = Path(tempfile.mkdtemp(prefix="backprop-nonroot-"))
    try:
        shutil.copytree(root / "source", readable / "source")
        shutil.copytree(SUBMISSIONS / "correct" / "vectorized", readable / "submission")
        os.chmod(readable, 0o777)
        for path in [readable, *readable.rglob("*")]:
            os.chmod(path, 0o777 if path.is_dir() else 0o644)
        nobody = pwd.getpwnam("nobody")
        results = readable / "results.json"
        done = subprocess.run([str(root / "venv" / "bin" / "python"), "-m", "backprop_grader", "grade",
                               str(readable / "submission"), "--results", str(results), "--quiet"],
                              cwd=readable / "source", user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[],
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(readable / "source"), "HOME": "/tmp"},
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        document = json.loads(results.read_text())
        assert document["score"] == 100
        assert "Isolation is reduced: not run as root" in document["extra_data"]["isolation"]
        assert "Isolation" not in document["output"]  # the instructor's business
    finally:
        shutil.rmtree(readable, ignore_errors=True)


def test_simulated_grader_cannot_see_who_started_it(tmp_path):
    """Like Gradescope's container, simulate's grader sees only its own processes, never simulate's ancestors.

    Those ancestors' command lines name the instructor's checkout (here, this test run's), which may be readable
    by everyone on a test machine but does not exist on Gradescope.
    """
    root = tmp_path / "root"
    root.mkdir()
    seen = root / "seen.txt"
    script = root / "run_autograder"
    script.write_text(f"#!/bin/sh\nfor f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\"; echo; done > {seen}\n")
    script.chmod(0o755)
    status, _, leftovers = simulate_module._run_grader(root)
    assert status == 0 and leftovers == []
    visible = [line for line in seen.read_text().splitlines() if line.strip()]
    assert not any(sys.executable in line or str(PROJECT) in line for line in visible), visible
    assert len(visible) <= 4, visible  # the harness, run_autograder and its own commands



def test_the_worker_is_the_oom_killers_first_choice(gradescope, tmp_path):
    """oom_score_adj 1000 for the worker, even as the sandbox user (whose /proc files it cannot write itself)."""
    root, _ = gradescope
    submission = tmp_path / "oom"
    submission.mkdir()
    (submission / "backprop.py").write_text(
        "import numpy as np\n"
        "print('OOM=' + open('/proc/self/oom_score_adj').read().strip())\n"
        "def compute_gradients(z, t, W_kj, W_ji, case):\n"
        "    return np.zeros_like(W_kj), np.zeros_like(W_ji)\n")
    outcome = simulate_module._grade_one(submission, "oom", root, tmp_path / "out", quiet=True)
    found = next(t for t in outcome["document"]["tests"] if t["number"] == "0.1")
    assert "OOM=1000" in found["output"], found["output"]


@pytest.mark.parametrize("view", ["namespaces", "off"])
def test_student_code_reaches_no_listener_on_localhost(view, gradescope, tmp_path):
    """hostile/fetch_from_network tries TCP on 127.0.0.1:47600-47619, UDP and DNS: nothing arrives, with a network
    namespace of its own, and with the seccomp filter that replaces it where namespaces are refused (graded by
    the Gradescope root's Python, which the sandbox user can run without a view)."""
    import socket
    import threading

    from backprop_grader.sandbox.isolation import view as view_module

    root, _ = gradescope

    tcp, udp = socket.socket(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for port in range(47600, 47620):
        try:
            tcp.bind(("127.0.0.1", port))
            break
        except OSError:
            continue
    else:
        pytest.skip("no free port in 47600-47619 for the listener")
    udp.bind(("127.0.0.1", port)) if port == 47600 else None
    tcp.listen()
    tcp.settimeout(0.2)
    udp.settimeout(0.2)
    arrived, done = [], threading.Event()

    def listen():
        while not done.is_set():
            for sock in (tcp, udp):
                try:
                    arrived.append(sock.accept() if sock is tcp else sock.recvfrom(100))
                except OSError:
                    pass

    thread = threading.Thread(target=listen)
    thread.start()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root / "source"), "OPENBLAS_NUM_THREADS": "1"}
    if view == "off":
        env[view_module.OFF_SWITCH] = "off"
    try:
        subprocess.run([str(root / "venv" / "bin" / "python"), "-m", "backprop_grader", "grade",
                        str(SUBMISSIONS / "hostile" / "fetch_from_network"), "--results", str(tmp_path / "r.json"),
                        "--quiet"], cwd=root / "source", env=env, capture_output=True, timeout=300, check=True)
        document = json.loads((tmp_path / "r.json").read_text())
    finally:
        done.set()
        thread.join()
        tcp.close()
        udp.close()
    assert arrived == []
    assert document["score"] == 0
    assert "no network" in document["tests"][0]["output"]
    confinement = document["extra_data"]["confinement"]
    assert confinement["network"] in (("namespace", "seccomp") if view == "namespaces" else ("seccomp",)), confinement


def test_the_grader_never_follows_a_link_of_the_submission(gradescope):
    """hostile/planted_links, graded above: its dangling forward.py and its link into a missing folder are
    copied as links, never written through (root used to create the link's target)."""
    assert not os.path.lexists("/tmp/backprop-selftest-planted-forward.py")
    assert not os.path.lexists("/var/tmp/backprop-selftest-missing-folder")


_SMALL_DISKS = """set -e
project="$3"
case "$project" in /tmp/*)  # a checkout under /tmp (CI's clone) stays reachable through the small /tmp
    mkdir -p /run/backprop-selftest-old-tmp && mount --bind /tmp /run/backprop-selftest-old-tmp ;;
esac
mount -t tmpfs -o size=40m tmpfs /tmp
case "$project" in /tmp/*)
    mkdir -p "$project" && mount --bind "/run/backprop-selftest-old-tmp/${project#/tmp/}" "$project" ;;
esac
mount -t tmpfs -o size=8m tmpfs /var/tmp
mount -t tmpfs -o size=8m tmpfs /dev/shm
mkdir /tmp/out
"$1" -m backprop_grader grade "$2" --results /tmp/out/results.json --quiet >/dev/null 2>&1 || true
cat /tmp/out/results.json
"""


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare to give the grader small temporary disks")
def test_a_full_disk_still_leaves_a_valid_results_json(tmp_path):
    """hostile/fill_temporary_folders fills every temporary folder it can write, its own folder too, on a machine
    whose /tmp, /var/tmp and /dev/shm are small (a private mount namespace): results.json, reserved before student
    code ran, is still valid and holds the honest score."""
    script = tmp_path / "small_disks.sh"
    script.write_text(_SMALL_DISKS)
    done = subprocess.run(["unshare", "--mount", "bash", str(script), sys.executable,
                           str(SUBMISSIONS / "hostile" / "fill_temporary_folders"), str(PROJECT)], cwd=PROJECT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(done.stdout)
    assert problems(document) == []
    assert document["score"] == 100
