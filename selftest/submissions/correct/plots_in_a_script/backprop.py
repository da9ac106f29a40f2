"""The code of the notebook correct/notebook_with_plots as a .py file: it plots the sigmoid when imported
(plt.show() and a saved figure), then defines a correct compute_gradients."""

import matplotlib.pyplot as plt
import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


a = np.linspace(-6, 6, 200)
plt.figure(figsize=(5, 3))
plt.plot(a, sigmoid(a), label="σ(a)")
plt.plot(a, sigmoid(a) * (1 - sigmoid(a)), label="σ'(a)")
plt.legend()
plt.savefig("sigmoid.png", dpi=150)
plt.show()


def compute_gradients(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    if case == "sigmoid":
        x = sigmoid(a)
        delta = x - t
    else:
        e = np.exp(a - a.max())
        x = e / e.sum()
        delta = x * t.sum() - t
    dW_ji = np.outer(y, delta)
    dW_kj = np.outer(z, (W_ji @ delta) * y * (1 - y))
    return dW_kj, dW_ji
