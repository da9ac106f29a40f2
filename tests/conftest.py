"""Fixtures of the graded suite; the grader's plugin (backprop_grader.plugin) supplies the run's state."""

import pytest

from backprop_grader.plugin import GRADING


@pytest.fixture(scope="session")
def grading(request):
    """The run's Grading object, shared by every test so that each network is asked about once."""
    return request.config.stash[GRADING]
