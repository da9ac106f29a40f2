"""`backprop-grader grade SUBMISSION [--results FILE]`: grade one submission and print the table."""

from __future__ import annotations

import os
from pathlib import Path


def register(commands) -> None:
    """Add the grade command's arguments."""
    parser = commands.add_parser("grade", help="grade one submission (folder, zip or file) and print the table")
    parser.add_argument("submission", type=Path, help="a submission folder, a zip of one, or a single file")
    parser.add_argument("--results", type=Path, default=Path("results.json"), help="where to write results.json")
    parser.add_argument("--config", type=Path, default=None, help="the autograder.toml to use")
    parser.add_argument("--quiet", action="store_true", help="print no table")


def run(args) -> int:
    """Grade, write results.json, print the table; exit 0 whenever results.json was written."""
    from . import grade, results

    document = grade.grade(args.submission, args.results, config_path=args.config)
    if not args.quiet:
        print(results.score_table(document))
        print(f"\nresults.json written to {os.path.relpath(args.results)}")
    return 0
