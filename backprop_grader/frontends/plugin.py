"""The pytest plugin: thin hooks that record each graded test and write results.json at the end of the run."""

from __future__ import annotations

import traceback

import pytest

from .. import messages as msg
from ..errors import GradeFailure
from ..rubric import attributes, configure
from . import results

GRADING = pytest.StashKey()  # the run's Grading object, read by the `grading` fixture in tests/conftest.py


class GradescopePlugin:
    """Per-run state: the Grading object the tests use, and the records of the tests that ran.

    A run is one pytest session, or, in a batch job (batch_job.py), one pass over the session's tests per
    submission: begin() and finish() bracket each pass.
    """

    def __init__(self, grading=None, *, configuration=None, notes: list[str] = (), extra: dict | None = None):
        self.configuration = configuration or grading.config  # the run's config.Config: points and visibility
        self._config = None
        self._order: dict[str, int] = {}
        self.collection_faults: list[str] = []  # a graded file that cannot even be collected: the run is void
        self.begin(grading, notes=notes, extra=extra or {})

    def begin(self, grading, *, notes: list[str], extra: dict) -> None:
        """Start a run with this Grading object: no records, no faults yet."""
        self._grading, self.notes, self.extra = grading, list(notes), extra
        self.records: list[dict] = []
        self._positions: list[int] = []  # each record's place in the rubric's order, which results.json keeps
        self.faults: list[str] = []  # grader exceptions inside single tests: those tests get 0 and say so
        if self._config is not None:
            self._config.stash[GRADING] = grading

    def finish(self) -> None:
        """End the run: stop the worker (and all it started), and gather what the instructor should see."""
        if self._grading is None:
            return
        self._grading.close()
        self.records = [r for _, r in sorted(zip(self._positions, self.records), key=lambda pair: pair[0])]
        self.extra.update(self._grading.extra)
        if self.faults or self.collection_faults:
            self.extra["faults"] = self.collection_faults + self.faults
        self._grading = None

    def pytest_collection_modifyitems(self, session, config, items):
        """Visible tests first, hidden ones last: hidden networks are asked only once every visible output is
        final (grading.py's two phases); results.json keeps the rubric's order. Each test gets its points and
        visibility from the run's configuration; the tests of a case that rubric.cases leaves out are deselected:
        they never run, and results.json never lists them."""
        switched_off = [item for item in items if not configure(item.obj, self.configuration)]
        if switched_off:
            config.hook.pytest_deselected(items=switched_off)
            items[:] = [item for item in items if item not in switched_off]
        self._order = {item.nodeid: index for index, item in enumerate(items)}
        items.sort(key=lambda item: attributes(item.obj)["visibility"] != "visible")

    def pytest_configure(self, config):
        """Put the run's Grading object where the `grading` fixture finds it."""
        self._config = config
        config.stash[GRADING] = self._grading

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        """Clear a partial-credit score left by an earlier run in this process."""
        if hasattr(item.obj, "__score__"):
            item.obj.__score__ = None
        yield

    @pytest.hookimpl(tryfirst=True, specname="pytest_runtest_makereport")
    def pytest_runtest_makereport_graded(self, item, call):
        """A graded failure's report holds its message, not the traceback pytest would parse source files for."""
        if call.when == "call" and call.excinfo is not None and call.excinfo.errisinstance(GradeFailure):
            return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1), "failed",
                                     str(call.excinfo.value), call.when, (), call.duration, call.start, call.stop,
                                     user_properties=item.user_properties)
        return None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        """Record the test once its body ran, or once its setup failed."""
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and report.failed):
            self.records.append(self._record(item, call, report))
            self._positions.append(self._order.get(item.nodeid, len(self._order)))

    def pytest_collectreport(self, report):
        """A graded test file that cannot be collected is a fault of the grader."""
        if report.failed:
            self.collection_faults.append(f"collecting {report.nodeid}: {report.longreprtext}")

    def pytest_sessionfinish(self, session):
        """End the run that is still open."""
        self.finish()

    def _record(self, item, call, report) -> dict:
        """One test of results.json from the test's decorators and how it ended."""
        info = attributes(item.obj)
        passed = report.passed
        score = info["weight"] if passed else 0.0
        if info["partial"] and report.when == "call" and getattr(item.obj, "__score__", None) is not None:
            score = float(item.obj.__score__)
        output, extra = "", None
        if call.excinfo is not None and call.excinfo.errisinstance(GradeFailure):
            output = str(call.excinfo.value)
        elif call.excinfo is not None:
            output, score = msg.AUTOGRADER_FAULT, 0.0
            extra = {"traceback": "".join(traceback.format_exception(call.excinfo.value))[-8000:]}
            self.faults.append(f"{item.nodeid}: {call.excinfo.typename}: {call.excinfo.value}")
        else:
            output = report.capstdout.strip() or msg.PASSED
        return results.result_entry(name=info["name"], number=info["number"], score=score, max_score=info["weight"],
                                  status="passed" if passed else "failed", output=output,
                                  visibility=info["visibility"], tags=info["tags"], extra_data=extra)
