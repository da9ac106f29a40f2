"""The file-system view of a worker: its own folder, a private /tmp and the Python runtime, nothing else.

Built in the worker's child process before any student code runs, with mount and network namespaces of its own
(as root; as a normal user inside a user namespace of its own, where the machine allows one): a small tmpfs
becomes the new root, the system folders and the Python installation are bound into it read-only at their own
paths, the worker's folder read-write, and pivot_root leaves the rest of the machine (the checkout, the
reference, other submissions, /tmp, /home) out of reach. The new network namespace has no interface but a
loopback that is down, so nothing can be reached, 127.0.0.1 included. This is what bubblewrap does; it is done
here in the process itself because the grader forks its workers (bubblewrap can only start a new program).
"""

from __future__ import annotations

import functools
import os
import site
import sys
from pathlib import Path

from . import namespaces as ns

NONE = "none"
NAMESPACES = "namespaces"
OFF_SWITCH = "BACKPROP_SANDBOX_VIEW"  # "off": no namespaces, to test (or reproduce) a container that refuses them
_SYSTEM = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "passwd", "group",
        "fonts")  # fonts: matplotlib (fontconfig) complains on every plot without its configuration
_DEVICES = ("null", "zero", "full", "random", "urandom")
_TMP_SIZE = "size=64m,nr_inodes=16384,mode=1777"  # a private /tmp: in memory, gone with the worker
_RO = ns.MS_BIND | ns.MS_REMOUNT | ns.MS_RDONLY | ns.MS_NOSUID | ns.MS_NODEV


def enter(workdir: Path, mountpoint: Path, runtime: list[str], project: Path) -> tuple[str, str]:
    """Confine this process: (view, network), each the name of what held ("namespaces"/"namespace" or "none").

    mountpoint: an empty folder of the grader's that becomes the new root (in our namespace only); runtime: the
    folders Python imports from (its import path as `python -I` has it), bound read-only. Any failure
    leaves the process as it was or in private namespaces that hide nothing; the caller then falls back to the
    separate user and locked files, and to a seccomp filter for the network.
    """
    if os.environ.get(OFF_SWITCH) == "off":
        return NONE, NONE  # as in a container that refuses namespaces: the separate user and seccomp only
    uid, gid = os.getuid(), os.getgid()
    flags = ns.CLONE_NEWNS | ns.CLONE_NEWNET | ns.CLONE_NEWIPC
    try:
        if uid == 0:
            ns.unshare(flags)
        else:
            ns.unshare(flags | ns.CLONE_NEWUSER)
            _map_self(uid, gid)
    except OSError:
        return NONE, NONE
    try:
        _build(workdir, mountpoint, python_folders(runtime, project), as_root=uid == 0)
    except OSError:
        return NONE, "namespace"
    return NAMESPACES, "namespace"


def _map_self(uid: int, gid: int) -> None:
    """In a new user namespace: our own uid and gid keep their meaning (files stay ours, no one else's)."""
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def _build(workdir: Path, mountpoint: Path, runtime: list[str], *, as_root: bool) -> None:
    """Mount the view on mountpoint and make it our root: the private folders first, so that a runtime folder
    under /tmp (a virtual environment there, say) is bound on top of the private /tmp, not hidden by it."""
    ns.mount(None, "/", None, ns.MS_REC | ns.MS_PRIVATE)
    root = str(mountpoint)
    ns.mount("tmpfs", root, "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, "size=4m,nr_inodes=4096,mode=755")
    _devices(root)
    _make(root + "/tmp")
    ns.mount("tmpfs", root + "/tmp", "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, _TMP_SIZE)
    os.symlink("/tmp", root + "/var/tmp") if _make(root + "/var") else None
    for name in _SYSTEM:
        host = "/" + name
        if os.path.islink(host):
            os.symlink(os.readlink(host), root + host)
        elif os.path.isdir(host):
            _bind(host, root)
    for folder in runtime:
        if not any(_within(folder, "/" + name) for name in _SYSTEM):
            _bind(folder, root)
    for name in _ETC:
        if os.path.exists("/etc/" + name):
            _bind("/etc/" + name, root)
    _bind(str(workdir), root, writable=True)
    _proc(root, as_root)
    os.mkdir(root + "/.old")
    ns.pivot_root(root, root + "/.old")
    os.chdir("/")
    ns.umount("/.old", ns.MNT_DETACH)
    os.rmdir("/.old")
    ns.mount(None, "/", None, ns.MS_REMOUNT | ns.MS_RDONLY | ns.MS_NOSUID | ns.MS_NODEV)
    os.chdir(workdir)
    if not as_root:
        ns.drop_capabilities()


def python_folders(runtime: list[str], project: Path) -> list[str]:
    """The folders the Python runtime needs: its installation, the virtual environment and the import path,
    never the project checkout, a folder that holds it, or a folder anyone may write to (/tmp, say). Worked out
    once per runtime (a zygote's workers inherit it)."""
    return list(_python_folders(tuple(runtime), str(project)))


@functools.cache
def _python_folders(runtime: tuple[str, ...], project: str) -> tuple[str, ...]:
    """python_folders() of this runtime and checkout."""
    candidates = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
                  os.path.dirname(os.path.realpath(sys.executable)), *site.getsitepackages(), *runtime}
    project_path = os.path.realpath(project)
    kept = []
    for folder in sorted(candidates, key=len):
        real = os.path.realpath(folder)
        if real == project_path or _within(project_path, real) or not os.path.isdir(folder):
            continue  # the checkout, or a folder that holds it
        if real == "/" or os.stat(real).st_mode & 0o002:
            continue  # shared by everyone: what other runs leave there is not the worker's to see
        if _within(real, project_path) and not _within(real, os.path.realpath(sys.prefix)):
            continue  # inside the checkout but not its virtual environment (the grader's own code)
        if not any(_within(folder, k) for k in kept):
            kept.append(folder)
    return tuple(kept)


def _within(path: str, folder: str) -> bool:
    """True when path is folder or below it."""
    folder = folder.rstrip("/") or "/"
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _make(path: str) -> bool:
    """mkdir -p with mode 755 (our tmpfs root only); True if it now exists as a folder."""
    os.makedirs(path, mode=0o755, exist_ok=True)
    return os.path.isdir(path)


def _bind(host: str, root: str, *, writable: bool = False) -> None:
    """Bind a host folder or file at the same path in the view, read-only unless writable."""
    target = root + host
    if os.path.isdir(host):
        _make(target)
    else:
        _make(os.path.dirname(target))
        open(target, "a").close()
    ns.mount(host, target, None, ns.MS_BIND | ns.MS_REC)
    if not writable:
        ns.mount(None, target, None, _RO | _locked_flags(host))


def _locked_flags(path: str) -> int:
    """The flags of the mount a bind comes from that a user namespace may not clear (noexec, nodev, nosuid)."""
    flags = os.statvfs(path).f_flag
    return (ns.MS_NOEXEC if flags & os.ST_NOEXEC else 0) | (ns.MS_NODEV if flags & os.ST_NODEV else 0) | (
        ns.MS_NOSUID if flags & os.ST_NOSUID else 0)


def _devices(root: str) -> None:
    """A /dev with the harmless devices only, and a private /dev/shm."""
    _make(root + "/dev")
    ns.mount("tmpfs", root + "/dev", "tmpfs", ns.MS_NOSUID, "size=64k,mode=755")
    for name in _DEVICES:
        open(root + "/dev/" + name, "a").close()
        ns.mount("/dev/" + name, root + "/dev/" + name, None, ns.MS_BIND)
    _make(root + "/dev/shm")
    ns.mount("tmpfs", root + "/dev/shm", "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, "size=16m,mode=1777")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, root + "/dev/" + name)


def _proc(root: str, as_root: bool) -> None:
    """A /proc that shows the worker's own processes only (hidepid), where a new one can be mounted (as root);
    else none: the host's would show every process on the machine."""
    _make(root + "/proc")
    if as_root:
        try:
            ns.mount("proc", root + "/proc", "proc", ns.MS_NOSUID | ns.MS_NODEV | ns.MS_NOEXEC, "hidepid=2")
        except OSError:
            pass


def probe(runtime: list[str], project: Path) -> str:
    """Whether this machine lets a worker have its view, tried in a throw-away child: "namespaces" or "none".
    For what batch says before it grades; each worker still reports what held for it."""
    import tempfile

    mountpoint = Path(tempfile.mkdtemp(prefix="backprop-probe-"))
    workdir = Path(tempfile.mkdtemp(prefix="backprop-probe-"))
    try:
        pid = os.fork()
        if pid == 0:
            try:
                code = 0 if enter(workdir, mountpoint, runtime, project)[0] == NAMESPACES else 1
            except BaseException:
                code = 2
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        return NAMESPACES if os.waitstatus_to_exitcode(status) == 0 else NONE
    finally:
        os.rmdir(mountpoint)
        os.rmdir(workdir)
