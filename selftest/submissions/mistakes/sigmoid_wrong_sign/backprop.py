"""Mistake: the sigmoid has the wrong sign, 1 / (1 + e^(+a)), used for the hidden units and the case 1 outputs.
Written as a small class, as some students organise a network."""

import numpy as np


class TwoLayerNet:
    def __init__(self, W_kj, W_ji, case):
        self.W_kj, self.W_ji, self.case = W_kj, W_ji, case

    @staticmethod
    def sigmoid(v):
        return 1.0 / (1.0 + np.exp(v))  # the minus sign is missing

    def forward(self, z):
        self.z = z
        self.y = self.sigmoid(z @ self.W_kj)
        a = self.y @ self.W_ji
        if self.case == "sigmoid":
            self.x = self.sigmoid(a)
        else:
            e = np.exp(a - a.max())
            self.x = e / e.sum()
        return self.x

    def backward(self, t):
        delta = self.x - t if self.case == "sigmoid" else self.x * t.sum() - t
        dW_ji = np.outer(self.y, delta)
        dW_kj = np.outer(self.z, (self.W_ji @ delta) * self.y * (1 - self.y))
        return dW_kj, dW_ji


def compute_gradients(z, t, W_kj, W_ji, case):
    net = TwoLayerNet(W_kj, W_ji, case)
    net.forward(z)
    return net.backward(t)
