"""The worker's import guard: what student code may import (SPEC section 2), enforced inside the worker.

Part of the worker's program: the grader runs the worker as `python -I -B -c` with this file's source followed by
worker.py's (client.WORKER_SOURCE), and a worker forked from the grader imports it. Like worker.py, it imports
nothing of the grader.
"""

import os
import sys

ALLOWED_MARK = "+"  # in the import rules, a package student code may import (config.Config.forbidden_imports)


class ImportGuard:
    """A meta-path finder that enforces autograder.toml's import rules (SPEC section 2).

    The autodiff libraries are refused to everyone, and an attempt by student code is remembered. Student code
    may otherwise import only the standard library, the listed packages and its own files: anything else fails
    as a module that is not there, with the same message whether or not this Python happens to have it, so a
    laptop with more installed grades as Gradescope does. What the listed packages import for themselves (PIL for
    matplotlib) is theirs to import: who imports is read from the calling frame, skipping importlib's own.
    """

    def __init__(self, rules):
        self.names = {r for r in rules if not r.startswith(ALLOWED_MARK)}
        self.allowed = [r[len(ALLOWED_MARK):] for r in rules if r.startswith(ALLOWED_MARK)]  # in the config's order
        self.attempts = []
        self._library = _installed_folders()

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in self.names:
            if self._asked_by_student() and top not in self.attempts:
                self.attempts.append(top)
            raise ImportError(
                f"{top} is not allowed in this assignment: compute the gradients yourself with numpy "
                f"(autodiff libraries refused here: {', '.join(sorted(self.names))})"
            )
        if (not self.allowed or path is not None or top in self.allowed or _is_standard(top)
                or not self._asked_by_student() or self._students_own(top)):
            return None  # a submodule's parent passed this check already
        raise ModuleNotFoundError(f"No module named {top!r}", name=top)

    def _asked_by_student(self, depth=2):
        """Whether the import comes from student code: the nearest caller that is not importlib is neither the
        standard library nor an installed package (the worker's own imports are all allowed ones). depth: how
        many frames up the import's caller is."""
        frame = sys._getframe(depth)
        while frame is not None:
            filename = frame.f_code.co_filename
            if not (filename.startswith("<frozen ") or _is_importlib(filename)):
                return not filename.startswith(self._library)
            frame = frame.f_back
        return False

    def _students_own(self, top):
        """Whether a module of that name is a file of the student's (beside their file, or on a path they added)."""
        import importlib.machinery

        theirs = [p for p in sys.path if isinstance(p, str) and not os.path.abspath(p).startswith(self._library)]
        return importlib.machinery.PathFinder.find_spec(top, theirs) is not None

    def available(self):
        """What student code may import, for the message about a module that is not there."""
        return [*(self.allowed or ["numpy"]), "the Python standard library"]


def _installed_folders():
    """The folders (each ending in a separator) of the standard library and of installed packages."""
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    folders = {os.path.dirname(os.__file__), *(paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib"))}
    folders |= set(site.getsitepackages())
    folders |= {os.path.realpath(f) for f in folders}
    return tuple(os.path.join(f, "") for f in sorted(folders) if f)


def _is_importlib(filename):
    """importlib's own files: `importlib.import_module(name)` is judged by its caller, as `import name` is."""
    return os.sep + "importlib" + os.sep in filename and filename.startswith(os.path.dirname(os.__file__))


def _is_standard(top):
    """A module of the standard library (its private modules and build data included)."""
    return top in sys.stdlib_module_names or top.startswith("_sysconfigdata")


PRELOADED = frozenset()  # what batch's zygote imported of the allowed packages for its workers (zygote.WARMED)


def forget_libraries(rules):
    """A worker forked from the grader starts with the grader's modules loaded (pytest, nbformat, ...), which an
    import would find without asking the guard. Forget every one that a fresh worker would not have, that is
    every module but the standard library's and numpy's (loaded early on purpose, and needing nothing else) and
    those the zygote loaded for the allowed packages (PRELOADED: matplotlib, scipy and what they import)."""
    if not any(r.startswith(ALLOWED_MARK) for r in rules):
        return
    for name in list(sys.modules):
        top = name.partition(".")[0]
        if not _is_standard(top) and top not in ("numpy", "__main__") and name not in PRELOADED:
            del sys.modules[name]


def refuse_preloaded(guard):
    """What the zygote loaded for an allowed package but student code may not import itself (PIL and the rest of
    matplotlib's own imports) is in sys.modules, where `import PIL` finds it without asking the guard: an import
    statement of student code naming one of them is refused here as the guard refuses it in a fresh worker."""
    import builtins

    hidden = {name.partition(".")[0] for name in PRELOADED} - set(guard.allowed) - {"numpy", "__main__"}
    hidden = {top for top in hidden if not _is_standard(top)}
    if not hidden or not guard.allowed:
        return
    original = builtins.__import__

    import importlib

    def refused(name):
        top = name.partition(".")[0]
        return top in hidden and guard._asked_by_student(3) and not guard._students_own(top)

    def guarded(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and refused(name):
            raise ModuleNotFoundError(f"No module named {name.partition('.')[0]!r}", name=name.partition(".")[0])
        return original(name, globals, locals, fromlist, level)

    def import_module(name, package=None):
        if not name.startswith(".") and refused(name):
            raise ModuleNotFoundError(f"No module named {name.partition('.')[0]!r}", name=name.partition(".")[0])
        return original_import_module(name, package)

    original, original_import_module = builtins.__import__, importlib.import_module
    builtins.__import__, importlib.import_module = guarded, import_module
