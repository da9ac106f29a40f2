"""The backprop autograder: grades students' compute_gradients and writes Gradescope's results.json."""

__version__ = "0.1.0"
