"""A correct submission that keeps its maths in helpers named like standard library modules that the grader has
loaded (logging.py, copy.py): a fresh Python imports them from beside it, and so must every worker, forked or not."""

import numpy as np
from copy import outer
from logging import output_delta, sigmoid, softmax


def compute_gradients(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    x = sigmoid(a) if case == "sigmoid" else softmax(a)
    delta = output_delta(x, t, case)
    return outer(z, (W_ji @ delta) * y * (1 - y)), outer(y, delta)
