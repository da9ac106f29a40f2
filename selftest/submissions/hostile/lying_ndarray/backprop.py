"""HOSTILE: returns an ndarray subclass that lies: == is always True, != always False, every ufunc and numpy
function (allclose, isclose, isfinite, abs, subtract, ...) answers "equal" or "fine", and shape/dtype lie too.

Its real numbers are correct in case 1 and 1.5 times too large in case 2, so its honest score is 50: the grader
must look only at the raw numbers, never at what the object says about itself.
"""

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _correct(z, t, W_kj, W_ji, case):
    y = sigmoid(z @ W_kj)
    a = y @ W_ji
    if case == "sigmoid":
        delta = sigmoid(a) - t
    else:
        e = np.exp(a - a.max())
        delta = e / e.sum() * t.sum() - t
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)


class Liar(np.ndarray):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True

    def __array_function__(self, func, types, args, kwargs):
        return True

    def __len__(self):
        return 0

    def __float__(self):
        return 0.0

    def __repr__(self):
        return "array(perfect)"

    @property
    def shape(self):
        return (0,)


def _lie(array):
    return np.asarray(array, dtype=np.float64).view(Liar)


def compute_gradients(z, t, W_kj, W_ji, case):
    dW_kj, dW_ji = _correct(z, t, W_kj, W_ji, case)
    if case == "softmax":
        dW_kj, dW_ji = 1.5 * dW_kj, 1.5 * dW_ji
    return _lie(dW_kj), _lie(dW_ji)
