"""The insecure baseline of the benchmark: the same checks run in one process, the way a gradescope-utils suite
would (student module imported into the grader, no sandbox, no results.json machinery).

Usage: python bench/inprocess_baseline.py SUBMISSION_FOLDER
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backprop_grader import networks as nets  # noqa: E402
from backprop_grader.config import load_config  # noqa: E402
from backprop_grader.grading import close_enough, finite_differences  # noqa: E402
from reference.backprop import compute_gradients  # noqa: E402


def main(folder: str) -> None:
    """Import the student's file in-process and check it on every network of the rubric."""
    config = load_config()
    n, tol = config.networks, config.tolerance
    sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location("backprop", Path(folder) / "backprop.py")
    student = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(student)
    passed = total = 0
    for case in ("sigmoid", "softmax"):
        groups = [[nets.worked_example(case)],
                  nets.random_networks(case, n["random_count"], n["seed"], n["min_units"], n["max_units"]),
                  nets.edge_networks(case, n["seed"])]
        groups += [nets.general_target_networks(n["seed"])] if case == "softmax" else []
        fd = nets.random_networks(case, n["finite_difference_count"], n["seed"], n["min_units"], n["max_units"], "fd")
        for net in [net for group in groups for net in group] + fd:
            got = student.compute_gradients(*net.arguments())
            want = finite_differences(net, tol["finite_difference_step"]) if net in fd else \
                compute_gradients(*net.arguments())
            for g, w in zip(got, want):
                total += 1
                passed += close_enough(np.asarray(g, dtype=float), w, tol["rtol"], tol["atol_scale"])
    print(f"{passed} of {total} gradients passed")


if __name__ == "__main__":
    main(sys.argv[1])
