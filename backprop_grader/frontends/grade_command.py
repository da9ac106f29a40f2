"""`backprop-grader grade SUBMISSION [--results FILE]`: grade one submission and print the table.

Typed by a person, a mistake of theirs (a submission path that does not exist, a configuration that does not
load) is one line and exit status 2, and no results.json is written. run_autograder passes --always-write-results:
in Gradescope's layout there is nobody to read that line, so the same mistakes become an autograder-error
results.json, as any other fault of the grader does.
"""

from __future__ import annotations

from pathlib import Path

from ..cli import shown
from ..config import submission_caps
from ..errors import GraderError


def register(commands) -> None:
    """Add the grade command's arguments."""
    parser = commands.add_parser("grade", help="grade one submission (folder, zip or file) and print the table")
    parser.add_argument("submission", type=Path, help="a submission folder, a zip of one, or a single file")
    parser.add_argument("--results", type=Path, default=Path("results.json"), help="where to write results.json")
    parser.add_argument("--config", type=Path, default=None, help="the autograder.toml to use (default: the project's)")
    parser.add_argument("--quiet", action="store_true", help="print no table")
    parser.add_argument("--always-write-results", action="store_true",
                        help="write an autograder-error results.json even for a missing submission or a bad "
                             "configuration, instead of exiting 2 (run_autograder does, on Gradescope)")


def run(args) -> int:
    """Grade, write results.json, print the table; exit 0 whenever results.json was written (1 when the table
    could not be printed because its reader left: cli.main)."""
    if not args.always_write_results:
        check_arguments(args.submission, args.config, args.results)
    from . import grade, results

    document = grade.grade(args.submission, args.results, config_path=args.config)
    if not args.quiet:
        print(results.score_table(document))
        print(f"\nresults.json written to {shown(args.results)}")
    return 0


def check_arguments(submission: Path, config_path: Path | None, results_path: Path | None = None) -> None:
    """A GraderError (one line, exit 2) for a submission that does not exist, a configuration that does not load,
    or a results.json that cannot be written (reserved now, as grading would: the true reason, before any work).

    The configuration is loaded in a forked child that then exits (config.submission_caps): this process must not
    read it before it forks the student's worker (sandbox/policy.py), and a child's memory leaves with it.
    """
    if not submission.exists():
        raise GraderError(f"the submission {submission} does not exist")
    submission_caps(config_path)  # the GraderError of load_config, for a configuration that does not load
    if results_path is not None:
        from .results import reserve
        from .writable import writing

        with writing(results_path, "--results"):
            reserve(results_path)

