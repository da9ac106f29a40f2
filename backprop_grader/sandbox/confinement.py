"""The child's confinement: what a worker process does to itself, before any student code runs, to become the
worker (SPEC section 5).

In the child of a fork (a fresh worker's, between fork and exec; a forked worker's, before it runs the worker's
loop): its own file-system view and no network (isolation/), then an unprivileged user claimed for this run
alone when the grader runs as root, then the resource limits of autograder.toml's [limits]; a forked worker also
takes the environment, import path and signal handlers a fresh `python -I -B` would have. What held is reported
to the grader first thing on the reply pipe.
"""

from __future__ import annotations

import functools
import gc
import importlib.util
import json
import os
import pwd
import resource
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from ..config import PROJECT_ROOT
from ..errors import GraderError
from . import shadowing
from . import worker as protocol
from .isolation import keyrings, network, seccomp, users, view
from .policy import worker_environment
from .processes import close_all_but, prefer_for_the_oom_killer

SANDBOX_USER = "backprop-student"
REFUSED = ("student code never runs as root, and the sandbox user cannot run the Python {python} (it lies where "
           "other users cannot read, and this machine refuses the mount namespace that would show it): grade with "
           "the environment setup.sh makes, or with a Python that other users can read")


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
    if not _python_reachable_by_others() and view.probe(isolated_path(), PROJECT_ROOT) == view.NONE:
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
    keys = "" if state.get("keyrings") != keyrings.NONE else (
        " The kernel's keyrings were not refused (no libseccomp): a worker could leave a key there for the next "
        "submission graded as the same user.")
    return f"Student code ran {who}, in a separate process with limits{ended}, with {seen}, and {net}.{reduced}{keys}"


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
    its view, whether other users may run it, libseccomp loaded), so that workers forked after this inherit it ready."""
    view.python_folders(isolated_path(), PROJECT_ROOT)
    _python_reachable_by_others()
    seccomp.prepare()


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
    return tuple(p for p in path
                 if (p in standard or os.path.basename(p) == archive) and Path(p).resolve() != PROJECT_ROOT)


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


def before_exec(fd_out: int, workdir: Path, mountpoint: Path, identity, limits: Limits) -> None:
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
    seen, net = view.enter(workdir, mountpoint, isolated_path(), PROJECT_ROOT)
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
    keys = keyrings.refuse_keyrings()  # the user's keyrings outlive the worker and reach the next submission
    _report(fd_out, {"op": "confined", "view": seen, "network": net, "user": user, "keyrings": keys})


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


def _reachable_by_others(path: Path) -> bool:
    """True when a user who is neither owner nor group can reach and read path (every folder searchable)."""
    path = path.resolve()
    if not path.stat().st_mode & 0o004:
        return False
    return all(folder.stat().st_mode & 0o001 for folder in path.parents)
