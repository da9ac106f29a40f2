"""The packages students may import: one list in autograder.toml, enforced by the worker in real processes, the
same on a laptop (`grade`, whose environment has more installed) and under `simulate` (whose setup.sh installs
exactly the list), and plots that never break grading."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers import PROJECT, SUBMISSIONS, expected_of, grade, run_grader

from backprop_grader.config import load_config
from backprop_grader.frontends import simulate
from backprop_grader.sandbox import Limits, Reply, Worker

CONFIG = load_config()
LIMITS = Limits(**dict(CONFIG.limits, import_seconds=60.0))
RULES = CONFIG.forbidden_imports  # the refused names, then "+numpy", "+scipy", "+matplotlib"

EXAMPLES = [SUBMISSIONS / "discovery" / "notebook_with_plots", SUBMISSIONS / "correct" / "plots_in_a_script",
            SUBMISSIONS / "correct" / "scipy_expit", SUBMISSIONS / "malformed" / "imports_outside_the_list",
            SUBMISSIONS / "hostile" / "removes_the_import_guard"]


@pytest.fixture(params=["fresh python", "fork", "warm fork", "zygote", "warm zygote"])
def start(request):
    """How the worker starts, as in production: a fresh Python, a fork of a grader that holds numpy alone (as
    run_autograder's grader does when it forks), the same after it imported matplotlib's pyplot and scipy.special
    for code that names them, or a fork from a zygote, bare or warm (as a batch job's, which has imported
    matplotlib's pyplot and scipy.special, and so PIL and the rest of what they import). The forks
    are taken in a clean process of their own: this test process holds whatever earlier tests imported (scipy,
    PIL, yaml), which no grader holds when it forks."""
    return request.param


# A grader as it forks its worker: numpy loaded, nothing else of the student's list; prints the reply as JSON.
_FORKING_GRADER = """
import gc, json, sys
gc.disable()  # as `grade` runs (backprop_grader/__main__.py)
from pathlib import Path
import numpy  # noqa: F401
from backprop_grader.sandbox import Limits, Worker
from backprop_grader.sandbox.zygote import Zygote
mode, program, rules, limits = sys.argv[1], Path(sys.argv[2]), tuple(json.loads(sys.argv[3])), json.loads(sys.argv[4])
warm = tuple(r[1:] for r in rules if r.startswith("+")) if mode == "warm zygote" else ()
zygote = Zygote.start(warm) if mode.endswith("zygote") else None
if mode == "warm fork":  # as grade does for code that names both (grade.preload_named), whatever the rules allow
    from backprop_grader.sandbox.policy import can_fork
    from backprop_grader.sandbox.zygote import warm as preload
    preload(("matplotlib", "scipy"))
    assert can_fork(), "preloading left the grader unable to fork its workers"
worker = Worker(program, Limits(**limits), rules, None, fork=mode.endswith("fork"), zygote=zygote)
try:
    reply = worker.start()
finally:
    worker.close()
    if zygote is not None:
        zygote.close()
print(json.dumps({"ok": reply.ok, "kind": reply.kind, "message": reply.message, "details": reply.details,
                  "output": reply.output}))
"""


def _startup(tmp_path, source: str, start: str, rules: tuple = RULES, **files: str) -> Reply:
    """The reply to importing `source` as backprop.py (with other files beside it) in a real worker."""
    (tmp_path / "backprop.py").write_text(source, encoding="utf-8")
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    if start == "fresh python":
        worker = Worker(tmp_path / "backprop.py", LIMITS, rules, None)
        try:
            return worker.start()
        finally:
            worker.close()
    done = subprocess.run([sys.executable, "-c", _FORKING_GRADER, start, str(tmp_path / "backprop.py"),
                           json.dumps(rules), json.dumps(LIMITS.__dict__)], cwd=PROJECT, capture_output=True,
                          text=True, timeout=120, env={"PATH": os.environ["PATH"], "PYTHONPATH": str(PROJECT),
                                                       "OPENBLAS_NUM_THREADS": "1", "LANG": "C.UTF-8"})
    assert done.returncode == 0, done.stderr[-3000:]
    return Reply(**json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("statement, module", [
    ("import PIL", "PIL"),  # installed (matplotlib needs it), but not on the list
    ("import pytest", "pytest"),  # loaded in the grading process that a worker may be forked from
    ("import yaml", "yaml"),  # installed on this laptop (instructor extras), not on Gradescope
    ("import importlib\nimportlib.import_module('yaml')", "yaml"),
    ("import importlib\nimportlib.import_module('PIL.Image')", "PIL"),  # loaded by a warm zygote's matplotlib
    ("from PIL import Image", "PIL"),
    ("exec('import nbformat')", "nbformat"),
    ("import surely_no_such_package", "surely_no_such_package"),  # installed nowhere: the same message
])
def test_student_code_cannot_import_what_is_not_on_the_list(tmp_path, start, statement, module):
    reply = _startup(tmp_path, statement + "\n\ndef compute_gradients(z, t, W_kj, W_ji, case):\n    pass\n", start)
    assert (reply.ok, reply.kind) == (False, "missing_module"), reply
    assert reply.message.startswith(f"module {module} is not available here"), reply.message
    assert reply.details["names"][:4] == ["numpy", "scipy", "matplotlib", "the Python standard library"]


def test_the_list_the_standard_library_and_own_files_import(tmp_path, start):
    source = ("import json, fractions, importlib\nimport numpy\nimport scipy.special\nimport matplotlib.pyplot as plt\n"
              "import mine\nfrom helpers.deep import VALUE\nimportlib.import_module('scipy.linalg')\n"
              "def compute_gradients(z, t, W_kj, W_ji, case):\n    pass\n")
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "__init__.py").write_text("")
    (tmp_path / "helpers" / "deep.py").write_text("VALUE = 2\n")
    reply = _startup(tmp_path, source, start, **{"mine.py": "X = 1\n"})
    assert reply.ok, reply


def test_student_code_runs_with_the_garbage_collector_on(tmp_path, start):
    """As in a fresh Python, though the grader it may be forked from runs without it."""
    reply = _startup(tmp_path, "import gc\nprint(gc.isenabled())\n\ndef compute_gradients(z, t, W_kj, W_ji, case):\n"
                               "    pass\n", start)
    assert reply.ok and reply.output.split() == ["True"], reply


def test_a_students_helper_module_is_student_code_too(tmp_path, start):
    reply = _startup(tmp_path, "import mine\n\ndef compute_gradients(z, t, W_kj, W_ji, case):\n    pass\n", start,
                     **{"mine.py": "import yaml\n"})
    assert (reply.kind, reply.message.split(" (")[0]) == ("missing_module", "module yaml is not available here")


def test_a_package_off_the_list_is_refused_even_when_the_grader_preloaded_it(tmp_path, start):
    """grade preloads pyplot for code that names it, whatever autograder.toml allows: where the list leaves
    matplotlib out, the worker refuses it all the same (import_guard.refuse_preloaded)."""
    rules = tuple(rule for rule in RULES if rule != "+matplotlib")
    reply = _startup(tmp_path, "import matplotlib.pyplot\n\ndef compute_gradients(z, t, W_kj, W_ji, case):\n    pass\n",
                     start, rules)
    assert (reply.ok, reply.kind) == (False, "missing_module"), reply
    assert reply.message.startswith("module matplotlib is not available here"), reply.message


def test_a_refusal_wins_over_the_list(tmp_path, start):
    rules = (*RULES, "+autograd")  # config validation refuses this list; the worker refuses it anyway
    reply = _startup(tmp_path, "import autograd\n\ndef compute_gradients(z, t, W_kj, W_ji, case):\n    pass\n",
                     start, rules)
    assert (reply.ok, reply.kind) == (False, "forbidden_import")
    assert "autograd is not allowed in this assignment" in reply.message
    assert reply.details["forbidden"] == ["autograd"]


def test_a_students_first_figure_is_number_one_and_nothing_else_is_open(tmp_path, start):
    """A warm zygote draws a figure once for its caches (zygote._draw_once): a worker sees none of it, nor changed
    settings, as in a fresh Python."""
    source = ("import matplotlib\nimport matplotlib.pyplot as plt\nbefore = plt.get_fignums()\n"
              "figure = plt.figure()\nprint(before, figure.number, matplotlib.rcParams['figure.figsize'],"
              " matplotlib.rcParams['savefig.dpi'])\n"
              "def compute_gradients(z, t, W_kj, W_ji, case):\n    pass\n")
    reply = _startup(tmp_path, source, start)
    assert reply.ok, reply
    assert reply.output.split() == ["[]", "1", "[6.4,", "4.8]", "figure"], reply.output


def test_plots_are_headless_and_their_files_stay_in_the_private_copy(tmp_path, start):
    source = ("import os\nimport matplotlib\nimport matplotlib.pyplot as plt\n"
              "plt.plot([0, 1], [1, 0])\nplt.savefig('figure.png')\nplt.show()\n"
              "BACKEND, CONFIG = matplotlib.get_backend(), os.environ.get('MPLCONFIGDIR', '')\n"
              "print(BACKEND.lower(), CONFIG.startswith(os.getcwd()), os.path.getsize('figure.png') > 0)\n"
              "def compute_gradients(z, t, W_kj, W_ji, case):\n    pass\n")
    reply = _startup(tmp_path, source, start)
    assert reply.ok, reply
    assert reply.output.split() == ["agg", "True", "True"], reply.output
    assert not (tmp_path / "figure.png").exists()  # the figure went to the worker's copy, removed with it


def test_the_graders_own_imports_are_not_an_attempt(tmp_path, start):
    """scipy and matplotlib may probe for optional libraries; only student code's attempts count for check 0.4."""
    reply = _startup(tmp_path, "import scipy.special, scipy.optimize, matplotlib.pyplot\n\n"
                     "def compute_gradients(z, t, W_kj, W_ji, case):\n    pass\n", start)
    assert reply.ok and not reply.details.get("forbidden"), reply


@pytest.mark.skipif(os.geteuid() != 0, reason="simulate gives Gradescope's isolation as root only")
def test_grade_and_simulate_give_the_same_scores_and_messages(tmp_path):
    """The laptop's environment has yaml and more; simulate's setup.sh installs exactly the list: a submission
    gets the same score and the same words from both."""
    root = Path(tempfile.mkdtemp(prefix="backprop-packages-test-"))  # 0700 until setup.sh locks the grader's files
    try:
        done = run_grader("build", "--out", str(root / "autograder.zip"))
        assert done.returncode == 0, done.stderr
        simulate._install(root / "autograder.zip", root)
        for module, installed in (("scipy", True), ("matplotlib", True), ("yaml", False), ("tqdm", False)):
            probe = subprocess.run([str(root / "venv" / "bin" / "python"), "-c", f"import {module}"],
                                   capture_output=True, timeout=120)
            assert (probe.returncode == 0) == installed, module
        names = simulate._names(EXAMPLES)
        for example, name in zip(EXAMPLES, names):
            outcome = simulate._grade_one(example, name, root, tmp_path / "simulated", quiet=True)
            assert not outcome["problems"], outcome
            simulated = json.loads((tmp_path / "simulated" / name / "results.json").read_text())
            laptop = grade(example, tmp_path / f"{name}.json")
            assert simulated["score"] == laptop["score"] == expected_of(example)["score"], name
            for number in ("0.1", "0.4", "1.1"):
                ours, theirs = (next(t for t in d["tests"] if t["number"] == number) for d in (laptop, simulated))
                assert (ours["status"], ours["output"]) == (theirs["status"], theirs["output"]), (name, number)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_setup_installs_exactly_the_list(tmp_path):
    """setup.sh's list comes from the configuration: without scipy and matplotlib, neither is installed."""
    from backprop_grader.config import package_requirements

    assert [line.split("==")[0] for line in package_requirements(CONFIG)] == ["numpy", "numpy", "scipy", "scipy",
                                                                              "matplotlib", "matplotlib"]
    shutil.copy(CONFIG.path, tmp_path / "autograder.toml")
    text = (tmp_path / "autograder.toml").read_text().replace('packages = ["numpy", "scipy", "matplotlib"]',
                                                               'packages = ["numpy"]')
    (tmp_path / "autograder.toml").write_text(text)
    assert [line.split("==")[0] for line in package_requirements(load_config(tmp_path / "autograder.toml"))] == \
        ["numpy", "numpy"]


_PRINTS_WHETHER_LOADED = """import gc, sys
print("pyplot loaded at import:", "matplot" "lib.pyplot" in sys.modules)  # not named whole: no use of it
print("grader's objects frozen:", gc.get_freeze_count() > 0)
{uses}
from vectorized import compute_gradients  # noqa: F401
"""


@pytest.mark.parametrize("uses, loaded", [("", False), ("import matplotlib.pyplot as plt", True)])
def test_grade_imports_pyplot_once_for_both_workers_of_code_that_names_it(tmp_path, uses, loaded):
    """run_autograder's grader imports pyplot before it forks the workers of code that names matplotlib (half a
    second of CPU each worker would spend again), and only for such code: the visible worker finds it loaded. And
    it freezes its objects first: a worker turns the collector on, and would otherwise walk them all (the grader
    runs with it off, so none of them is old) and copy nearly every page it shares with the grader."""
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "backprop.py").write_text(_PRINTS_WHETHER_LOADED.format(uses=uses))
    shutil.copy(SUBMISSIONS / "correct" / "vectorized" / "backprop.py", folder / "vectorized.py")
    results = tmp_path / "results.json"
    done = subprocess.run([str(PROJECT / "run_autograder"), "--submission", str(folder), "--results", str(results)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(results.read_text())
    assert document["score"] == 100, document["tests"][0]["output"]
    assert document["extra_data"]["worker_start"] == "fork"
    printed = [t["output"] for t in document["tests"] if "loaded at import" in t["output"]]
    assert printed and f"pyplot loaded at import: {loaded}" in printed[0], printed
    assert "grader's objects frozen: True" in printed[0], printed
