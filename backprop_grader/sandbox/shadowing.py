"""A submission's own modules win in a forked worker, as they do in a fresh Python.

A worker forked from the grader (or from batch's zygote) starts with every module the grader had loaded:
`copy`, `string`, `logging` and dozens more. A student's helper file with such a name (`copy.py` beside
`backprop.py`) would then be hidden behind the loaded module, where a fresh worker imports the student's
file. So the forked worker forgets the loaded modules that the submission's folder provides, except those a fresh
worker has loaded too by the time it imports the submission (those hide the student's file there as well).

Which modules a fresh worker has loaded depends only on the Python and the worker's code: it is measured once, by
starting one, and kept in the grader's cache folder (setup.sh measures it before it locks that folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import cache_files

_PROBE = "import json, sys\nprint('MODULES=' + json.dumps(sorted(sys.modules)))\n"
_measured: dict[str, frozenset] = {}


def fresh_modules(worker_source: str) -> frozenset[str] | None:
    """The modules a fresh worker (running worker_source) has loaded when it imports a submission; None if they
    cannot be measured."""
    key = hashlib.sha256(f"{sys.executable}\n{sys.version}\n{worker_source}".encode()).hexdigest()[:20]
    if key not in _measured:
        name = f"fresh-modules-{key}.json"
        stored = cache_files.read(name)
        if isinstance(stored, list):
            _measured[key] = frozenset(stored)
        else:
            measured = _measure(worker_source)
            if measured is None:
                return None
            _measured[key] = measured
            cache_files.write(name, sorted(measured))
    return _measured[key]


def unshadow(folder: Path, fresh: frozenset[str] | None) -> None:
    """In a forked worker, before the submission is imported: forget the loaded modules (and their submodules)
    that the submission's folder provides and a fresh worker would not have loaded yet."""
    if fresh is None:
        return
    for name in provided_by(folder):
        if name in sys.modules and name not in fresh:
            for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[loaded]


def provided_by(folder: Path) -> set[str]:
    """The top-level module names that files and folders directly in `folder` provide."""
    names = set()
    for entry in os.scandir(folder):
        stem = entry.name.split(".")[0]
        if stem.isidentifier() and (entry.is_dir() or entry.name.endswith((".py", ".pyc", ".so"))):
            names.add(stem)
    return names


def _measure(worker_source: str) -> frozenset[str] | None:
    """Start a fresh worker (`python -I -B`, as the sandbox does) on a probe that prints what is loaded."""
    with tempfile.TemporaryDirectory(prefix="backprop-probe-") as scratch:
        probe = Path(scratch) / "probe_modules.py"
        probe.write_text(_PROBE, encoding="utf-8")
        requests, replies = os.pipe(), os.pipe()
        os.close(requests[1])  # no calls: once the probe is imported, the worker finds its input closed and leaves
        try:
            done = subprocess.run([sys.executable, "-I", "-B", "-c", worker_source, str(requests[0]), str(replies[1]),
                                   str(probe), "", "100000"], pass_fds=(requests[0], replies[1]), cwd=scratch,
                                  env={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1"}, capture_output=True,
                                  text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return None
        finally:
            for fd in (requests[0], *replies):
                os.close(fd)
    line = next((x for x in done.stdout.splitlines() if x.startswith("MODULES=")), None)
    if line is None:
        return None
    return frozenset(json.loads(line[len("MODULES="):])) - {"probe_modules"}
