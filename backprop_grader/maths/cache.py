"""The seeded networks, their finite-difference estimates and reference gradients, computed once per configuration
and kept on disk.

Drawing non-degenerate networks, differencing E over every weight and running the reference on each network is
most of the grader's own arithmetic (the reference alone is some 15 ms a grading); it depends only on the
configuration and the grader's code, so it is done once (by setup.sh on Gradescope) and read back in every run.
Arrays are stored as their float64 bytes (base64), exact and read back without parsing a number.
The file holds the hidden networks, so it lives in the grader's locked folder (`.cache/` beside
the code, which setup.sh locks with the rest); where that folder is not writable, nothing is cached.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import numpy as np

from .. import __version__, cache_files
from ..config import PROJECT_ROOT
from . import networks as nets
from .grading import GRADED_GROUPS, PROBE_GROUPS

GROUPS = {case: groups + PROBE_GROUPS for case, groups in GRADED_GROUPS.items()}
_SOURCES = ("backprop_grader/maths/networks.py", "backprop_grader/maths/mistakes.py",
            "backprop_grader/maths/grading.py", "backprop_grader/maths/verdicts.py",
            "backprop_grader/maths/cache.py", "reference/backprop.py")  # (this file: the format of what it keeps)


def prepare(grading) -> None:
    """Give `grading` every network of its configuration, with its finite-difference estimates and reference
    gradients, from disk when possible."""
    name = f"networks-{_key(grading.config)}.json"
    try:
        restored = _restored(cache_files.read(name))
    except (KeyError, TypeError, ValueError, AttributeError):
        restored = None  # a file of another shape (damaged, or hand-edited): computed again and replaced
    if restored is not None:
        _hand_over(grading, *restored)
        return
    groups = {f"{case}/{group}": grading.networks(case, group) for case, names in GROUPS.items() for group in names}
    cache_files.write(name, {
        "groups": {key: [_encode(net, grading) for net in networks] for key, networks in groups.items()},
        "estimates": {case: [[_array(e) for e in grading.estimates(net)] for net in grading.networks(case, "fd")]
                      for case in GROUPS}})


def warm() -> None:
    """Compute and store the cache for the project's configuration (setup.sh calls this before locking), and what
    a fresh worker has loaded (shadowing.py)."""
    from .. import sandbox
    from ..config import load_config
    from ..sandbox import shadowing
    from .grading import Grading

    prepare(Grading(load_config(), None, None))
    shadowing.fresh_modules(sandbox.WORKER_SOURCE)


def _restored(stored) -> tuple | None:
    """The stored networks by (case, group), with their reference gradients and the estimates by case; None when
    nothing is stored. Everything is decoded before any of it is handed over."""
    if stored is None:
        return None
    networks, references = {}, {}
    for key, encoded in stored["groups"].items():
        case, group = key.split("/")
        networks[case, group] = [_decode(item, case) for item in encoded]
        for net, item in zip(networks[case, group], encoded):
            references[net] = tuple(_unarray(a) for a in item["reference"])
    estimates = {case: [tuple(_unarray(e) for e in pair) for pair in pairs]
                 for case, pairs in stored["estimates"].items()}
    return networks, references, estimates


def _hand_over(grading, networks: dict, references: dict, estimates: dict) -> None:
    """Give `grading` what _restored decoded."""
    for (case, group), listed in networks.items():
        grading.preload(case, group, listed)
    for net, gradients in references.items():
        grading.preload_reference(net, gradients)
    for case, pairs in estimates.items():
        for net, pair in zip(grading.networks(case, "fd"), pairs):
            grading.preload_estimates(net, pair)


def _encode(net: nets.Network, grading) -> dict:
    """A network and its reference gradients, for JSON."""
    return {"label": net.label, **{name: _array(getattr(net, name)) for name in ("z", "t", "W_kj", "W_ji")},
            "reference": [_array(a) for a in grading.reference(net)]}


def _decode(item: dict, case: str) -> nets.Network:
    """A network from its stored form."""
    return nets.Network(item["label"], case, *(_unarray(item[name]) for name in ("z", "t", "W_kj", "W_ji")))


def _array(array: np.ndarray) -> dict:
    """An array as its shape and its float64 bytes (little-endian, base64): exact, and quick to read back."""
    data = np.ascontiguousarray(array, dtype="<f8")
    return {"shape": list(data.shape), "data": base64.b64encode(data.tobytes()).decode("ascii")}


def _unarray(stored: dict) -> np.ndarray:
    """The array _array stored (a writable copy, of its shape even when empty)."""
    data = np.frombuffer(base64.b64decode(stored["data"]), dtype="<f8")
    return data.reshape(stored["shape"]).astype(float)


def _key(config) -> str:
    """Changes whenever the configuration, the grader's version, numpy or the code that draws networks changes."""
    digest = hashlib.sha256(Path(config.path).read_bytes())
    digest.update(f"{__version__} {np.__version__}".encode())
    for source in _SOURCES:
        digest.update((PROJECT_ROOT / source).read_bytes())
    return digest.hexdigest()[:20]
