"""Real style: the short "neural network from scratch" class of a widely read blog post (sigmoid layers without
biases, weights1 (features, hidden), weights2 (hidden, outputs), the sum-of-squares loss, the weights moved by
+= d_weights with d_weights = −∂loss/∂W), wrapped as thinly as possible: the gradient is −d_weights, and the same
network serves both cases (it has no softmax)."""

import numpy as np


def sigmoid(x):
    return 1.0 / (1 + np.exp(-x))


def sigmoid_derivative(x):
    return x * (1.0 - x)


class NeuralNetwork:
    def __init__(self, x, y, weights1, weights2):
        self.input = x
        self.weights1 = weights1
        self.weights2 = weights2
        self.y = y
        self.output = np.zeros(self.y.shape)

    def feedforward(self):
        self.layer1 = sigmoid(np.dot(self.input, self.weights1))
        self.output = sigmoid(np.dot(self.layer1, self.weights2))

    def backprop(self):
        # application of the chain rule to find derivative of the loss function with respect to weights2 and weights1
        d_weights2 = np.dot(self.layer1.T, (2 * (self.y - self.output) * sigmoid_derivative(self.output)))
        d_weights1 = np.dot(self.input.T, (np.dot(2 * (self.y - self.output) * sigmoid_derivative(self.output),
                                                  self.weights2.T) * sigmoid_derivative(self.layer1)))
        return d_weights1, d_weights2


def compute_gradients(z, t, W_kj, W_ji, case):
    nn = NeuralNetwork(z.reshape(1, -1), t.reshape(1, -1), W_kj, W_ji)
    nn.feedforward()
    d_weights1, d_weights2 = nn.backprop()
    return -d_weights1, -d_weights2
