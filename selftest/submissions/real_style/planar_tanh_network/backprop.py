"""Real style: the one-hidden-layer planar-data network of a popular course (tanh hidden units, a sigmoid output,
cross-entropy averaged over m examples; parameters W1 (n_h, n_x), b1, W2 (n_y, n_h), b2, examples in columns),
written as its notebook writes it and wrapped as thinly as possible: biases zero, one example, the same network
for both cases (it has no softmax)."""

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def forward_propagation(X, parameters):
    W1 = parameters["W1"]
    b1 = parameters["b1"]
    W2 = parameters["W2"]
    b2 = parameters["b2"]

    Z1 = np.dot(W1, X) + b1
    A1 = np.tanh(Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = sigmoid(Z2)

    cache = {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}
    return A2, cache


def backward_propagation(parameters, cache, X, Y):
    m = X.shape[1]

    W2 = parameters["W2"]
    A1 = cache["A1"]
    A2 = cache["A2"]

    dZ2 = A2 - Y
    dW2 = (1 / m) * np.dot(dZ2, A1.T)
    db2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))
    dW1 = (1 / m) * np.dot(dZ1, X.T)
    db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)

    grads = {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
    return grads


def compute_gradients(z, t, W_kj, W_ji, case):
    parameters = {"W1": W_kj.T, "b1": np.zeros((W_kj.shape[1], 1)),
                  "W2": W_ji.T, "b2": np.zeros((W_ji.shape[1], 1))}
    X = z.reshape(-1, 1)
    Y = t.reshape(-1, 1)
    A2, cache = forward_propagation(X, parameters)
    grads = backward_propagation(parameters, cache, X, Y)
    return grads["dW1"].T, grads["dW2"].T
