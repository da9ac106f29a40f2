"""`backprop-grader simulate SUBMISSION...`: reproduce Gradescope on this machine (SPEC section 4).

Builds the zip (unless given one), makes a fresh root folder, unzips into ROOT/source, runs setup.sh there as
Gradescope would, then for each submission fills ROOT/submission, runs ROOT/run_autograder in a clean environment,
checks results.json against Gradescope's specification, prints the table and keeps the file as
OUT/<submission name>/results.json, beside stdout.txt (what run_autograder printed: what Gradescope shows the
instructor). OUT and what it holds are readable by their owner only: the results hold the hidden tests' outcomes.

As root, setup.sh and every run happen in an emulation of Gradescope's container (isolation/container.py: Docker's
default capabilities and seccomp profile, a PID namespace, ROOT bound at /autograder) after its harness's handling
of the root folder (simulate_container.py), so that the confinement reported is the one students meet. --host,
or a machine where the emulation cannot be made (not root), runs ROOT/run_autograder with AUTOGRADER_ROOT=ROOT on
this machine as it is (in a PID namespace of its own as root), and each run's line says so.
"""

from __future__ import annotations

import functools
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from ..cli import shown
from ..errors import GraderError
from ..sandbox.processes import descendants
from . import results
from . import simulate_container as gradescope
from .build import build_zip
from .discovery import unpack_into
from .metadata import METADATA_NAME
from .writable import check_folder

HIDDEN_CANARY = "HIDDEN-RESULT-CANARY"  # in the simulated metadata: must never reach student code
SETUP_SECONDS = 900
GRADE_SECONDS = 600
_CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
              "HOME": "/root"}


def register(commands) -> None:
    """Add the simulate command's arguments."""
    parser = commands.add_parser("simulate", help="run submissions through the zip exactly as Gradescope would")
    parser.add_argument("submissions", type=Path, nargs="+", help="submission folders, zips or files")
    parser.add_argument("--zip", type=Path, default=None, help="an autograder.zip to use instead of building one")
    parser.add_argument("--out", type=Path, default=Path("simulated-results"),
                        help="where each submission's results.json and stdout.txt are kept")
    parser.add_argument("--keep-root", action="store_true", help="keep the simulated root folder for inspection")
    parser.add_argument("--host", action="store_true",
                        help="use this machine's own confinement instead of emulating Gradescope's container")


def run(args) -> int:
    """Simulate; exit 1 when any results.json departs from Gradescope's specification."""
    check_arguments(args.submissions, args.zip, args.out)
    outcomes = simulate(args.submissions, zip_path=args.zip, out=args.out, keep_root=args.keep_root,
                        host=args.host)
    print(f"\nKept in {shown(args.out)}/: each submission's results.json, and stdout.txt with what run_autograder "
          "printed (Gradescope shows it to instructors only)")
    return 0 if all(not o["problems"] for o in outcomes) else 1


def check_arguments(submissions: list[Path], zip_path: Path | None, out: Path) -> None:
    """A GraderError (one line, exit 2) for a path that cannot work, before setup.sh spends its seconds."""
    for submission in submissions:
        if not Path(submission).exists():
            raise GraderError(f"the submission {submission} does not exist")
    if zip_path is not None:
        if not Path(zip_path).is_file():
            raise GraderError(f"the zip {zip_path} does not exist")
        if not zipfile.is_zipfile(zip_path):
            raise GraderError(f"{zip_path} is not a zip file")
        with zipfile.ZipFile(zip_path) as archive:
            if not {"setup.sh", "run_autograder"} <= set(archive.namelist()):
                raise GraderError(f"{zip_path} has no setup.sh and run_autograder at its root")
    check_folder(out, "--out")  # the true reason it cannot be written, in one line


def simulate(submissions: list[Path], *, zip_path: Path | None = None, out: Path = Path("simulated-results"),
             keep_root: bool = False, quiet: bool = False, host: bool = False) -> list[dict]:
    """Set up a fresh Gradescope root once, grade each submission in it, return one summary per submission.

    Emulates Gradescope's container unless host is set or the machine cannot (then says why, before setup.sh)."""
    emulate = not host and not gradescope.unavailable()
    if not host and not emulate:
        print(f"Gradescope's container cannot be emulated here ({gradescope.unavailable()}): "
              "setup.sh and each run use this machine's own confinement")
    root = Path(tempfile.mkdtemp(prefix="backprop-gradescope-"))
    # stays 0700 until setup.sh has locked the grader's files
    private = Path(tempfile.mkdtemp(prefix="backprop-upload-"))  # 0700: the zip holds the reference and seeds
    try:
        zip_path = zip_path or _build(private)
        _install(zip_path, root, emulate=emulate)
        names = _names(submissions)
        return [_grade_one(sub, name, root, Path(out), quiet, emulate=emulate, host=host)
                for sub, name in zip(submissions, names)]
    finally:
        if keep_root:
            print(f"simulated root kept at {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)


def _build(folder: Path) -> Path:
    """A freshly built autograder.zip in a private folder outside the simulated root."""
    target = folder / "autograder.zip"
    build_zip(target)
    return target


def _install(zip_path: Path, root: Path, *, emulate: bool = False) -> None:
    """Unzip into ROOT/source, run setup.sh there, copy run_autograder to ROOT, as Gradescope's image build does;
    emulate: setup.sh runs in the emulated container, in /autograder/source (its paths are then Gradescope's)."""
    source = root / "source"
    with zipfile.ZipFile(zip_path) as archive:
        for member in archive.infolist():
            target = source / member.filename
            if member.is_dir():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(member))
            mode = (member.external_attr >> 16) & 0o777
            os.chmod(target, mode or 0o644)
    if not (source / "setup.sh").is_file() or not (source / "run_autograder").is_file():
        raise GraderError(f"{zip_path} has no setup.sh and run_autograder at its root")
    started = time.monotonic()
    argv = [*gradescope.prefix(), str(root), "/autograder/source"] if emulate else []
    done = subprocess.run([*argv, "bash", "setup.sh"], cwd=source, env=_CLEAN_ENV, capture_output=True, text=True,
                          timeout=SETUP_SECONDS)
    _write_private(root / "setup.log", (done.stdout + done.stderr).encode())  # not on Gradescope: not for students
    if done.returncode != 0:
        raise GraderError(f"setup.sh failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    shutil.copy(source / "run_autograder", root / "run_autograder")
    os.chmod(root / "run_autograder", stat.S_IRWXU)
    print(f"setup.sh finished in {time.monotonic() - started:.1f} s")


def _grade_one(submission: Path, name: str, root: Path, out: Path, quiet: bool, *, emulate: bool = False,
               host: bool = False) -> dict:
    """Fill ROOT/submission, run ROOT/run_autograder as Gradescope does, check and keep results.json.

    emulate: as Gradescope's harness does, in the emulated container (setup.sh must have run in it too)."""
    results_file = root / "results" / "results.json"
    limits: list[str] = []
    started = time.monotonic()
    if emulate:
        stdout = gradescope.prepare_run(root, Path(submission), lambda: _write_metadata(root / METADATA_NAME, name))
        returncode, output, leftovers, limits = _run_in_container(root, stdout)
    else:
        _fill_submission(Path(submission), root)
        _write_metadata(root / METADATA_NAME, name)
        results_file.unlink(missing_ok=True)
        returncode, output, leftovers = _run_grader(root)
    seconds = time.monotonic() - started
    try:
        document = json.loads(results_file.read_text())
        found = results.problems(document)
    except (OSError, ValueError) as exc:
        document, found = {}, [f"no readable results.json: {exc}"]
    if returncode != 0:
        found.append(f"run_autograder exited {returncode}")
    kept = _private_folder(out, name) / "results.json"
    _write_private(kept.parent / "stdout.txt", output.encode("utf-8"))
    if document:
        _write_private(kept, results_file.read_bytes())
    confinement = gradescope.confinement_line(name, document, emulated=emulate, host=host, limits=limits)
    if not quiet:
        print(f"\n== {name}: {document.get('score', '?')} points in {seconds:.1f} s ==")
        print(results.score_table(document) if document else "(no results.json)")
        for problem in found:
            print(f"PROBLEM: {problem}")
        print(confinement)
    return {"name": name, "score": document.get("score"), "seconds": seconds, "problems": found,
            "leftover_processes": leftovers, "results": str(kept), "document": document,
            "confinement": confinement, "emulated": emulate}


def _private_folder(out: Path, name: str) -> Path:
    """OUT/name, created readable by its owner only, in OUT created so too (an existing OUT is left as it is)."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = out / name
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)  # also when an earlier run left it open
    return folder


def _write_private(path: Path, data: bytes) -> None:
    """Write a file that only its owner can read, even where one of an earlier run stood."""
    path.unlink(missing_ok=True)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(data)


# Runs the grader, reports its exit status on fd STATUS, then keeps its PID namespace (if any) alive until fd HOLD
# closes, so that simulate can look for surviving sandbox processes before the kernel ends the namespace.
_HARNESS = '"$1" {status}>&- {hold}<&-; echo $? >&{status}; exec {status}>&-; read -r _ <&{hold}'


def _run_grader(root: Path) -> tuple[int, str, list[int]]:
    """Run ROOT/run_autograder from a harness of its own; return its exit status, its output, leftover pids.

    As root the harness is PID 1 of a new PID namespace with its own /proc, as in Gradescope's container: the
    student sees only the grader's processes, never this command's ancestors (whose command lines name the
    instructor's checkout, which Gradescope does not have).
    """
    with tempfile.TemporaryFile() as log:
        status, leftovers = _run_harness(_namespace_prefix(), str(root / "run_autograder"), root,
                                         dict(_CLEAN_ENV, AUTOGRADER_ROOT=str(root)), log)
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    if status is None:
        return -1, output + f"\nrun_autograder did not finish within {GRADE_SECONDS} s", leftovers
    return status, output, leftovers


def _run_in_container(root: Path, stdout: Path) -> tuple[int, str, list[int], list[str]]:
    """Run /autograder/run_autograder in the emulated container as Gradescope's harness does (from /autograder,
    stdout and stderr into results/stdout); its exit status, output, leftover pids and the limits that held."""
    report_r, report_w = os.pipe()
    try:
        with open(os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644), "wb") as log:
            status, leftovers = _run_harness((*gradescope.prefix(report_w), str(root), "/autograder"),
                                             "/autograder/run_autograder", root, dict(_CLEAN_ENV), log,
                                             extra_fds=(report_w,))
    finally:
        os.close(report_w)
        limits = gradescope.read_report(report_r)
        os.close(report_r)
    output = stdout.read_text(encoding="utf-8", errors="replace") if stdout.is_file() else ""
    if status is None:
        return -1, output + f"\nrun_autograder did not finish within {GRADE_SECONDS} s", leftovers, limits
    return status, output, leftovers, limits


def _run_harness(prefix, launcher: str, cwd: Path, env: dict, log, extra_fds: tuple = ()) -> tuple[int | None,
                                                                                                   list[int]]:
    """Run launcher under prefix from the harness script; its exit status (None: none in time), leftover pids."""
    status_r, status_w = os.pipe()
    hold_r, hold_w = os.pipe()
    script = _HARNESS.format(status=status_w, hold=hold_r)
    argv = [*prefix, "/bin/bash", "-c", script, "harness", launcher]
    try:
        harness = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   pass_fds=(status_w, hold_r, *extra_fds), start_new_session=True)
    finally:
        os.close(status_w)
        os.close(hold_r)
    try:
        status = _read_status(status_r, GRADE_SECONDS)
        leftovers = _leftover_processes(harness.pid)
    finally:
        os.close(status_r)
        os.close(hold_w)
        _end(harness)
    return status, leftovers


@functools.lru_cache(maxsize=1)
def _namespace_prefix() -> tuple[str, ...]:
    """`unshare` arguments for a fresh PID namespace when root can make one, else none (reduced isolation)."""
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("setsid")):
        return ()
    # setsid: the harness leads its own session, so the grader's process group is visible inside the namespace
    prefix = ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "setsid")
    probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
    return prefix if probe.returncode == 0 else ()


def _read_status(fd: int, seconds: float) -> int | None:
    """The exit status the harness writes on fd, or None when it writes none in time."""
    ready, _, _ = select.select([fd], [], [], seconds)
    if not ready:
        return None
    text = os.read(fd, 64).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


def _end(harness: subprocess.Popen) -> None:
    """Let the harness leave; kill its session if it lingers (with --kill-child that ends the namespace)."""
    try:
        harness.wait(timeout=10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(harness.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        harness.wait()


def _fill_submission(submission: Path, root: Path) -> None:
    """ROOT/submission holds exactly the student's files, as Gradescope unpacks them (within the caps of the
    upload's own autograder.toml, as run_autograder will measure them)."""
    target = root / "submission"
    shutil.rmtree(target, ignore_errors=True)
    unpack_into(submission, target, gradescope.upload_caps(root))


def _write_metadata(path: Path, name: str) -> None:
    """ROOT/submission_metadata.json as Gradescope writes it (world-readable), with one earlier submission whose
    results include a hidden test: run_autograder must keep it from the student."""
    earlier = {"score": 40.0, "output": "earlier run", "tests": [
        {"name": "hidden earlier test", "number": "1.3", "score": 6.0, "max_score": 12.0, "status": "failed",
         "visibility": "after_due_date", "output": f"{HIDDEN_CANARY}: the hidden result of an earlier submission"}]}
    metadata = {"id": 1000001, "created_at": "2026-11-28T12:00:00.000000-08:00", "submission_method": "upload",
                "assignment": {"id": 4242, "title": "Backpropagation", "total_points": "100.0",
                               "due_date": "2026-12-05T23:59:00.000000-08:00", "group_submission": False},
                "users": [{"email": f"{name}@example.edu", "id": 1, "name": f"Student {name}"}],
                "previous_submissions": [{"submission_time": "2026-11-27T10:00:00.000000-08:00", "score": 40.0,
                                          "autograder_error": False, "results": earlier}]}
    path.write_text(json.dumps(metadata, indent=2))
    os.chmod(path, 0o644)


def _names(submissions: list[Path]) -> list[str]:
    """Unique output folder names from the submissions' own names."""
    names: list[str] = []
    for sub in submissions:
        base = Path(sub).stem if Path(sub).is_file() else Path(sub).name
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    return names


def _leftover_processes(harness: int) -> list[int]:
    """Processes of student code still alive after grading (there must be none): those below the harness (its PID
    namespace, as root) that do not run as the grader's own user. Other gradings on the machine, even under the
    same sandbox user, are not ours to count."""
    ours = os.geteuid()
    left = []
    for pid in descendants(harness):
        try:
            if os.stat(f"/proc/{pid}").st_uid != ours:
                left.append(pid)
        except OSError:
            continue
    return left
