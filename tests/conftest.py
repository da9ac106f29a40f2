"""Fixtures of the graded suite; the grader's plugin (backprop_grader.frontends.plugin) supplies the run's state."""

import pytest

from backprop_grader.frontends.plugin import GRADING


@pytest.fixture
def grading(pytestconfig):
    """The run's Grading object, the same for every test of a run so that each network is asked about once; read
    anew by each test, so that a batch job's next submission can never see the last one's. (Through pytest's
    `pytestconfig`, made once per session: `request` is made anew for every test that asks for it.)"""
    return pytestconfig.stash[GRADING]
