"""The known formula mistakes, each as the gradients a student who made it would compute (SPEC section 3).

A mistake is a change to one factor of the closed forms

    ∂E/∂w_ji = δ_i y_j          ∂E/∂w_kj = Σ_i δ_i w_ji y_j (1 − y_j) z_k

made the way students make it: a wrong output delta δ_i (the mean-squared-error factor x(1−x), Σ_m t_m taken as
1, the activation a where x belongs, softmax without exp, the softmax Jacobian's diagonal only, targets reduced to
a class label, a mean over outputs, the textbook mean-squared-error delta 2(x−t)x(1−x)), a wrong sigmoid (σ(−a)), a
wrong derivative in the hidden layer (missing, x(1−x), tanh's 1 − y²), or a wrong sum over outputs (one output's
term, W_ji transposed). Some students build another network than the homework's, as tutorials do: tanh, ReLU or
linear hidden units (each with its own derivative), or the other case's output units (sigmoid outputs where a
softmax was asked, and the reverse, with δ = x − t). Slips in what is returned (sign, a constant factor,
transposed, swapped) are not formulas: diagnosis.py adds them.

This module depends only on the reference, so that networks.py can ask it which networks tell mistakes apart.
"""

from __future__ import annotations

import numpy as np

from reference.backprop import log_softmax, output_delta, sigmoid

HIDDEN_UNITS = {"tanh_hidden_units": np.tanh, "relu_hidden_units": lambda s: np.maximum(s, 0.0),
                "linear_hidden_units": lambda s: s}  # another network's hidden units y_j = g(s_j)
HIDDEN_DERIVATIVES = {"tanh_hidden_units": lambda s, y: 1 - y ** 2, "relu_hidden_units": lambda s, y: 1.0 * (s > 0),
                      "linear_hidden_units": lambda s, y: np.ones_like(s)}  # g'(s_j), as each network's code has it
OTHER_OUTPUTS = ("sigmoid_outputs_for_softmax", "softmax_outputs_for_sigmoid")
FORMULA_MISTAKES = ("mse_factor_added", "mse_delta_doubled", "sum_t_taken_as_one", "activation_for_output",
                    "softmax_without_exp", "softmax_jacobian_diagonal", "targets_to_label", "mean_over_outputs",
                    "sigmoid_wrong_sign", "missing_sigmoid_derivative", "x_derivative_for_y", "tanh_derivative_for_y",
                    "transposed_weights_in_backprop", "one_output_term", *HIDDEN_UNITS, *OTHER_OUTPUTS)
# Mistakes that replace the same factor: a student makes at most one of each group.
EXCLUSIVE = ({"missing_sigmoid_derivative", "x_derivative_for_y", "tanh_derivative_for_y", *HIDDEN_UNITS},
             {"sigmoid_wrong_sign", *HIDDEN_UNITS},
             {"transposed_weights_in_backprop", "one_output_term"},
             {"activation_for_output", "softmax_without_exp", *OTHER_OUTPUTS},
             {"softmax_jacobian_diagonal", "mse_factor_added", "mse_delta_doubled", "sum_t_taken_as_one"},
             {"sigmoid_outputs_for_softmax", "sum_t_taken_as_one", "softmax_jacobian_diagonal"})
# formula mistake -> the layers it changes (0: dE/dW_kj, 1: dE/dW_ji). networks.py redraws a random network unless it
# shows each of these plainly; another network's units and outputs and the doubled MSE delta are left out, since
# screening for them would redraw the seeded networks (and change every score), and sigmoid and softmax outputs
# can lie closer than that margin on any network.
LAYERS_CHANGED = {"mse_factor_added": (0, 1), "sum_t_taken_as_one": (0, 1), "activation_for_output": (0, 1),
                  "softmax_without_exp": (0, 1), "softmax_jacobian_diagonal": (0, 1), "targets_to_label": (0, 1),
                  "mean_over_outputs": (0, 1), "sigmoid_wrong_sign": (0, 1), "missing_sigmoid_derivative": (0,),
                  "x_derivative_for_y": (0,), "tanh_derivative_for_y": (0,), "transposed_weights_in_backprop": (0,),
                  "one_output_term": (0,)}
_SOFTMAX_ONLY = {"sum_t_taken_as_one", "softmax_without_exp", "softmax_jacobian_diagonal",
                 "sigmoid_outputs_for_softmax"}  # targets_to_label: both (tutorials one-hot a class)
_SIGMOID_ONLY = {"softmax_outputs_for_sigmoid"}


def applies(mistake: str, case: str, shape: tuple) -> bool:
    """Whether a student could make this mistake on a network of this case and shape and still return arrays."""
    K, J, I = shape
    if mistake in _SOFTMAX_ONLY:
        return case == "softmax"
    if mistake in _SIGMOID_ONLY:
        return case == "sigmoid"
    if mistake == "transposed_weights_in_backprop":
        return J == I  # W_ji.T @ δ needs J == I; elsewhere the student's code raises
    if mistake in ("one_output_term", "mean_over_outputs"):
        return I > 1
    return True


def compatible(formula) -> bool:
    """No two mistakes of the same EXCLUSIVE group."""
    return all(len(set(formula) & group) < 2 for group in EXCLUSIVE)


def mistake_gradients(network, formula, output: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(dE/dW_kj, dE/dW_ji) as a student who made the `formula` mistakes would compute them.

    `output` is the output whose term replaces the sum over i (one_output_term). Values may be infinite (softmax
    without exp divides by Σ_m a_m); the caller ignores such variants.
    """
    z, t, W_kj, W_ji, case = network.arguments()
    I = W_ji.shape[1]
    sign = -1.0 if "sigmoid_wrong_sign" in formula else 1.0  # σ(−a): 1 / (1 + e^(+a))
    units = next((m for m in HIDDEN_UNITS if m in formula), None)
    s = z @ W_kj  # (J,)
    y = HIDDEN_UNITS[units](s) if units else sigmoid(sign * s)  # (J,)
    a = y @ W_ji  # (I,)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = _outputs(a, case, formula, sign)
        if "targets_to_label" in formula and np.any(t):
            t = np.eye(I)[int(np.argmax(t))]  # probabilities reduced to the most likely class
        delta = _output_delta(a, x, t, case, formula)
        if "mean_over_outputs" in formula:
            delta = delta / I
        sent_back = delta * x * (1 - x) if "x_derivative_for_y" in formula else delta  # (I,)
        if "transposed_weights_in_backprop" in formula:
            hidden = W_ji.T @ sent_back  # (J,), only when J == I
        elif "one_output_term" in formula:
            hidden = W_ji[:, output] * sent_back[output]  # (J,) one term of Σ_i
        else:
            hidden = W_ji @ sent_back  # (J,)
        if units:
            hidden = hidden * HIDDEN_DERIVATIVES[units](s, y)
        elif "tanh_derivative_for_y" in formula:
            hidden = hidden * (1 - y ** 2)
        elif not set(formula) & {"missing_sigmoid_derivative", "x_derivative_for_y"}:
            hidden = hidden * y * (1 - y)
        return np.outer(z, hidden), np.outer(y, delta)


def _outputs(a: np.ndarray, case: str, formula, sign: float) -> np.ndarray:
    """The outputs x_i the student computes from the activations a_i (I,)."""
    if "softmax_outputs_for_sigmoid" in formula or (case == "softmax" and not set(formula) & {
            "softmax_without_exp", "sigmoid_outputs_for_softmax"}):
        return np.exp(log_softmax(a))
    if "softmax_without_exp" in formula:
        return a / np.sum(a)  # "normalised" without the exponential
    return sigmoid(sign * a)


def _output_delta(a: np.ndarray, x: np.ndarray, t: np.ndarray, case: str, formula) -> np.ndarray:
    """The output delta δ_i the student computes (I,)."""
    seen = a if "activation_for_output" in formula else x  # (I,)
    if "softmax_jacobian_diagonal" in formula:
        return t * (x - 1)  # Σ_m ∂E/∂x_m ∂x_m/∂a_i with only m = i kept
    if "mse_delta_doubled" in formula:
        return 2 * (seen - t) * x * (1 - x)  # ∂/∂a_i of Σ_i (x_i − t_i)², the textbook squared error
    if "sum_t_taken_as_one" in formula or set(formula) & set(OTHER_OUTPUTS):
        delta = seen - t  # the other case's outputs come with their textbook delta x − t
    else:
        delta = output_delta(seen, t, case)
    return delta * x * (1 - x) if "mse_factor_added" in formula else delta
