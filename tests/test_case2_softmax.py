"""Case 2: softmax outputs with the categorical cross-entropy and general targets (SPEC sections 1 and 3)."""

from backprop_grader.maths import suite
from backprop_grader.rubric import graded

CASE = "softmax"


@graded("2.1", tags=("case 2", "output layer"))
def test_output_layer_worked_example(grading):
    """Case 2: dE/dW_ji on the worked example"""
    suite.all_or_nothing(grading, "2.1", CASE, "W_ji")


@graded("2.2", tags=("case 2", "hidden layer"))
def test_hidden_layer_worked_example(grading):
    """Case 2: dE/dW_kj on the worked example"""
    suite.all_or_nothing(grading, "2.2", CASE, "W_kj")


@graded("2.3", partial=True, tags=("case 2", "output layer"))
def test_output_layer_random_networks(grading, set_score=None):
    """Case 2: dE/dW_ji on random networks"""
    suite.share(grading, "2.3", CASE, "random", ("W_ji",), set_score)


@graded("2.4", partial=True, tags=("case 2", "hidden layer"))
def test_hidden_layer_random_networks(grading, set_score=None):
    """Case 2: dE/dW_kj on random networks"""
    suite.share(grading, "2.4", CASE, "random", ("W_kj",), set_score)


@graded("2.5", partial=True, tags=("case 2", "finite differences"))
def test_finite_differences(grading, set_score=None):
    """Case 2: both gradients agree with finite differences of E"""
    suite.finite_differences(grading, "2.5", CASE, set_score)


@graded("2.6", partial=True, tags=("case 2", "edge cases"))
def test_edge_cases(grading, set_score=None):
    """Case 2: edge cases (saturation, zero inputs, 1-unit layers, one-hot targets)"""
    suite.gated_share(grading, "2.6", CASE, "edge", set_score)


@graded("2.7", partial=True, tags=("case 2", "general targets"))
def test_general_targets(grading, set_score=None):
    """Case 2: targets that do not sum to 1"""
    suite.gated_share(grading, "2.7", CASE, "general", set_score)
