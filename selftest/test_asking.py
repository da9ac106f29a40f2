"""The workers are asked everything before the graded tests run (Grading.ask_everything), in one fixed order, while
grade imports pytest in a thread meanwhile (sandbox.importing_meanwhile).

Asked ahead, the suite finds every reply it reads already in, and scores exactly as when each test asks for itself;
a worker started while the thread imports waits for the imports to end (a fork beside an import could deadlock).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest
from helpers import PROJECT, SUBMISSIONS

# Grades a submission in a process of its own with a Grading that records which groups it asks, in which order:
# asked ahead (ask_everything, then the suite) or only by the tests themselves. Prints what it saw as JSON.
_RECORDER = textwrap.dedent("""
    import json, sys
    from pathlib import Path

    from backprop_grader.config import load_config
    from backprop_grader.frontends import grade
    from backprop_grader.maths.grading import Grading
    from backprop_grader.sandbox import Limits, Worker

    class Recording(Grading):
        def replies(self, case, group):
            if (case, group) not in self._replies:
                self.asked.append([case, group])
            return super().replies(case, group)

    folder, ahead = Path(sys.argv[1]), sys.argv[2] == "ahead"
    config = load_config()

    def worker():
        return Worker(folder / "backprop.py", Limits(**config.limits), config.forbidden_imports)

    grading = Recording(config, worker(), None, worker)
    grading.asked = []
    if ahead:
        plugin, _ = grade._run_pytest(grading, [], {})  # asks everything, then runs the suite
    else:
        import pytest
        from backprop_grader.frontends.plugin import GradescopePlugin
        from backprop_grader.maths import cache

        cache.prepare(grading)
        plugin = GradescopePlugin(grading, notes=[], extra={})
        pytest.main(grade.pytest_arguments(), plugins=[plugin])
    print(json.dumps({"asked": grading.asked, "scores": {r["number"]: r["score"] for r in plugin.records}}))
""")

VISIBLE = [["sigmoid", g] for g in ("worked", "fd", "probe0", "probe1")] + \
          [["softmax", g] for g in ("worked", "fd", "probe0", "probe1")]


def _graded(submission, how: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _RECORDER, str(submission), how], cwd=PROJECT, capture_output=True,
                          text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("example", "hidden"), [
    ("correct/vectorized", [["sigmoid", "random"], ["sigmoid", "edge"],
                            ["softmax", "random"], ["softmax", "edge"], ["softmax", "general"]]),
    ("mistakes/sign_flipped", [["sigmoid", "random"], ["softmax", "random"]]),  # the gates stay shut
])
def test_everything_is_asked_ahead_in_one_order_and_scores_as_when_each_test_asks(example, hidden):
    ahead, lazily = _graded(SUBMISSIONS / example, "ahead"), _graded(SUBMISSIONS / example, "lazily")
    assert ahead["asked"] == VISIBLE + hidden
    assert {tuple(g) for g in lazily["asked"]} <= {tuple(g) for g in ahead["asked"]}
    assert ahead["scores"] == lazily["scores"]


_SLOW_MODULE = "import time\ntime.sleep(1.5)\nFINISHED = time.monotonic()\n"  # long enough for a loaded machine


def test_a_worker_started_while_a_thread_imports_waits_for_the_import(tmp_path):
    """A fork while another thread holds an import lock can leave the child stuck: the spawn waits."""
    (tmp_path / "slow_to_import.py").write_text(_SLOW_MODULE, encoding="utf-8")
    (tmp_path / "backprop.py").write_text("def compute_gradients(z, t, W_kj, W_ji, case):\n    return W_kj, W_ji\n",
                                          encoding="utf-8")
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(tmp_path)!r})
        from backprop_grader.sandbox import Limits, Worker, importing_meanwhile
        from backprop_grader.config import load_config
        limits = Limits(**load_config().limits)
        with importing_meanwhile("slow_to_import"):
            asked = time.monotonic()
            worker = Worker({str(tmp_path / "backprop.py")!r}, limits, ())
            worker.spawn()
            spawned = time.monotonic()
        import slow_to_import
        ok = worker.start().ok
        worker.close()
        print(asked < slow_to_import.FINISHED <= spawned, ok)
    """)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=120,
                          check=True)
    assert done.stdout.split() == ["True", "True"], done.stderr
    assert time.monotonic() - started >= 1.5


def test_a_failed_import_meanwhile_is_raised_by_the_callers_own_import():
    script = textwrap.dedent("""
        from backprop_grader.sandbox import importing_meanwhile
        with importing_meanwhile("no_such_module_anywhere"):
            pass
        try:
            import no_such_module_anywhere
        except ModuleNotFoundError as exc:
            print("raised", exc.name)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=120,
                          check=True)
    assert done.stdout.split() == ["raised", "no_such_module_anywhere"]


def test_a_grader_fault_while_asking_ahead_is_left_to_the_test_that_asks(tmp_path):
    """Asked ahead, a fault stops the asking; the test that asks the same meets it, and only that test loses."""
    script = textwrap.dedent("""
        from backprop_grader.config import load_config
        from backprop_grader.maths.grading import Grading

        grading = Grading(load_config(), None)  # no worker and no reason: every call is a fault
        grading.ask_everything()
        try:
            grading.replies("sigmoid", "worked")
        except AttributeError:
            print("met by the test")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=120,
                          check=True)
    assert done.stdout.strip() == "met by the test"
