"""Real style: the Network class of a well-known online book (sigmoid neurons in every layer, the quadratic cost,
weights w[l] of shape (n_out, n_in), column vectors, backprop returning (nabla_b, nabla_w)), wrapped as thinly as
possible: biases zero, the same network for both cases (it has no softmax)."""

import numpy as np


class Network(object):

    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        # feedforward
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        # backward pass
        delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for layer in range(2, self.num_layers):
            z = zs[-layer]
            sp = sigmoid_prime(z)
            delta = np.dot(self.weights[-layer + 1].transpose(), delta) * sp
            nabla_b[-layer] = delta
            nabla_w[-layer] = np.dot(delta, activations[-layer - 1].transpose())
        return (nabla_b, nabla_w)

    def cost_derivative(self, output_activations, y):
        return (output_activations - y)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def compute_gradients(z, t, W_kj, W_ji, case):
    net = Network([W_kj.shape[0], W_kj.shape[1], W_ji.shape[1]])
    net.weights = [W_kj.T.copy(), W_ji.T.copy()]
    net.biases = [np.zeros((W_kj.shape[1], 1)), np.zeros((W_ji.shape[1], 1))]
    _, nabla_w = net.backprop(z.reshape(-1, 1), t.reshape(-1, 1))
    return nabla_w[0].T, nabla_w[1].T
