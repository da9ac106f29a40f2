"""Public self-check of your backprop.py: run `python check.py` in this folder before you submit.

It needs only Python 3.8+ and numpy. It checks that your files import nothing but the standard library and the
packages the grader provides (PACKAGES below), then imports backprop.py from the folder this file is in, calls your
compute_gradients on small random networks, and compares what it returns with central finite differences of
the error E from forward.py: nudge one weight up and down by a tiny step h, and (E(w + h) - E(w - h)) / 2h is
that weight's gradient to about 8 digits. That needs only the forward pass, so this file contains no gradient
formula and gives away nothing you have to derive yourself.

The graded tests are stricter (more networks, edge cases, a tighter comparison), so passing here is a good sign,
not a guarantee. The exit status is 0 when every check passes and 1 otherwise.
"""

import contextlib
import importlib.util
import inspect
import io
import signal
import sys
import threading
import traceback
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUDENT_FILE = HERE / "backprop.py"
sys.dont_write_bytecode = True  # leave no __pycache__ beside your work
sys.path.insert(0, str(HERE))  # so that forward.py and your own helper modules import

try:
    import numpy as np
    from forward import E, forward
except ImportError as _missing:
    print(f"check.py cannot start: {_missing}.\nIt needs numpy (`python -m pip install numpy`) and forward.py "
          "from the kit, in the same folder as check.py.")
    sys.exit(2)

SEED = 5150  # this file's own random networks; the graded tests use others
# The cases your instructor grades.
CASES = {"sigmoid": "case 1 (sigmoid)", "softmax": "case 2 (softmax)"}
WORKED_EXAMPLE = HERE / "worked_example.json"  # the inputs of the graded tests N.1 and N.2, from the kit
LAYERS = {"W_ji": "output layer dE/dW_ji", "W_kj": "hidden layer dE/dW_kj"}
AXES = {"W_ji": ("j", "i", "rows for hidden units j, columns for outputs i"),
        "W_kj": ("k", "j", "rows for inputs k, columns for hidden units j")}
ARGUMENTS = ("z", "t", "W_kj", "W_ji", "case")
SHAPE_SIZES = [(3, 4, 2), (5, 2, 3), (2, 3, 6), (4, 6, 5)]  # (K, J, I), all different so a transpose shows
TARGETS = {"sigmoid": ["in [0, 1]", "in [0, 1], some exactly 0 or 1"] * 3,  # one finite-difference network each
           "softmax": ["one-hot", "probability"] * 3}  # as the visible graded tests: see GENERAL_TARGETS_NOTE
FD_STEP = 1e-5
RTOL, ATOL = 1e-4, 1e-5  # passes when |yours - finite differences| <= RTOL |fd| + ATOL max(1, max |fd|)
IMPORT_SECONDS, CALL_SECONDS = 10, 5
# Case 2's targets here sum to 1, as on the graded tests you see before the due date, so that both judge the same
# networks; a graded test seen after the due date uses targets that do not sum to 1.
GENERAL_TARGETS_NOTE = ("note: in case 2 these checks use targets that sum to 1; the graded tests also use targets "
                        "that do not, and your formula must hold for those too (see README.md).")
# What your code may import besides the standard library, where it is graded (your instructor's list).
PACKAGES = ("numpy", "scipy", "matplotlib")


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that an `except Exception` in student code does not swallow it."""


@contextlib.contextmanager
def _time_limit(seconds):
    """Interrupt the block after `seconds` (POSIX main thread only; elsewhere the block simply runs)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _alarm(signum, frame):
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Network:
    """One training example: inputs z, targets t and the two weight matrices, for one case."""

    def __init__(self, label, case, z, t, W_kj, W_ji, targets=""):
        self.label, self.case, self.z, self.t, self.W_kj, self.W_ji = label, case, z, t, W_kj, W_ji
        self.K, self.J = W_kj.shape
        self.I = W_ji.shape[1]
        self.targets = targets

    def describe(self):
        sizes = f"K={self.K}, J={self.J}, I={self.I}"
        return f"{self.label} ({sizes}; {self.targets})" if self.targets else f"{self.label} ({sizes})"


class Problem:
    """What went wrong. Problems with the same key are reported once; `again` replaces `text` after the first
    time it is printed anywhere; `counted` problems say on how many more networks they happened."""

    def __init__(self, text, key=None, again=None, counted=False):
        self.text, self.key, self.again, self.counted = text, key or text, again, counted


class Check:
    """One line of the report: a name, passed or not, and the problems found."""

    def __init__(self, name):
        self.name, self.passed, self.problems = name, True, {}  # key -> [Problem, times]

    def fail(self, problem):
        self.passed = False
        if isinstance(problem, str):
            problem = Problem(problem)
        if problem.key in self.problems:
            self.problems[problem.key][1] += 1
        else:
            self.problems[problem.key] = [problem, 1]


class Student:
    """The student's compute_gradients, called safely: errors, hangs, exits and printing are caught."""

    def __init__(self, function):
        self.function = function
        self.hung = False
        self.not_implemented = False
        self.printed = ""
        self.modified = []  # (network, names of the arguments it changed)

    def call(self, net):
        """Return (two float arrays, None) or (None, Problem)."""
        if self.hung:
            return None, Problem(f"not run: an earlier call did not finish within {CALL_SECONDS} s")
        arguments = [net.z.copy(), net.t.copy(), net.W_kj.copy(), net.W_ji.copy()]
        before = [(a.shape, a.tobytes()) for a in arguments]
        printed = io.StringIO()
        try:
            with _time_limit(CALL_SECONDS), contextlib.redirect_stdout(printed), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pair, problem = _as_pair(self.function(*arguments, net.case))
        except _Timeout:
            self.hung = True
            return None, Problem(f"compute_gradients did not finish within {CALL_SECONDS} s on {net.describe()}, "
                                 "so it was stopped: look for an endless loop")
        except NotImplementedError:
            self.not_implemented = True
            return None, Problem("compute_gradients is not implemented yet")
        except SystemExit:
            return None, Problem("compute_gradients called exit(): return the gradients instead")
        except Exception as exc:
            frames, error = _student_traceback(exc)
            return None, Problem(f"raised an exception on {net.describe()}:\n{frames}{error}", key=frames + type(
                exc).__name__, again=f"raised {error.strip()} (traceback above)", counted=True)
        finally:
            self.printed = self.printed or printed.getvalue()
        changed = [name for name, a, b in zip(ARGUMENTS, arguments, before) if (a.shape, a.tobytes()) != b]
        if changed:
            self.modified.append((net, changed))
        return pair, problem


def _student_traceback(exc):
    """(the traceback lines in files of this folder other than check.py, the error line)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if Path(f.filename).resolve().parent == HERE and Path(f.filename).name != "check.py"]
    return "".join(traceback.format_list(frames)), "".join(traceback.format_exception_only(type(exc), exc)).rstrip()


def _as_pair(result):
    """Convert what compute_gradients returned into two float arrays, or say why that cannot be done."""
    if result is None:
        return None, Problem("compute_gradients returned None: end it with `return dE_dW_kj, dE_dW_ji`")
    if not isinstance(result, (tuple, list)):
        return None, Problem(f"compute_gradients returned a {type(result).__name__}, not a pair: "
                             "return (dE_dW_kj, dE_dW_ji), hidden layer first")
    if len(result) != 2:
        return None, Problem(f"compute_gradients returned {len(result)} items: return exactly two, "
                             "(dE_dW_kj, dE_dW_ji)")
    pair = []
    for position, item in enumerate(result):
        try:
            pair.append(np.asarray(item, dtype=float))
        except (TypeError, ValueError, MemoryError) as exc:
            return None, Problem(f"item {position} of the returned pair is not an array of floats ({exc}): "
                                 "return numpy arrays or lists of floats", key=("not floats", position))
    return pair, None


def _shape_problems(pair, net):
    """Layer -> Problem (with a hint), for each gradient that does not have the shape of its weight matrix."""
    want = {"W_kj": (net.K, net.J), "W_ji": (net.J, net.I)}
    got = {"W_kj": pair[0].shape, "W_ji": pair[1].shape}
    if got["W_kj"] == want["W_ji"] and got["W_ji"] == want["W_kj"]:
        swapped = Problem(f"on {net.describe()} the first gradient has shape {got['W_kj']} and the second "
                          f"{got['W_ji']}: the two look swapped; return (dE_dW_kj, dE_dW_ji), hidden layer first",
                          key="swapped", counted=True)
        return {"W_kj": swapped, "W_ji": swapped}
    problems = {}
    for layer, expected in want.items():
        if got[layer] == expected:
            continue
        text = f"{LAYERS[layer]} has shape {got[layer]}, expected {expected} on {net.describe()}"
        if got[layer] == expected[::-1]:
            text, kind = text + f": it looks transposed; return it with {AXES[layer][2]}", "transposed"
        else:
            text, kind = text + f": give it the shape of {layer}, {AXES[layer][2]}", "shape"
        problems[layer] = Problem(text, key=(layer, kind), counted=True)
    return problems


def _numerical_gradient(net, layer):
    """Central finite differences (E(w + h) - E(w - h)) / 2h for every weight w of one layer."""
    weights = {"W_kj": net.W_kj, "W_ji": net.W_ji}
    result = np.zeros_like(weights[layer])
    for index in np.ndindex(*result.shape):
        values = []
        for step in (FD_STEP, -FD_STEP):
            nudged = dict(weights)
            nudged[layer] = weights[layer].copy()
            nudged[layer][index] += step
            values.append(E(net.z, net.t, nudged["W_kj"], nudged["W_ji"], net.case))
        result[index] = (values[0] - values[1]) / (2 * FD_STEP)
    return result


def _draw_targets(rng, case, size, kind):
    """Targets of one kind; returns (t, a description for the report)."""
    if case == "sigmoid":
        t = rng.uniform(0.0, 1.0, size)
        if "exactly" in kind:
            t[rng.choice(size, 2, replace=False)] = [0.0, 1.0]
        return t, f"targets {kind}"
    if kind == "one-hot":
        return np.eye(size)[rng.integers(size)], "one-hot targets"
    if kind == "probability":
        return rng.dirichlet(np.ones(size)), "probability targets"
    raise ValueError(f"unknown kind of targets: {kind}")


def _draw_network(rng, case, sizes, label, kind):
    """A network with weights and inputs of order 1 and no unit within 1e-3 of 0 or 1 (otherwise redrawn)."""
    K, J, I = (int(n) for n in sizes)
    while True:
        z = rng.uniform(-1.5, 1.5, K)
        W_kj, W_ji = rng.normal(0.0, 1.0, (K, J)), rng.normal(0.0, 1.0, (J, I))
        units = np.concatenate(forward(z, W_kj, W_ji, case))
        if np.all((units > 1e-3) & (units < 1 - 1e-3)):
            t, targets = _draw_targets(rng, case, I, kind)
            return Network(label, case, z, t, W_kj, W_ji, targets)


def _networks(case):
    """(the networks of the shape check, those of the finite-difference check) for one case."""
    rng = np.random.default_rng([SEED, ("sigmoid", "softmax").index(case)])  # the same whichever cases are graded
    shaped = [_draw_network(rng, case, sizes, "network", TARGETS[case][0]) for sizes in SHAPE_SIZES]
    for net in shaped:
        net.targets = ""
    compared = [_draw_network(rng, case, rng.choice(np.arange(2, 8), 3, replace=False), f"network {n}", kind)
                for n, kind in enumerate(TARGETS[case], 1)]
    return shaped, compared


def _import_student():
    """Return (compute_gradients or None, the import check, the signature check)."""
    found = Check("backprop.py is found and imports")
    signature = Check("compute_gradients(z, t, W_kj, W_ji, case) is defined and can be called")
    if not STUDENT_FILE.is_file():
        others = sorted(p.name for p in HERE.iterdir() if p.suffix in (".py", ".ipynb")
                        and p.name not in ("check.py", "forward.py"))
        found.fail(f"there is no backprop.py in {HERE}: put your backprop.py beside check.py"
                   + (f" (this folder has {', '.join(others)})" if others else ""))
        signature.fail("not run: backprop.py was not found")
        return None, found, signature
    spec = importlib.util.spec_from_file_location("backprop", STUDENT_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["backprop"] = module
    try:
        with _time_limit(IMPORT_SECONDS), contextlib.redirect_stdout(io.StringIO()):
            spec.loader.exec_module(module)
    except SyntaxError as exc:
        found.fail(f"backprop.py has a syntax error on line {exc.lineno}: {exc.msg}\n    {(exc.text or '').strip()}")
    except _Timeout:
        found.fail(f"importing backprop.py did not finish within {IMPORT_SECONDS} s: move code that runs at the "
                   "top level under `if __name__ == \"__main__\":`")
    except SystemExit:
        found.fail("backprop.py called exit() while being imported: remove that call")
    except Exception as exc:
        found.fail("importing backprop.py raised an exception:\n" + "".join(_student_traceback(exc)))
    if not found.passed:
        signature.fail("not run: backprop.py did not import")
        return None, found, signature
    function = getattr(module, "compute_gradients", None)
    if not callable(function):
        names = sorted(n for n in vars(module) if not n.startswith("_"))
        signature.fail(f"backprop.py does not define compute_gradients; it defines: {', '.join(names) or 'nothing'}")
        return None, found, signature
    try:
        inspect.signature(function).bind(*ARGUMENTS)
    except TypeError as exc:
        signature.fail(f"compute_gradients{inspect.signature(function)} cannot be called with the five arguments "
                       f"(z, t, W_kj, W_ji, case) by position: {exc}")
        return None, found, signature
    except ValueError:
        pass  # a callable whose signature cannot be read: just call it
    return function, found, signature


def _check_imports():
    """The check that your files import nothing the grader lacks: read from their code, never run."""
    check = Check(f"your files import only the standard library and {', '.join(PACKAGES)}")
    if not STUDENT_FILE.is_file():
        check.fail("not run: backprop.py was not found")
        return check
    outside = _imported_outside_the_list()
    if outside:
        check.fail(f"{', '.join(outside)} {'is' if len(outside) == 1 else 'are'} not available where your code is "
                   f"graded, which has only the Python standard library and {', '.join(PACKAGES)}: remove "
                   f"{'that import' if len(outside) == 1 else 'those imports'} (a file whose import fails gets 0)")
    return check


def _imported_outside_the_list():
    """Top-level modules that your .py files here import and that are neither the standard library, nor in
    PACKAGES, nor files or folders of yours."""
    import ast

    own = {p.stem for p in HERE.glob("*.py")} | {p.name for p in HERE.iterdir() if p.is_dir()}
    names = set()
    for path in sorted(HERE.glob("*.py")):
        if path.name == "check.py":
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue  # the import check above shows a syntax error in backprop.py
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return sorted(n for n in names if n not in PACKAGES and n not in own and not _is_standard(n))


def _is_standard(name):
    """Whether a module is part of Python's standard library."""
    known = getattr(sys, "stdlib_module_names", None)  # Python 3.10+
    if known is not None:
        return name in known
    import sysconfig

    if name in sys.builtin_module_names:
        return True
    spec = importlib.util.find_spec(name)
    origin = (spec.origin or "") if spec else ""
    return origin.startswith(sysconfig.get_paths()["stdlib"]) and "-packages" not in origin


def run_checks():
    """Run every check; return them in report order, with notes and the worked example for the end of the
    report."""
    function, found, signature = _import_student()
    imports = _check_imports()
    shapes = {case: Check(f"{label}: both gradients have the shapes (K, J) and (J, I)")
              for case, label in CASES.items()}
    untouched, finite = Check("the input arrays are not modified"), Check("the gradients are finite")
    agree = {(case, layer): Check(f"{CASES[case]}, {LAYERS[layer]}: agrees with finite differences of E")
             for case in CASES for layer in LAYERS}
    checks = [found, signature, imports, *shapes.values(), untouched, finite, *agree.values()]
    if function is None:
        reason = "backprop.py did not import" if not found.passed else "compute_gradients cannot be called"
        for check in checks[3:]:
            check.fail("not run: " + reason)
        return checks, [], worked_example(None)
    student, returned = Student(function), 0
    for case in CASES:
        shaped, compared = _networks(case)
        for net in shaped + compared:
            pair, problem = student.call(net)
            if problem:
                for check in (shapes[case], agree[case, "W_ji"], agree[case, "W_kj"]):
                    check.fail(problem)
                continue
            returned += 1
            wrong = _shape_problems(pair, net)
            for problem in {id(p): p for p in wrong.values()}.values():
                shapes[case].fail(problem)
            for layer, got in zip(("W_kj", "W_ji"), pair):
                bad = np.zeros(0, dtype=bool) if layer in wrong else ~np.isfinite(got)
                if bad.any():
                    finite.fail(Problem(f"{CASES[case]}, {LAYERS[layer]} has NaN or infinity at {bad.sum()} of "
                                        f"{bad.size} entries on {net.describe()}", key=(case, layer), counted=True))
                if net in compared:
                    _compare(agree[case, layer], net, layer, got, layer in wrong)
    for net, names in student.modified:
        untouched.fail(Problem(f"compute_gradients changed {', '.join(names)} on {net.describe()}: work on copies "
                               "(`W_ji = W_ji.copy()`) and avoid in-place operations such as `+=` on the arguments",
                               key=tuple(names), counted=True))
    if not returned:
        for check in (untouched, finite):
            check.fail("not checked: compute_gradients never returned a pair of arrays")
    for check in agree.values():
        _summarise(check)
    notes = []
    if student.not_implemented:
        notes.append("compute_gradients still raises NotImplementedError: write your code in backprop.py in place "
                     "of the `raise NotImplementedError` line, then run `python check.py` again.")
    if student.printed:
        first = (student.printed.strip().splitlines() or [""])[0][:100]
        notes.append(f"note: compute_gradients printed text, hidden from this report; it began: {first}")
    return checks, notes, worked_example(student)


def _compare(check, net, layer, got, wrong_shape):
    """Record on `check` how `got` compares with finite differences of E on one network."""
    check.compared = getattr(check, "compared", 0) + 1
    if wrong_shape:
        check.fail("wrong shape, so no comparison (see the shape check above)")
        return
    numerical = _numerical_gradient(net, layer)
    gap = np.abs(got - numerical)
    gap[~np.isfinite(gap)] = np.inf
    tolerance = RTOL * np.abs(numerical) + ATOL * max(1.0, float(np.max(np.abs(numerical))))
    if np.all(gap <= tolerance):
        return
    check.passed = False
    worst = np.unravel_index(int(np.argmax(gap)), gap.shape)
    check.misses = getattr(check, "misses", []) + [(float(gap[worst]), net, worst, got[worst], numerical[worst])]


def _summarise(check):
    """Turn the disagreements recorded on a finite-difference check into one readable problem."""
    misses = getattr(check, "misses", [])
    if not misses:
        return
    gap, net, (row, column), yours, numerical = max(misses, key=lambda miss: miss[0])
    layer = "W_ji" if "W_ji" in check.name else "W_kj"
    first, second = AXES[layer][:2]
    check.fail(f"disagrees on {len(misses)} of {check.compared} networks; the largest disagreement is {gap:.3g}, "
               f"on {net.describe()},\nat dE/d{layer}[{row}, {column}] ({first}={row}, {second}={column}): "
               f"yours {yours:.6g}, finite differences {numerical:.6g}")


def worked_example(student):
    """The worked example of the graded tests N.1 and N.2 (worked_example.json), and what your code returns on
    it, for you to follow by hand: the lines to print, or none when the file is not here."""
    try:
        import json

        examples = json.loads(WORKED_EXAMPLE.read_text(encoding="utf-8"))["cases"]
    except (OSError, ValueError, KeyError):
        return []
    lines = []
    for case, label in CASES.items():
        if case not in examples:
            continue
        example = examples[case]
        arrays = [np.array(example[name], dtype=float) for name in ARGUMENTS[:4]]
        lines.append(f"The worked example of graded tests {' and '.join(example['tests'])}, {label} "
                     f"({WORKED_EXAMPLE.name}), to follow by hand:")
        lines += [f"  {name:<4} = {example[name]}" for name in ARGUMENTS[:4]]
        if student is not None and not student.hung and not student.not_implemented:
            pair, problem = student.call(Network("the worked example", case, *arrays))
            if problem is None:
                lines += [f"  your dE/d{name} = {_rounded(got)}" for name, got in zip(("W_kj", "W_ji"), pair)]
    return lines


def _rounded(array):
    """An array's nested list with 6 significant digits, to read beside a computation by hand."""
    if array.ndim == 0:
        return f"{float(array):.6g}"
    return "[" + ", ".join(_rounded(row) for row in array) + "]"


def report(checks, notes, example=()):
    """Print the report; return the exit status."""
    print(f"Checking {STUDENT_FILE}")
    printed = set()
    for check in checks:
        print(f"{'PASS' if check.passed else 'FAIL'}  {check.name}")
        for problem, times in list(check.problems.values())[:4]:
            text = problem.again if problem.again and problem.key in printed else problem.text
            printed.add(problem.key)
            if problem.counted and times > 1:
                text += f"\n(the same on {times - 1} more network{'s' if times > 2 else ''})"
            print("      " + text.replace("\n", "\n      "))
    for note in [*notes, GENERAL_TARGETS_NOTE]:
        print(note)
    for line in example:
        print(line)
    passed = sum(check.passed for check in checks)
    print(f"public checks: {passed} of {len(checks)} passed; the graded tests are stricter")
    return 0 if passed == len(checks) else 1


if __name__ == "__main__":
    sys.exit(report(*run_checks()))
