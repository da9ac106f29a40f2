"""Real style: a two-layer net class as a well-known course's assignment writes it (input - fully connected - ReLU -
fully connected - softmax, class labels y, loss averaged over N examples plus L2 regularisation), wrapped as
thinly as possible: biases zero, no regularisation, one example whose label is the largest target."""

import numpy as np


class TwoLayerNet(object):
    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        self.params = {}
        self.params["W1"] = std * np.random.randn(input_size, hidden_size)
        self.params["b1"] = np.zeros(hidden_size)
        self.params["W2"] = std * np.random.randn(hidden_size, output_size)
        self.params["b2"] = np.zeros(output_size)

    def loss(self, X, y=None, reg=0.0):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        N, D = X.shape

        # forward pass
        hidden = np.maximum(0, X.dot(W1) + b1)
        scores = hidden.dot(W2) + b2
        if y is None:
            return scores

        shifted = scores - np.max(scores, axis=1, keepdims=True)
        exp_scores = np.exp(shifted)
        probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
        loss = -np.sum(np.log(probs[np.arange(N), y])) / N
        loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

        # backward pass
        grads = {}
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads["W2"] = hidden.T.dot(dscores) + 2 * reg * W2
        grads["b2"] = np.sum(dscores, axis=0)
        dhidden = dscores.dot(W2.T)
        dhidden[hidden <= 0] = 0
        grads["W1"] = X.T.dot(dhidden) + 2 * reg * W1
        grads["b1"] = np.sum(dhidden, axis=0)
        return loss, grads


def compute_gradients(z, t, W_kj, W_ji, case):
    net = TwoLayerNet(W_kj.shape[0], W_kj.shape[1], W_ji.shape[1])
    net.params["W1"] = W_kj.copy()
    net.params["W2"] = W_ji.copy()
    label = np.array([np.argmax(t)])
    _, grads = net.loss(z.reshape(1, -1), label, reg=0.0)
    return grads["W1"], grads["W2"]
