"""Real style: the loop-based tutorial network of plain Python lists of neuron dictionaries (sigmoid transfer in
every layer, error = expected − output, delta = error × output (1 − output), weights updated with += rate × delta ×
input, the expected outputs a one-hot of the row's class), wrapped as thinly as possible: biases zero, the class is
the largest target, and the gradient is minus what the update adds."""

from math import exp

import numpy as np


def activate(weights, inputs):
    activation = weights[-1]
    for i in range(len(weights) - 1):
        activation += weights[i] * inputs[i]
    return activation


def transfer(activation):
    return 1.0 / (1.0 + exp(-activation))


def forward_propagate(network, row):
    inputs = row
    for layer in network:
        new_inputs = []
        for neuron in layer:
            activation = activate(neuron["weights"], inputs)
            neuron["output"] = transfer(activation)
            new_inputs.append(neuron["output"])
        inputs = new_inputs
    return inputs


def transfer_derivative(output):
    return output * (1.0 - output)


def backward_propagate_error(network, expected):
    for i in reversed(range(len(network))):
        layer = network[i]
        errors = list()
        if i != len(network) - 1:
            for j in range(len(layer)):
                error = 0.0
                for neuron in network[i + 1]:
                    error += (neuron["weights"][j] * neuron["delta"])
                errors.append(error)
        else:
            for j in range(len(layer)):
                neuron = layer[j]
                errors.append(expected[j] - neuron["output"])
        for j in range(len(layer)):
            neuron = layer[j]
            neuron["delta"] = errors[j] * transfer_derivative(neuron["output"])


def compute_gradients(z, t, W_kj, W_ji, case):
    K, J = W_kj.shape
    I = W_ji.shape[1]
    hidden = [{"weights": [float(W_kj[k, j]) for k in range(K)] + [0.0]} for j in range(J)]
    output = [{"weights": [float(W_ji[j, i]) for j in range(J)] + [0.0]} for i in range(I)]
    network = [hidden, output]
    row = [float(v) for v in z]
    forward_propagate(network, row)
    expected = [0 for _ in range(I)]
    expected[int(np.argmax(t))] = 1
    backward_propagate_error(network, expected)
    dW_kj = np.array([[-neuron["delta"] * row[k] for neuron in hidden] for k in range(K)])
    dW_ji = np.array([[-neuron["delta"] * h["output"] for neuron in output] for h in hidden])
    return dW_kj, dW_ji
