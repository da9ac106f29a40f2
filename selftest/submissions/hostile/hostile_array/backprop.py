"""HOSTILE: correct in case 1; in case 2 returns objects that are not arrays and fight being converted.

By call: __array__ raises; __array__ returns a huge (10^4 x 10^4) broadcast view; __array__ returns strings;
a "sequence" claiming 10^9 entries; __array__ returns an object array of objects whose __float__ raises.
Honest score 50, and each case-2 failure has a clear message.
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

_CALLS = [0]


class RaisingArray:
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("you may not look at my numbers")


class HugeArray:
    def __array__(self, dtype=None, copy=None):
        return np.broadcast_to(np.float64(1.0), (10000, 10000))


class StringArray:
    def __array__(self, dtype=None, copy=None):
        return np.array([["not", "a"], ["num", "ber"]])


class EndlessSequence:
    def __len__(self):
        return 10**9

    def __getitem__(self, index):
        if index >= 10**9:
            raise IndexError(index)
        return 0.0


class BadFloat:
    def __float__(self):
        raise ArithmeticError("no float for you")


class BadFloatArray:
    def __array__(self, dtype=None, copy=None):
        out = np.empty((2, 2), dtype=object)
        out[...] = BadFloat()
        return out


KINDS = (RaisingArray, HugeArray, StringArray, EndlessSequence, BadFloatArray)


def compute_gradients(z, t, W_kj, W_ji, case):
    if case == "softmax":
        kind = KINDS[_CALLS[0] % len(KINDS)]
        _CALLS[0] += 1
        return kind(), kind()
    return _correct(z, t, W_kj, W_ji, case)
