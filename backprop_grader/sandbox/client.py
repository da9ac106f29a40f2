"""The grader's side of a worker: start it, talk to it, end it.

The worker gets a private copy of the submission and is confined before any student code runs (confinement.py:
an empty environment, resource limits, a file-system view of its own folder and the Python runtime only, no
network, and, when the grader runs as root, an unprivileged user claimed for this run alone). Every answer is read
with a wall-clock deadline and checked for size and form (replies.py); a worker that times out, dies or talks
nonsense is ended with every process it started, and the next call starts a fresh one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..config import PROJECT_ROOT
from ..errors import GraderError
from . import import_guard, scratch, shadowing
from . import worker as protocol
from .confinement import Limits, become_worker, before_exec, worker_arguments
from .isolation import users, view
from .policy import worker_environment
from .processes import (
    Forked,
    become_subreaper,
    kill_descendants,
    kill_group,
    own_pid_namespace,
    prefer_for_the_oom_killer,
    spare,
    unspare,
)
from .replies import Reply, no_answer, reply_budget, reply_from

PROVIDED_FORWARD = PROJECT_ROOT / "student_template" / "forward.py"
# The worker's program, as `python -I -B -c` runs it: the import guard's source, then the worker's.
WORKER_SOURCE = "\n\n".join(Path(m.__file__).read_text(encoding="utf-8") for m in (import_guard, protocol))
# Bytes of requests that may wait in the pipe to the worker: one page, the least a pipe can hold (student code
# may shrink it with fcntl), so that the worker's pipe normally has room for them.
_PIPELINED = 4096
# Python's thread switch interval while a thread imports beside the workers' pipes (importing_meanwhile): a reply
# that arrives waits at most this long for the interpreter (the default, 5 ms, is ten times as long).
_SWITCH_MEANWHILE = 0.0005


_LIVE: set[int] = set()  # pids of this process's workers that may still run (end_all_workers)
_IMPORTING: list[threading.Thread] = []  # threads importing modules meanwhile (importing_meanwhile)
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


@contextlib.contextmanager
def importing_meanwhile(*modules: str):
    """Import modules in a thread of their own while the caller goes on with its workers: talking to a worker
    mostly waits on its pipe, an import mostly computes, so the two overlap. A worker started meanwhile waits for
    the imports to end first (spawn): a fork while another thread imports could leave the child holding an import
    lock. A failed import is left for the caller's own import of the module to raise."""
    def load():
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # the caller's own import raises it again, where it is handled
                return

    loader = threading.Thread(target=load, name="importing meanwhile", daemon=True)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(_SWITCH_MEANWHILE)
    _IMPORTING.append(loader)
    loader.start()
    try:
        yield
    finally:
        loader.join()
        _IMPORTING.remove(loader)
        sys.setswitchinterval(interval)


def vouch_for_users() -> list[str]:
    """At a run's clean end: once no worker of this process may still run, vouch for the sandbox users it holds
    whose workers were all sealed (isolation/users.vouch), sparing the next run that claims one its search for
    leftovers. The names vouched for."""
    with _SPAWNING:
        return [] if _LIVE else users.vouch()


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
        self._released_early = False  # given its limits while its predecessor still ran (_release_successor)
        self.first_start: str | None = None  # how the first worker that started was started: "fork" or "fresh python"
        self._process = None
        self._namespaced = False  # the process is the first of a PID namespace of its own (_launch)
        self._sealed = False  # ... and has a view of its own: nothing of it can outlive it (_receive_confinement)
        self._fds = None
        self._spawned_at = 0.0
        self.startup: Reply | None = None
        self.isolation: dict | None = None  # how the first worker was confined, as it reported before student code
        self.successor: Worker | None = None  # the hidden phase's, parked until we are sealed and imported
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
                reply = self._receive(deadline - time.monotonic(), "call", reply_budget(calls[len(replies)]),
                                      self.limits.call_seconds)
                waiting.pop(0)
                replies.append(self._timed(reply, started))
                started = time.monotonic()
                if reply.kind in ("timeout", "died", "protocol") or sum(r.seconds for r in replies) >= seconds:
                    break
        except BrokenPipeError:
            replies.append(self._timed(self._died("call"), started))
        except TimeoutError:  # it stopped reading its requests
            replies.append(self._timed(no_answer(self.limits.call_seconds, "call"), started))
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
        slowest = max(r.seconds for r in replies)
        most = len(waiting) + 64
        if slowest <= 0:
            return most if spent < seconds else 0
        # the most r (up to `most`) with spent + (waiting + r) × slowest < seconds: estimated, then made exact
        room = int(min(most, max(0.0, (seconds - spent) / slowest - len(waiting))))  # (seconds may be infinite)
        while room > 0 and not spent + (len(waiting) + room) * slowest < seconds:
            room -= 1
        while room < most and spent + (len(waiting) + room + 1) * slowest < seconds:
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
        if self.startup.ok:
            if self._sealed:
                self._release_successor()  # once our import is done: its import's processes never cost ours
            return self.startup
        self.stop()
        if self._released_early:  # it imported beside its predecessor (sharing the user's process limit):
            self._released_early, self.startup = False, None  # once more, alone, as it would have been
            return self.start()
        return self.startup

    def spawn(self) -> Reply | None:
        """Start the worker process without waiting for its import, so that it imports while we work.

        Returns a failure Reply when the process could not even start, else None.
        """
        if self._process is not None:
            return None
        for thread in list(_IMPORTING):
            thread.join()
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
        if not self._namespaced or (self.identity and not self._sealed):
            self._recall_successor()  # our sweeps below would reach it
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
            users.doubt(self.identity[0])
            users.clear_leftovers(users.SandboxUser("", *self.identity), keep=(self._scratch,))
        self._process, self._fds, self._namespaced, self._sealed = None, None, False, False

    def _release_successor(self) -> None:
        """Give the parked successor its limits now, while we still run: it confines itself and imports the
        submission meanwhile, off the grading's path. Only once we are sealed and it has a PID namespace of its
        own: nothing of our end (no sweep of the user's processes or the grader's descendants) can reach it then,
        and each is closed to the other (its own view, network and processes). It is asked no network before we
        are ended with all we started, so whatever it does meanwhile knows nothing hidden. Only after our own
        import: the two share the user's process limit, and a submission that starts processes as it is
        imported must never fail ours for it (the successor's failed start is tried again alone: start)."""
        successor = self.successor
        if successor is not None and successor._awaiting_settings and successor._namespaced:
            successor.configure(self.limits, self.forbidden)
            successor._released_early = True

    def _recall_successor(self) -> None:
        """End a successor released early before our end sweeps (a restart of ours was not sealed after all):
        the sweep would end it unseen. It starts again, a fresh Python, when the hidden phase asks for it."""
        successor = self.successor
        if successor is not None and successor._released_early and successor._process is not None:
            successor.stop()

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
        return reply_from(*message, 2 if during == "call" else 0)

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
            self.isolation = {k: str(header.get(k, "")) for k in ("view", "network", "user", "keyrings")}
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
            return no_answer(limit or seconds, during)
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
                preexec_fn=lambda: before_exec(fd_out, self._workdir, self._mountpoint, self.identity, self.limits))
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


def _signal_name(number: int) -> str:
    """SIGKILL for 9, or the number when it names no signal."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


