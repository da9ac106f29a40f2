"""The command line: a thin shim; each command lives in its own module with `register(commands)` and `run(args)`."""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import GraderError

# command name -> module of this package that implements it
COMMANDS = {
    "grade": "grade_command",
    "batch": "batch",
    "build": "build",
    "simulate": "simulate",
    "student-kit": "student_kit",
}


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; grader faults print one clear line and exit 2."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="backprop-grader", description="The backprop homework autograder.")
    commands = parser.add_subparsers(dest="command", required=True)
    # Only the command asked for is imported (grading starts its worker sooner without batch's imports).
    chosen = [argv[0]] if argv and argv[0] in COMMANDS else list(COMMANDS)
    modules = {name: importlib.import_module(f".{COMMANDS[name]}", __package__) for name in chosen}
    for module in modules.values():
        module.register(commands)
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except GraderError as exc:
        print(f"backprop-grader: {exc}", file=sys.stderr)
        return 2
