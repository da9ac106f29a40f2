"""The worker: the only process that runs student code. It imports the submission, then answers calls.

The grader starts it as `python -I -c <this file's source> FD_IN FD_OUT FILE FORBIDDEN OUTPUT_BYTES`, after
the sandbox has set its limits and dropped its privileges. It talks to the grader only through two pipes
carrying framed messages: a small JSON header and raw little-endian float64 numbers, never pickle.

The grader trusts nothing it receives: student code shares this process and may rewrite any of it. The
framing functions at the top are also what the grader uses, so both sides always agree.
"""

import json
import os
import struct
import sys

_FRAME = struct.Struct(">II")  # header bytes, data bytes
MAX_HEADER = 1 << 20
MAX_DATA = 1 << 23  # 8 MiB of float64 numbers: far above any network the grader sends


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


class _ForbiddenImports:
    """A meta-path finder that refuses the autodiff libraries by name, and remembers the attempt."""

    def __init__(self, names):
        self.names, self.attempts = set(names), []

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in self.names:
            if top not in self.attempts:
                self.attempts.append(top)
            raise ImportError(
                f"{top} is not allowed in this assignment: compute the gradients yourself with numpy "
                f"(autodiff libraries refused here: {', '.join(sorted(self.names))})"
            )
        return None


def _student_traceback(exc, folder):
    """The traceback of exc keeping only frames from the student's files, so they see their own lines."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.abspath(f.filename).startswith(folder)]
    lines = traceback.format_list(frames) if frames else []
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-4000:]


def _failure(kind, message, **extra):
    return dict(extra, ok=False, kind=kind, message=message)


def _import_submission(path, guard):
    """Import the student's file as a module (its folder importable) and return it, or a failure header."""
    import importlib.util

    folder = os.path.dirname(path)
    sys.path.insert(0, folder)
    stem = os.path.splitext(os.path.basename(path))[0]
    name = stem if stem.isidentifier() else "submission"
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        line = f"{os.path.basename(exc.filename or path)}, line {exc.lineno}"
        return None, _failure("syntax_error", f"{exc.msg} ({line})", line=exc.lineno, text=(exc.text or "")[:300])
    except SystemExit as exc:
        return None, _failure("exit", f"the submission called sys.exit({exc.code!r}) while being imported")
    except BaseException as exc:  # student code may raise anything, KeyboardInterrupt included
        kind = "forbidden_import" if guard.attempts else "import_error"
        return None, _failure(kind, f"{type(exc).__name__}: {exc}", traceback=_student_traceback(exc, folder),
                              missing=getattr(exc, "name", None) if isinstance(exc, ImportError) else None)
    function = getattr(module, "compute_gradients", None)
    if not callable(function):
        names = sorted(n for n in vars(module) if not n.startswith("_") and callable(vars(module)[n]))
        return None, _failure("missing_function", "compute_gradients is not defined", names=names[:40])
    return function, None


def _as_arrays(result):
    """The student's return value as two float64 arrays, or a failure header saying what it was."""
    import numpy as np

    if result is None:
        return None, _failure("returned_none", "compute_gradients returned None")
    if isinstance(result, np.ndarray) or not isinstance(result, (tuple, list)):
        return None, _failure("not_a_pair", f"compute_gradients returned one {type(result).__name__}, not a pair")
    items = list(result)
    if len(items) != 2:
        return None, _failure("wrong_count", f"compute_gradients returned {len(items)} things", count=len(items))
    arrays, dtypes = [], []
    for position, item in enumerate(items):
        try:
            array = np.asarray(item, dtype=np.float64)
            dtypes.append(str(getattr(item, "dtype", type(item).__name__)))
        except (TypeError, ValueError, OverflowError) as exc:
            return None, _failure("non_numeric", f"item {position} ({type(item).__name__}) is not numeric: {exc}",
                                  position=position)
        if array.ndim > 4 or array.size > 100000:
            return None, _failure("too_large", f"item {position} has shape {array.shape}", position=position)
        arrays.append(array)
    return arrays, {"ok": True, "dtypes": dtypes}


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
        converted, reply = None, _failure("exception", f"{type(exc).__name__}: {exc}",
                                          traceback=_student_traceback(exc, folder))
    names = ("z", "t", "W_kj", "W_ji")
    reply["modified"] = [n for n, a, b in zip(names, arrays, before) if not np.array_equal(a, b, equal_nan=True)]
    return reply, converted or ()


def main(argv):
    """Import the submission, report it, then answer call messages until told to stop or the pipe closes."""
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full output file fails a write rather than killing us
    fd_in, fd_out, path = int(argv[1]), int(argv[2]), os.path.abspath(argv[3])
    guard = _ForbiddenImports([n for n in argv[4].split(",") if n])
    budget = [int(argv[5])]
    sys.stdout = _CappedStream(1, budget)
    sys.stderr = _CappedStream(2, budget)
    sys.meta_path.insert(0, guard)
    os.chdir(os.path.dirname(path))
    function, failure = _import_submission(path, guard)
    ready = failure or {"ok": True}
    _write_all(fd_out, encode(dict(ready, op="ready", forbidden=guard.attempts)))
    while function is not None:
        frame = _read_exact(fd_in, _FRAME.size)
        if frame is None:
            break
        head_size, data_size = _FRAME.unpack(frame)
        header, arrays = decode(_read_exact(fd_in, head_size), _read_exact(fd_in, data_size))
        if header.get("op") != "call":
            break
        reply, results = _call(function, header, arrays, os.path.dirname(path))
        _write_all(fd_out, encode(dict(reply, op="result", forbidden=guard.attempts), results))
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
