"""Each known mistake gets exactly its own diagnosis, the correct gradient none, and two mistakes never pass as one.

The mistakes are written here as small in-process functions, the way a student would make them, and run on the
worked example and on seeded random networks of both cases.
"""

import numpy as np
import pytest

from backprop_grader import networks as nets
from backprop_grader.diagnosis import describe_entries, diagnose_arrays
from reference.backprop import forward, output_delta

TOLERANCE = {"rtol": 1e-4, "atol_scale": 1e-6}
LAYERS = ("W_kj", "W_ji")


def student(**mistakes):
    """A compute_gradients with the named mistakes (keyword flags), everything else right."""

    def compute_gradients(z, t, W_kj, W_ji, case):
        y, _, x = forward(z, W_kj, W_ji, case)
        delta = x - t if mistakes.get("sum_t_one") else output_delta(x, t, case)
        if mistakes.get("mse"):
            delta = delta * x * (1 - x)
        if mistakes.get("sign"):
            delta = -delta
        delta = delta * mistakes.get("factor", 1.0)
        sent = delta * x * (1 - x) if mistakes.get("x_for_y") else delta
        if mistakes.get("transposed_weights"):
            hidden = W_ji.T @ sent
        elif mistakes.get("last_output_only"):
            hidden = W_ji[:, -1] * sent[-1]
        else:
            hidden = W_ji @ sent
        if not (mistakes.get("missing") or mistakes.get("x_for_y")):
            hidden = hidden * y * (1 - y)
        dW_kj, dW_ji = np.outer(z, hidden), np.outer(y, delta)
        dW_ji = dW_ji.T if mistakes.get("output_transposed") else dW_ji
        dW_kj = dW_kj.T if mistakes.get("hidden_transposed") else dW_kj
        return (dW_ji, dW_kj) if mistakes.get("swapped") else (dW_kj, dW_ji)

    return compute_gradients


# name -> (flags, diagnosis expected on (W_kj, W_ji), cases where it applies, which networks)
MISTAKES = {
    "sign_flipped": ({"sign": True}, ("sign_flipped", "sign_flipped"), ("sigmoid", "softmax"), "usual"),
    "factor_half": ({"factor": 0.5}, ("constant_factor", "constant_factor"), ("sigmoid", "softmax"), "usual"),
    "factor_two": ({"factor": 2.0}, ("constant_factor", "constant_factor"), ("sigmoid", "softmax"), "usual"),
    "output_transposed": ({"output_transposed": True}, (None, "transposed"), ("sigmoid", "softmax"), "usual"),
    "hidden_transposed": ({"hidden_transposed": True}, ("transposed", None), ("sigmoid", "softmax"), "usual"),
    "swapped_order": ({"swapped": True}, ("swapped_order", "swapped_order"), ("sigmoid", "softmax"), "usual"),
    "missing_sigmoid_derivative": ({"missing": True}, ("missing_sigmoid_derivative", None),
                                   ("sigmoid", "softmax"), "usual"),
    "mse_factor_added": ({"mse": True}, ("mse_factor_added", "mse_factor_added"), ("sigmoid", "softmax"), "usual"),
    "x_for_y": ({"x_for_y": True}, ("x_derivative_for_y", None), ("sigmoid", "softmax"), "usual"),
    "sum_over_outputs_dropped": ({"last_output_only": True}, ("one_output_term", None),
                                 ("sigmoid", "softmax"), "usual"),
    "transposed_weights": ({"transposed_weights": True}, ("transposed_weights_in_backprop", None),
                           ("sigmoid", "softmax"), "square"),
    "sum_t_taken_as_one": ({"sum_t_one": True}, ("sum_t_taken_as_one", "sum_t_taken_as_one"), ("softmax",),
                           "general"),
}


def networks(case: str, kind: str) -> list:
    """The worked example and random networks; square ones (J == I) or general targets where a mistake needs it."""
    if kind == "general":
        return [n for n in nets.general_target_networks(5) if n.t.sum() != 1]
    if kind == "square":
        pool = nets.random_networks(case, 60, 11, 2, 5)
        return [n for n in pool if n.shape[1] == n.shape[2]][:6]
    return [nets.worked_example(case), *nets.random_networks(case, 12, 7, 2, 7)]


def diagnoses(function, net) -> tuple:
    """The diagnosis of each layer of the function's reply on one network (None where it is right)."""
    arrays = function(*net.arguments())
    return tuple(diagnose_arrays(net, layer, arrays, TOLERANCE) for layer in LAYERS)


CASES = [(name, case) for name, (_, _, cases, _) in MISTAKES.items() for case in cases]


@pytest.mark.parametrize(("name", "case"), CASES, ids=[f"{n}-{c}" for n, c in CASES])
def test_each_mistake_gets_exactly_its_own_diagnosis(name, case):
    flags, expected, _, kind = MISTAKES[name]
    chosen = networks(case, kind)
    assert chosen, "no network of the kind this mistake needs"
    for net in chosen:
        for layer, wanted, found in zip(LAYERS, expected, diagnoses(student(**flags), net)):
            if wanted is None:
                assert found is None, (net.label, layer, found)
            else:
                assert found is not None and found.mistakes == (wanted,), (net.label, layer, found)
                assert found.alternatives == () and not found.several, (net.label, layer, found)


@pytest.mark.parametrize("case", ["sigmoid", "softmax"])
def test_the_correct_gradient_gets_no_diagnosis(case):
    for net in networks(case, "usual") + networks(case, "square") + networks(case, "general") * (case == "softmax"):
        assert diagnoses(student(), net) == (None, None), net.label


def test_float32_work_gets_no_diagnosis():
    def float32(z, t, W_kj, W_ji, case):
        return [a.astype(np.float32) for a in student()(*(v.astype(np.float32) for v in (z, t, W_kj, W_ji)), case)]

    for case in ("sigmoid", "softmax"):
        for net in networks(case, "usual"):
            assert diagnoses(float32, net) == (None, None), net.label


def test_the_factor_and_the_output_are_reported_for_visible_tests():
    net = nets.worked_example("sigmoid")
    kj, ji = diagnoses(student(factor=0.5), net)
    assert kj.factor == 0.5 and "0.5" in kj.details() and "0.5" not in kj.name()
    kj, _ = diagnoses(student(last_output_only=True), net)
    assert kj.output == net.shape[2] - 1 and f"i={net.shape[2] - 1}" in kj.details()


COMBINATIONS = {
    "sign+missing": ({"sign": True, "missing": True}, {"sign_flipped", "missing_sigmoid_derivative"}),
    "mse+sum_dropped": ({"mse": True, "last_output_only": True}, {"mse_factor_added", "one_output_term"}),
    "half+x_for_y": ({"factor": 0.5, "x_for_y": True}, {"constant_factor", "x_derivative_for_y"}),
    "swapped+sign": ({"swapped": True, "sign": True}, {"swapped_order", "sign_flipped"}),
    "hidden_transposed+missing": ({"hidden_transposed": True, "missing": True},
                                  {"transposed", "missing_sigmoid_derivative"}),
    "sign+missing+transposed": ({"sign": True, "missing": True, "hidden_transposed": True}, None),
}


@pytest.mark.parametrize("combination", list(COMBINATIONS))
@pytest.mark.parametrize("case", ["sigmoid", "softmax"])
def test_two_mistakes_are_never_claimed_as_one(combination, case):
    flags, both = COMBINATIONS[combination]
    for net in networks(case, "usual"):
        found = diagnoses(student(**flags), net)[0]  # the hidden layer shows every one of these mistakes
        if found is None:  # a wrong shape that no explanation fits: the shape message alone is shown
            assert both is None, net.label
            continue
        assert len(found.mistakes) != 1, (net.label, found)
        if both is not None and found.mistakes:
            assert set(found.mistakes) == both, (net.label, found)
        if both is None:
            assert found.several or not found.mistakes, (net.label, found)


def _expected(layer="W_ji", shape=(4, 3), seed=0):
    return np.random.default_rng(seed).uniform(0.2, 1.0, shape) * np.array([1, -1, 1])


def test_entries_described_when_only_one_column_is_right():
    expected = _expected()
    wrong = expected.copy()
    wrong[:, 1:] *= np.array([1.7, -0.4])
    wrong[:, 1:] += 0.3
    text = describe_entries(wrong, expected, "W_ji", TOLERANCE)
    assert text == "only the column of output i=0 is right; every other entry is wrong"


def test_entries_described_when_one_row_is_wrong():
    expected = _expected()
    wrong = expected.copy()
    wrong[1] += 1.0
    text = describe_entries(wrong, expected, "W_kj", TOLERANCE)
    assert text == "every entry in the row of input k=1 is wrong; the rest is right"


def test_entries_described_right_up_to_sign_in_a_column():
    expected = _expected()
    wrong = expected.copy()
    wrong[:, 2] *= -1
    wrong[0, 0] = -wrong[0, 0]  # so that no whole-column pattern of right entries applies
    wrong[:, 2] = -expected[:, 2]
    text = describe_entries(wrong, expected, "W_ji", TOLERANCE)
    assert "right up to sign" in text


def test_entries_described_as_zero_or_per_column_factors():
    expected = _expected()
    assert describe_entries(np.zeros_like(expected), expected, "W_ji", TOLERANCE) == "every entry is zero"
    scaled = expected * np.array([2.0, 0.5, 3.0])
    assert "each column is off by its own factor" in describe_entries(scaled, expected, "W_ji", TOLERANCE)


def test_unrecognised_values_name_no_mistake():
    net = nets.worked_example("sigmoid")
    arrays = student()(*net.arguments())
    noisy = (arrays[0] + np.random.default_rng(3).normal(0, 0.3, arrays[0].shape), arrays[1])
    found = diagnose_arrays(net, "W_kj", noisy, TOLERANCE)
    assert found is not None and found.mistakes == () and found.pattern
