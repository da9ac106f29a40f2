"""The command line: a thin shim that parses arguments and calls one module per command."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import GraderError


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; grader faults print one clear line and exit 2."""
    parser = argparse.ArgumentParser(prog="backprop-grader", description="The backprop homework autograder.")
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade one submission (folder, zip or file) and print the table")
    grade.add_argument("submission", type=Path)
    grade.add_argument("--results", type=Path, default=Path("results.json"), help="where to write results.json")
    grade.add_argument("--config", type=Path, default=None, help="autograder.toml to use")
    grade.add_argument("--quiet", action="store_true", help="print no table")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except GraderError as exc:
        print(f"backprop-grader: {exc}", file=sys.stderr)
        return 2


def _run(args) -> int:
    """Dispatch to the command's module."""
    if args.command == "grade":
        from . import grade, results

        document = grade.grade(args.submission, args.results, config_path=args.config)
        if not args.quiet:
            print(results.score_table(document))
            print(f"\nresults.json written to {os.path.relpath(args.results)}")
        return 0
    raise GraderError(f"unknown command {args.command}")
