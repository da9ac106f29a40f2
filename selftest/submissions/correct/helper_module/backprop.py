"""A correct submission that imports its maths from a helper module mymath.py beside it."""

import numpy as np
from mymath import output_delta, sigmoid, softmax


def compute_gradients(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    x = sigmoid(a) if case == "sigmoid" else softmax(a)
    delta = output_delta(x, t, case)
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)
