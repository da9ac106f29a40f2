"""What `simulate` needs to give Gradescope's conditions rather than this machine's: whether the emulated container
(isolation/container.py) can be had here and why not, the command that starts something in it, Gradescope's
harness's handling of the root folder before each run, and the one line per run that says which confinement held.

Gradescope's harness (its documentation and published copies of it): before each run it deletes and recreates
/autograder/results and /autograder/submission (mode 0755), puts the student's files in submission/, writes
submission_metadata.json beside it, and runs ./run_autograder from /autograder with stdout and stderr into
results/stdout. All of it as root, in the container.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..config import PROJECT_ROOT
from ..sandbox.isolation import view
from .discovery import Caps, configured_caps, unpack_into

EMULATED = ("{name}: student code ran {how}. Gradescope's container, emulated here (Docker's default "
            "capabilities and seccomp profile, a PID namespace{limits}), gives this: it is what students meet.")
HOST = ("{name}: student code ran {how}, on this machine (--host). Gradescope's container refuses the namespaces "
        "this machine allows: run simulate without --host to see what students meet.")
NOT_EMULATED = ("{name}: student code ran {how}, on this machine: Gradescope's container could not be emulated "
                "({why}), so students may meet less than this.")
NOT_ROOT = "not root: the emulation makes namespaces, binds /autograder and drops to Docker's capabilities as root"
_LAUNCHER = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
             "from backprop_grader.sandbox.isolation.container import main; sys.exit(main(sys.argv[1:]))")


def prefix(report_fd: int | None = None) -> list[str]:
    """The arguments that run a command in the emulated container (ROOT, CWD and the command follow)."""
    report = ["--report", str(report_fd)] if report_fd is not None else []
    return [sys.executable, "-I", "-c", _LAUNCHER, str(PROJECT_ROOT), *report]


@functools.lru_cache(maxsize=1)
def unavailable() -> str:
    """Why Gradescope's container cannot be emulated here, in a few words; "" when it can (tried once)."""
    if os.geteuid() != 0:
        return NOT_ROOT
    empty = Path(tempfile.mkdtemp(prefix="backprop-container-probe-"))
    try:
        done = subprocess.run([*prefix(), str(empty), "/autograder", "true"], capture_output=True, text=True,
                              timeout=60, env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"its launcher did not run: {exc}"
    finally:
        shutil.rmtree(empty, ignore_errors=True)
    if done.returncode != 0:
        lines = (done.stderr.strip() or f"exit {done.returncode}").splitlines()
        return lines[-1][:300]
    return ""


def upload_caps(root: Path) -> Caps:
    """The submission caps of the installed upload's configuration (ROOT/source/autograder.toml)."""
    return configured_caps(root / "source" / "autograder.toml")


def prepare_run(root: Path, submission: Path, write_metadata) -> Path:
    """Gradescope's harness before a run: results/ and submission/ deleted and made again (0755), the student's
    files in submission/, the metadata written; returns results/stdout, opened by the caller for the run."""
    for name in ("results", "submission"):
        shutil.rmtree(root / name, ignore_errors=True)
        (root / name).mkdir()
        os.chmod(root / name, 0o755)
    unpack_into(Path(submission), root / "submission", upload_caps(root))
    write_metadata()
    return root / "results" / "stdout"


def confinement_line(name: str, document: dict, *, emulated: bool, host: bool, limits: list[str]) -> str:
    """One line for the instructor: how student code was confined in this run, and whether students meet that."""
    how = describe(((document or {}).get("extra_data") or {}).get("confinement") or {})
    if emulated:
        return EMULATED.format(name=name, how=how, limits="".join(", " + limit for limit in limits))
    if host:
        return HOST.format(name=name, how=how)
    return NOT_EMULATED.format(name=name, how=how, why=unavailable() or "its caller asked for this machine's")


def describe(confinement: dict) -> str:
    """A short phrase from a results.json's extra_data.confinement: user, file view, network."""
    if not confinement:
        return "nowhere (no student code ran)"
    user = f"as {confinement['user']}" if confinement.get("user") else "as the grader's own user"
    seen = ("seeing only its own folder" if confinement.get("view") == view.NAMESPACES
            else "seeing the whole file system (no namespace view)")
    net = {"namespace": "no network (namespace)", "seccomp": "no sockets but pairs of its own (seccomp filter)"}.get(
        confinement.get("network"), "WITH NETWORK")
    return f"{user}, {seen}, {net}"


def read_report(fd: int) -> list[str]:
    """The limits the container reported on fd before it ran its command ([] when it reported none)."""
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    try:
        return [str(limit) for limit in json.loads(b"".join(chunks) or b"{}").get("limits", [])]
    except (ValueError, AttributeError):
        return []

