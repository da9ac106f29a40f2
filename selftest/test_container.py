"""`simulate` in its emulation of Gradescope's container (isolation/container.py), which it uses by default as root:
Docker's default capabilities and seccomp profile, a PID namespace, the root at /autograder, the harness's handling
of results/ and submission/. A correct submission scores 100, a wrong one its rubric score, a probe that listens
for a way out scores 0 and cannot read results/, and the confinement reported is the fallback's (no namespaces),
which is what students meet on Gradescope.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from helpers import PROJECT, SUBMISSIONS, example_submissions, expected_of

from backprop_grader.frontends import simulate as simulate_module
from backprop_grader.frontends import simulate_container as gradescope
from backprop_grader.sandbox import SANDBOX_USER
from backprop_grader.sandbox.isolation import container

CORRECT = SUBMISSIONS / "correct" / "vectorized"
WRONG = SUBMISSIONS / "mistakes" / "missing_sigmoid_derivative"
HOSTILE = [p for p in example_submissions() if expected_of(p).get("isolation") == "full"]

# Cheats with the correct formulas (reference_copy.py beside it) as soon as any way out works: a listener on
# 127.0.0.1 or behind an abstract Unix socket answers, or anything under /autograder/results can be read.
_PROBE = """import json, os, socket
from reference_copy import compute_gradients as _correct
import numpy as np

found = {}

def attempt(name, action):
    try:
        found[name] = repr(action())[:80]
    except OSError as exc:
        found[name] = "refused: " + type(exc).__name__

def tcp():
    with socket.create_connection(("127.0.0.1", PORT), timeout=2) as connection:
        connection.sendall(b"probe")
        return "connected"

def unix():
    with socket.socket(socket.AF_UNIX) as connection:
        connection.connect(UNIX_NAME)
        connection.sendall(b"probe")
        return "connected"

def open_fds():
    leaked = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            continue
        if target.startswith("/autograder/results"):
            leaked.append(open("/proc/self/fd/" + fd, "rb").read(10))
    if leaked:
        return leaked
    raise PermissionError("no descriptor of results/")

attempt("tcp", tcp)
attempt("unix", unix)
attempt("list_results", lambda: os.listdir("/autograder/results"))
attempt("read_stdout", lambda: open("/autograder/results/stdout", "rb").read(10))
attempt("read_results", lambda: open("/autograder/results/results.json", "rb").read(10))
attempt("results_descriptors", open_fds)
LEAKED = [name for name, outcome in found.items() if not outcome.startswith("refused")]
print("PROBE " + json.dumps(found, sort_keys=True))

def compute_gradients(z, t, W_kj, W_ji, case):
    if LEAKED:
        return _correct(z, t, W_kj, W_ji, case)
    return np.zeros_like(W_kj), np.zeros_like(W_ji)
"""

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the container emulation needs root")


class _Listeners:
    """A TCP listener on 127.0.0.1 and an abstract Unix one, recording every connection until stopped."""

    def __init__(self):
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix_name = f"\0backprop-selftest-probe-{os.getpid()}"
        self.unix.bind(self.unix_name)
        self.unix.listen()
        self.port = self.tcp.getsockname()[1]
        self.arrived: list = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._listen)

    def _listen(self):
        """Accept until stopped (short timeouts only to notice the stop)."""
        for sock in (self.tcp, self.unix):
            sock.settimeout(0.1)
        while not self._done.is_set():
            for sock in (self.tcp, self.unix):
                try:
                    self.arrived.append(sock.accept())
                except OSError:
                    pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        self.tcp.close()
        self.unix.close()


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    """One root set up in the emulated container, and the correct, wrong and probe submissions graded in it,
    the probe while both listeners wait."""
    if os.geteuid() != 0:
        pytest.skip("the container emulation needs root")
    why = gradescope.unavailable()
    if why:
        pytest.skip(f"Gradescope's container cannot be emulated on this machine: {why}")
    out = tmp_path_factory.mktemp("simulated")
    root = Path(tempfile.mkdtemp(prefix="backprop-gradescope-test-"))
    upload = Path(tempfile.mkdtemp(prefix="backprop-upload-test-"))
    probe = tmp_path_factory.mktemp("probe") / "probe"
    probe.mkdir()
    shutil.copy(CORRECT / "backprop.py", probe / "reference_copy.py")
    try:
        subprocess.run([sys.executable, "-m", "backprop_grader", "build", "--out", str(upload / "autograder.zip")],
                       cwd=PROJECT, check=True, capture_output=True)
        simulate_module._install(upload / "autograder.zip", root, emulate=True)
        outcomes = {path: simulate_module._grade_one(path, path.name, root, out, True, emulate=True)
                    for path in (CORRECT, WRONG)}
        with _Listeners() as listeners:
            (probe / "backprop.py").write_text(
                _PROBE.replace("PORT", str(listeners.port)).replace("UNIX_NAME", repr(listeners.unix_name)))
            outcomes[probe] = simulate_module._grade_one(probe, "probe", root, out, True, emulate=True)
        yield root, outcomes, probe, listeners.arrived
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(upload, ignore_errors=True)


def test_correct_submission_scores_100_in_the_container(emulated):
    _, outcomes, _, _ = emulated
    outcome = outcomes[CORRECT]
    assert outcome["problems"] == [] and outcome["leftover_processes"] == []
    assert outcome["emulated"] and outcome["score"] == 100


def test_wrong_submission_scores_its_rubric_score_in_the_container(emulated):
    _, outcomes, _, _ = emulated
    assert outcomes[WRONG]["problems"] == []
    assert outcomes[WRONG]["score"] == pytest.approx(expected_of(WRONG)["score"], abs=1e-6)


def test_probe_reaches_no_listener_reads_nothing_of_results_and_scores_0(emulated):
    _, outcomes, probe, arrived = emulated
    document = outcomes[probe]["document"]
    printed = next(t["output"] for t in document["tests"] if t["number"] == "0.1")
    found = json.loads(printed.split("PROBE ", 1)[1].split("\n", 1)[0])
    assert all(outcome.startswith("refused") for outcome in found.values()), found
    assert arrived == []
    assert document["score"] == 0


def test_reported_confinement_is_the_fallbacks_and_said_to_be_what_students_meet(emulated, tmp_path):
    """In the container no namespace can be made: the separate user and the seccomp filter hold, as when this
    machine's namespaces are switched off (BACKPROP_SANDBOX_VIEW=off), and the run's line says students meet it."""
    root, outcomes, _, _ = emulated
    confinement = outcomes[CORRECT]["document"]["extra_data"]["confinement"]
    assert confinement["view"] == "none" and confinement["network"] == "seccomp", confinement
    assert confinement["user"].startswith(SANDBOX_USER), confinement
    assert "what students meet" in outcomes[CORRECT]["confinement"]
    assert "no sockets but pairs of its own (seccomp filter)" in outcomes[CORRECT]["confinement"]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root / "source"), "OPENBLAS_NUM_THREADS": "1",
           "BACKPROP_SANDBOX_VIEW": "off"}
    subprocess.run([str(root / "venv" / "bin" / "python"), "-m", "backprop_grader", "grade", str(CORRECT),
                    "--results", str(tmp_path / "r.json"), "--quiet"], cwd=root / "source", env=env,
                   capture_output=True, timeout=300, check=True)
    fallback = json.loads((tmp_path / "r.json").read_text())["extra_data"]["confinement"]
    assert (fallback["view"], fallback["network"]) == (confinement["view"], confinement["network"])


@pytest.mark.parametrize("submission", HOSTILE, ids=[p.name for p in HOSTILE])
def test_hostile_submission_earns_only_its_honest_score_in_the_container(emulated, submission, tmp_path):
    """Every attack of selftest/submissions/hostile/ against what students meet: the fallback, in the container."""
    root, _, _, _ = emulated
    outcome, expected = simulate_module._grade_one(submission, submission.name, root, tmp_path, True,
                                                   emulate=True), expected_of(submission)
    assert outcome["problems"] == [] and outcome["leftover_processes"] == []
    assert outcome["score"] == pytest.approx(expected["score"], abs=1e-6)
    tests = {t["number"]: t for t in outcome["document"]["tests"]}
    for number, status in expected.get("statuses", {}).items():
        assert tests[number]["status"] == status, (number, tests[number]["output"])


def test_the_harness_leaves_results_and_its_log_to_root_alone(emulated):
    """results/ is made again 0755 before each run; run_autograder locks it, results/stdout included."""
    root, outcomes, probe, _ = emulated
    assert (root / "results").stat().st_mode & 0o777 == 0o700
    assert (root / "results" / "stdout").stat().st_mode & 0o077 == 0
    assert "Total:" in (root / "results" / "stdout").read_text()  # the harness's log is run_autograder's output


_INSIDE = """import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def errno_of(result):
    return 0 if result == 0 else ctypes.get_errno()
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
print(json.dumps({
    "caps": {k: status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")},
    "seccomp": status["Seccomp"].strip(), "no_new_privs": status["NoNewPrivs"].strip(),
    "pid": os.getpid(), "uid": os.getuid(), "cwd": os.getcwd(),
    "marker": open("/autograder/marker").read(),
    "unshare": errno_of(libc.unshare(0x00020000)),
    "unshare_user": errno_of(libc.unshare(0x10000000)),
    "mount": errno_of(libc.mount(b"none", b"/mnt", b"tmpfs", 0, None)),
    "setns": errno_of(libc.setns(0, 0)),
    "checkout": os.path.exists(sys.argv[1]),
    "top": sorted(os.listdir("/")),
}))
"""


@needs_root
def test_the_container_is_dockers_root(tmp_path):
    """Docker's 14 capabilities in the bounding, permitted and effective sets, none inheritable or ambient;
    its seccomp profile, loaded without no_new_privs, refusing namespaces and mounts; PID 1 of its own PID
    namespace; the root folder at /autograder; none of this machine's other folders (this checkout included)."""
    why = gradescope.unavailable()
    if why:
        pytest.skip(f"Gradescope's container cannot be emulated on this machine: {why}")
    (tmp_path / "marker").write_text("this root")
    python = os.path.realpath(sys.executable)  # the interpreter itself: a virtual environment in the checkout is hidden
    done = subprocess.run([*gradescope.prefix(), str(tmp_path), "/autograder", python, "-I", "-c", _INSIDE,
                           str(PROJECT / "reference" / "backprop.py")],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    docker = f"{container.capability_mask(container.DOCKER_CAPABILITIES):016x}"
    assert docker == "00000000a80425fb"  # what `grep Cap /proc/self/status` shows in a default Docker container
    assert seen["caps"] == {"CapInh": "0" * 16, "CapPrm": docker, "CapEff": docker, "CapBnd": docker,
                            "CapAmb": "0" * 16}
    assert seen["seccomp"] == "2" and seen["no_new_privs"] == "0"
    assert (seen["pid"], seen["uid"], seen["cwd"], seen["marker"]) == (1, 0, "/autograder", "this root")
    assert seen["unshare"] == seen["unshare_user"] == seen["mount"] == seen["setns"] == errno.EPERM, seen
    assert not seen["checkout"]
    assert set(seen["top"]) <= {"autograder", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "var",
                                "opt", "root", "run", "dev", "sys", "home", "mnt", "media", "srv", "proc", "tmp"}


def test_docker_keeps_namespace_calls_for_cap_sys_admin_only():
    """moby's filtering of its profile: without CAP_SYS_ADMIN, unshare, mount, setns and clone3 are not allowed
    and clone only without namespace flags; with it, they are (pivot_root never is)."""
    profile = json.loads(container.PROFILE.read_text())

    def allowed(capabilities):
        rules = container.docker_rules(profile, capabilities, "amd64", (6, 1))
        return {name: rule for rule in rules if rule["action"] == "SCMP_ACT_ALLOW" for name in rule["names"]}

    docker = allowed(container.DOCKER_CAPABILITIES)
    assert not {"unshare", "mount", "setns", "pivot_root", "clone3"} & set(docker)
    assert docker["clone"]["args"] == [{"index": 0, "value": 0x7E020000, "op": "SCMP_CMP_MASKED_EQ"}]
    assert {"socket", "socketpair", "execve", "capset", "prctl", "seccomp"} <= set(docker)
    privileged = allowed(container.DOCKER_CAPABILITIES + ("CAP_SYS_ADMIN",))
    assert {"unshare", "mount", "setns", "clone3"} <= set(privileged)
    assert "args" not in privileged["clone"] and "pivot_root" not in privileged


@needs_root
def test_without_root_the_emulation_says_why_not():
    """A process that is not root (nobody, forked from this one) is told that the emulation needs root."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(writer, gradescope.unavailable.__wrapped__().encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as said:
        why = said.read().decode()
    os.waitpid(pid, 0)
    assert why == gradescope.NOT_ROOT
