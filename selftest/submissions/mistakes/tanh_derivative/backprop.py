"""Mistake: the hidden layer uses tanh's derivative 1 − y² where the sigmoid's y(1 − y) belongs. Written with loops."""

import math

import numpy as np


def sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


def compute_gradients(z, t, W_kj, W_ji, case):
    K, J = W_kj.shape
    I = W_ji.shape[1]
    y = [sigmoid(sum(z[k] * W_kj[k, j] for k in range(K))) for j in range(J)]
    a = [sum(y[j] * W_ji[j, i] for j in range(J)) for i in range(I)]
    if case == "sigmoid":
        x = [sigmoid(a_i) for a_i in a]
    else:
        top = max(a)
        e = [math.exp(a_i - top) for a_i in a]
        x = [e_i / sum(e) for e_i in e]
    total = sum(t)
    delta = [x[i] - t[i] if case == "sigmoid" else x[i] * total - t[i] for i in range(I)]
    dW_ji = np.zeros((J, I))
    dW_kj = np.zeros((K, J))
    for j in range(J):
        back = sum(delta[i] * W_ji[j, i] for i in range(I))
        delta_j = back * (1 - y[j] ** 2)  # the derivative of tanh, not of the sigmoid
        for i in range(I):
            dW_ji[j, i] = delta[i] * y[j]
        for k in range(K):
            dW_kj[k, j] = delta_j * z[k]
    return dW_kj, dW_ji
