"""`python -m backprop_grader`: the command line."""

import gc
import os
import sys

# Importing numpy, pytest and the grader makes some hundred thousand objects, none of them garbage: the collector's
# passes over them meanwhile cost about a sixth of a grading's time. grade runs with it off (a short run that
# leaves by os._exit); every other command turns it back on once its modules are imported. (A worker turns it on
# before student code runs: sandbox.become_worker.)
gc.disable()

# `python -m` puts the current folder first on the import path. The grader (root, perhaps) imports only from fixed
# folders: a folder the instructor happens to be in may be one anyone can write to (/tmp), where a student's code
# could plant nbformat.py for the grader or batch's jobs to import. The project's own folder stays. (batch's fork
# server, a `python -c` of its own, is started from the project's folder: frontends/batch_pool._server_environment.)
# (config.PROJECT_ROOT is the same folder; it is worked out again here because nothing of ours may be imported yet.)
_PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.getcwd() or os.getcwd() == _PROJECT]

from .cli import main  # noqa: E402  (after the import path is made safe)

code = main(collect=sys.argv[1:2] != ["grade"])
if sys.argv[1:2] == ["grade"]:
    # results.json is written and the worker ended with all it started: Python's own shutdown (freeing every
    # object of numpy, pytest and the suite, tens of milliseconds) would change nothing, so leave at once.
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the table's reader left (`grade ... | head`): results.json is written all the same
        code = 1
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
