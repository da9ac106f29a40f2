"""The one error type for faults of the grader or its configuration, never of the student."""


class GraderError(Exception):
    """Something is wrong with the autograder itself: its configuration, its files or its environment."""


class GradeFailure(Exception):
    """Not a fault: the student's work failed a graded test. The message is the Markdown they read."""
