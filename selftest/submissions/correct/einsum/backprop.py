"""A correct submission written with np.einsum, index letters as in the derivation."""

import numpy as np


def compute_gradients(z, t, W_kj, W_ji, case):
    y = 1 / (1 + np.exp(-np.einsum("k,kj->j", z, W_kj)))
    a = np.einsum("j,ji->i", y, W_ji)
    if case == "sigmoid":
        x = 1 / (1 + np.exp(-a))
        delta = x - t
    else:
        x = np.exp(a) / np.sum(np.exp(a))
        delta = x * np.sum(t) - t
    dE_dW_ji = np.einsum("i,j->ji", delta, y)
    dE_dW_kj = np.einsum("i,ji,j,k->kj", delta, W_ji, y * (1 - y), z)
    return dE_dW_kj, dE_dW_ji
