"""Nothing a student sees before the due date depends on a hidden network (grading.py's two phases).

A hostile example (hostile/leak_hidden_networks) prints every input it gets in full precision, leaves them in the
temporary folders, raises them in exceptions and fails networks according to all it has seen. Its visible outputs
must hold no number of a hidden network, and must be exactly the same when the hidden networks change.
"""

from __future__ import annotations

import bisect
import os
import re

import numpy as np
import pytest
from helpers import PROJECT, SUBMISSIONS, grade

from backprop_grader.config import load_config
from backprop_grader.maths import feedback
from backprop_grader.maths.grading import GRADED_GROUPS, Grading
from backprop_grader.maths.verdicts import LAYERS
from backprop_grader.sandbox import Reply

LEAKER = SUBMISSIONS / "hostile" / "leak_hidden_networks"
# One worker runs this whole module under pytest-xdist: the check of the shared temporary folders must not see a
# leaker that another test of this module is grading at that moment.
pytestmark = pytest.mark.xdist_group("leak_hidden_networks")
_PRECISE = re.compile(r"-?\d+\.\d{6,}(?:e[-+]?\d+)?")  # numbers printed with 7 or more significant digits


def _numbers(config_path, *, visible: bool) -> list[float]:
    """Every input number of the networks of one phase, sorted."""
    grading = Grading(load_config(config_path), None)
    values = []
    for case, groups in GRADED_GROUPS.items():
        for group in groups:
            if grading.is_visible(case, group) == visible:
                for network in grading.networks(case, group):
                    values += [float(v) for a in network.arguments()[:4] for v in np.ravel(a) if abs(v) > 1e-3]
    return sorted(values)


def _matches(text: str, values: list[float]) -> list[str]:
    """The numbers printed in text that equal one of values to 7 significant digits."""
    found = []
    for token in _PRECISE.findall(text):
        number = float(token)
        i = bisect.bisect_left(values, number - abs(number) * 1e-7)
        if i < len(values) and abs(values[i] - number) <= abs(number) * 1e-7:
            found.append(token)
    return found


def _visible_texts(document: dict) -> dict[str, str]:
    texts = {t["number"]: t["output"] for t in document["tests"] if t["visibility"] == "visible"}
    texts["summary"] = document["output"]
    return texts


@pytest.fixture(scope="module")
def leaked(tmp_path_factory):
    return grade(LEAKER, tmp_path_factory.mktemp("leak") / "results.json")


def test_no_visible_output_holds_a_number_of_a_hidden_network(leaked):
    hidden = _numbers(PROJECT / "autograder.toml", visible=False)
    for number, text in _visible_texts(leaked).items():
        assert _matches(text, hidden) == [], number


def test_the_detector_finds_what_the_leaker_prints_of_visible_networks(leaked):
    """The check above is not vacuous: the visible networks it prints are found."""
    visible = _numbers(PROJECT / "autograder.toml", visible=True)
    assert any(_matches(text, visible) for text in _visible_texts(leaked).values())


@pytest.mark.parametrize("submission", [LEAKER, SUBMISSIONS / "correct" / "vectorized",
                                        SUBMISSIONS / "mistakes" / "sum_over_outputs_dropped"],
                         ids=lambda p: p.name)
def test_visible_results_are_the_same_whatever_the_hidden_networks(submission, tmp_path):
    """Fewer hidden random networks (the visible ones stay): every visible output and score stays the same."""
    config = tmp_path / "autograder.toml"
    text = (PROJECT / "autograder.toml").read_text()
    assert "random_count = 25" in text
    config.write_text(text.replace("random_count = 25", "random_count = 3"))
    usual = grade(submission, tmp_path / "usual.json")
    fewer = grade(submission, tmp_path / "fewer.json", "--config", str(config))
    assert _visible_texts(usual) == _visible_texts(fewer)
    visible = {t["number"]: (t["status"], t["score"]) for t in usual["tests"] if t["visibility"] == "visible"}
    assert visible == {t["number"]: (t["status"], t["score"]) for t in fewer["tests"] if t["visibility"] == "visible"}


@pytest.mark.skipif(os.geteuid() != 0, reason="the files of other processes are the sandbox user's only as root")
def test_nothing_is_left_in_the_shared_temporary_folders(leaked):
    left = [f for folder in ("/tmp", "/var/tmp", "/dev/shm") for f in os.listdir(folder) if f.startswith("leak-")]
    assert left == []



def test_a_check_made_hidden_feeds_no_visible_diagnosis(tmp_path):
    """With the finite-difference checks (N.5) after the due date, their networks are hidden ones: the evidence a
    visible test's diagnosis may read holds none of them (it once did: "fd" was taken as visible whatever the
    rubric said)."""
    text = (PROJECT / "autograder.toml").read_text()
    for number in ("1.5", "2.5"):
        entry = f'[rubric.tests."{number}"]\npoints = 5\nvisibility = "visible"'
        assert entry in text
        text = text.replace(entry, entry.replace('"visible"', '"after_due_date"'))
    config = tmp_path / "autograder.toml"
    config.write_text(text)
    grading = Grading(load_config(config), None, Reply(False, "not_found", "nothing to run"))
    for case in grading.config.cases:
        visible = {id(n) for g in ("worked", "probe0", "probe1") for n in grading.networks(case, g)}
        for layer in LAYERS:
            shown = feedback.evidence(grading, case, layer, visible=True)
            assert shown and all(id(v.network) in visible for v in shown)
            hidden_test = feedback.evidence(grading, case, layer, visible=False, group="random")
            assert any(id(v.network) not in visible for v in hidden_test)  # a hidden test's may
