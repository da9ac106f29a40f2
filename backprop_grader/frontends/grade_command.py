"""`backprop-grader grade SUBMISSION [--results FILE]`: grade one submission and print the table.

Typed by a person, a mistake of theirs (a submission path that does not exist, a configuration that does not
load) is one line and exit status 2, and no results.json is written. run_autograder passes --always-write-results:
in Gradescope's layout there is nobody to read that line, so the same mistakes become an autograder-error
results.json, as any other fault of the grader does.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..cli import shown
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
    """Grade, write results.json, print the table; exit 0 whenever results.json was written."""
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

    The configuration is loaded in a forked child that then exits: this process must not read it before it forks
    the student's worker (sandbox/policy.py), and a child's memory leaves with it.
    """
    if not submission.exists():
        raise GraderError(f"the submission {submission} does not exist")
    problem = _config_problem(config_path)
    if problem:
        raise GraderError(problem)
    if results_path is not None:
        from .results import reserve
        from .writable import writing

        with writing(results_path, "--results"):
            reserve(results_path)


def _config_problem(config_path: Path | None) -> str:
    """Why the configuration does not load, or "" when it does; checked in a child process of our own."""
    readable, writable = os.pipe()
    child = os.fork()
    if child == 0:  # the child: load, report, leave without running anything of the parent's
        code = 0
        try:
            os.close(readable)
            from ..config import load_config

            load_config(config_path)
        except GraderError as exc:
            os.write(writable, str(exc).encode("utf-8", "replace")[:60000])
        except Exception:  # anything else: grading meets it too, and reports it in results.json
            code = 1
        finally:
            os._exit(code)
    os.close(writable)
    chunks = []
    with os.fdopen(readable, "rb") as pipe:
        while chunk := pipe.read(65536):
            chunks.append(chunk)
    os.waitpid(child, 0)
    return b"".join(chunks).decode("utf-8", "replace").strip()
