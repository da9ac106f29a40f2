"""A helper named like the standard library's copy module."""

import numpy as np


def outer(a, b):
    return np.outer(a, b)
