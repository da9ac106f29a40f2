"""`backprop-grader prepare [--packages FILE] [--warm]`: what setup.sh needs from the grader itself.

setup.sh (once, on Gradescope, as root in ROOT/source) asks twice, with a pip install in between: first for the
pinned requirement lines of the packages autograder.toml lets students import (--packages), then, once they are
installed, for the cache of seeded networks and of what a fresh worker has loaded (--warm), computed before it
locks the grader's files. A command rather than `python -c` into the package, so the shell script names no
function of ours.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import GraderError


def register(commands) -> None:
    """Add the prepare command's arguments."""
    parser = commands.add_parser("prepare", help="for setup.sh: write the packages' pinned requirements, warm the "
                                                 "cache of seeded networks")
    parser.add_argument("--packages", type=Path, default=None, metavar="FILE",
                        help="write the pinned requirement lines of autograder.toml's [environment] packages here")
    parser.add_argument("--warm", action="store_true",
                        help="compute and store the seeded networks and what a fresh worker has loaded")


def run(args) -> int:
    """Do what was asked, packages first; at least one of the two must be."""
    if args.packages is None and not args.warm:
        raise GraderError("prepare needs --packages FILE, --warm or both")
    if args.packages is not None:
        write_packages(args.packages)
    if args.warm:
        from ..maths import cache

        cache.warm()
    return 0


def write_packages(path: Path) -> None:
    """The pinned requirement lines of the configured packages, one a line, for `pip install -r` (config.py
    refuses a package without a pin, naming it)."""
    from ..config import load_config, package_requirements
    from .writable import writing

    lines = package_requirements(load_config())
    with writing(path, "--packages"):
        Path(path).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
