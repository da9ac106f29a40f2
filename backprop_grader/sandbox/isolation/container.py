"""Gradescope's container, emulated on this machine for `simulate` (root only), so that what simulate reports is
what students meet rather than what this machine could give.

Gradescope runs every submission as root in a Docker container. Docker's defaults, as moby ships them:
- capabilities: the 14 of moby's daemon/pkg/oci/caps/defaults.go in the bounding, permitted and effective sets,
  none inheritable or ambient (moby's daemon/pkg/oci/defaults.go); no CAP_SYS_ADMIN;
- seccomp: moby's default profile, docker_seccomp_default.json beside this module, a verbatim copy of
  https://github.com/moby/profiles/blob/seccomp/v0.2.3/seccomp/default.json (moby/profiles seccomp v0.2.3, the
  version moby/moby vendors at docker v29.7.2, commit b985e2313a86). Docker filters it for the machine's
  architecture and the container's capabilities (moby/profiles seccomp_linux.go, setupSeccomp) and runc loads it
  before it drops capabilities, without no_new_privs (runc's standard_init_linux.go): so done here. Without
  CAP_SYS_ADMIN the profile refuses unshare, mount, setns, pivot_root and clone with namespace flags;
- PID, mount, IPC and UTS namespaces of its own, a fresh /proc, a private /tmp and /dev/shm; the network is up.

`python -m backprop_grader.sandbox.isolation.container [--report FD] ROOT CWD COMMAND...` runs COMMAND so, with ROOT
bound at /autograder in a private mount namespace, COMMAND's working folder CWD (a path inside the container),
and 768 MB of memory and one CPU where the machine's cgroups allow. The image is this machine's system folders
(/usr, /etc, /var, /opt, ...), shared with it as setup.sh on this machine always did: the emulation confines, it
does not install an Ubuntu 22.04. Other folders (home folders, the instructor's checkout) are not in it.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from . import namespaces as ns

MOUNTPOINT = "/autograder"
PROFILE = Path(__file__).with_name("docker_seccomp_default.json")
PROFILE_SOURCE = "moby/profiles seccomp v0.2.3 default.json (Docker's default seccomp profile)"
DOCKER_CAPABILITIES = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                       "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                       "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE")
_CAPABILITY_NUMBERS = {name: number for number, name in enumerate((
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"))}
_MOBY_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x",
              "riscv64": "riscv64"}  # uname's name -> the name moby's profile uses in includes/excludes
# The machine's folders an image has too (bound, writable by root as an image's are), and those an image has
# empty; any other top-level folder of this machine (home folders, checkouts, data) is not in the container.
_IMAGE_FOLDERS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "var", "opt", "root", "run",
                  "dev", "sys")
_EMPTY_FOLDERS = ("home", "mnt", "media", "srv", "proc", "tmp", MOUNTPOINT.strip("/"))
_CHECKOUT = Path(__file__).resolve().parents[3]  # the grader's own files, which Gradescope's container lacks
MEMORY_BYTES = 768 << 20
_CPU_PERIOD = 100_000  # one CPU: a quota of one period per period
_CLONE_NEWPID, _CLONE_NEWUTS = 0x20000000, 0x04000000
_PR_SET_PDEATHSIG, _PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 1, 24, 47, 4
_libc = ctypes.CDLL(None, use_errno=True)


def docker_rules(profile: dict, capabilities: tuple[str, ...], arch: str, kernel: tuple[int, int]) -> list[dict]:
    """The profile's rules that Docker keeps for a container with these capabilities on this architecture and
    kernel, as moby's setupSeccomp filters them: a rule is dropped when an excluded arch or capability is present
    or an excluded minimum kernel is met, or when an included arch, capability or minimum kernel is missing."""
    kept = []
    for rule in profile["syscalls"]:
        excludes, includes = rule.get("excludes") or {}, rule.get("includes") or {}
        if arch in excludes.get("arches", ()) or set(excludes.get("caps", ())) & set(capabilities):
            continue
        if "minKernel" in excludes and kernel >= _version(excludes["minKernel"]):
            continue
        if includes.get("arches") and arch not in includes["arches"]:
            continue
        if not set(includes.get("caps", ())) <= set(capabilities):
            continue
        if "minKernel" in includes and kernel < _version(includes["minKernel"]):
            continue
        kept.append(rule)
    return kept


def _version(text: str) -> tuple[int, int]:
    """(major, minor) of a kernel version such as "4.8" or "6.18.44-fc"."""
    parts = [int("".join(c for c in part if c.isdigit()) or 0) for part in text.split(".")[:2]]
    return (parts + [0])[0], (parts + [0, 0])[1]


def docker_seccomp(capabilities: tuple[str, ...] = DOCKER_CAPABILITIES):
    """Docker's default profile as a libseccomp filter, not loaded yet (filter.load() does, as runc does: with
    CAP_SYS_ADMIN still held, so without no_new_privs); names unknown to libseccomp are skipped, as runc does."""
    import pyseccomp as seccomp

    profile = json.loads(PROFILE.read_text())
    arch = _MOBY_ARCH.get(os.uname().machine, os.uname().machine)
    default_errno = profile.get("defaultErrnoRet") or errno.EPERM
    rules = seccomp.SyscallFilter(defaction=seccomp.ERRNO(default_errno))
    rules.set_attr(seccomp.Attr.CTL_NNP, 0)
    for entry in profile.get("archMap", ()):
        if entry["architecture"] == _seccomp_arch_name(arch):
            for sub in entry.get("subArchitectures", ()):
                _add_arch(rules, seccomp, sub)
    for rule in docker_rules(profile, capabilities, arch, _version(os.uname().release)):
        action = _action(seccomp, rule, default_errno)
        conditions = [_condition(seccomp, arg) for arg in rule.get("args") or ()]
        for name in rule["names"]:
            try:
                rules.add_rule(action, name, *conditions)
            except (ValueError, RuntimeError, OSError):  # unknown to this libseccomp or this architecture
                continue
    return rules


def _seccomp_arch_name(arch: str) -> str:
    """The profile's archMap name of the native architecture."""
    return {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64"}.get(arch, "SCMP_ARCH_" + arch.upper())


def _add_arch(rules, seccomp, name: str) -> None:
    """Add a sub-architecture (x86 and x32 beside x86_64), as Docker does, where libseccomp knows it."""
    arch = getattr(seccomp.Arch, name.removeprefix("SCMP_ARCH_"), None)
    if arch is None:
        return
    try:
        rules.add_arch(arch)
    except (RuntimeError, OSError, ValueError):  # already present, or unsupported here
        pass


def _action(seccomp, rule: dict, default_errno: int) -> int:
    """The libseccomp action of a profile rule (the default profile uses ALLOW and ERRNO only)."""
    if rule["action"] == "SCMP_ACT_ALLOW":
        return seccomp.ALLOW
    if rule["action"] == "SCMP_ACT_ERRNO":
        return seccomp.ERRNO(rule.get("errnoRet") or default_errno)
    raise ValueError(f"seccomp action {rule['action']} is not emulated")


def _condition(seccomp, arg: dict):
    """A libseccomp argument condition from the profile's (OCI's) form: for MASKED_EQ, value is the mask."""
    op = getattr(seccomp, arg["op"].removeprefix("SCMP_CMP_"))
    return seccomp.Arg(arg["index"], op, arg["value"], arg.get("valueTwo", 0))


def capability_mask(names: tuple[str, ...]) -> int:
    """The bit mask of capabilities by name."""
    return sum(1 << _CAPABILITY_NUMBERS[name] for name in names)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def keep_only_capabilities(names: tuple[str, ...] = DOCKER_CAPABILITIES) -> None:
    """Drop every other capability from the bounding set (so that no exec regains it), clear the ambient set,
    and set permitted = effective = these, inheritable none: Docker's root."""
    keep = capability_mask(names)
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for number in range(last + 1):
        if not keep >> number & 1:
            _prctl(_PR_CAPBSET_DROP, number, "drop from the bounding set")
    _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, "clear the ambient set")
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set
    data = (_CapData * 2)()
    for word in (0, 1):
        bits = keep >> (32 * word) & 0xFFFFFFFF
        data[word].effective, data[word].permitted, data[word].inheritable = bits, bits, 0
    if _libc.capset(ctypes.byref(header), ctypes.byref(data)) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def _prctl(option: int, value: int, what: str) -> None:
    """prctl(2) with one argument, raising OSError on failure."""
    if _libc.prctl(ctypes.c_int(option), ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0),
                   ctypes.c_ulong(0)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"prctl: {what}: {os.strerror(code)}")


def _limit_resources(name: str) -> list[str]:
    """Join new cgroups (nested in this process's own, never beside it) holding 768 MB of memory and one CPU,
    where the machine's cgroups allow; return what held, in words."""
    held = []
    for controller, files, words in (
            ("memory", {"memory.limit_in_bytes": MEMORY_BYTES}, f"{MEMORY_BYTES >> 20} MB of memory"),
            ("cpu", {"cpu.cfs_period_us": _CPU_PERIOD, "cpu.cfs_quota_us": _CPU_PERIOD}, "one CPU"),
            ("", {"memory.max": MEMORY_BYTES, "cpu.max": f"{_CPU_PERIOD} {_CPU_PERIOD}"}, "768 MB and one CPU")):
        folder = cgroup_folder(controller, name)
        if folder is None:
            continue
        try:
            folder.mkdir()
            for file, value in files.items():
                (folder / file).write_text(str(value))
            (folder / "cgroup.procs").write_text("0")
            held.append(words)
        except OSError:
            continue
    return held


def cgroup_folder(controller: str, name: str, handed: frozenset = frozenset({"memory", "cpu"})) -> Path | None:
    """Where a cgroup of ours goes for a v1 controller ("" for the unified v2 tree): below our own cgroup; in
    the v2 tree only where ours hands its children the `handed` controllers."""
    base = Path("/sys/fs/cgroup") / (controller or ("unified" if os.path.isdir("/sys/fs/cgroup/unified") else ""))
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (controller and controller in controllers.split(",")) or (not controller and controllers == ""):
            folder = base / path.lstrip("/")
            if (folder / "cgroup.procs").exists() and (controller or _v2_hands(folder, handed)):
                return folder / name
    return None


def _v2_hands(folder: Path, controllers: frozenset) -> bool:
    """Whether a v2 cgroup hands these controllers to its children."""
    try:
        return controllers <= set((folder / "cgroup.subtree_control").read_text().split())
    except OSError:
        return False


def _remove_cgroups(folders: list[Path | None]) -> None:
    """Remove the cgroups _limit_resources made (empty once the PID namespace has ended)."""
    for folder in folders:
        if folder is not None and folder.is_dir():
            try:
                folder.rmdir()
            except OSError:
                pass


def _build_root(new_root: str, root: Path, scratch: Path) -> None:
    """The container's file system, as an image's: the machine's system folders (the image's own, in effect),
    ROOT at /autograder, a fresh /proc for the new PID namespace, a private /tmp and /var/tmp (on disk, as the
    image's are) and /dev/shm (64 MB in memory, as Docker's), and none of the rest: no home folders, no instructor's
    checkout (Gradescope has none), nothing else this machine keeps outside its system folders."""
    ns.mount(None, "/", None, ns.MS_REC | ns.MS_PRIVATE)
    ns.mount("tmpfs", new_root, "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, "size=1m,mode=755")
    for name in _IMAGE_FOLDERS:
        host = "/" + name
        if os.path.islink(host):
            os.symlink(os.readlink(host), new_root + host)
        elif os.path.isdir(host):
            os.mkdir(new_root + host, 0o755)
            ns.mount(host, new_root + host, None, ns.MS_BIND | ns.MS_REC)
    for name in _EMPTY_FOLDERS:
        os.makedirs(new_root + "/" + name, mode=0o755, exist_ok=True)
    checkout = str(_CHECKOUT)
    if any(checkout.startswith(f"/{name}/") for name in _IMAGE_FOLDERS) and os.path.isdir(new_root + checkout):
        ns.mount("tmpfs", new_root + checkout, "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, "size=4k,mode=755")
    ns.mount(str(root), new_root + MOUNTPOINT, None, ns.MS_BIND | ns.MS_REC)
    ns.mount("proc", new_root + "/proc", "proc", ns.MS_NOSUID | ns.MS_NODEV | ns.MS_NOEXEC)
    for folder in ("/tmp", "/var/tmp"):
        if os.path.isdir(new_root + folder) and not os.path.islink(new_root + folder):
            ns.mount(str(scratch), new_root + folder, None, ns.MS_BIND)
    if os.path.isdir(new_root + "/dev/shm"):
        ns.mount("shm", new_root + "/dev/shm", "tmpfs", ns.MS_NOSUID | ns.MS_NODEV | ns.MS_NOEXEC,
                 "size=64m,mode=1777")
    os.mkdir(new_root + "/.old")
    ns.pivot_root(new_root, new_root + "/.old")
    os.chdir("/")
    ns.umount("/.old", ns.MNT_DETACH)
    os.rmdir("/.old")


def _inside(root: Path, cwd: str, command: list[str], work: Path, name: str, report: int | None) -> None:
    """PID 1 of the container: limits, file system, then Docker's seccomp profile, then Docker's capabilities,
    then exec (in runc's order: the filter is loaded while CAP_SYS_ADMIN still allows it without no_new_privs)."""
    _prctl(_PR_SET_PDEATHSIG, 9, "die with the launcher")
    ns.unshare(ns.CLONE_NEWNS | ns.CLONE_NEWIPC | _CLONE_NEWUTS)  # the launcher keeps the machine's /proc
    limits = _limit_resources(name)
    rules = docker_seccomp()  # built before the checkout (and this Python's libseccomp binding) is out of sight
    _build_root(str(work / "root"), root, work / "tmp")
    rules.load()
    keep_only_capabilities()
    os.chdir(cwd)
    os.setsid()  # the container's first process leads its own session, as runc's does (nsexec.c, stage 2): groups
    # inside it are then the container's own, not (seen as 0 from inside) the launcher's on this machine
    if report is not None:
        os.write(report, json.dumps({"limits": limits}).encode() + b"\n")
        os.close(report)
    os.execvp(command[0], command)


def run(root: Path, cwd: str, command: list[str], report: int | None = None) -> int:
    """Run command in the emulated container; its exit status (125: the container could not be made)."""
    name = f"backprop-container-{os.getpid()}"
    cgroups = [cgroup_folder(controller, name) for controller in ("memory", "cpu", "")]
    work = Path(tempfile.mkdtemp(prefix="backprop-container-"))  # 0700: the new root's mount point, and /tmp
    (work / "root").mkdir()
    (work / "tmp").mkdir()
    os.chmod(work / "tmp", 0o1777)
    try:
        ns.unshare(_CLONE_NEWPID)  # for the child: it is PID 1 of the container
        pid = os.fork()
        if pid == 0:
            try:
                _inside(root, cwd, command, work, name, report)
            except (OSError, ValueError, RuntimeError, ImportError) as exc:
                print(f"the emulated container could not be made: {exc}", file=sys.stderr)
            os._exit(125)
        if report is not None:
            os.close(report)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status) % 256
    except OSError as exc:
        print(f"the emulated container could not be made: {exc}", file=sys.stderr)
        return 125
    finally:
        _remove_cgroups(cgroups)
        _remove_tree(work)


def _remove_tree(folder: Path) -> None:
    """Remove the container's work folder: its root's mount point and its /tmp (what the grader and student code
    left there), never following a link."""
    shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    """`[--report FD] ROOT CWD COMMAND...`: a bad command line is one line and exit 2."""
    report = None
    if argv[:1] == ["--report"] and len(argv) > 1 and argv[1].isdigit():
        report, argv = int(argv[1]), argv[2:]
    if len(argv) < 3 or not os.path.isdir(argv[0]):
        print("usage: python -m backprop_grader.sandbox.isolation.container [--report FD] ROOT CWD COMMAND...",
              file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("the emulated container needs root (namespaces, mounts, cgroups, dropping capabilities)",
              file=sys.stderr)
        return 125
    return run(Path(argv[0]).resolve(), argv[1], argv[2:], report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
