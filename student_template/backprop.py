"""Homework: back-propagation in a two-layer sigmoid network.

Implement compute_gradients below. forward.py (in this kit) has the forward pass and the error E, if you want
them. Check your work with `python check.py` before you submit backprop.py (see README.md).
"""

import numpy as np  # noqa: F401  (you will want it)


def compute_gradients(z, t, W_kj, W_ji, case):
    """Return (dE_dW_kj, dE_dW_ji) for one training example.

    z    : shape (K,)   inputs z_k
    t    : shape (I,)   targets t_i
    W_kj : shape (K, J) input-to-hidden weights, W_kj[k, j] = w_kj
    W_ji : shape (J, I) hidden-to-output weights, W_ji[j, i] = w_ji
    case : "sigmoid" or "softmax"
    """
    raise NotImplementedError("compute_gradients is not implemented yet")
