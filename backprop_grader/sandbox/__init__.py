"""The sandbox: where student code runs, and how the grader talks to it.

- `client`: the grader's side of a worker (`Worker`: spawning, asking, stopping), with `replies` (`Reply`, what
  a worker's answer may be);
- `confinement`: the child's side before any student code runs: its view and network, its user, its limits
  (`Limits`), its environment, and becoming the worker;
- `policy`: which modules are secret, when a process may fork a worker, the environment a worker gets;
- `worker`: the worker's own side, run as `python -I -B -c WORKER_SOURCE` or forked: it imports the submission
  and answers calls through a pipe of plain numbers, its imports checked by `import_guard`;
- `processes` (forking, a PID namespace per worker, ending leftovers), `zygote` (batch's clean parent of
  workers), `shadowing` (a submission's own modules win in a forked worker), `scratch` (temporary folders);
- `isolation/`: namespaces, the file-system view, the network, the pool of sandbox users, Gradescope's container.

The names other layers use are listed below and loaded on first use: importing this package (as a forked worker's
own modules do) loads nothing else.
"""

from __future__ import annotations

import importlib

# public name -> the module of this package that defines it
_FACE = {
    "Worker": "client", "end_all_workers": "client", "WORKER_SOURCE": "client", "PROVIDED_FORWARD": "client",
    "vouch_for_users": "client", "importing_meanwhile": "client",
    "Reply": "replies", "Limits": "confinement", "claim_identity": "confinement", "isolation_note": "confinement",
    "isolated_path": "confinement", "SANDBOX_USER": "confinement", "Zygote": "zygote",
}
__all__ = sorted(_FACE)


def __getattr__(name: str):
    """`from backprop_grader.sandbox import Worker`: the name, from its module, imported now."""
    if name not in _FACE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_FACE[name]}", __name__), name)
