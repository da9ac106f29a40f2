"""A mistake is named when, and only when, it holds on every network the test may see (SPEC section 3).

The mistakes are written here as small in-process functions, the way a student would make them, and diagnosed on
the networks a visible test may use (the worked example, the finite-difference networks and the scale probes of
autograder.toml's seed) and on those a hidden test may use (the random networks too). Each known mistake must get
exactly its own name; the correct gradient none; a correct gradient scaled by 1 ± 2e-4 and each mistake combined
with a constant factor must get the right words; and what no known mistake explains must name nothing.
"""

import numpy as np
import pytest

from backprop_grader import messages as msg
from backprop_grader.config import load_config
from backprop_grader.maths import networks as nets
from backprop_grader.maths.diagnosis import HELD_MEMORY, Seen, _held, diagnose_arrays, diagnose_seen
from backprop_grader.maths.locate import describe_entries, factor_text
from reference.backprop import forward, log_softmax, output_delta, sigmoid

CONFIG = load_config(None)
TOLERANCE = {"rtol": 1e-4, "atol_scale": 1e-6}
LAYERS = ("W_kj", "W_ji")


def student(**mistakes):
    """A compute_gradients with the named mistakes (keyword flags), everything else right."""

    def compute_gradients(z, t, W_kj, W_ji, case):
        I = W_ji.shape[1]
        s = -1.0 if mistakes.get("wrong_sign_sigmoid") else 1.0
        units = mistakes.get("units")  # "tanh", "relu", "linear": another network's hidden units
        net = z @ W_kj
        y = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), "linear": lambda v: v}[units](net) if units \
            else sigmoid(s * (z @ W_kj))
        a = y @ W_ji
        outputs = mistakes.get("outputs", case)  # the other case's output units
        if outputs == "sigmoid":
            x = sigmoid(s * a)
        else:
            x = a / a.sum() if mistakes.get("no_exp") else np.exp(log_softmax(a))
        if mistakes.get("argmax_targets"):
            t = np.eye(I)[np.argmax(t)]
        seen = a if mistakes.get("a_for_x") else x
        if mistakes.get("jacobian_diagonal"):
            delta = t * (x - 1)
        elif mistakes.get("mse2"):
            delta = 2 * (x - t) * x * (1 - x)
        else:
            delta = seen - t if mistakes.get("sum_t_one") or outputs != case else output_delta(seen, t, case)
        if mistakes.get("mse"):
            delta = delta * x * (1 - x)
        if mistakes.get("mean_outputs"):
            delta = delta / I
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
        if units:
            hidden = hidden * {"tanh": 1 - y ** 2, "relu": 1.0 * (net > 0), "linear": 1.0}[units]
        elif mistakes.get("tanh"):
            hidden = hidden * (1 - y ** 2)
        elif not (mistakes.get("missing") or mistakes.get("x_for_y")):
            hidden = hidden * y * (1 - y)
        hidden = hidden * mistakes.get("hidden_factor", 1.0)
        dW_kj, dW_ji = np.outer(z, hidden), np.outer(y, delta)
        dW_ji = dW_ji.T if mistakes.get("output_transposed") else dW_ji
        dW_kj = dW_kj.T if mistakes.get("hidden_transposed") else dW_kj
        return (dW_ji, dW_kj) if mistakes.get("swapped") else (dW_kj, dW_ji)

    return compute_gradients


def _probe(net, scale):
    return nets.Network(net.label, net.case, net.z * scale, net.t, net.W_kj / scale, net.W_ji)


def visible_networks(case: str) -> list:
    """What a visible test may use: the worked example, the finite-difference networks, the two scale probes."""
    n = CONFIG.networks
    worked = nets.worked_example(case)
    fd = nets.random_networks(case, n["finite_difference_count"], n["seed"], n["min_units"], n["max_units"], "fd")
    return [worked, *fd, _probe(worked, 1e-3), _probe(worked, 1e2)]


def hidden_networks(case: str, group: str = "random") -> list:
    """What a hidden test may use: its own networks, then the visible ones."""
    n = CONFIG.networks
    own = {"random": lambda: nets.random_networks(case, n["random_count"], n["seed"], n["min_units"],
                                                   n["max_units"]),
           "general": lambda: nets.general_target_networks(n["seed"]),
           "square": lambda: [m for m in nets.random_networks(case, 60, 11, 2, 5) if m.shape[1] == m.shape[2]][:6]}
    return [*own[group](), *visible_networks(case)[:-2]]


def diagnoses(function, networks: list) -> tuple:
    """The diagnosis of each layer over the networks, the first failing one shown (None where all are right)."""
    seen = []
    for net in networks:
        try:
            seen.append(Seen(net, tuple(np.asarray(a, dtype=float) for a in function(*net.arguments()))))
        except ValueError:  # W_ji.T @ δ on J ≠ I: the student's call raises there
            continue
    found = []
    for n, layer in enumerate(LAYERS):
        failing = [s for s in seen if _wrong(s, n)]
        found.append(diagnose_seen(failing[:1] + [s for s in seen if s not in failing[:1]], layer, TOLERANCE)
                     if failing else None)
    return tuple(found)


def _wrong(s, n):
    right = student()(*s.network.arguments())[n]
    mine = s.arrays[n]
    return mine.shape != right.shape or not np.allclose(mine, right, rtol=1e-4, atol=1e-6)


BOTH_CASES = ("sigmoid", "softmax")
# name -> (flags, diagnosis expected on (W_kj, W_ji), cases, which networks: "visible", or a hidden group)
MISTAKES = {
    "sign_flipped": ({"sign": True}, ("sign_flipped", "sign_flipped"), BOTH_CASES, "visible"),
    "factor_half": ({"factor": 0.5}, ("constant_factor", "constant_factor"), BOTH_CASES, "visible"),
    "factor_two": ({"factor": 2.0}, ("constant_factor", "constant_factor"), BOTH_CASES, "visible"),
    "output_transposed": ({"output_transposed": True}, (None, "transposed"), BOTH_CASES, "visible"),
    "hidden_transposed": ({"hidden_transposed": True}, ("transposed", None), BOTH_CASES, "visible"),
    "swapped_order": ({"swapped": True}, ("swapped_order", "swapped_order"), BOTH_CASES, "visible"),
    "missing_sigmoid_derivative": ({"missing": True}, ("missing_sigmoid_derivative", None), BOTH_CASES, "visible"),
    "mse_factor_added": ({"mse": True}, ("mse_factor_added", "mse_factor_added"), BOTH_CASES, "visible"),
    "x_for_y": ({"x_for_y": True}, ("x_derivative_for_y", None), BOTH_CASES, "visible"),
    "sum_over_outputs_dropped": ({"last_output_only": True}, ("one_output_term", None), BOTH_CASES, "visible"),
    "transposed_weights": ({"transposed_weights": True}, ("transposed_weights_in_backprop", None), BOTH_CASES,
                           "square"),
    "sum_t_taken_as_one": ({"sum_t_one": True}, ("sum_t_taken_as_one", "sum_t_taken_as_one"), ("softmax",),
                           "general"),
    "tanh_derivative": ({"tanh": True}, ("tanh_derivative_for_y", None), BOTH_CASES, "visible"),
    "a_for_x": ({"a_for_x": True}, ("activation_for_output", "activation_for_output"), BOTH_CASES, "visible"),
    "softmax_without_exp": ({"no_exp": True}, ("softmax_without_exp", "softmax_without_exp"), ("softmax",),
                            "visible"),
    "sigmoid_wrong_sign": ({"wrong_sign_sigmoid": True}, ("sigmoid_wrong_sign", "sigmoid_wrong_sign"), BOTH_CASES,
                           "visible"),
    "targets_to_label": ({"argmax_targets": True}, ("targets_to_label", "targets_to_label"), BOTH_CASES,
                         "visible"),
    "mse_with_labels_in_case_1": ({"mse": True, "argmax_targets": True},
                                  (("mse_factor_added", "targets_to_label"),) * 2, ("sigmoid",), "visible"),
    "mean_over_outputs": ({"mean_outputs": True}, ("mean_over_outputs", "mean_over_outputs"), BOTH_CASES, "visible"),
    "jacobian_diagonal": ({"jacobian_diagonal": True}, ("softmax_jacobian_diagonal", "softmax_jacobian_diagonal"),
                          ("softmax",), "visible"),
    "tanh_hidden_units": ({"units": "tanh"}, ("tanh_hidden_units",) * 2, BOTH_CASES, "visible"),
    "relu_hidden_units": ({"units": "relu"}, ("relu_hidden_units",) * 2, BOTH_CASES, "visible"),
    "linear_hidden_units": ({"units": "linear"}, ("linear_hidden_units",) * 2, BOTH_CASES, "visible"),
    "sigmoid_outputs_for_softmax": ({"outputs": "sigmoid"}, ("sigmoid_outputs_for_softmax",) * 2, ("softmax",),
                                    "visible"),
    "softmax_outputs_for_sigmoid": ({"outputs": "softmax"}, ("softmax_outputs_for_sigmoid",) * 2, ("sigmoid",),
                                    "visible"),
    "mse_delta_doubled": ({"mse2": True}, ("mse_delta_doubled",) * 2, BOTH_CASES, "visible"),
    "mse_delta_doubled_with_labels": ({"mse2": True, "argmax_targets": True},
                                      (("mse_delta_doubled", "targets_to_label"),) * 2, ("softmax",), "visible"),
    "mse_with_labels": ({"mse": True, "argmax_targets": True}, (("mse_factor_added", "targets_to_label"),) * 2,
                        ("softmax",), "visible"),
    "tanh_hidden_units_with_mse": ({"units": "tanh", "mse2": True},
                                   (("tanh_hidden_units", "mse_delta_doubled"),) * 2, BOTH_CASES, "visible"),
    "textbook_sigmoid_network_for_softmax": ({"outputs": "sigmoid", "mse2": True},
                                             (("sigmoid_outputs_for_softmax", "mse_delta_doubled"),) * 2,
                                             ("softmax",), "visible"),
    "minus_E_with_missing_derivative": ({"sign": True, "missing": True},
                                        (("sign_flipped", "missing_sigmoid_derivative"), "sign_flipped"),
                                        BOTH_CASES, "visible"),
}
CASES = [(name, case) for name, (_, _, cases, _) in MISTAKES.items() for case in cases]


def _networks(case, kind):
    return visible_networks(case) if kind == "visible" else hidden_networks(case, kind)


def _as_tuple(wanted):
    return wanted if isinstance(wanted, tuple) else (wanted,)


@pytest.mark.parametrize(("name", "case"), CASES, ids=[f"{n}-{c}" for n, c in CASES])
def test_each_mistake_gets_exactly_its_own_diagnosis(name, case):
    flags, expected, _, kind = MISTAKES[name]
    groups = [kind] if kind != "visible" else ["visible", "random"]  # a hidden test sees it the same way
    for group in groups:
        found = diagnoses(student(**flags), _networks(case, group))
        for layer, wanted, got in zip(LAYERS, expected, found):
            if wanted is None:
                assert got is None, (group, layer, got)
            else:
                assert got is not None and got.mistakes == _as_tuple(wanted), (group, layer, got)
                assert got.alternatives == (), (group, layer, got)


@pytest.mark.parametrize("case", BOTH_CASES)
def test_the_correct_gradient_gets_no_diagnosis(case):
    for group in ("visible", "random", "square") + ("general",) * (case == "softmax"):
        assert diagnoses(student(), _networks(case, group)) == (None, None), group


@pytest.mark.parametrize("case", BOTH_CASES)
@pytest.mark.parametrize("factor", [1 + 2e-4, 1 - 2e-4])
def test_a_correct_answer_scaled_by_nearly_one_is_a_constant_factor_shown_with_enough_digits(case, factor):
    for layer, found in zip(LAYERS, diagnoses(student(factor=factor), visible_networks(case))):
        assert found.mistakes == ("constant_factor",), (layer, found)
        assert factor_text(found.factor) == ("1.0002" if factor > 1 else "0.9998"), found.factor
        assert "x(1−x)" not in found.details()


COMBINABLE = [name for name, (flags, expected, _, kind) in MISTAKES.items()
              if kind == "visible" and len(flags) == 1 and "factor" not in flags and "sign" not in flags
              and not any(w in ("transposed", "swapped_order") for w in expected)
              and "mse2" not in flags]  # 2(x−t)x(1−x) times ½ is (x−t)x(1−x): the MSE factor, named alone


def test_the_doubled_mse_delta_times_a_half_is_the_mse_factor_alone():
    for case in BOTH_CASES:
        for found in diagnoses(student(mse2=True, factor=0.5, hidden_factor=1.0), visible_networks(case)):
            assert found.mistakes == ("mse_factor_added",) and found.factor is None, (case, found)


@pytest.mark.parametrize("case", BOTH_CASES)
@pytest.mark.parametrize("name", COMBINABLE)
def test_each_mistake_with_a_constant_factor_gets_both_names_and_the_factor(name, case):
    flags, expected, cases, _ = MISTAKES[name]
    if case not in cases:
        pytest.skip("a case 2 mistake")
    found = diagnoses(student(**flags, factor=0.5, hidden_factor=1.0), visible_networks(case))
    for layer, wanted, got in zip(LAYERS, expected, found):
        if wanted is None:  # this mistake leaves this layer alone: only the factor is wrong there
            assert got.mistakes == ("constant_factor",) and got.factor == pytest.approx(0.5), (layer, got)
            continue
        assert set(got.mistakes) == {wanted, "constant_factor"}, (layer, got)
        assert got.factor == pytest.approx(0.5), (layer, got)
        assert msg.DIAGNOSIS_BOTH.split("{")[0] in got.details() and "times 0.5" in got.details()


def test_the_issue_cases_are_no_longer_called_a_constant_factor():
    """Softmax without exp, σ(−a), Jacobian diagonal and labels were 'a constant factor' or 'sum dropped' before."""
    for flags in ({"no_exp": True}, {"wrong_sign_sigmoid": True}, {"jacobian_diagonal": True},
                  {"argmax_targets": True}, {"mse": True}):
        for found in diagnoses(student(**flags), visible_networks("softmax")):
            if found is not None:
                assert "constant_factor" not in found.mistakes and "one_output_term" not in found.mistakes, flags


def test_a_factor_that_changes_from_network_to_network_is_not_called_constant():
    """Dividing by K is a constant on each network, a different one on each: nothing is named, and it is said."""
    def by_k(z, t, W_kj, W_ji, case):
        return [g / len(z) for g in student()(z, t, W_kj, W_ji, case)]

    for case in BOTH_CASES:
        for found in diagnoses(by_k, visible_networks(case)):
            assert found.mistakes == () and "not the same on the other networks" in found.pattern, found


UNKNOWN = {  # wrong in ways no known mistake explains: the grader must name nothing
    "full_jacobian_mse": lambda z, t, W_kj, W_ji, case: _mse_through_softmax(z, t, W_kj, W_ji, case),
    "noise": lambda *args: [g + 0.05 * np.cos(np.arange(g.size)).reshape(g.shape) for g in student()(*args)],
}


def _mse_through_softmax(z, t, W_kj, W_ji, case):
    """E = ½Σ(x − t)² differentiated through the full softmax Jacobian: not a mistake the grader knows."""
    y, _, x = forward(z, W_kj, W_ji, case)
    g = x - t
    delta = x * (g - g @ x) if case == "softmax" else g * x * (1 - x) * (1 + x)
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)


def _squared_derivative(z, t, W_kj, W_ji, case):
    y, _, x = forward(z, W_kj, W_ji, case)
    delta = output_delta(x, t, case)
    return np.outer(z, (W_ji @ delta) * (y * (1 - y)) ** 2), np.outer(y, delta)


UNKNOWN["squared_sigmoid_derivative"] = _squared_derivative


@pytest.mark.parametrize("name", list(UNKNOWN))
@pytest.mark.parametrize("case", BOTH_CASES)
def test_what_no_known_mistake_explains_names_nothing(name, case):
    for group in ("visible", "random"):
        for found in diagnoses(UNKNOWN[name], _networks(case, group)):
            assert found is None or found.mistakes == (), (group, found)


def _relu_softmax_with_labels(z, t, W_kj, W_ji, case):
    """A course's ReLU network with a softmax fed class labels, in either case: three things at once in case 1."""
    s = z @ W_kj
    y = np.maximum(s, 0)
    delta = np.exp(log_softmax(y @ W_ji)) - np.eye(len(t))[np.argmax(t)]
    hidden = W_ji @ delta
    hidden[s <= 0] = 0
    return np.outer(z, hidden), np.outer(y, delta)


def _tanh_with_unknown_delta(z, t, W_kj, W_ji, case):
    """tanh hidden units and an output delta no one would write: only the units can be recognised."""
    y = np.tanh(z @ W_kj)
    delta = (y @ W_ji) ** 3 - t
    return np.outer(z, (W_ji @ delta) * (1 - y ** 2)), np.outer(y, delta)


@pytest.mark.parametrize(("function", "units"), [(_relu_softmax_with_labels, "relu_hidden_units"),
                                                 (_tanh_with_unknown_delta, "tanh_hidden_units")])
def test_other_hidden_units_are_described_when_the_output_side_is_unknown(function, units):
    for found in diagnoses(function, visible_networks("sigmoid")):
        assert found.mistakes == () and found.pattern == msg.PATTERN_OTHER_UNITS.format(units=msg.UNIT_NAMES[units])


def test_sigmoid_units_with_an_unknown_delta_are_not_called_other_units():
    for name in ("full_jacobian_mse", "noise"):
        for case in BOTH_CASES:
            for found in diagnoses(UNKNOWN[name], visible_networks(case)):
                assert found is None or "look like" not in found.pattern, (name, case, found)


def test_the_wrong_factor_of_the_formula_is_located():
    net = nets.worked_example("softmax")
    arrays = _squared_derivative(*net.arguments())
    found = diagnose_arrays(net, "W_kj", arrays, TOLERANCE)
    assert msg.PATTERN_LINE_FACTORS["W_kj", 0] in found.pattern and msg.PATTERN_DELTA_RIGHT in found.pattern
    arrays = _mse_through_softmax(*net.arguments())
    found = diagnose_arrays(net, "W_kj", arrays, TOLERANCE)
    assert msg.PATTERN_OWN_DELTA in found.pattern, found
    found = diagnose_arrays(net, "W_ji", arrays, TOLERANCE)
    assert msg.PATTERN_LINE_FACTORS["W_ji", 0] in found.pattern, found


COMBINATIONS = {
    "sign+missing": ({"sign": True, "missing": True}, {"sign_flipped", "missing_sigmoid_derivative"}),
    "mse+sum_dropped": ({"mse": True, "last_output_only": True}, {"mse_factor_added", "one_output_term"}),
    "half+x_for_y": ({"factor": 0.5, "x_for_y": True}, {"constant_factor", "x_derivative_for_y"}),
    "swapped+sign": ({"swapped": True, "sign": True}, {"swapped_order", "sign_flipped"}),
    "hidden_transposed+missing": ({"hidden_transposed": True, "missing": True},
                                  {"transposed", "missing_sigmoid_derivative"}),
    "a_for_x+tanh": ({"a_for_x": True, "tanh": True}, {"activation_for_output", "tanh_derivative_for_y"}),
    "sign+missing+transposed": ({"sign": True, "missing": True, "hidden_transposed": True}, None),
}


@pytest.mark.parametrize("combination", list(COMBINATIONS))
@pytest.mark.parametrize("case", BOTH_CASES)
def test_two_mistakes_are_never_claimed_as_one(combination, case):
    flags, both = COMBINATIONS[combination]
    found = diagnoses(student(**flags), visible_networks(case))[0]  # the hidden layer shows every one of these
    if both is None:
        assert found is None or found.mistakes == (), found
    else:
        assert set(found.mistakes) == both, found


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
    wrong[0, 0] = -wrong[0, 0]  # so that no whole-column pattern of right entries applies
    wrong[:, 2] = -expected[:, 2]
    assert "right up to sign" in describe_entries(wrong, expected, "W_ji", TOLERANCE)


def test_entries_described_as_zero_or_per_column_factors():
    expected = _expected()
    assert describe_entries(np.zeros_like(expected), expected, "W_ji", TOLERANCE) == "every entry is zero"
    scaled = expected * np.array([2.0, 0.5, 3.0])
    assert "each column is off by its own factor" in describe_entries(scaled, expected, "W_ji", TOLERANCE)


def test_the_factor_and_the_output_are_reported_for_visible_tests():
    kj, ji = diagnoses(student(factor=0.5), visible_networks("sigmoid"))
    assert kj.factor == pytest.approx(0.5) and "0.5" in kj.details() and "0.5" not in kj.name()
    net = nets.worked_example("sigmoid")
    kj, _ = diagnoses(student(last_output_only=True), visible_networks("sigmoid"))
    assert kj.output == net.shape[2] - 1 and f"i={net.shape[2] - 1}" in kj.details()


def test_diagnosing_the_same_arrays_again_is_answered_from_memory():
    """A submission's tests diagnose the same failing arrays about seven times: the second time, every check of an
    explanation on a network is remembered (by the array's numbers: these are new arrays with the same ones)."""
    networks = visible_networks("sigmoid")
    _held.cache_clear()
    first = diagnoses(student(sign=True, missing=True), networks)
    done = _held.cache_info()
    again = diagnoses(student(sign=True, missing=True), networks)
    after = _held.cache_info()
    assert again == first and first[0].mistakes == ("sign_flipped", "missing_sigmoid_derivative")
    assert done.misses > 0 and after.misses == done.misses and after.hits > done.hits
    assert after.currsize <= after.maxsize == HELD_MEMORY


def _divided_by_k(z, t, W_kj, W_ji, case):
    """Both gradients divided by K: on the worked example (K = 2) the very numbers of student(factor=0.5)."""
    return student(factor=1 / len(z))(z, t, W_kj, W_ji, case)


def test_another_students_arrays_on_the_same_networks_are_not_answered_from_memory():
    """Submissions diagnosed in turn on the same networks are each named as when diagnosed alone, with nothing
    remembered, even one whose arrays equal another's on the network shown (÷K and ×0.5 on K = 2): what is
    remembered is keyed on the student's numbers on each network, not on the network."""
    networks = visible_networks("sigmoid")
    submissions = {"half": (student(factor=0.5), ("constant_factor",)), "by_k": (_divided_by_k, ()),
                   "sign": (student(sign=True), ("sign_flipped",))}
    alone = {}
    for name, (function, _) in submissions.items():
        _held.cache_clear()
        alone[name] = diagnoses(function, networks)
    for _ in range(2):
        for name, (function, wanted) in submissions.items():
            found = diagnoses(function, networks)
            assert found == alone[name] and all(f.mistakes == wanted for f in found), (name, found)


def test_mistake_names_are_one_clause_so_that_the_class_report_reads_them_whole():
    """batch's report cuts a diagnosis at "; " or ". " (frontends/report.py): a name must hold neither."""
    for key, name in msg.MISTAKE_NAMES.items():
        assert "; " not in name and ". " not in name, key


def test_the_worked_example_is_what_the_spec_asks_for():
    for case in BOTH_CASES:
        K, J, I = nets.worked_example(case).shape
        assert len({K, J, I}) == 3 and I >= 3
    t = nets.worked_example("softmax").t
    assert t.sum() == pytest.approx(1.0) and np.count_nonzero(t) > 1
