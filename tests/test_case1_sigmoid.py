"""Case 1: sigmoid outputs with the Bernoulli cross-entropy (SPEC sections 1 and 3)."""

from backprop_grader.maths import suite
from backprop_grader.rubric import graded

CASE = "sigmoid"


@graded("1.1", tags=("case 1", "output layer"))
def test_output_layer_worked_example(grading):
    """Case 1: dE/dW_ji on the worked example"""
    suite.all_or_nothing(grading, "1.1", CASE, "W_ji")


@graded("1.2", tags=("case 1", "hidden layer"))
def test_hidden_layer_worked_example(grading):
    """Case 1: dE/dW_kj on the worked example"""
    suite.all_or_nothing(grading, "1.2", CASE, "W_kj")


@graded("1.3", partial=True, tags=("case 1", "output layer"))
def test_output_layer_random_networks(grading, set_score=None):
    """Case 1: dE/dW_ji on random networks"""
    suite.share(grading, "1.3", CASE, "random", ("W_ji",), set_score)


@graded("1.4", partial=True, tags=("case 1", "hidden layer"))
def test_hidden_layer_random_networks(grading, set_score=None):
    """Case 1: dE/dW_kj on random networks"""
    suite.share(grading, "1.4", CASE, "random", ("W_kj",), set_score)


@graded("1.5", partial=True, tags=("case 1", "finite differences"))
def test_finite_differences(grading, set_score=None):
    """Case 1: both gradients agree with finite differences of E"""
    suite.finite_differences(grading, "1.5", CASE, set_score)


@graded("1.6", partial=True, tags=("case 1", "edge cases"))
def test_edge_cases(grading, set_score=None):
    """Case 1: edge cases (saturation, zero inputs, 1-unit layers, targets 0 or 1)"""
    suite.gated_share(grading, "1.6", CASE, "edge", set_score)
