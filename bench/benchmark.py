"""The benchmark of issue 8: how grading compares with starting Python, with an in-process grader, and at scale.

Prints, each a median over several runs on this machine:
  1. `python -c "import numpy"` (the floor), and `python -c "import numpy, pytest"` (the floor of any grading that
     runs a pytest suite in its own process);
  2. one run_autograder on a correct submission, isolation on (as root, in a simulated Gradescope root) and off,
     and its CPU time (what Gradescope's half CPU pays: wall time there is about twice it); and the same grading
     as Gradescope's container gives it, where no namespace can be made;
  3. the same checks run in-process with no sandbox, as a gradescope-utils suite (unittest test cases with its
     decorators, its JSONTestRunner writing results.json: bench/inprocess_baseline.py, the insecure baseline),
     and, for comparison, the bare checks with no test framework at all;
  4. batch throughput over 100 submissions with 1 job and with all cores (when `batch` exists), the CPU each
     submission costs there against the most it may cost for the target ratio, and the ceiling the sandbox alone
     puts on it: the CPU of a submission's two workers with no grading (bench/sandbox_floor.py);
  5. peak memory (resident) of grader plus worker during one grading;
  6. one run_autograder (checkout) on a notebook that plots with matplotlib, against the same code as a .py file;
  7. what sealing a worker costs: a fork into a PID namespace of its own against a plain fork (root only);
then the ratios 2/1 and 2/3, so results compare across machines. The commands behind each ratio run in turn,
round after round, so that a machine whose speed drifts (shared machines do) moves both sides of it alike.

Usage: .venv/bin/python bench/benchmark.py [--runs N] [--skip-batch] [--plots-only]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
CORRECT = PROJECT / "selftest" / "submissions" / "correct" / "vectorized"
PLOTS_NOTEBOOK = PROJECT / "selftest" / "submissions" / "discovery" / "notebook_with_plots"
PLOTS_SCRIPT = PROJECT / "selftest" / "submissions" / "correct" / "plots_in_a_script"  # the same code, as .py
PYTHON = sys.executable


def interleaved(commands: dict[str, tuple[list[str], dict]], runs: int) -> dict[str, tuple[float, float]]:
    """Name -> (median wall time, median CPU time) of each command (argv, subprocess options), run in turn for
    `runs` rounds after one warm-up round. CPU time is user + system of the command and all it waited for."""
    times: dict[str, list] = {name: [] for name in commands}
    cpu: dict[str, list] = {name: [] for name in commands}
    for round_number in range(runs + 1):
        for name, (argv, kwargs) in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=True, **kwargs)
            if round_number:
                times[name].append(time.perf_counter() - started)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {name: (statistics.median(times[name]), statistics.median(cpu[name])) for name in commands}


def peak_memory(argv: list[str], **kwargs) -> float:
    """Peak of the summed resident memory (MB) of a command and all its descendants, sampled every 5 ms."""
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    peak = [0]

    def sample():
        while process.poll() is None:
            peak[0] = max(peak[0], _tree_rss(process.pid))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    process.wait()
    sampler.join()
    return peak[0] / 1024


def _tree_rss(root: int) -> int:
    """Resident kB of a process and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
        rss[int(entry.name)] = next((int(line.split()[1]) for line in status.splitlines()
                                     if line.startswith("VmRSS:")), 0)
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def simulated_root() -> Path | None:
    """A Gradescope root with setup.sh run (root only), for grading with isolation on."""
    if os.geteuid() != 0:
        return None
    from backprop_grader.frontends import simulate
    from backprop_grader.frontends.build import build_zip

    root = Path(tempfile.mkdtemp(prefix="backprop-bench-"))
    # stays 0700 until setup.sh has locked the grader's files
    upload = Path(tempfile.mkdtemp(prefix="backprop-bench-upload-"))
    build_zip(upload / "autograder.zip")
    simulate._install(upload / "autograder.zip", root)
    shutil.rmtree(upload)
    shutil.copytree(CORRECT, root / "submission")
    return root


def container_grading(root: Path, results_file: Path) -> tuple[list[str], dict]:
    """The grading Gradescope's container gives (it refuses namespaces: the separate user, the locked files and
    seccomp filters isolate instead): run_autograder's command, with the switch that turns the view off."""
    from backprop_grader.sandbox.isolation.view import OFF_SWITCH

    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(root / "source"), OFF_SWITCH: "off",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return ([str(root / "venv" / "bin" / "python"), "-m", "backprop_grader", "grade", str(root / "submission"),
             "--results", str(results_file)], {"cwd": root / "source", "env": env})


def batch_throughput(jobs: int, count: int = 100, examples: list[Path] | None = None
                     ) -> tuple[float, float | None] | None:
    """Submissions per second of `batch` over `count` copies of example submissions (by default the mix below),
    and the CPU each cost (ms, user and system, of the batch and every process it started: counting_cpu), None
    where it cannot be counted."""
    if not (PROJECT / "backprop_grader" / "frontends" / "batch.py").exists():
        return None
    # the mix: every correct example (scipy's expit and a script that plots among them), every named mistake,
    # the untouched template, and a notebook that plots
    examples = examples or sorted(p for p in (PROJECT / "selftest" / "submissions").glob("*/*") if p.is_dir()
                                  and p.parent.name in ("correct", "mistakes", "template")) + [PLOTS_NOTEBOOK]
    with tempfile.TemporaryDirectory() as temporary:
        klass = Path(temporary) / "class"
        for n in range(count):
            shutil.copytree(examples[n % len(examples)], klass / f"student{n:03d}")
        with counting_cpu() as counter:
            started = time.perf_counter()
            subprocess.run([PYTHON, "-m", "backprop_grader", "batch", str(klass), "--out",
                            str(Path(temporary) / "out"), "--jobs", str(jobs)],
                           cwd=PROJECT, capture_output=True, check=True, preexec_fn=counter.join)
            elapsed = time.perf_counter() - started
        return count / elapsed, (counter.seconds / count * 1000 if counter.seconds is not None else None)


class counting_cpu(contextlib.AbstractContextManager):
    """The CPU (seconds, user and system) of a command and of every process it starts, whoever reaps them: a
    cgroup of its own counts it (batch's jobs are children of a fork server that no one waits for, so the
    resource usage of children misses them and their workers). `seconds` stays None where no cgroup can be made
    (not root, or no cpuacct controller nor cgroup v2 tree)."""

    def __init__(self):
        self.seconds = None
        self.folder, self.total = self._make()

    @staticmethod
    def _make() -> tuple[Path | None, str]:
        """A new cgroup below ours that counts CPU, and the file with its total: v1's cpuacct, else v2's tree
        (every v2 cgroup counts its CPU, whatever controllers it is handed)."""
        from backprop_grader.sandbox.isolation.container import cgroup_folder

        name = f"benchmark-{os.getpid()}-{time.monotonic_ns()}"
        for controller, total in (("cpuacct", "cpuacct.usage"), ("", "cpu.stat")):
            folder = cgroup_folder(controller, name, handed=frozenset())
            if folder is None:
                continue
            try:
                folder.mkdir()
            except OSError:  # not ours to make one in (not root)
                continue
            if (folder / total).exists():
                return folder, total
            folder.rmdir()
        return None, ""

    @classmethod
    def available(cls) -> bool:
        """Whether a cgroup can be made here to count in (one is made and removed again)."""
        folder, _ = cls._make()
        if folder is not None:
            folder.rmdir()
        return folder is not None

    def join(self) -> None:
        """In the command's process, before it execs (preexec_fn): join the cgroup, if the kernel lets it (if it
        does not, the cgroup counts nothing and `seconds` stays None)."""
        if self.folder is not None:
            with contextlib.suppress(OSError):
                (self.folder / "cgroup.procs").write_text("0")

    def __exit__(self, *exc_info) -> None:
        """Once the command and all it left have ended (at most 30 s), read the total and remove the cgroup."""
        if self.folder is None:
            return
        deadline = time.monotonic() + 30
        while (self.folder / "cgroup.procs").read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.05)
        text = (self.folder / self.total).read_text()
        if self.total == "cpu.stat":
            seconds = int(dict(line.split() for line in text.splitlines())["usage_usec"]) / 1e6
        else:
            seconds = int(text) / 1e9
        self.seconds = seconds or None  # nothing counted: the command never joined
        with contextlib.suppress(OSError):
            self.folder.rmdir()


def sandbox_floor() -> dict:
    """bench/sandbox_floor.py's measurement, run as batch's jobs run (an environment of known variables only)."""
    from backprop_grader.sandbox.policy import FORK_SERVER_ENVIRONMENT

    done = subprocess.run([PYTHON, str(PROJECT / "bench" / "sandbox_floor.py")], cwd=PROJECT, check=True,
                          capture_output=True, text=True, env=dict(FORK_SERVER_ENVIRONMENT))
    return json.loads(done.stdout.splitlines()[-1])


def plots(runs: int, results_file: Path) -> list[tuple[str, str]]:
    """Rows 6: a notebook with plots against the same code as a .py file (both import matplotlib and plot)."""
    def grading(submission: Path) -> tuple[list[str], dict]:
        return [str(PROJECT / "run_autograder"), "--submission", str(submission), "--results", str(results_file)], {}

    measured = interleaved({"notebook": grading(PLOTS_NOTEBOOK), "script": grading(PLOTS_SCRIPT),
                            "no plots": grading(CORRECT)}, runs)
    return [("6. run_autograder, a notebook with plots (matplotlib)", f"{measured['notebook'][0] * 1000:.0f} ms"),
            ("6. the same code as a .py file", f"{measured['script'][0] * 1000:.0f} ms"),
            ("6. a .py file without plots (row 2, off)", f"{measured['no plots'][0] * 1000:.0f} ms"),
            ("ratio notebook / .py file", f"{measured['notebook'][0] / measured['script'][0]:.2f}")]


def boundary(rounds: int = 60) -> list[tuple[str, str]]:
    """Rows 7: what sealing a worker costs: a fork into a PID namespace of its own, ended with all it started,
    against a plain fork (each forked from this process with numpy loaded, then killed and collected)."""
    import numpy  # noqa: F401  (a worker is forked from a process that holds it)

    from backprop_grader.sandbox.processes import own_pid_namespace

    def fork_and_end(sealed: bool) -> float:
        started = time.perf_counter()
        with own_pid_namespace() if sealed else contextlib.nullcontext():
            pid = os.fork()
            if pid == 0:
                time.sleep(60)
                os._exit(0)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return time.perf_counter() - started

    if os.geteuid() != 0:
        return [("7. the boundary (PID namespace per worker)", "n/a (not root)")]
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(rounds):
        for sealed in (False, True):
            times[sealed].append(fork_and_end(sealed))
    plain, sealed = (statistics.median(times[k]) * 1000 for k in (False, True))
    return [("7. a worker forked and ended, plain", f"{plain:.2f} ms"),
            ("7. the same in a PID namespace of its own", f"{sealed:.2f} ms"),
            ("7. the boundary's cost per worker (target <= 5 ms)", f"{sealed - plain:+.2f} ms")]


def _print(rows: list[tuple[str, str]], runs: int) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, median of {runs} runs")
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")


def main() -> None:
    """Measure everything and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--plots-only", action="store_true", help="measure only rows 6")
    parser.add_argument("--boundary-only", action="store_true", help="measure only rows 7")
    args = parser.parse_args()
    results_file = Path(tempfile.mkdtemp()) / "results.json"
    if args.boundary_only:
        _print(boundary(), 60)
        return
    if args.plots_only:
        _print(plots(args.runs, results_file), args.runs)
        return
    baseline_script = str(PROJECT / "bench" / "inprocess_baseline.py")
    commands = {"checkout floor": ([PYTHON, "-c", "import numpy"], {}),
                "off": ([str(PROJECT / "run_autograder"), "--submission", str(CORRECT), "--results",
                         str(results_file)], {})}
    root = simulated_root()
    python = str(root / "venv" / "bin" / "python") if root else PYTHON  # the Python that grades there
    env = {"PATH": "/usr/bin:/bin", "HOME": "/root", "AUTOGRADER_ROOT": str(root)}
    commands.update({"floor": ([python, "-c", "import numpy"], {}),
                     # what any grading whose rubric is a pytest suite run in the grading process pays first
                     "pytest floor": ([python, "-c", "import numpy, pytest"], {}),
                     "baseline": ([python, baseline_script, str(CORRECT)], {}),
                     "bare": ([python, baseline_script, str(CORRECT), "--bare"], {})})
    if root:
        commands["on"] = ([str(root / "run_autograder")], {"cwd": root, "env": env})
        commands["container"] = container_grading(root, results_file)
    measured = interleaved(commands, args.runs)
    floor, checkout_floor, off = measured["floor"][0], measured["checkout floor"][0], measured["off"][0]
    pytest_floor = measured["pytest floor"][0]
    baseline, bare = measured["baseline"][0], measured["bare"][0]
    on, on_cpu = measured.get("on", (None, None))
    container, container_cpu = measured.get("container", (None, None))
    if root:
        memory = peak_memory([str(root / "run_autograder")], cwd=root, env=env)
        shutil.rmtree(root, ignore_errors=True)
    else:
        memory = peak_memory([str(PROJECT / "run_autograder"), "--submission", str(CORRECT), "--results",
                              str(results_file)])
    single = None if args.skip_batch else batch_throughput(1)
    cores = os.cpu_count() or 1
    parallel = None if args.skip_batch else batch_throughput(cores)
    floor_of_batch = sandbox_floor()
    ceiling = cores / (floor_of_batch["cpu_ms"] / 1000)
    allowed = cores * floor / 2.5 * 1000  # the CPU per submission at which batch on all cores meets its target
    grading = on if on is not None else off
    rows = [
        ("1. python -c 'import numpy' (floor, grading Python)", f"{floor * 1000:.0f} ms"),
        ("1. the same with the checkout's .venv Python", f"{checkout_floor * 1000:.0f} ms"),
        ("1. python -c 'import numpy, pytest' (grading Python)", f"{pytest_floor * 1000:.0f} ms"),
        ("2. run_autograder, isolation on (root)", f"{on * 1000:.0f} ms" if on else "n/a (not root)"),
        ("2. run_autograder, isolation off", f"{off * 1000:.0f} ms"),
        ("2. CPU time of it, isolation on (grader + worker)", f"{on_cpu * 1000:.0f} ms" if on_cpu else "n/a"),
        ("2. its grade command as in Gradescope's container (no namespaces), wall, CPU",
         f"{container * 1000:.0f} ms, {container_cpu * 1000:.0f} ms" if container else "n/a (not root)"),
        ("3. in-process gradescope-utils suite, no sandbox (baseline)", f"{baseline * 1000:.0f} ms"),
        ("3. the bare checks, no test framework", f"{bare * 1000:.0f} ms"),
        ("4. batch, 1 job", f"{single[0]:.1f} submissions/s" if single else "n/a"),
        (f"4. batch, {cores} jobs", f"{parallel[0]:.1f} submissions/s" if parallel else "n/a"),
        ("4. CPU per submission in it (batch, jobs, workers)",
         f"{parallel[1]:.0f} ms" if parallel and parallel[1] else "n/a (counted in a cgroup: root only)"),
        (f"4. the most that may cost for ratio 4 to reach 2.5 ({cores} cores x 1 / 2.5)", f"{allowed:.0f} ms"),
        ("4. the sandbox alone per submission: two workers, " + ("sealed, " if floor_of_batch["sealed"] else "")
         + "one call each (CPU)", f"{floor_of_batch['cpu_ms']:.0f} ms"),
        (f"4. the ceiling that puts on batch ({cores} cores / that CPU)",
         f"{ceiling:.0f} submissions/s, ratio {ceiling * floor:.2f}"),
        ("5. peak memory, grader + worker", f"{memory:.0f} MB"),
        ("ratio 2/1 (target <= 2.5)", f"{grading / floor:.2f}"),
        ("ratio 2/1, as in Gradescope's container", f"{container / floor:.2f}" if container else "n/a"),
        ("ratio 1 with pytest / 1: what importing pytest alone costs", f"{pytest_floor / floor:.2f}"),
        ("ratio 2 / 1 with pytest", f"{grading / pytest_floor:.2f}"),
        (f"ratio 4 ({cores} jobs) x 1: submissions per import-numpy time (target >= 2.5)",
         f"{parallel[0] * floor:.2f}" if parallel else "n/a"),
        ("ratio 2 off / 1 checkout", f"{off / checkout_floor:.2f}"),
        ("ratio 2/3 (target <= 1.5)", f"{grading / baseline:.2f}"),
        ("ratio 2 / 3 bare checks", f"{grading / bare:.2f}"),
        *plots(args.runs, results_file),
        *boundary(),
    ]
    _print(rows, args.runs)


if __name__ == "__main__":
    main()
