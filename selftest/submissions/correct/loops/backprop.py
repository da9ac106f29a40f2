"""A correct submission with plain Python loops over k, j and i, translating the sums one by one."""

import math

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + math.exp(-a))


def compute_gradients(z, t, W_kj, W_ji, case):
    K, J = W_kj.shape
    I = W_ji.shape[1]

    # forward pass
    y = [sigmoid(sum(W_kj[k, j] * z[k] for k in range(K))) for j in range(J)]
    a = [sum(W_ji[j, i] * y[j] for j in range(J)) for i in range(I)]
    if case == "sigmoid":
        x = [sigmoid(a[i]) for i in range(I)]
        delta = [x[i] - t[i] for i in range(I)]
    else:
        exps = [math.exp(a[i]) for i in range(I)]
        total = sum(exps)
        x = [exps[i] / total for i in range(I)]
        t_sum = sum(t[m] for m in range(I))
        delta = [x[i] * t_sum - t[i] for i in range(I)]

    dE_dW_ji = np.zeros((J, I))
    for j in range(J):
        for i in range(I):
            dE_dW_ji[j, i] = delta[i] * y[j]

    dE_dW_kj = np.zeros((K, J))
    for k in range(K):
        for j in range(J):
            s = 0.0
            for i in range(I):
                s += delta[i] * W_ji[j, i]
            dE_dW_kj[k, j] = s * y[j] * (1 - y[j]) * z[k]

    return dE_dW_kj, dE_dW_ji
