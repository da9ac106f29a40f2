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
    parser = argparse.ArgumentParser(prog="backprop-grader", description="The backprop homework autograder.")
    commands = parser.add_subparsers(dest="command", required=True)
    modules = {name: importlib.import_module(f".{module}", __package__) for name, module in COMMANDS.items()}
    for module in modules.values():
        module.register(commands)
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except GraderError as exc:
        print(f"backprop-grader: {exc}", file=sys.stderr)
        return 2
