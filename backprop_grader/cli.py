"""The command line: a thin shim; each command lives in its own module with `register(commands)` and `run(args)`."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import select
import sys
from pathlib import Path

from .errors import GraderError

# command name -> module of backprop_grader/frontends/ that implements it
COMMANDS = {
    "grade": "grade_command",
    "batch": "batch",
    "build": "build",
    "simulate": "simulate",
    "student-kit": "student_kit",
    "cleanup": "cleanup",
    "prepare": "prepare",
}


def main(argv: list[str] | None = None, *, collect: bool = True) -> int:
    """Parse the command line and run one command; grader faults print one clear line and exit 2. collect: turn
    the garbage collector (off while __main__ imported us) on, once the command's modules are imported."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="backprop-grader", description="The backprop homework autograder.")
    commands = parser.add_subparsers(dest="command", required=True)
    # Only the command asked for is imported (grading starts its worker sooner without batch's imports).
    chosen = [argv[0]] if argv and argv[0] in COMMANDS else list(COMMANDS)
    modules = {name: importlib.import_module(f".frontends.{COMMANDS[name]}", __package__) for name in chosen}
    for module in modules.values():
        module.register(commands)
    if collect:
        gc.freeze()  # what was imported stays out of every later pass
        gc.enable()
    for command in commands.choices.values():
        command.formatter_class = DefaultsShown
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except GraderError as exc:
        print(f"backprop-grader: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        if not stdout_gone():
            raise
        return 1  # whoever read our output left (`batch ... | head`): no traceback, as other commands do


def stdout_gone() -> bool:
    """Whether nobody reads our standard output any more (a pipe whose reader closed it); if so, it is pointed
    at /dev/null, so that what is still buffered for it does not fail again as Python exits."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        gone = any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False
    if gone:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return gone


class DefaultsShown(argparse.HelpFormatter):
    """--help says each option's default, unless its help already does or it has none worth saying."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.required or action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        if not action.option_strings:
            return text  # a positional argument has no default worth saying
        return f"{text} (default: %(default){'g' if isinstance(action.default, float) else 's'})"


def shown(path: Path | str) -> str:
    """A path as the person who typed the command reads it: relative to where they are when it is inside it,
    else absolute (never "../../tmp/x")."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return absolute if relative == ".." or relative.startswith(".." + os.sep) else relative
