"""HOSTILE: at import, makes every comparison it can reach say "equal", then returns zeros.

numpy.allclose, isclose, array_equal, array_equiv, testing.assert_*, math.isclose, builtins.abs and
operator.eq are replaced in its own process. The grader compares in its own process, so nothing changes:
honest score 0.
"""

import builtins
import math
import operator
import sys

import numpy as np
import numpy.testing


def _always_true(*args, **kwargs):
    return True


def _never_fails(*args, **kwargs):
    return None


for _name in ("allclose", "isclose", "array_equal", "array_equiv"):
    setattr(np, _name, _always_true)
for _name in ("assert_allclose", "assert_array_almost_equal", "assert_array_equal", "assert_almost_equal",
              "assert_equal", "assert_array_less"):
    setattr(numpy.testing, _name, _never_fails)
math.isclose = _always_true
operator.eq = _always_true
builtins.abs = lambda x: 0.0
# And in every module already loaded that imported those names directly.
for _module in list(sys.modules.values()):
    for _name in ("allclose", "isclose", "array_equal", "assert_allclose"):
        try:
            if hasattr(_module, _name):
                setattr(_module, _name, _always_true)
        except Exception:
            pass


def compute_gradients(z, t, W_kj, W_ji, case):
    return np.zeros_like(W_kj), np.zeros_like(W_ji)
