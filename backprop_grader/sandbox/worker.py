"""The worker: the only process that runs student code. It imports the submission, then answers calls.

The grader starts it as `python -I -c <this file's source> FD_IN FD_OUT FILE IMPORT_RULES OUTPUT_BYTES`, after
the sandbox has set its limits and dropped its privileges. It talks to the grader only through two pipes
carrying framed messages: a small JSON header and raw little-endian float64 numbers, never pickle.

The grader trusts nothing it receives: student code shares this process and may rewrite any of it. The
framing functions at the top are also what the grader uses, so both sides always agree.
"""

import json
import os
import struct
import sys

if __package__:  # imported (a worker forked from the grader); run as `python -c`, the guard's source precedes ours
    from .import_guard import ImportGuard, forget_libraries, refuse_preloaded

_FRAME = struct.Struct(">II")  # header bytes, data bytes
MAX_HEADER = 1 << 20


def encode(header, arrays=()):
    """One message: the header (with the arrays' shapes added) and the arrays' numbers as float64."""
    import numpy as np

    blobs = [np.ascontiguousarray(a, dtype="<f8") for a in arrays]
    header = dict(header, shapes=[list(b.shape) for b in blobs])
    head = json.dumps(header, allow_nan=False).encode("utf-8")
    data = b"".join(b.tobytes() for b in blobs)
    return _FRAME.pack(len(head), len(data)) + head + data


def decode(head, data):
    """Header dict and float64 arrays from a message body; ValueError when it does not add up."""
    import numpy as np

    header = json.loads(head.decode("utf-8"))
    if not isinstance(header, dict) or not isinstance(header.get("shapes", []), list):
        raise ValueError("the message header is not an object with a list of shapes")
    arrays, offset = [], 0
    for shape in header.get("shapes", []):
        if not isinstance(shape, list) or len(shape) > 4 or not all(type(n) is int and 0 <= n for n in shape):
            raise ValueError(f"bad array shape {shape!r}")
        count = 1
        for n in shape:
            count *= n
        if offset + 8 * count > len(data):
            raise ValueError("the message has fewer numbers than its shapes say")
        arrays.append(np.frombuffer(data, dtype="<f8", count=count, offset=offset).reshape(shape).copy())
        offset += 8 * count
    if offset != len(data):
        raise ValueError("the message has more numbers than its shapes say")
    return header, arrays


def _write_all(fd, payload):
    """Write a whole message to a pipe."""
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd, size):
    """Read exactly size bytes, or None at end of file."""
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 16))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(fd):
    """The next message from the grader, (header, arrays), or None at end of file (it reads both parts at once)."""
    frame = _read_exact(fd, _FRAME.size)
    if frame is None:
        return None
    head_size, data_size = _FRAME.unpack(frame)
    body = _read_exact(fd, head_size + data_size)
    return None if body is None else decode(body[:head_size], body[head_size:])


class _CappedStream:
    """sys.stdout/sys.stderr for student code: writes through to the log until the cap, then drops."""

    def __init__(self, fd, budget):
        self._fd, self._budget, self.truncated = fd, budget, False

    def write(self, text):
        data = str(text).encode("utf-8", "replace")
        if len(data) > self._budget[0]:
            data, self.truncated = data[: max(self._budget[0], 0)], True
        if data:
            self._budget[0] -= len(data)
            try:
                _write_all(self._fd, data)
            except OSError:
                self._budget[0] = 0
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


_GUARD = []  # the worker's guard, set by main()
_NOTEBOOK_CELL = ", cell "  # a notebook cell's code is compiled as "backprop.ipynb, cell 3" (notebook.py)
_ITEMS = ("dE/dW_kj (the first item returned)", "dE/dW_ji (the second item returned)")


def _is_students(filename, folder):
    """Whether a traceback frame is the student's: a file in their folder, or a notebook cell (not its wrapper)."""
    if _NOTEBOOK_CELL in filename and filename.partition(_NOTEBOOK_CELL)[0].endswith(".ipynb"):
        return True
    return os.path.isabs(filename) and filename.startswith(folder + os.sep) and not filename.endswith(".ipynb")


def _shown_name(filename, folder):
    """A file as the student named it: relative to their folder, not the worker's private copy."""
    return os.path.relpath(filename, folder) if os.path.isabs(filename) else filename


def _student_frames(exc, folder):
    """The frames of exc's traceback that are the student's, with their files named as the student knows them."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_students(f.filename, folder)]
    for frame in frames:
        frame.line  # noqa: B018 -- read the source line now, while the file name still finds it
        frame.filename = _shown_name(frame.filename, folder)
    return frames


def _student_traceback(exc, folder):
    """The traceback of exc keeping only frames from the student's files, so they see their own lines."""
    import traceback

    lines = traceback.format_list(_student_frames(exc, folder))
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-4000:]


def _failure(kind, message, **extra):
    return dict(extra, ok=False, kind=kind, message=message)


def _module_name(path):
    """The name to import the file under: its stem, unless that is no identifier or would shadow a library."""
    stem = os.path.splitext(os.path.basename(path))[0]
    shadows = stem in getattr(sys, "stdlib_module_names", ()) or stem == "numpy"
    return stem if stem.isidentifier() and not shadows else "submission"


def _import_submission(path, guard):
    """Import the student's file as a module (its folder importable) and return compute_gradients, or a failure."""
    import importlib.machinery
    import importlib.util

    folder = os.path.dirname(path)
    undecodable = _undecodable(path)
    if undecodable:
        return None, undecodable
    sys.path.insert(0, folder)
    _name_warnings_as_student_sees(folder)
    name = _module_name(path)
    try:  # an explicit source loader: a notebook's generated module keeps its .ipynb name
        spec = importlib.util.spec_from_file_location(name, path,
                                                      loader=importlib.machinery.SourceFileLoader(name, path))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        return None, _syntax_failure(exc, path, folder)
    except SystemExit as exc:
        return None, _failure("exit", f"the submission called sys.exit({exc.code!r}) while being imported")
    except BaseException as exc:  # student code may raise anything, KeyboardInterrupt included
        if guard.attempts:
            return None, _failure("forbidden_import", f"{type(exc).__name__}: {exc}")
        return None, _missing_module(exc, folder) or _failure(
            "import_error", f"{type(exc).__name__}: {exc}", traceback=_student_traceback(exc, folder))
    return _entry_point(module, path)


def _name_warnings_as_student_sees(folder):
    """Warnings printed by student code name their file as the student knows it, not the worker's private copy."""
    import linecache
    import warnings

    original = warnings.formatwarning

    def formatwarning(message, category, filename, lineno, line=None):
        if _is_students(filename, folder):
            line = linecache.getline(filename, lineno) if line is None else line
            filename = _shown_name(filename, folder)
        return original(message, category, filename, lineno, line)

    warnings.formatwarning = formatwarning


def _undecodable(path):
    """A failure when the file is not text Python can read (not UTF-8, no valid coding line), else None."""
    import io
    import tokenize

    with open(path, "rb") as handle:
        data = handle.read()
    try:
        data.decode(tokenize.detect_encoding(io.BytesIO(data).readline)[0])
        return None
    except (SyntaxError, LookupError, UnicodeDecodeError):
        pass
    try:
        data.decode("utf-8")
        return None  # UTF-8 after all, with a bad coding line: the import reports that as a syntax error
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:200]
        guess = "UTF-16 (\"Unicode\" in Notepad)" if utf16 else "Windows-1252 or Latin-1"
        return _failure("not_utf8", f"{os.path.basename(path)} is not saved as UTF-8: byte 0x{data[exc.start]:02x} "
                        f"on line {line} is not valid UTF-8 (it looks like {guess})", line=line)


def _syntax_failure(exc, path, folder):
    """The failure for a syntax error: where it is (file or notebook cell, line) and Python's own excerpt."""
    import traceback

    exc.filename = _shown_name(exc.filename or path, folder)
    where = f"{exc.filename}, line {exc.lineno}" if exc.lineno else exc.filename
    excerpt = "".join(traceback.format_exception_only(type(exc), exc))[-2000:]
    return _failure("syntax_error", f"{where} ({exc.msg})", line=exc.lineno, text=(exc.text or "")[:300],
                    traceback=excerpt)


def _missing_module(exc, folder):
    """The failure for importing a module that is not here, with what is; None for any other exception."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    frames = _student_frames(exc, folder)
    where = f" (imported in {frames[-1].filename}, line {frames[-1].lineno})" if frames else ""
    own = sorted(entry for entry in os.listdir(folder) if entry.endswith(".py")
                 or os.path.isfile(os.path.join(folder, entry, "__init__.py")))
    guard = _GUARD[0] if _GUARD else ImportGuard(())
    available = guard.available() + ([f"your files {', '.join(own)}"] if own else [])
    top = exc.name.partition(".")[0]
    return _failure("missing_module", f"module {top} is not available here{where}", names=available, module=top)


def _entry_point(module, path):
    """compute_gradients from the imported module, or a failure that says what the file defines instead."""
    function = vars(module).get("compute_gradients")
    if callable(function):
        failure = _signature_failure(function)
        return (None, failure) if failure else (function, None)
    defined = _defined_callables(module, path)
    message = f"{os.path.basename(path)} does not define compute_gradients"  # feedback rebuilds it from the fields
    if function is not None:
        message = f"In {os.path.basename(path)}, compute_gradients is a {type(function).__name__}, not a function"
    close = _closest(defined)
    if close:
        message += f" (did you mean {close}? rename it)"
    return None, _failure("missing_function", message, names=defined[:40], file=os.path.basename(path), close=close,
                          what=type(function).__name__ if function is not None else "")


def _defined_callables(module, path):
    """The public functions and classes the student's file itself defines (not imported ones, nor our display)."""
    notebook = path.endswith(".ipynb")
    return sorted(name for name, value in vars(module).items()
                  if not name.startswith("_") and callable(value) and not (notebook and name == "display")
                  and getattr(value, "__module__", None) == module.__name__)


def _closest(names):
    """The defined name closest to compute_gradients (compute_gradient, computeGradients, ...), or None."""
    import difflib

    folded = {n.replace("_", "").lower(): n for n in names}
    close = difflib.get_close_matches("computegradients", list(folded), n=1, cutoff=0.75)
    return folded[close[0]] if close else None


def _signature_failure(function):
    """None when compute_gradients accepts five positional arguments; else a failure showing its signature."""
    import inspect

    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # no signature to read (a builtin): the first call will tell
        return None
    try:
        signature.bind(0, 1, 2, 3, 4)
    except TypeError:
        return _failure("wrong_signature", f"compute_gradients{signature}"[:300])
    return None


def _as_arrays(result):
    """The student's return value as two float64 arrays, or a failure header saying what it was."""
    if result is None:
        return None, _failure("returned_none", "compute_gradients returned None")
    if not isinstance(result, (tuple, list)):
        return None, _failure("not_a_pair", f"compute_gradients returned one {type(result).__name__}, not a pair")
    items = list(result)
    if len(items) != 2:
        kinds = ", ".join(type(item).__name__ for item in items[:6])
        return None, _failure("wrong_count", f"compute_gradients returned {len(items)} things ({kinds})",
                              count=len(items))
    arrays, dtypes = [], []
    for position, item in enumerate(items):
        array, failure = _as_float_array(item, position)
        if failure:
            return None, failure
        arrays.append(array)
        dtypes.append(str(getattr(item, "dtype", type(item).__name__)))
    return arrays, {"ok": True, "dtypes": dtypes}


def _as_float_array(item, position):
    """One returned item as a float64 array, refusing None, text, complex numbers and ragged lists by name."""
    import numpy as np

    label = _ITEMS[position]
    if item is None or isinstance(item, (str, bytes, dict, set)):
        what = "None" if item is None else f"a {type(item).__name__}"
        return None, _failure("non_numeric", f"{label} is {what}, not an array of numbers", position=position)
    try:
        raw = np.asarray(item)
        if raw.dtype.kind == "c":
            return None, _failure("non_numeric", f"{label} holds complex numbers", position=position)
        if raw.dtype.kind not in "biufO":
            return None, _failure("non_numeric", f"{label} holds {raw.dtype} values, not numbers", position=position)
        array = raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        return None, _failure("non_numeric", f"{label} ({type(item).__name__}) is not numeric: {exc}",
                              position=position)
    if array.ndim > 4 or array.size > 100000:
        return None, _failure("too_large", f"{label} has shape {array.shape}", position=position)
    return array, None


def _call(function, header, arrays, folder):
    """Run compute_gradients on one network; report the result, modified inputs and any exception."""
    import numpy as np

    z, t, W_kj, W_ji = arrays
    before = [a.copy() for a in arrays]
    try:
        result = function(z, t, W_kj, W_ji, header["case"])
        converted, reply = _as_arrays(result)
    except SystemExit as exc:
        converted, reply = None, _failure("exit", f"the submission called sys.exit({exc.code!r})")
    except NotImplementedError as exc:
        converted, reply = None, _failure("not_implemented", str(exc) or "NotImplementedError")
    except BaseException as exc:  # student code may raise anything
        converted, reply = None, _missing_module(exc, folder) or _failure(
            "exception", f"{type(exc).__name__}: {exc}", traceback=_student_traceback(exc, folder))
    names = ("z", "t", "W_kj", "W_ji")
    reply["modified"] = [n for n, a, b in zip(names, arrays, before)  # same bytes: unchanged, and fast to see
                         if a.tobytes() != b.tobytes() and not np.array_equal(a, b, equal_nan=True)]
    return reply, converted or ()


def _printed():
    """How far the output log goes now (it is opened for appending): the grader shows each call what it printed."""
    try:
        return os.lseek(1, 0, os.SEEK_CUR)
    except OSError:
        return -1


def main(argv):
    """Import the submission, report it, then answer call messages until told to stop or the pipe closes."""
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full output file fails a write rather than killing us
    fd_in, fd_out, path = int(argv[1]), int(argv[2]), os.path.abspath(argv[3])
    rules = [n for n in argv[4].split(",") if n]
    forget_libraries(rules)
    guard = ImportGuard(rules)
    _GUARD[:] = [guard]
    refuse_preloaded(guard)
    budget = [int(argv[5])]
    sys.stdout = _CappedStream(1, budget)
    sys.stderr = _CappedStream(2, budget)
    sys.meta_path.insert(0, guard)
    os.chdir(os.path.dirname(path))
    function, failure = _import_submission(path, guard)
    ready = failure or {"ok": True}
    _write_all(fd_out, encode(dict(ready, op="ready", forbidden=guard.attempts)))
    while function is not None:
        message = read_message(fd_in)
        if message is None or message[0].get("op") != "call":
            break
        header, arrays = message
        reply, results = _call(function, header, arrays, os.path.dirname(path))
        _write_all(fd_out, encode(dict(reply, op="result", forbidden=guard.attempts, printed=_printed()), results))
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
