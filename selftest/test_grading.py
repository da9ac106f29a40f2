"""The pass rule of SPEC section 3, and the seeded networks it is applied to."""

import numpy as np
import pytest

from backprop_grader.config import load_config
from backprop_grader.maths import networks as nets
from backprop_grader.maths.verdicts import close_enough

CONFIG = load_config()


def test_close_enough_is_numpy_allclose_with_the_scaled_atol():
    rng = np.random.default_rng(0)
    for _ in range(5000):
        expected = rng.normal(size=(3, 4)) * 10 ** rng.uniform(-8, 3)
        student = expected * (1 + rng.normal(size=expected.shape) * 10 ** rng.uniform(-7, -2))
        if rng.random() < 0.1:
            student[0, 0] = rng.choice([np.nan, np.inf, -np.inf])
        atol = 1e-6 * max(1.0, np.abs(expected).max())
        assert close_enough(student, expected, 1e-4, 1e-6) == np.allclose(student, expected, rtol=1e-4, atol=atol)


def test_float32_work_passes_and_a_relative_error_of_1e_3_fails():
    rng = np.random.default_rng(1)
    expected = rng.normal(size=(5, 3))
    assert close_enough(expected.astype(np.float32).astype(float), expected, 1e-4, 1e-6)
    assert not close_enough(expected * 1.001, expected, 1e-4, 1e-6)


@pytest.mark.parametrize("case", ["sigmoid", "softmax"])
def test_random_networks_are_seeded_sized_and_mostly_non_square(case):
    n = CONFIG.networks
    first = nets.random_networks(case, n["random_count"], n["seed"], n["min_units"], n["max_units"])
    again = nets.random_networks(case, n["random_count"], n["seed"], n["min_units"], n["max_units"])
    assert all(np.array_equal(a.W_kj, b.W_kj) and np.array_equal(a.t, b.t) for a, b in zip(first, again))
    shapes = [net.shape for net in first]
    assert all(n["min_units"] <= size <= n["max_units"] for shape in shapes for size in shape), shapes
    assert sum(len(set(shape)) == 1 for shape in shapes) <= len(shapes) // 5
    assert sum(len(set(shape)) == 3 for shape in shapes) >= len(shapes) // 2


@pytest.mark.parametrize("case", ["sigmoid", "softmax"])
def test_random_networks_are_unsaturated_and_show_every_known_mistake(case):
    n = CONFIG.networks
    for purpose in ("random", "fd"):
        count = n["random_count"] if purpose == "random" else n["finite_difference_count"]
        for net in nets.random_networks(case, count, n["seed"], n["min_units"], n["max_units"], purpose):
            assert not nets._saturated(net) and nets._discriminates(net), net.label
    worked = nets.worked_example(case)
    assert not nets._saturated(worked) and nets._discriminates(worked)
    K, J, I = worked.shape
    assert len({K, J, I}) == 3 and I >= 2


def test_case_2_targets_are_one_hot_or_probabilities_and_case_1_has_exact_zeros_and_ones():
    n = CONFIG.networks
    soft = nets.random_networks("softmax", 25, n["seed"], 2, 7)
    assert all(np.isclose(net.t.sum(), 1.0) and np.all(net.t >= 0) for net in soft), [n.t for n in soft]
    hard = np.concatenate([net.t for net in nets.random_networks("sigmoid", 25, n["seed"], 2, 7)])
    assert np.all((hard >= 0) & (hard <= 1)) and np.any(hard == 0) and np.any(hard == 1)
