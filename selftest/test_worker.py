"""The sandboxed worker's calls, in real worker processes: pipelined requests, per-call limits and output.

Grading asks a whole group of networks at once (Worker.call_many): the requests are sent ahead, so the worker
never waits for the grader, yet every reply keeps its own time limit, its own printed output, and a worker
that fails mid-way is stopped and the rest asked again. Every way of starting a worker is covered: a fresh
Python (restarts), a fork of the grading process (run_autograder's first worker), and a fork from a zygote
(batch's jobs).
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from backprop_grader.config import load_config
from backprop_grader.maths.grading import Grading
from backprop_grader.sandbox import Limits, Worker
from backprop_grader.sandbox.zygote import Zygote

LIMITS = Limits(**dict(load_config().limits, call_seconds=2.0, import_seconds=20.0))

COUNTING = '''
import numpy as np
CALLS = [0]

def compute_gradients(z, t, W_kj, W_ji, case):
    CALLS[0] += 1
    print(f"call {CALLS[0]}")
    if CALLS[0] == STOP_AT:
        while True:
            pass
    return np.full_like(W_kj, CALLS[0]), np.full_like(W_ji, CALLS[0])
'''

SHRINKS_ITS_PIPES = '''
import fcntl, os
import numpy as np

for name in os.listdir("/proc/self/fd"):  # every pipe we hold, the grader's requests included: one page
    try:
        if os.readlink(f"/proc/self/fd/{name}").startswith("pipe:"):
            fcntl.fcntl(int(name), 1031, 4096)  # F_SETPIPE_SZ
    except OSError:
        pass

def compute_gradients(z, t, W_kj, W_ji, case):
    return np.zeros_like(W_kj), np.zeros_like(W_ji)
'''


FORGES_THEN_SLEEPS = SHRINKS_ITS_PIPES.replace("""def compute_gradients(z, t, W_kj, W_ji, case):
    return np.zeros_like(W_kj), np.zeros_like(W_ji)""", """import json, struct, time
CALLS = [0]

def _writable_pipes():
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if int(name) > 2 and os.readlink(f"/proc/self/fd/{name}").startswith("pipe:") \
                    and fcntl.fcntl(int(name), fcntl.F_GETFL) & os.O_WRONLY:
                found.append(int(name))
        except OSError:
            pass
    return found

OUT = _writable_pipes()

def _forged(W_kj, W_ji):
    head = json.dumps({"ok": True, "op": "result", "shapes": [list(W_kj.shape), list(W_ji.shape)]}).encode()
    data = np.zeros(W_kj.size + W_ji.size).tobytes()
    return struct.pack(">II", len(head), len(data)) + head + data

def compute_gradients(z, t, W_kj, W_ji, case):
    CALLS[0] += 1
    if CALLS[0] == 3:  # answer calls that were never made, so the grader thinks the pipe is empty, then stall
        for fd in OUT:
            for _ in range(3):
                os.write(fd, _forged(W_kj, W_ji))
        time.sleep(3600)
    return np.zeros_like(W_kj), np.zeros_like(W_ji)""")


class _Hung(Exception):
    pass


def _alarm(signum, frame):
    raise _Hung("the grader hung")


@pytest.fixture(scope="module")
def zygote():
    started = Zygote.start()
    yield started
    started.close()


def _worker(tmp_path: Path, source: str, *, fork, zygote=None) -> Worker:
    (tmp_path / "backprop.py").write_text(source)
    if fork == "zygote":
        return Worker(tmp_path / "backprop.py", LIMITS, (), None, zygote=zygote)
    return Worker(tmp_path / "backprop.py", LIMITS, (), None, fork=fork)


def _calls(count: int, size: int = 3) -> list[tuple]:
    rng = np.random.default_rng(count)
    return [(rng.normal(size=size), rng.random(2), rng.normal(size=(size, 4)), rng.normal(size=(4, 2)))
            for _ in range(count)]


@pytest.fixture(params=["fresh python", "fork", "zygote"])
def fork(request):
    """How the worker starts: False (a fresh Python), True (forked from us), or "zygote"."""
    return {"fresh python": False, "fork": True}.get(request.param, request.param)


def test_pipelined_replies_come_in_order_each_with_what_it_printed(tmp_path, fork, zygote):
    worker = _worker(tmp_path, COUNTING.replace("STOP_AT", "0"), fork=fork, zygote=zygote)
    try:
        replies = worker.call_many(_calls(12), "sigmoid", float("inf"))
    finally:
        worker.close()
    assert [r.ok for r in replies] == [True] * 12
    assert [float(r.arrays[0][0, 0]) for r in replies] == list(range(1, 13))
    assert [r.output for r in replies] == [f"call {n}\n" for n in range(1, 13)]


def test_a_call_that_hangs_costs_its_own_time_limit_and_stops_the_run(tmp_path, fork, zygote):
    worker = _worker(tmp_path, COUNTING.replace("STOP_AT", "4"), fork=fork, zygote=zygote)
    try:
        replies = worker.call_many(_calls(10), "sigmoid", float("inf"))
        assert [r.kind for r in replies] == ["", "", "", "timeout"]
        assert replies[-1].seconds == pytest.approx(LIMITS.call_seconds, abs=0.5)
        assert replies[-1].output == "call 4\n"
        again = worker.call_many(_calls(2), "sigmoid", float("inf"))  # a new worker, counting from 1 again
        assert [float(r.arrays[0][0, 0]) for r in again] == [1.0, 2.0]
    finally:
        worker.close()


def test_a_run_stops_once_its_seconds_are_spent_with_no_request_left_unanswered(tmp_path, fork, zygote):
    slow = "CALLS[0] += 1\n    __import__('time').sleep(0.2)"
    source = COUNTING.replace("STOP_AT", "0").replace("CALLS[0] += 1", slow)
    worker = _worker(tmp_path, source, fork=fork, zygote=zygote)
    try:
        replies = worker.call_many(_calls(10), "sigmoid", 0.5)
        assert len(replies) == 3 and all(r.ok for r in replies)
        more = worker.call_many(_calls(2), "sigmoid", float("inf"))  # the same worker, counting on
        assert [float(r.arrays[0][0, 0]) for r in more] == [4.0, 5.0]
    finally:
        worker.close()


def test_a_worker_that_shrinks_its_pipes_cannot_block_the_grader(tmp_path, fork, zygote):
    worker = _worker(tmp_path, SHRINKS_ITS_PIPES, fork=fork, zygote=zygote)
    try:
        replies = worker.call_many(_calls(25, size=7), "softmax", float("inf"))
    finally:
        worker.close()
    assert len(replies) == 25 and all(r.ok for r in replies)


def test_grading_asks_again_after_a_failure_and_keeps_every_budget(tmp_path):
    """Grading's side: networks after a time-out are asked of a new worker; after two time-outs, skipped."""
    source = COUNTING.replace("if CALLS[0] == STOP_AT:", "if CALLS[0] == 3:")
    (tmp_path / "backprop.py").write_text(source)
    config = load_config()
    worker = Worker(tmp_path / "backprop.py", LIMITS, (), None)
    grading = Grading(config, worker)
    try:
        replies = grading.replies("sigmoid", "random")
    finally:
        worker.close()
    kinds = [r.kind for r in replies]
    assert kinds[:5] == ["", "", "timeout", "", ""]  # the 4th and 5th network went to a fresh worker
    assert kinds.count("timeout") == 2 and kinds[kinds.index("timeout", 3) + 1:] == ["skipped"] * (
        len(kinds) - kinds.index("timeout", 3) - 1)


def test_forged_replies_and_a_stalled_worker_cannot_hang_the_grader(tmp_path, fork, zygote):
    """A worker that shrinks its pipes, forges replies to calls not yet made, then stops reading: the grader's
    writes have the call's deadline, so the run ends in a time-out instead of a write blocked for ever."""
    worker = _worker(tmp_path, FORGES_THEN_SLEEPS, fork=fork, zygote=zygote)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    try:
        replies = worker.call_many(_calls(40, size=7), "softmax", float("inf"))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        worker.close()
    assert replies[-1].kind == "timeout" and len(replies) < 40


def test_the_worker_is_the_oom_killers_first_choice(tmp_path, fork, zygote):
    worker = _worker(tmp_path, "print(open('/proc/self/oom_score_adj').read().strip())\n" + SHRINKS_ITS_PIPES,
                     fork=fork, zygote=zygote)
    try:
        assert worker.start().output.strip() == "1000"
    finally:
        worker.close()


def test_a_case_that_spends_its_seconds_leaves_the_worker_alive_for_the_other(tmp_path):
    """Slow calls: once the case's seconds run out the rest are skipped, and no request was sent ahead that
    would force the worker to be stopped (and the submission imported again) for the other case."""
    slow = "CALLS[0] += 1\n    __import__('time').sleep(0.25)"
    (tmp_path / "backprop.py").write_text(COUNTING.replace("STOP_AT", "0").replace("CALLS[0] += 1", slow))
    config = load_config()
    config.limits["case_seconds"] = 1.6
    worker = Worker(tmp_path / "backprop.py", LIMITS, (), None)
    grading = Grading(config, worker)
    try:
        kinds = [r.kind for r in grading.replies("sigmoid", "random")]
        assert kinds[:6] == [""] * 6 and kinds[-1] == "skipped"
        assert worker._process is not None  # still the first worker: never stopped
    finally:
        worker.close()


SHOWS_ITS_PATH = COUNTING.replace("STOP_AT", "0") + """
import sys
print(repr(sys.path))
"""


def test_every_worker_starts_with_the_import_path_of_python_minus_i(tmp_path, zygote):
    """Forked workers drop what the grader's own path holds beyond `python -I`'s (the folder it was started from,
    which in batch may be one anyone can write a module into, and PYTHONPATH), as a fresh worker never has it."""
    paths = {}
    for start in (False, True, "zygote"):
        folder = tmp_path / str(start)
        folder.mkdir()
        worker = _worker(folder, SHOWS_ITS_PATH, fork=start, zygote=zygote)
        try:
            paths[start] = eval(worker.start().output)[1:]  # after the submission's own folder
        finally:
            worker.close()
    assert paths[True] == paths["zygote"] == paths[False]
    assert str(Path.cwd()) not in paths[True] and all("site-packages" in p or "python3" in p for p in paths[True]), \
        paths[True]


NAMED_LIKE_THE_STANDARD_LIBRARY = (Path(__file__).parent / "submissions" / "correct"
                                   / "helpers_named_like_the_standard_library")


def test_every_worker_imports_the_submissions_own_logging_and_copy(tmp_path, zygote):
    """Helpers named like modules the grader has loaded (logging.py, copy.py) are the student's in every worker, as
    in a fresh Python: a forked worker forgets those loaded modules (they are not loaded in a fresh one)."""
    from reference.backprop import compute_gradients

    calls = _calls(2)
    for start in (False, True, "zygote"):
        folder = tmp_path / str(start)
        shutil.copytree(NAMED_LIKE_THE_STANDARD_LIBRARY, folder)
        worker = (Worker(folder / "backprop.py", LIMITS, (), None, zygote=zygote) if start == "zygote"
                  else Worker(folder / "backprop.py", LIMITS, (), None, fork=start))
        try:
            assert worker.start().ok, (start, worker.start().message)
            replies = worker.call_many(calls, "softmax", float("inf"))
        finally:
            worker.close()
        for reply, arguments in zip(replies, calls):
            expected = compute_gradients(*arguments, "softmax")
            assert reply.ok and all(np.allclose(a, b) for a, b in zip(reply.arrays, expected)), start


TELLS_ITS_ORIGIN = COUNTING.replace("STOP_AT", "2") + """
import sys
print("_pytest" in sys.modules)
"""


def test_a_zygote_worker_is_our_child_and_so_is_its_replacement(tmp_path, zygote):
    """The zygote forks twice, so its workers are adopted by the grader, which waits for them and kills them like
    its own; a restart after a failure comes from the zygote again (a fork: pytest is loaded), not a fresh Python."""
    worker = _worker(tmp_path, TELLS_ITS_ORIGIN, fork="zygote", zygote=zygote)
    try:
        assert worker.start().output.split()[-1] == "True"
        assert _parent(worker._process.pid) == os.getpid()
        assert [r.kind for r in worker.call_many(_calls(3), "sigmoid", float("inf"))] == ["", "timeout"]
        assert worker.start().output.split()[-1] == "True"
        assert _parent(worker._process.pid) == os.getpid()
        assert worker.first_start == "fork"
    finally:
        worker.close()
    assert _alive(zygote.pid)  # ending a worker and its leftovers spares the zygote


def test_the_zygote_keeps_nothing_open_but_its_socket(zygote):
    """What its workers could inherit: only /dev/null and the socket to the grader, which they close."""
    targets = sorted(os.readlink(f"/proc/{zygote.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{zygote.pid}/fd"))
    assert targets[:3] == ["/dev/null"] * 3 and len(targets) == 4 and targets[3].startswith("socket:")


TELLS_WHAT_IS_LOADED = COUNTING.replace("STOP_AT", "0") + """
import sys
print("matplotlib.pyplot" in sys.modules, "scipy.special" in sys.modules)
"""


def test_a_zygote_forks_a_warm_zygote_that_is_our_child(tmp_path, zygote):
    """A bare zygote forks, on request, a zygote that has imported matplotlib's pyplot (what batch's jobs ask for
    when a submission first plots): the new zygote is our child, keeps only its socket open, its workers find
    pyplot loaded, and it ends when closed; the bare one's workers still do not find it, and the bare one lives on."""
    warm = zygote.fork_zygote(("matplotlib",))
    try:
        assert _parent(warm.pid) == os.getpid()
        worker = _worker(tmp_path, TELLS_WHAT_IS_LOADED, fork="zygote", zygote=warm)
        try:
            assert worker.start().output.split()[-2:] == ["True", "False"]
            assert _parent(worker._process.pid) == os.getpid()
        finally:
            worker.close()
        (tmp_path / "bare").mkdir()
        bare = _worker(tmp_path / "bare", TELLS_WHAT_IS_LOADED, fork="zygote", zygote=zygote)
        try:
            assert bare.start().output.split()[-2:] == ["False", "False"]
        finally:
            bare.close()
        fds = [os.readlink(f"/proc/{warm.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{warm.pid}/fd")]
        assert len(fds) == 4 and sum(f.startswith("socket:") for f in fds) == 1, fds
    finally:
        warm.close()
    assert not _alive(warm.pid) and _alive(zygote.pid)


def test_without_its_zygote_a_worker_starts_as_a_fresh_python(tmp_path):
    gone = Zygote.start()
    os.kill(gone.pid, signal.SIGKILL)
    os.waitpid(gone.pid, 0)
    worker = _worker(tmp_path, TELLS_ITS_ORIGIN, fork="zygote", zygote=gone)
    try:
        assert worker.start().output.split()[-1] == "False"  # no pytest loaded: a fresh Python
        assert worker.first_start == "fresh python"
    finally:
        worker.close()
        gone.close()


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[1])


def test_requests_wait_ahead_only_while_the_slowest_pace_fits_the_seconds_left():
    """How many requests may wait ahead (Worker._room): the most r, up to 64 more than wait already, such that
    the seconds spent plus (waiting + r) calls as slow as the slowest so far stay under the run's seconds; none
    before the first reply. Checked against that rule counted out one by one, on edges where floats round."""
    from backprop_grader.sandbox import Reply

    def counted(spent: float, slowest: float, waiting: int, seconds: float) -> int:
        room = 0
        while spent + (waiting + room + 1) * slowest < seconds and room < waiting + 64:
            room += 1
        return room

    rng = np.random.default_rng(7)
    for _ in range(3000):
        times = list(rng.choice([0.0, 0.001, 0.01, 0.1, 0.3, 1 / 3, 0.05], size=int(rng.integers(1, 6))))
        waiting = [1] * int(rng.integers(0, 70))
        seconds = float(rng.choice([0.0, 1.0, 2.0, 10.0, 0.7, sum(times) + 1 / 3, float("inf")]))
        replies = [Reply(True, "ok", seconds=t) for t in times]
        assert Worker._room(replies, waiting, seconds) == counted(sum(times), max(times), len(waiting), seconds)
    assert Worker._room([], [], 10.0) == 0


def _sealed_here() -> bool:
    """Whether a worker forked here gets a PID namespace and a view of its own (root, namespaces allowed)."""
    from backprop_grader.config import PROJECT_ROOT
    from backprop_grader.sandbox import isolated_path
    from backprop_grader.sandbox.isolation import view

    return os.geteuid() == 0 and view.probe(isolated_path(), PROJECT_ROOT) == view.NAMESPACES


def _seccomp_mode(pid: int) -> str:
    """The Seccomp line of a process's status: "2" once a worker has confined itself (its filters loaded)."""
    return next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                if line.startswith("Seccomp:"))


def _visible_and_parked(tmp_path: Path) -> tuple[Worker, Worker]:
    """As grade starts them: two workers forked before the limits are known, the second parked for the hidden
    phase as the first one's successor; then the first given its limits."""
    (tmp_path / "backprop.py").write_text(COUNTING.replace("STOP_AT", "0"))
    visible, parked = (Worker(tmp_path / "backprop.py", None, (), None, fork=True) for _ in range(2))
    visible.spawn(), parked.spawn()
    visible.successor = parked
    visible.configure(LIMITS, ())
    return visible, parked


@pytest.mark.skipif(not _sealed_here(), reason="needs root and namespaces: a worker sealed in")
def test_the_parked_worker_imports_while_a_sealed_visible_worker_runs_and_outlives_it(tmp_path):
    """grade's hidden-phase worker is released (given its limits: it confines itself and imports) as soon as the
    visible one is known to be sealed, so that its start is off the grading's path; the visible one's end reaches
    nothing of it, and it answers as the hidden phase's worker, a fork still."""
    visible, parked = _visible_and_parked(tmp_path)
    try:
        assert _seccomp_mode(parked._process.pid) == "0"  # parked: nothing of the student's has run
        assert visible.start().ok
        deadline = time.monotonic() + 30
        while _seccomp_mode(parked._process.pid) != "2":  # it confines itself now, while the visible one runs
            assert time.monotonic() < deadline, "the parked worker was never released"
            time.sleep(0.01)
        assert [r.ok for r in visible.call_many(_calls(2), "sigmoid", float("inf"))] == [True, True]
        visible.close()
        assert _alive(parked._process.pid)
        parked.configure(LIMITS, ())  # as the hidden phase does: nothing more to send
        replies = parked.call_many(_calls(3), "sigmoid", float("inf"))
        assert [float(r.arrays[0][0, 0]) for r in replies] == [1.0, 2.0, 3.0] and parked.first_start == "fork"
    finally:
        visible.close()
        parked.close()


@pytest.mark.skipif(not _sealed_here(), reason="needs root and namespaces: a worker sealed in")
def test_a_released_worker_is_ended_before_an_unsealed_end_sweeps_and_starts_again_fresh(tmp_path):
    """Should a restart of the visible worker not be sealed (its namespaces failing only then), its end sweeps
    what the grader started and the user's processes: the successor released early is ended first, and the hidden
    phase starts it again, a fresh Python, rather than find it dead. (That restart cannot be made to fail here on
    purpose: the state it leaves is set by hand, on real processes.)"""
    visible, parked = _visible_and_parked(tmp_path)
    try:
        assert visible.start().ok
        released = parked._process.pid
        visible._namespaced = visible._sealed = False  # as after a restart that could not be sealed: its end sweeps
        visible.close()
        assert parked._process is None and not _alive(released)
        replies = parked.call_many(_calls(2), "sigmoid", float("inf"))
        assert [float(r.arrays[0][0, 0]) for r in replies] == [1.0, 2.0]
        assert parked._process.pid != released
    finally:
        visible.close()
        parked.close()


FORKS_AT_IMPORT = COUNTING.replace("STOP_AT", "0") + """
import os, time
for _ in range(6):  # children that sleep: with the visible worker's, more than the user's process limit allows
    if os.fork() == 0:
        time.sleep(3600)
        os._exit(0)
"""


@pytest.mark.skipif(not _sealed_here(), reason="needs root and namespaces: a worker sealed in")
def test_a_released_worker_whose_import_failed_beside_its_predecessor_imports_again_alone(tmp_path):
    """A released worker imports while the visible one lives, as the same sandbox user: a submission that starts
    processes at import may then find the user's process limit used up by the visible worker's, a failure it
    would not have had alone. Such a failed start is tried once more when the hidden phase begins (the visible
    worker gone with all it started), so the student's result is the one it would have been."""
    from backprop_grader.sandbox import claim_identity

    (tmp_path / "backprop.py").write_text(FORKS_AT_IMPORT)
    limits = Limits(**dict(LIMITS.__dict__, processes=10))
    identity = claim_identity()
    visible, parked = (Worker(tmp_path / "backprop.py", None, (), identity, fork=True) for _ in range(2))
    visible.spawn(), parked.spawn()
    visible.successor = parked
    visible.configure(limits, ())
    try:
        assert visible.start().ok
        deadline = time.monotonic() + 30
        while _alive(parked._process.pid):  # its import fails meanwhile (7 + 7 processes, 10 allowed): it leaves
            assert time.monotonic() < deadline, "the released worker's import did not fail"
            time.sleep(0.01)
        assert visible.call_many(_calls(1), "sigmoid", float("inf"))[0].ok
        visible.close()
        parked.configure(limits, ())
        replies = parked.call_many(_calls(2), "sigmoid", float("inf"))
        assert [r.ok for r in replies] == [True, True], replies[0].message
    finally:
        visible.close()
        parked.close()
