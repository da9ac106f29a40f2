"""`backprop-grader build [--out autograder.zip]`: the upload for Gradescope, with only what grading needs."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from ..config import PROJECT_ROOT, load_config, package_requirements
from .writable import check_file, writing

# What Gradescope needs, relative to the project root: no selftests, no student kit, no caches.
# student_template/forward.py is the given forward pass, for submissions that import it.
INCLUDED_FILES = ("setup.sh", "run_autograder", "autograder.toml", "requirements.txt", "bin/ensure-venv",
                  "student_template/forward.py", "requirements-grader.txt", "requirements-packages.txt")
INCLUDED_FOLDERS = ("backprop_grader", "reference", "tests")
EXCLUDED_NAMES = {"__pycache__", "derivation.py", ".pytest_cache"}
EXECUTABLE = {"setup.sh", "run_autograder", "bin/ensure-venv"}
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # every entry's time in the zips we write (this and the kit): same sources, same zip


def register(commands) -> None:
    """Add the build command's arguments."""
    parser = commands.add_parser("build", help="write autograder.zip for Gradescope")
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"), help="where to write the zip")
    parser.add_argument("--config", type=Path, default=None, help="the autograder.toml to ship (checked first)")


def run(args) -> int:
    """Check the configuration, then write the zip and say what is in it."""
    names = build_zip(args.out, config_path=args.config)
    print(f"wrote {args.out} ({len(names)} files, {args.out.stat().st_size // 1024} KiB)")
    return 0


def build_zip(out: Path, *, config_path: Path | None = None) -> list[str]:
    """Write the zip with setup.sh and run_autograder at its root; return the names inside."""
    config = load_config(config_path)  # refuse to ship a configuration that would fail at grading time
    package_requirements(config)  # or whose packages setup.sh could not install (no pinned version)
    entries = [(PROJECT_ROOT / name, name) for name in INCLUDED_FILES]
    entries[2] = (config.path, "autograder.toml")
    for folder in INCLUDED_FOLDERS:
        for path in sorted((PROJECT_ROOT / folder).rglob("*")):
            relative = path.relative_to(PROJECT_ROOT).as_posix()
            if path.is_file() and not EXCLUDED_NAMES & set(path.parts) and path.suffix != ".pyc":
                entries.append((path, relative))
    out = Path(out)
    check_file(out, "--out")
    partial = out.with_suffix(".partial")
    try:
        with writing(out, "--out"):
            out.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
                for path, name in entries:
                    info = zipfile.ZipInfo(name, ZIP_TIME)
                    info.external_attr = (0o755 if name in EXECUTABLE else 0o644) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
            os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)  # a zip cut short (a full disk) is never left behind
    return [name for _, name in entries]
