"""The seeded networks and their finite-difference estimates, computed once per configuration and kept on disk.

Drawing non-degenerate networks and differencing E over every weight is most of the grader's own arithmetic; it
depends only on the configuration and the grader's code, so it is done once (by setup.sh on Gradescope) and read
back in every run. The file holds the hidden networks, so it lives in the grader's locked folder (`.cache/` beside
the code, which setup.sh locks with the rest); where that folder is not writable, nothing is cached.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .. import __version__, cache_files
from ..config import PROJECT_ROOT
from . import networks as nets
from .grading import GRADED_GROUPS, PROBE_GROUPS

GROUPS = {case: groups + PROBE_GROUPS for case, groups in GRADED_GROUPS.items()}
_SOURCES = ("backprop_grader/maths/networks.py", "backprop_grader/maths/mistakes.py",
            "backprop_grader/maths/grading.py", "backprop_grader/maths/verdicts.py", "reference/backprop.py")


def prepare(grading) -> None:
    """Give `grading` every network and finite-difference estimate of its configuration, from disk when possible."""
    name = f"networks-{_key(grading.config)}.json"
    stored = cache_files.read(name)
    if stored is not None:
        _restore(grading, stored)
        return
    step = grading.config.tolerance["finite_difference_step"]
    groups = {f"{case}/{group}": grading.networks(case, group) for case, names in GROUPS.items() for group in names}
    estimates = {case: [grading.estimates(net) for net in grading.networks(case, "fd")] for case in GROUPS}
    cache_files.write(name, {"step": step, "groups": {k: [_encode(n) for n in v] for k, v in groups.items()},
                             "estimates": {case: [[e.tolist() for e in pair] for pair in pairs]
                                           for case, pairs in estimates.items()}})


def warm() -> None:
    """Compute and store the cache for the project's configuration (setup.sh calls this before locking), and what
    a fresh worker has loaded (shadowing.py)."""
    from .. import sandbox
    from ..config import load_config
    from ..sandbox import shadowing
    from .grading import Grading

    prepare(Grading(load_config(), None, None))
    shadowing.fresh_modules(sandbox.WORKER_SOURCE)


def _restore(grading, stored: dict) -> None:
    """Hand the stored networks and estimates to `grading`."""
    for key, encoded in stored["groups"].items():
        case, group = key.split("/")
        grading.preload(case, group, [_decode(item, case) for item in encoded])
    for case, pairs in stored["estimates"].items():
        for net, pair in zip(grading.networks(case, "fd"), pairs):
            grading.preload_estimates(net, tuple(np.array(e, dtype=float) for e in pair))


def _encode(net: nets.Network) -> dict:
    """A network as JSON numbers (repr round-trips every float64 exactly)."""
    return {"label": net.label, "z": net.z.tolist(), "t": net.t.tolist(), "W_kj": net.W_kj.tolist(),
            "W_ji": net.W_ji.tolist()}


def _decode(item: dict, case: str) -> nets.Network:
    """A network from its JSON form, with the shapes of empty arrays kept."""
    W_kj = np.array(item["W_kj"], dtype=float).reshape(len(item["z"]), -1)
    W_ji = np.array(item["W_ji"], dtype=float).reshape(W_kj.shape[1], len(item["t"]))
    return nets.Network(item["label"], case, np.array(item["z"], dtype=float), np.array(item["t"], dtype=float),
                        W_kj, W_ji)


def _key(config) -> str:
    """Changes whenever the configuration, the grader's version, numpy or the code that draws networks changes."""
    digest = hashlib.sha256(Path(config.path).read_bytes())
    digest.update(f"{__version__} {np.__version__}".encode())
    for source in _SOURCES:
        digest.update((PROJECT_ROOT / source).read_bytes())
    return digest.hexdigest()[:20]
