"""The networks the grader asks about: the worked example, seeded random ones, and the gated edge cases.

Random networks are non-degenerate on purpose (SPEC section 3): weights and inputs of order 1, no unit within
1e-3 of saturation, sizes mostly non-square, so that every formula mistake is off by a relative 0.3 or more.
Degenerate networks, where a wrong formula could match by accident, appear only in the gated edge cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reference.backprop import compute_gradients, forward

from ..config import CASE_NUMBERS
from .mistakes import LAYERS_CHANGED, applies, mistake_gradients

_SATURATION = 1e-3
_LABELS = {"random": "random network", "fd": "finite-difference check network"}  # what students read
MARGIN = 0.3  # every known formula mistake is off by at least this relative error on every random network
# Mistakes every random network must show plainly; Σ_m t_m taken as 1 and targets reduced to a label are right on
# one-hot targets by nature, and show on the probability targets and the general targets instead.
_SCREENED = tuple(m for m in LAYERS_CHANGED if m not in ("sum_t_taken_as_one", "targets_to_label"))


@dataclass(frozen=True, eq=False)
class Network:
    """One training example on one network; `label` names it in messages. Hashed by identity."""

    label: str
    case: str
    z: np.ndarray  # (K,)
    t: np.ndarray  # (I,)
    W_kj: np.ndarray  # (K, J)
    W_ji: np.ndarray  # (J, I)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(K, J, I)."""
        return self.W_kj.shape[0], self.W_kj.shape[1], self.W_ji.shape[1]

    def arguments(self) -> tuple:
        """The positional arguments of compute_gradients."""
        return self.z, self.t, self.W_kj, self.W_ji, self.case


def worked_example(case: str) -> Network:
    """The fixed worked example of tests N.1 and N.2: K=2, J=4, I=3, values students can follow by hand.

    K, J and I all differ (a transposed or swapped gradient shows in its shape), I = 3 and the case 2 target is a
    probability vector, not one-hot: with two outputs or a one-hot target many wrong output deltas are multiples
    of the right one. The weights (one decimal) were searched for so that every known formula mistake is off by
    a relative 0.45 or more in each layer it changes, is no multiple of the right gradient (the mean over outputs,
    a constant by nature, aside), and differs from every other mistake by more than a constant factor.
    """
    z = np.array([1.0, 0.5])
    W_kj = np.array([[0.6, -0.7, 1.0, -1.4],
                     [0.6, 1.3, 1.3, -0.9]])
    W_ji = np.array([[-0.9, 0.4, -0.5],
                     [-0.3, 1.1, 1.1],
                     [-1.3, -1.2, -0.4],
                     [-1.3, 1.1, -0.4]])
    t = np.array([0.2, 0.7, 0.1]) if case == "softmax" else np.array([0.8, 0.0, 0.3])
    return Network(f"worked example ({case})", case, z, t, W_kj, W_ji)


def random_networks(case: str, count: int, seed: int, min_units: int, max_units: int,
                    purpose: str = "random") -> list[Network]:
    """`count` seeded, non-degenerate networks; the same seed always gives the same networks."""
    rng = np.random.default_rng([seed, int(CASE_NUMBERS[case]), sum(map(ord, purpose))])
    networks = []
    while len(networks) < count:
        shape = _draw_shape(rng, min_units, max_units, square_allowed=len(networks) % 5 == 4)
        net = _draw_network(rng, case, shape, f"{_LABELS.get(purpose, purpose)} {len(networks) + 1}")
        if not _saturated(net) and _discriminates(net):
            networks.append(net)
    return networks


def edge_networks(case: str, seed: int) -> list[Network]:
    """Gated edge cases (1.6, 2.6): saturated units, zero inputs, one-unit layers, targets exactly 0 or 1."""
    rng = np.random.default_rng([seed, int(CASE_NUMBERS[case]), 6])
    nets = [
        _scaled(_draw_network(rng, case, (3, 4, 2), "saturated hidden units"), hidden=12.0, output=1.0),
        _scaled(_draw_network(rng, case, (4, 3, 3), "saturated output units"), hidden=1.0, output=25.0),
        _replace(_draw_network(rng, case, (3, 5, 2), "all inputs zero"), z=np.zeros(3)),
        _replace(_draw_network(rng, case, (4, 3, 2), "some inputs zero"), z=np.array([0.0, 1.3, 0.0, -0.7])),
        _draw_network(rng, case, (1, 3, 2), "one input unit"),
        _draw_network(rng, case, (3, 1, 2), "one hidden unit"),
        _draw_network(rng, case, (3, 4, 1), "one output unit"),
        _draw_network(rng, case, (1, 1, 1), "one unit in every layer"),
    ]
    hard = _draw_network(rng, case, (3, 4, 3), "targets exactly 0 or 1")
    nets.append(_replace(hard, t=np.array([1.0, 0.0, 0.0]) if case == "softmax" else np.array([1.0, 0.0, 1.0])))
    return nets


def general_target_networks(seed: int) -> list[Network]:
    """Case 2 with targets that do not sum to 1 (2.7): Σ_m t_m must not be taken as 1."""
    rng = np.random.default_rng([seed, 2, 7])
    targets = [np.zeros(3), np.array([0.5, 1.5, 0.0]), np.array([2.0, 0.0, 1.0, 0.5]), np.zeros(2),
               np.array([0.3, 0.2])]
    nets = []
    for n, t in enumerate(targets):
        shape = (int(rng.integers(2, 6)), int(rng.integers(2, 6)), len(t))
        label = "all-zero targets" if not t.any() else f"targets summing to {t.sum():g}"
        nets.append(_replace(_draw_network(rng, "softmax", shape, f"{label} ({n + 1})"), t=t))
    return nets


def _draw_shape(rng, low: int, high: int, square_allowed: bool) -> tuple[int, int, int]:
    """(K, J, I) from low..high, never all equal unless this draw may be square (one in five)."""
    while True:
        shape = tuple(int(v) for v in rng.integers(low, high + 1, size=3))
        if square_allowed or len(set(shape)) > 1:
            return shape


def _draw_network(rng, case: str, shape, label: str) -> Network:
    """Inputs in ±[0.5, 2], weights N(0, 1)/√fan-in scaled to order 1, targets by case."""
    K, J, I = shape
    z = rng.uniform(0.5, 2.0, K) * rng.choice([-1.0, 1.0], K)
    W_kj = rng.normal(0.0, 1.5 / np.sqrt(K), (K, J))
    W_ji = rng.normal(0.0, 2.0 / np.sqrt(J), (J, I))
    return Network(label, case, z, _draw_targets(rng, case, I), W_kj, W_ji)


def _draw_targets(rng, case: str, I: int) -> np.ndarray:
    """Case 1: uniform in [0, 1] with some exactly 0 or 1; case 2: one-hot or a probability vector."""
    if case == "sigmoid":
        t = rng.uniform(0.0, 1.0, I)
        exact = rng.random(I) < 0.3
        t[exact] = rng.integers(0, 2, int(exact.sum()))
        return t
    if rng.random() < 0.5:
        return np.eye(I)[rng.integers(I)]
    return rng.dirichlet(np.ones(I))


def _saturated(net: Network) -> bool:
    """True when any y or x is within 1e-3 of 0 or 1, which would hide y(1−y) or x(1−x) mistakes."""
    y, _, x = forward(net.z, net.W_kj, net.W_ji, net.case)
    units = np.concatenate([y, x]) if net.case == "sigmoid" or x.size > 1 else y
    return bool(np.any((units < _SATURATION) | (units > 1 - _SATURATION)))


def _discriminates(net: Network) -> bool:
    """True when every known formula mistake, and a transposed square gradient, is off by MARGIN or more.

    Units away from saturation are not enough on their own: x(1−x) and y(1−y) both sit near 1/4 there, and one
    output's term can dominate the sum over outputs, so a network is redrawn unless each mistake shows plainly.
    """
    right = compute_gradients(*net.arguments())
    for mistake in _SCREENED:
        if not applies(mistake, net.case, net.shape):
            continue
        for output in range(net.shape[2]) if mistake == "one_output_term" else (None,):
            wrong = mistake_gradients(net, frozenset([mistake]), output)
            if any(_relative_error(wrong[n], right[n]) < MARGIN for n in LAYERS_CHANGED[mistake]):
                return False
    return all(_relative_error(g.T, g) >= MARGIN for g in right if g.shape[0] == g.shape[1])


def _relative_error(wrong: np.ndarray, right: np.ndarray) -> float:
    """max |wrong − right| / max |right|."""
    return float(np.max(np.abs(wrong - right)) / max(np.max(np.abs(right)), 1e-300))


def _scaled(net: Network, hidden: float, output: float) -> Network:
    """The same network with weights multiplied, to drive units into saturation."""
    return _replace(net, W_kj=net.W_kj * hidden, W_ji=net.W_ji * output)


def _replace(net: Network, **changes) -> Network:
    """A copy of a frozen Network with some fields changed."""
    fields = {"label": net.label, "case": net.case, "z": net.z, "t": net.t, "W_kj": net.W_kj, "W_ji": net.W_ji}
    fields.update(changes)
    return Network(**fields)
