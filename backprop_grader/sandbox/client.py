"""Start, talk to and end the worker process that runs student code.

The worker gets a private copy of the submission, an empty environment, resource limits, a file-system view of
its own folder and the Python runtime only, no network (isolation/), and, when the grader runs as root, an
unprivileged user claimed for this run alone. Every answer is read with a wall-clock deadline and checked for size
and form; a worker that times out, dies or talks nonsense is ended with every process it started, and the next
call starts a fresh one.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import importlib.util
import json
import os
import pwd
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import PROJECT_ROOT
from ..errors import GraderError
from . import scratch, shadowing
from . import worker as protocol
from .isolation import network, users, view
from .policy import worker_environment
from .processes import (
    Forked,
    become_subreaper,
    close_all_but,
    kill_descendants,
    kill_group,
    own_pid_namespace,
    prefer_for_the_oom_killer,
    spare,
    unspare,
)

SANDBOX_USER = "backprop-student"
_PROJECT = PROJECT_ROOT  # the checkout (or ROOT/source) the grader runs from
PROVIDED_FORWARD = _PROJECT / "student_template" / "forward.py"
WORKER_SOURCE = Path(protocol.__file__).read_text(encoding="utf-8")
# Bytes of requests that may wait in the pipe to the worker: one page, the least a pipe can hold (student code
# may shrink it with fcntl), so that the worker's pipe normally has room for them.
_PIPELINED = 4096
REFUSED = ("student code never runs as root, and the sandbox user cannot run the Python {python} (it lies where "
           "other users cannot read, and this machine refuses the mount namespace that would show it): grade with "
           "the environment setup.sh makes, or with a Python that other users can read")


_LIVE: set[int] = set()  # pids of this process's workers that may still run (end_all_workers)
_SPAWNING = threading.Lock()  # held while a worker is copied and started, and while all are ended
_LEAVING: list[bool] = []  # not empty once end_all_workers ran: no worker starts after it


def end_all_workers() -> None:
    """Kill every worker of this process at once, each with what it started, and start no other (a batch job
    whose batch has gone, ending from another thread than the one that grades)."""
    with _SPAWNING:
        _LEAVING.append(True)
        for pid in list(_LIVE):
            kill_group(pid)
        kill_descendants()


@dataclass
class Reply:
    """What one request to the worker came back with; `kind` names the failure when ok is false."""

    ok: bool
    kind: str = ""
    message: str = ""
    arrays: tuple = ()
    details: dict = field(default_factory=dict)
    output: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker, from autograder.toml's [limits]."""

    import_seconds: float
    call_seconds: float
    case_seconds: float
    cpu_seconds: int
    memory_mb: int
    processes: int
    output_kb: int


def claim_identity() -> tuple[int, int] | None:
    """As root, the (uid, gid) of a sandbox user that this run alone uses (created if missing); None when not
    root. Raises GraderError when no user can be had: student code never runs as root."""
    if os.geteuid() != 0:
        return None
    if not _python_reachable_by_others() and view.probe(isolated_path(), _PROJECT) == view.NONE:
        raise GraderError(REFUSED.format(python=sys.executable))
    return users.claim().identity


def isolation_note(state: dict | None) -> str:
    """One sentence for the instructor (extra_data, console) saying how the worker was confined."""
    if not state:
        return "No student code ran."
    who = f"as the unprivileged user {state['user']}" if state.get("user") else "as the user who started the grader"
    seen = ("a view of its own folder and the Python runtime only" if state.get("view") == view.NAMESPACES
            else "the whole file system (no mount namespace could be made: the grader's files are protected only "
                 "by the separate user and their permissions)")
    net = {"namespace": "no network (a network namespace of its own)",
           network.SECCOMP: "no sockets but pairs of its own (a seccomp filter; no network namespace could be "
                            "made)"}.get(
        state.get("network"), "THE NETWORK (neither a network namespace nor a seccomp filter was available)")
    reduced = "" if state.get("user") else " Isolation is reduced: not run as root, so no separate user."
    ended = (" (a PID namespace of its own: whatever it started ended with it)" if state.get("processes") ==
             "namespace" else "")
    return f"Student code ran {who}, in a separate process with limits{ended}, with {seen}, and {net}.{reduced}"


class Worker:
    """One student submission file, served by a worker process that is restarted after any failure."""

    def __init__(self, source_file: Path, limits: Limits | None, forbidden: tuple, identity=None,
                 source_text: str | None = None, *, fork: bool = False, zygote=None):
        """source_file is imported with its folder; source_text, when given, replaces its content in the copy.

        fork: start the first worker as a fork of this process rather than a fresh Python, which saves the
        start-up and the numpy import. Only for a process that holds nothing secret yet: the child gets a copy
        of this process's memory, so the caller spawns before it reads the configuration, reference or tests.
        The limits may then be None until configure(): the child waits for them before it runs anything of the
        student's. A restart after a failure comes later, when this process holds secrets: a fresh Python.
        """
        self.source_file, self.limits, self.forbidden, self.identity = Path(source_file), limits, forbidden, identity
        self.source_text, self.fork, self.zygote = source_text, fork, zygote
        self._awaiting_settings = False
        self.first_start: str | None = None  # how the first worker that started was started: "fork" or "fresh python"
        self._process = None
        self._namespaced = False  # the process is the first of a PID namespace of its own (_launch)
        self._sealed = False  # ... and has a view of its own: nothing of it can outlive it (_receive_confinement)
        self._fds = None
        self._spawned_at = 0.0
        self.startup: Reply | None = None
        self.isolation: dict | None = None  # how the first worker was confined, as it reported before student code
        self._scratch = scratch.make("worker")  # root's when root; removed at the next start if we are killed
        os.chmod(self._scratch, 0o711)  # the worker may pass through to its own folder inside, list nothing
        self._mountpoint = self._scratch / "view"  # the root of each worker's view, in its own namespace only
        self._mountpoint.mkdir()
        become_subreaper()

    def call_many(self, calls: list[tuple], case: str, seconds: float) -> list[Reply]:
        """compute_gradients on each set of arguments in turn, the requests sent ahead so the worker never waits.

        Each reply keeps its own wall-clock limit, counted from the previous reply. Returns the replies to a
        prefix of `calls`: it stops after a reply that ends the worker (time-out, death, nonsense) or once the
        replies have taken `seconds` in all, and the caller asks again for the rest. Requests are written
        without blocking, within the limit of the reply they wait for, so a worker that stops reading, shrinks
        its pipe or forges replies costs a time-out, never a hung grader. At most _PIPELINED bytes wait ahead,
        and none once the calls so far suggest that `seconds` will run out first: stopping for the budget then
        leaves no request unanswered, and the worker lives on for the other case.
        """
        startup = self.start()
        if not startup.ok or not calls:
            return [startup][:len(calls)]
        requests = [protocol.encode({"op": "call", "case": case}, arguments) for arguments in calls]
        replies: list[Reply] = []
        waiting: list[int] = []  # sizes of the requests sent and not answered yet
        started = time.monotonic()
        try:
            while len(replies) < len(calls):
                deadline = started + self.limits.call_seconds
                self._send_ahead(requests, len(replies), waiting, self._room(replies, waiting, seconds), deadline)
                reply = self._receive(deadline - time.monotonic(), "call", _reply_budget(calls[len(replies)]),
                                      self.limits.call_seconds)
                waiting.pop(0)
                replies.append(self._timed(reply, started))
                started = time.monotonic()
                if reply.kind in ("timeout", "died", "protocol") or sum(r.seconds for r in replies) >= seconds:
                    break
        except BrokenPipeError:
            replies.append(self._timed(self._died("call"), started))
        except TimeoutError:  # it stopped reading its requests
            replies.append(self._timed(_no_answer(self.limits.call_seconds, "call"), started))
        if waiting or replies[-1].kind in ("timeout", "died", "protocol"):
            self.stop()  # broken, or still busy with requests we no longer want answered
        return replies

    @staticmethod
    def _room(replies: list[Reply], waiting: list[int], seconds: float) -> int:
        """How many more requests may wait ahead: none before the first reply shows how long a call takes, nor
        when that many calls as slow as the slowest so far would take the rest of `seconds`."""
        if not replies:
            return 0
        spent = sum(r.seconds for r in replies)
        slowest = max((r.seconds for r in replies), default=0.0)
        room = 0
        while spent + (len(waiting) + room + 1) * slowest < seconds and room < len(waiting) + 64:
            room += 1
        return room

    def _send_ahead(self, requests: list[bytes], answered: int, waiting: list[int], room: int, deadline: float):
        """Write the next request if none waits (within the deadline), then more while they fit in _PIPELINED
        bytes and in `room`, and the pipe takes them at once: we never wait to send ahead, since the worker may
        itself be waiting for us to read its replies."""
        while answered + len(waiting) < len(requests):
            request = requests[answered + len(waiting)]
            if not waiting:
                if not self._write(request, deadline):
                    raise TimeoutError
            elif room <= 0 or sum(waiting) + len(request) > _PIPELINED or not self._write_now(request):
                return
            waiting.append(len(request))
            room -= 1

    def _write_now(self, payload: bytes) -> bool:
        """Write a whole small message if the pipe takes it now (a write of at most PIPE_BUF bytes is all or
        nothing), else write nothing."""
        if len(payload) > select.PIPE_BUF:
            return False
        try:
            return os.write(self._fds[0], payload) == len(payload)
        except BlockingIOError:
            return False

    def _write(self, payload: bytes, deadline: float) -> bool:
        """Write a whole message to the worker before the deadline (our end of the pipe does not block)."""
        view = memoryview(payload)
        while view:
            try:
                view = view[os.write(self._fds[0], view):]
                continue
            except BlockingIOError:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [self._fds[0]], [], remaining)[1]:
                return False
        return True

    def _timed(self, reply: Reply, started: float) -> Reply:
        """The reply with its seconds and the output printed before it was sent."""
        reply.seconds = time.monotonic() - started
        reply.output = self._take_output(reply.details.pop("printed", None))
        return reply

    def configure(self, limits: Limits, forbidden: tuple) -> None:
        """The limits and refused imports, once known; a worker forked before then is waiting for them."""
        self.limits, self.forbidden = limits, tuple(forbidden)
        if self._awaiting_settings and self._process is not None:
            self._awaiting_settings = False
            unspare(self._process.pid)
            self._spawned_at = time.monotonic()  # its import, and so the import's limit, starts now
            settings = {"op": "settings", "limits": dataclasses.asdict(limits), "forbidden": list(self.forbidden)}
            try:
                self._write(protocol.encode(settings), time.monotonic() + self.limits.import_seconds)
            except BrokenPipeError:
                pass  # it is gone: start() says how

    def start(self) -> Reply:
        """Start the worker if it is not running; the import's result (kept when import failed)."""
        if self._process is not None and self.startup is not None:
            return self.startup
        if self.startup is not None and not self.startup.ok:
            return self.startup
        if self.limits is None:
            raise GraderError("the worker was started before configure() gave it its limits")
        failure = self.spawn()
        if failure is not None:
            return failure
        left = self.limits.import_seconds - (time.monotonic() - self._spawned_at)  # the limit runs from the spawn
        confined = self._receive_confinement(max(left, 0.05))
        if confined is not None:
            self.stop()
            self.startup = confined
            return confined
        left = self.limits.import_seconds - (time.monotonic() - self._spawned_at)
        self.startup = self._receive(max(left, 0.05), "import", limit=self.limits.import_seconds)  # "within 10 s"
        self.startup.seconds = time.monotonic() - self._spawned_at
        self.startup.output = self._take_output()
        if not self.startup.ok:
            self.stop()
        return self.startup

    def spawn(self) -> Reply | None:
        """Start the worker process without waiting for its import, so that it imports while we work.

        Returns a failure Reply when the process could not even start, else None.
        """
        if self._process is not None:
            return None
        with _SPAWNING:  # end_all_workers, from another thread, waits for this worker to be known, then kills it
            if _LEAVING:
                return Reply(False, "died", "the grader is stopping")
            return self._spawn()

    def _spawn(self) -> Reply | None:
        """spawn(), once it may."""
        self._spawned_at = time.monotonic()
        self.startup = None
        workdir = self._workdir = self._private_copy()
        log_path = self._scratch / "output.log"
        log = open(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        requests, replies = os.pipe(), os.pipe()
        try:
            self._process = self._launch(requests[0], replies[1], log)
        except OSError as exc:  # e.g. the sandbox user's process limit is used up by leftovers
            for fd in (*requests, *replies):
                os.close(fd)
            log.close()
            shutil.rmtree(workdir, ignore_errors=True)
            return Reply(False, "died", f"the process for your code could not start ({exc.strerror})")
        os.close(requests[0]), os.close(replies[1]), log.close()
        self._namespaced = self._process.namespaced
        _LIVE.add(self._process.pid)
        if self._awaiting_settings:
            spare(self._process.pid)  # parked: no other worker's end may take it for a leftover and kill it
        self.first_start = self.first_start or ("fork" if isinstance(self._process, Forked) else "fresh python")
        prefer_for_the_oom_killer(self._process.pid)
        os.set_blocking(requests[1], False)  # see _write: a worker that stops reading must not block us
        self._fds = (requests[1], replies[0])
        self._log = open(log_path, "rb")
        return None

    def stop(self) -> None:
        """End the worker and everything it started or left.

        In a PID namespace of its own, killing the worker ends every process it started (the kernel kills the
        namespace with its first process), and its IPC objects and temporary folders were its namespaces' own.
        Elsewhere its user's processes are ended from a process of that user, and its IPC objects and files in
        the folders anyone may write are removed: the next worker of that user finds nothing of this one.
        """
        if self._process is None:
            return
        for fd in self._fds:
            os.close(fd)
        unspare(self._process.pid)
        kill_group(self._process.pid)
        self._process.wait()  # the first process of a PID namespace: the kernel has ended all of it by now
        _LIVE.discard(self._process.pid)
        if not self._namespaced:
            kill_descendants()  # what escaped its session, re-parented to us (a subreaper)
        self._log.close()
        shutil.rmtree(self._workdir, ignore_errors=True)
        if self.identity and not self._sealed:
            users.clear_leftovers(users.SandboxUser("", *self.identity), keep=(self._scratch,))
        self._process, self._fds, self._namespaced, self._sealed = None, None, False, False

    def close(self) -> None:
        """Stop the worker and remove its files."""
        self.stop()
        scratch.remove(self._scratch)

    def _receive(self, seconds: float, during: str, max_data: int = 0, limit: float | None = None) -> Reply:
        """Read one reply within `seconds` (at most max_data bytes of numbers); a time-out names `limit`, the
        whole limit of which `seconds` may be the rest."""
        message = self._receive_message(seconds, during, max_data, limit)
        if isinstance(message, Reply):
            return message
        return _reply_from(*message, 2 if during == "call" else 0)

    def _receive_confinement(self, seconds: float) -> Reply | None:
        """Read the report the worker sends before any student code runs (how it was confined); None when it
        came, else the failure. The first report is kept for the instructor."""
        message = self._receive_message(seconds, "start", limit=self.limits.import_seconds)
        if isinstance(message, Reply):
            return message
        header = message[0]
        if header.get("op") != "confined":
            raise GraderError(f"the worker could not be confined: {str(header.get('refused', header))[:300]}")
        self._sealed = self._namespaced and header.get("view") == view.NAMESPACES
        if self.isolation is None:
            self.isolation = {k: str(header.get(k, "")) for k in ("view", "network", "user")}
            self.isolation["processes"] = "namespace" if self._namespaced else "user"
        return None

    def _receive_message(self, seconds: float, during: str, max_data: int = 0,
                         limit: float | None = None) -> tuple[dict, list] | Reply:
        """One message (header, arrays) within `seconds`, its framing and sizes checked; else the failure."""
        deadline = time.monotonic() + seconds
        try:
            frame = self._read(protocol._FRAME.size, deadline)
            head_size, data_size = protocol._FRAME.unpack(frame)
            if head_size > protocol.MAX_HEADER or data_size > max_data:
                return Reply(False, "protocol", f"the worker sent an oversized message during the {during}")
            body = self._read(head_size + data_size, deadline)  # one read for both parts
            return protocol.decode(body[:head_size], body[head_size:])
        except TimeoutError:
            return _no_answer(limit or seconds, during)
        except EOFError:
            return self._died(during)
        except (ValueError, UnicodeDecodeError, RecursionError, MemoryError) as exc:  # forged frames included
            return Reply(False, "protocol", f"the worker sent malformed data during the {during}: "
                         f"{type(exc).__name__}"[:300])

    def _read(self, size: int, deadline: float) -> bytes:
        """Exactly size bytes from the worker before the deadline."""
        chunks, left = [], size
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._fds[1]], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(self._fds[1], min(left, 1 << 16))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _died(self, during: str) -> Reply:
        """The reply for a worker that closed its pipe: how it ended, in words."""
        code, how = None, "stopped"
        if self._process is not None:
            try:
                code = self._process.wait(timeout=1)
            except subprocess.TimeoutExpired:  # it closed its pipe but lives on: end it
                kill_group(self._process.pid)
                self._process.wait()
                how = "closed its connection to the grader, so it was stopped,"
        if code is not None and code < 0:
            how = f"was killed by signal {_signal_name(-code)}"
        elif code is not None:
            how = f"exited ({code})"
        return Reply(False, "died", f"the process running your code {how} during the {during}",
                     details={"returncode": code} if code is not None else {})

    def _take_output(self, upto: int | None = None) -> str:
        """What student code printed since the last call; up to the log offset `upto` when the reply gave it."""
        if not self._log:
            return ""
        size = self.limits.output_kb * 1024 + 1
        if upto is not None and upto >= self._log.tell():  # later calls may have printed already: not theirs
            size = min(size, upto - self._log.tell())
        return self._log.read(size).decode("utf-8", "replace")

    def _launch(self, fd_in: int, fd_out: int, log):
        """The worker process: from the zygote, forked from us (first spawn only), or a fresh Python; a Forked or
        a Popen, whose `namespaced` says whether it is the first process of a PID namespace of its own."""
        if self.zygote is not None and (process := self._from_zygote(fd_in, fd_out, log.fileno())) is not None:
            return process
        if self.fork:
            self.fork = False  # see __init__: only the first spawn comes early enough
            self._awaiting_settings = self.limits is None
            fresh = shadowing.fresh_modules(WORKER_SOURCE)
            return Forked.start(lambda: become_worker(fd_in, fd_out, self._workdir, log.fileno(), self._program,
                                                       self.identity, self.limits, self.forbidden, fresh,
                                                       self._mountpoint))
        with own_pid_namespace() as namespaced:
            process = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", WORKER_SOURCE,
                 *worker_arguments(fd_in, fd_out, self._program, self.limits, self.forbidden)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self._workdir,
                env=worker_environment(self._workdir), pass_fds=(fd_in, fd_out), start_new_session=True,
                preexec_fn=lambda: _before_exec(fd_out, self._workdir, self._mountpoint, self.identity, self.limits))
        process.namespaced = namespaced
        return process

    def _from_zygote(self, fd_in: int, fd_out: int, log: int):
        """A worker forked by the zygote, or None when the zygote has gone (a fresh Python is started instead)."""
        try:
            pid, namespaced = self.zygote.fork_worker((fd_in, fd_out, log), self._workdir, self._program,
                                                      self.identity, self.limits, self.forbidden, self._mountpoint)
        except OSError as exc:
            print(f"the zygote could not fork a worker ({exc}); starting a fresh Python", file=sys.stderr)
            self.zygote = None
            return None
        forked = Forked(pid)
        forked.namespaced = namespaced
        return forked

    @property
    def _program(self) -> Path:
        """The submission's file in the worker's private copy."""
        return self._workdir / self.source_file.name

    def _private_copy(self) -> Path:
        """A fresh copy of the submission's folder, owned by the worker's user; links copied as links."""
        # Inside our scratch folder, not at the top of /tmp: there, what the sandbox user owns is a leftover that
        # users.remove_files_of deletes (and another worker of ours, parked for the hidden phase, may be waiting).
        workdir = Path(tempfile.mkdtemp(prefix="work-", dir=self._scratch))
        shutil.copytree(self.source_file.parent, workdir, symlinks=True, dirs_exist_ok=True)
        os.chmod(workdir, 0o700)  # copytree gave it the submission folder's mode; it is the worker's alone
        given = PROVIDED_FORWARD
        if given.is_file() and not os.path.lexists(workdir / given.name):  # a link of that name counts: never followed
            shutil.copy(given, workdir / given.name)  # the kit's forward pass, which students may import
        if self.source_text is not None:
            target = workdir / self.source_file.name
            target.unlink(missing_ok=True)
            target.write_text(self.source_text, encoding="utf-8")
        if self.identity:
            for path in [workdir, *workdir.rglob("*")]:
                os.lchown(path, *self.identity)
        return workdir


def worker_arguments(fd_in: int, fd_out: int, program: Path, limits: Limits, forbidden: tuple) -> list[str]:
    """The worker's command-line arguments (worker.main): pipes, the file, refused imports, output budget."""
    return [str(fd_in), str(fd_out), str(program), ",".join(forbidden), str(limits.output_kb * 1024)]


def become_worker(fd_in: int, fd_out: int, workdir: Path, log: int, program: Path, identity,
                  limits: Limits | None, forbidden: tuple, fresh: frozenset | None, mountpoint: Path) -> None:
    """In a forked child, before any student code: what Popen and `python -I -B` do, in the same order, then the
    worker's loop. Without limits (forked before the configuration was read), it waits for them on its pipe."""
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    close_all_but((fd_in, fd_out))
    os.chdir(workdir)
    os.setsid()
    if limits is None:
        message = protocol.read_message(fd_in)
        if message is None:
            return  # the grader went away before it knew them
        settings = message[0]
        limits, forbidden = Limits(**settings["limits"]), tuple(settings["forbidden"])
    prefer_for_the_oom_killer(os.getpid())  # while its /proc files are still its own
    confine(fd_out, workdir, mountpoint, identity)
    apply_limits(limits, identity)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as a fresh Python: KeyboardInterrupt
    os.environ.clear()
    os.environ.update(worker_environment(workdir))
    sys.path[:] = isolated_path()
    sys.path_importer_cache.clear()
    shadowing.unshadow(workdir, fresh)  # the submission's own copy.py, say, is imported as in a fresh Python
    sys.dont_write_bytecode = True
    gc.enable()  # as in a fresh Python (the grader it was forked from may run without it: __main__)
    protocol.main(["worker", *worker_arguments(fd_in, fd_out, program, limits, forbidden)])


def prepare_confinement() -> None:
    """Work out now what each worker's confinement needs to know of this Python (its import path, the folders of
    its view, whether other users may run it), so that workers forked after this inherit it ready."""
    view.python_folders(isolated_path(), _PROJECT)
    _python_reachable_by_others()


def isolated_path() -> list[str]:
    """sys.path as `python -I` starts with it: the standard library, site-packages and what their .pth files add,
    never the grader's own folder. A forked worker drops the rest: the folder the grader was started from (in
    batch, wherever the instructor was, perhaps a folder anyone can write to), PYTHONPATH and the user's
    site-packages. Worked out once per import path (a zygote's workers inherit it: no .pth file read per worker)."""
    return list(_isolated_path(tuple(sys.path)))


@functools.cache
def _isolated_path(path: tuple[str, ...]) -> tuple[str, ...]:
    """isolated_path() of this import path."""
    import site
    import sysconfig

    library = os.path.dirname(os.__file__)  # the standard library's folder, also in a virtual environment
    standard = {sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    standard |= {library, os.path.join(library, "lib-dynload"), *site.getsitepackages()}
    standard |= _listed_in_pth_files(site.getsitepackages())
    archive = f"python{sys.version_info[0]}{sys.version_info[1]}.zip"
    return tuple(p for p in path if (p in standard or os.path.basename(p) == archive) and Path(p).resolve() != _PROJECT)


def _listed_in_pth_files(site_folders: list[str]) -> set[str]:
    """The folders that .pth files in site-packages add to the path, which `python -I` adds as well."""
    listed = set()
    for folder in site_folders:
        for pth in sorted(Path(folder).glob("*.pth")):
            try:
                lines = pth.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            listed |= {os.path.join(folder, line.rstrip()) for line in lines
                       if line.strip() and not line.startswith(("#", "import ", "import\t"))}
    return listed


def _before_exec(fd_out: int, workdir: Path, mountpoint: Path, identity, limits: Limits) -> None:
    """In a fresh worker's child, between fork and exec: confined, then limited (Popen's own user change would
    come too early: the namespaces need root)."""
    confine(fd_out, workdir, mountpoint, identity)
    apply_limits(limits, identity)


def confine(fd_out: int, workdir: Path, mountpoint: Path, identity) -> None:
    """In the worker's child, before any student code: its view and network (isolation/), then its user; the
    report of what held goes to the grader first thing on the reply pipe.

    Without a view, the sandbox user must be able to run our Python from where it lies (setup.sh's environment
    is); otherwise student code does not run at all: never as root, never with a broken interpreter. (The grader
    checks this before it starts, claim_identity; here it is checked again, in case the view failed only now.)"""
    seen, net = view.enter(workdir, mountpoint, isolated_path(), _PROJECT)
    if identity and seen == view.NONE and not _python_reachable_by_others():
        _report(fd_out, {"op": "refused", "refused": REFUSED.format(python=sys.executable)})
        os._exit(71)
    user = ""
    if identity:
        os.setgroups([])
        os.setgid(identity[1])
        os.setuid(identity[0])
        user = _user_name(identity[0])
    if net == view.NONE:
        net = network.refuse_internet()
    _report(fd_out, {"op": "confined", "view": seen, "network": net, "user": user})


def _report(fd_out: int, header: dict) -> None:
    """One message on the reply pipe (nothing else is written to it before)."""
    head = json.dumps(dict(header, shapes=[])).encode()  # protocol.encode without numpy, not loaded here yet
    payload = protocol._FRAME.pack(len(head), 0) + head
    while payload:
        payload = payload[os.write(fd_out, payload):]


def _user_name(uid: int) -> str:
    """The name of a user, or its number when it has none."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


@functools.cache
def _python_reachable_by_others() -> bool:
    """Whether another user can run this Python and import numpy from where they lie."""
    numpy_spec = importlib.util.find_spec("numpy")
    files = [Path(sys.executable)] + ([Path(numpy_spec.origin)] if numpy_spec and numpy_spec.origin else [])
    return all(_reachable_by_others(f) for f in files)


def apply_limits(limits: Limits, identity) -> None:
    """In the child, after the user change and before student code runs: the resource limits."""
    mem = limits.memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    out = limits.output_kb * 1024 + 4096
    resource.setrlimit(resource.RLIMIT_FSIZE, (out, out))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    if identity:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


_TEXT_FIELDS = {"traceback": 4000, "text": 300, "module": 100, "file": 300, "close": 100, "what": 100}
_LIST_FIELDS = ("forbidden", "modified", "names", "dtypes")
_NUMBER_FIELDS = ("line", "position", "count", "returncode", "printed")


def _reply_budget(arguments: tuple) -> int:
    """Bytes of numbers a reply to this call may carry: far more than two gradients, far less than memory."""
    z, t, W_kj, W_ji = arguments
    return 8 * 16 * (W_kj.size + W_ji.size) + 4096


def _signal_name(number: int) -> str:
    """SIGKILL for 9, or the number when it names no signal."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _reply_from(header: dict, arrays: list, expected: int) -> Reply:
    """A Reply from a worker header, keeping only known fields of the right types and sizes.

    Student code shares the worker's process and can write its own frames into the pipe, so nothing here is
    trusted: an "ok" reply to a call must carry exactly the two gradients, and every detail is type-checked and capped.
    """
    ok = header.get("ok") is True
    if ok and len(arrays) != expected:
        return Reply(False, "protocol", f"a reply claimed success with {len(arrays)} arrays instead of {expected}")
    kind = "" if ok else str(header.get("kind", ""))[:40]
    details: dict = {}
    for key, cap in _TEXT_FIELDS.items():
        if isinstance(header.get(key), str):
            details[key] = header[key][-cap:]
    for key in _LIST_FIELDS:
        value = header.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            details[key] = [v[:100] for v in value[:50]]
    for key in _NUMBER_FIELDS:
        if type(header.get(key)) is int:
            details[key] = header[key]
    return Reply(ok, kind, str(header.get("message", ""))[:2000], tuple(arrays) if ok else (), details)


def _reachable_by_others(path: Path) -> bool:
    """True when a user who is neither owner nor group can reach and read path (every folder searchable)."""
    path = path.resolve()
    if not path.stat().st_mode & 0o004:
        return False
    return all(folder.stat().st_mode & 0o001 for folder in path.parents)


def _no_answer(seconds: float, during: str) -> Reply:
    """The reply for a worker that did not answer (or stopped reading) within its limit."""
    return Reply(False, "timeout", f"no answer within {seconds:g} s during the {during}")

