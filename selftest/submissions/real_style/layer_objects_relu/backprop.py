"""Real style: layer objects with forward and backward methods, as a popular from-scratch book builds them (dense
layers with weights (n_inputs, n_neurons), ReLU hidden units; sigmoid outputs with binary cross-entropy averaged
over the outputs, or a combined softmax and categorical cross-entropy that takes class labels), wrapped as thinly
as possible: biases zero, one sample."""

import numpy as np


class Layer_Dense:
    def __init__(self, weights):
        self.weights = weights
        self.biases = np.zeros((1, weights.shape[1]))

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.weights.T)


class Activation_ReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0


class Activation_Sigmoid:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = 1 / (1 + np.exp(-inputs))

    def backward(self, dvalues):
        self.dinputs = dvalues * (1 - self.output) * self.output


class Loss_BinaryCrossentropy:
    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        outputs = len(dvalues[0])
        clipped_dvalues = np.clip(dvalues, 1e-7, 1 - 1e-7)
        self.dinputs = -(y_true / clipped_dvalues - (1 - y_true) / (1 - clipped_dvalues)) / outputs
        self.dinputs = self.dinputs / samples


class Activation_Softmax_Loss_CategoricalCrossentropy:
    def forward(self, inputs):
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        if len(y_true.shape) == 2:
            y_true = np.argmax(y_true, axis=1)
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
        self.dinputs = self.dinputs / samples


def compute_gradients(z, t, W_kj, W_ji, case):
    X, y = z.reshape(1, -1), t.reshape(1, -1)
    dense1, activation1, dense2 = Layer_Dense(W_kj), Activation_ReLU(), Layer_Dense(W_ji)
    dense1.forward(X)
    activation1.forward(dense1.output)
    dense2.forward(activation1.output)
    if case == "sigmoid":
        activation2, loss = Activation_Sigmoid(), Loss_BinaryCrossentropy()
        activation2.forward(dense2.output)
        loss.backward(activation2.output, y)
        activation2.backward(loss.dinputs)
        dvalues = activation2.dinputs
    else:
        loss_activation = Activation_Softmax_Loss_CategoricalCrossentropy()
        loss_activation.forward(dense2.output)
        loss_activation.backward(loss_activation.output, y)
        dvalues = loss_activation.dinputs
    dense2.backward(dvalues)
    activation1.backward(dense2.dinputs)
    dense1.backward(activation1.dinputs)
    return dense1.dweights, dense2.dweights
