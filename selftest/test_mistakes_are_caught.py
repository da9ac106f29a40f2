"""Every example mistake is far from the reference on every network the grader draws (SPEC section 3).

SPEC section 3 promises that the worked example and the random networks are non-degenerate: every formula error
is off by a relative 0.3 or more, so no wrong formula passes by accident. This checks that promise in-process,
with the seeds of autograder.toml, for each submission in `submissions/mistakes/`: on the worked example and on
every random and finite-difference network, each layer the mistake affects has

    max|student − reference| / max|reference| ≥ 0.3      (or the wrong shape, or the call raises),

and every layer it does not affect matches the reference, so each example isolates its mistake. The submissions
in `submissions/correct/` must match the reference closely on the same networks.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from backprop_grader.config import load_config
from backprop_grader.maths import networks as nets
from backprop_grader.maths.verdicts import LAYERS, close_enough
from backprop_grader.sandbox import PROVIDED_FORWARD
from backprop_grader.sandbox.shadowing import provided_by
from reference.backprop import compute_gradients as reference_gradients

PROJECT = Path(__file__).resolve().parent.parent
SUBMISSIONS = PROJECT / "selftest" / "submissions"
CONFIG = load_config(PROJECT / "autograder.toml")
CASES = ("sigmoid", "softmax")
MARGIN = 0.3  # SPEC section 3: every formula error is off by a relative 0.3 or more
CORRECT_RTOL = 1e-6  # float64 work
FLOAT32_RTOL = 2e-5  # float32 work: about 100 units in the last place of float32
BOTH = LAYERS
NON_DEGENERATE = ("worked", "random", "fd")

# Mistake -> case -> the layers it makes wrong. Every other layer of every case must match the reference.
AFFECTED = {
    "factor_half": {"sigmoid": BOTH, "softmax": BOTH},
    "hidden_transposed": {"sigmoid": ("W_kj",), "softmax": ("W_kj",)},
    "missing_sigmoid_derivative": {"sigmoid": ("W_kj",), "softmax": ("W_kj",)},
    "mse_factor_added": {"sigmoid": BOTH},
    "mse_factor_added_softmax": {"softmax": BOTH},
    "output_transposed": {"sigmoid": ("W_ji",), "softmax": ("W_ji",)},
    "sign_flipped": {"sigmoid": BOTH, "softmax": BOTH},
    "sign_flipped_output": {"sigmoid": ("W_ji",), "softmax": ("W_ji",)},
    "softmax_targets_sum_assumed_one": {"softmax": BOTH},
    "sum_over_outputs_dropped": {"sigmoid": ("W_kj",), "softmax": ("W_kj",)},
    "swapped_order": {"sigmoid": BOTH, "softmax": BOTH},
    "transposed_weights_in_backprop": {"sigmoid": ("W_kj",), "softmax": ("W_kj",)},
    "wrong_derivative_x_for_y": {"sigmoid": ("W_kj",), "softmax": ("W_kj",)},
    "tanh_derivative": {"sigmoid": ("W_kj",), "softmax": ("W_kj",)},
    "activation_for_output": {"sigmoid": BOTH, "softmax": BOTH},
    "softmax_without_exp": {"softmax": BOTH},
    "sigmoid_wrong_sign": {"sigmoid": BOTH, "softmax": BOTH},
    "targets_to_label": {"softmax": BOTH},
    "mean_over_outputs": {"sigmoid": BOTH, "softmax": BOTH},
    "softmax_jacobian_diagonal": {"softmax": BOTH},
    "mse_delta_doubled": {"sigmoid": BOTH, "softmax": BOTH},
}

# submissions/other_networks/: another network than the homework's (tanh, ReLU or linear hidden units, the other case's
# output units). The random networks are not drawn to tell those apart: they can lie closer than the margin (sigmoid
# and softmax outputs 0.07 relative on case 1's worked example, tanh units 0.04 on a random network), so only the
# tolerance and the isolation are promised for them.
OTHER_NETWORKS = {"sigmoid_outputs_for_softmax": {"softmax": BOTH}, "softmax_outputs_for_sigmoid": {"sigmoid": BOTH},
                  "tanh_hidden_units": {"sigmoid": BOTH, "softmax": BOTH},
                  "relu_hidden_units": {"sigmoid": BOTH, "softmax": BOTH},
                  "linear_hidden_units": {"sigmoid": BOTH, "softmax": BOTH}}

# Where a mistake shows. Σ_m t_m = 1 on every non-degenerate case 2 network by design (one-hot or probability
# targets), so taking it as 1 is right there and shows only on the general targets of test 2.7.
GROUPS = {"softmax_targets_sum_assumed_one": ("general",),
          "targets_to_label": ("worked",)}  # right on one-hot targets: shows on probability targets only

# Mistakes whose call raises on some networks (W_ji.T @ delta needs J == I): those calls lose both layers.
RAISES_UNLESS_SQUARE = {"transposed_weights_in_backprop"}

# Known breaches of the 0.3 margin by the current network generator: the mistake still fails the grader's
# tolerance on these networks (see test_mistake_never_passes_the_tolerance) but by less than SPEC promises.
# strict=True: once networks.py is fixed these xfails turn into failures, and this table must be emptied.
BELOW_MARGIN: dict = {}  # (mistake, case, layer) -> why it is allowed below the margin: none since networks redraw


def _folders(outcome: str) -> list[Path]:
    return sorted(p for p in (SUBMISSIONS / outcome).iterdir() if (p / "backprop.py").is_file())


MISTAKES = _folders("mistakes")
OTHERS = _folders("other_networks")
CORRECT = _folders("correct")


@cache
def _compute_gradients(folder: Path):
    """The submission's compute_gradients, imported from its file with its own folder importable (helpers)."""
    name = f"_selftest_{folder.parent.name}_{folder.name}"
    spec = importlib.util.spec_from_file_location(name, folder / "backprop.py")
    module = importlib.util.module_from_spec(spec)
    provided = provided_by(folder)  # as in a worker: its own copy.py, not the one this process has loaded
    hidden = {m: sys.modules.pop(m) for m in list(sys.modules) if m.split(".")[0] in provided}
    before = set(sys.modules)
    sys.path.insert(0, str(folder))
    sys.path.insert(1, str(PROVIDED_FORWARD.parent))  # the grader provides the kit's forward.py too
    here = os.getcwd()
    os.chdir(tempfile.mkdtemp(prefix="selftest-import-"))  # what it writes (a plot) lands there, not in the checkout
    try:
        spec.loader.exec_module(module)
    finally:
        os.chdir(here)
        sys.path.remove(str(folder))
        sys.path.remove(str(PROVIDED_FORWARD.parent))
        for helper in set(sys.modules) - before:  # a helper such as mymath.py must not leak into other imports
            del sys.modules[helper]
        sys.modules.update(hidden)
    return module.compute_gradients


@cache
def _networks(case: str, group: str) -> tuple[nets.Network, ...]:
    """The networks of a group, drawn exactly as the grader draws them from autograder.toml."""
    n = CONFIG.networks
    if group == "worked":
        return (nets.worked_example(case),)
    if group == "general":
        return tuple(nets.general_target_networks(n["seed"])) if case == "softmax" else ()
    count = n["random_count"] if group == "random" else n["finite_difference_count"]
    return tuple(nets.random_networks(case, count, n["seed"], n["min_units"], n["max_units"], group))


def _call(folder: Path, net: nets.Network):
    """The submission's two gradients as float arrays, or None when the call raises."""
    arguments = tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in net.arguments())
    try:
        result = _compute_gradients(folder)(*arguments)
    except Exception:  # a crash counts as caught: the grader gives the network nothing
        return None
    return [np.asarray(g, dtype=float) for g in result]


def relative_error(student: np.ndarray | None, expected: np.ndarray) -> float:
    """max|student − expected| / max|expected|; infinite for no answer or the wrong shape."""
    if student is None or student.shape != expected.shape:
        return np.inf
    difference = float(np.max(np.abs(student - expected), initial=0.0))
    scale = float(np.max(np.abs(expected), initial=0.0))
    if scale == 0.0:
        return 0.0 if difference == 0.0 else np.inf
    return difference / scale


def _errors(folder: Path, case: str, groups: tuple, layer: str) -> list[tuple[nets.Network, float]]:
    """(network, relative error of one layer) on every network of the groups."""
    index = LAYERS.index(layer)
    rows = []
    for group in groups:
        for net in _networks(case, group):
            student = _call(folder, net)
            rows.append((net, relative_error(None if student is None else student[index],
                                             reference_gradients(*net.arguments())[index])))
    return rows


def _describe(rows) -> str:
    return "; ".join(f"{net.label} {net.shape}: {error:.3g}" for net, error in rows)


def _affected_params(*, margin: bool):
    """(folder, case, layer) for each layer a mistake affects; the margin test xfails the known breaches."""
    params = []
    for folder in MISTAKES:
        for case, layers in AFFECTED.get(folder.name, {}).items():
            for layer in layers:
                reason = BELOW_MARGIN.get((folder.name, case, layer)) if margin else None
                marks = [pytest.mark.xfail(strict=True, reason=f"below {MARGIN}: {reason}")] if reason else []
                params.append(pytest.param(folder, case, layer, marks=marks, id=f"{folder.name}-{case}-{layer}"))
    return params


def _unaffected_params():
    return [pytest.param(folder, case, layer, id=f"{folder.name}-{case}-{layer}")
            for folder in [*MISTAKES, *OTHERS] for case in CASES for layer in LAYERS
            if layer not in {**AFFECTED, **OTHER_NETWORKS}.get(folder.name, {}).get(case, ())]


def _other_params():
    return [pytest.param(folder, case, layer, id=f"{folder.name}-{case}-{layer}")
            for folder in OTHERS for case, layers in OTHER_NETWORKS.get(folder.name, {}).items() for layer in layers]


def test_every_mistake_says_what_it_affects():
    assert MISTAKES, "no example mistakes found"
    assert sorted(f.name for f in MISTAKES) == sorted(AFFECTED)
    assert sorted(f.name for f in OTHERS) == sorted(OTHER_NETWORKS)
    for folder in [*MISTAKES, *OTHERS]:
        assert folder.with_name(folder.name + ".expected.json").is_file(), folder.name


@pytest.mark.parametrize(("folder", "case", "layer"), _affected_params(margin=True))
def test_mistake_is_off_by_the_margin_on_every_network(folder, case, layer):
    """SPEC section 3's guarantee: relative error ≥ 0.3 on the worked example and every random network."""
    rows = _errors(folder, case, GROUPS.get(folder.name, NON_DEGENERATE), layer)
    close = [(net, error) for net, error in rows if error < MARGIN]
    assert not close, f"{folder.name}, {case}, {layer} is within {MARGIN} of the reference on: {_describe(close)}"


@pytest.mark.parametrize(("folder", "case", "layer"), _affected_params(margin=False) + _other_params())
def test_mistake_never_passes_the_tolerance(folder, case, layer):
    """Whatever the margin, the grader's own rule (numpy.allclose, SPEC section 3) rejects the mistake."""
    index = LAYERS.index(layer)
    tolerance = CONFIG.tolerance
    passed = []
    for group in GROUPS.get(folder.name, NON_DEGENERATE):
        for net in _networks(case, group):
            student = _call(folder, net)
            expected = reference_gradients(*net.arguments())[index]
            if student is not None and student[index].shape == expected.shape and close_enough(
                    student[index], expected, tolerance["rtol"], tolerance["atol_scale"]):
                passed.append(net.label)
    assert not passed, f"{folder.name}, {case}, {layer} passes the grader's tolerance on: {passed}"


@pytest.mark.parametrize(("folder", "case", "layer"), _unaffected_params())
def test_mistake_is_isolated(folder, case, layer):
    """A layer the mistake does not touch matches the reference, so the expected score shows only that mistake."""
    rows = _errors(folder, case, NON_DEGENERATE, layer)
    if folder.name in RAISES_UNLESS_SQUARE:
        assert all(error == np.inf for net, error in rows if net.shape[1] != net.shape[2])
        rows = [(net, error) for net, error in rows if net.shape[1] == net.shape[2]]
    wrong = [(net, error) for net, error in rows if not error <= CORRECT_RTOL]
    assert not wrong, f"{folder.name}, {case}, {layer} should be right but is off on: {_describe(wrong)}"


@pytest.mark.parametrize("folder", CORRECT, ids=[f.name for f in CORRECT])
@pytest.mark.parametrize("case", CASES)
def test_correct_submission_matches_the_reference(folder, case):
    rtol = FLOAT32_RTOL if folder.name == "float32" else CORRECT_RTOL
    for layer in LAYERS:
        rows = _errors(folder, case, (*NON_DEGENERATE, "general"), layer)
        wrong = [(net, error) for net, error in rows if not error <= rtol]
        assert not wrong, f"{folder.name}, {case}, {layer} differs from the reference on: {_describe(wrong)}"
