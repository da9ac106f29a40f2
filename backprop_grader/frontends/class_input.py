"""batch's input: where a class's submissions are, who submitted them, and what each one is.

The input is a folder of submissions (folders or zips), a zip of one, or a Gradescope "Export Submissions" folder
or zip: one `submission_<id>/` folder per submission beside `submission_metadata.yml`, which maps each folder name
to `{":submitters": [{":name", ":email", ":sid"}, ...], ":created_at", ":score", ...}` (Ruby symbols as keys).
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

from ..errors import GraderError
from .discovery import unzip

METADATA = "submission_metadata.yml"
_IGNORED = ("__MACOSX",)


def metadata_warnings(submissions: dict, students: dict) -> list[str]:
    """A warning (Markdown, names escaped) for each submission folder the export's metadata does not list, and
    each entry of the metadata with no folder; printed on the console and kept for report.md."""
    from ..markup import escape

    warnings = [f"the folder {escape(name, code=True)} has no entry in {METADATA}: graded without a student name"
                for name in submissions if name not in students]
    warnings += [f"{METADATA} lists {escape(name, code=True)}, but the export has no such folder: not graded"
                 for name in students if name not in submissions]
    for warning in warnings:
        print(f"batch: warning: {warning}", file=sys.stderr)
    return warnings


def input_root(path: Path, scratch: Path) -> Path:
    """The folder that holds the submissions: a zip is unpacked first, and a lone wrapping folder is entered."""
    if not path.exists():
        raise GraderError(f"the input {path} does not exist")
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise GraderError(f"the input {path} is neither a folder nor a zip")
        unzip(path, scratch / "input")
        path = scratch / "input"
    for _ in range(3):  # e.g. export.zip -> assignment_123_export/ -> submission_*/
        children = _visible(path)
        if (path / METADATA).is_file() or len(children) != 1 or not children[0].is_dir():
            break
        inner = children[0]
        if not (inner / METADATA).is_file() and not any(c.is_dir() for c in _visible(inner)):
            break  # the one child is itself a submission
        path = inner
    return path


def find_submissions(root: Path, *, exclude: Path | None = None) -> dict[str, Path]:
    """Submission id -> its folder or zip: every visible sub-folder and zip of the root, by name."""
    found = {}
    for child in _visible(root):
        if exclude is not None and child.resolve() == exclude:
            continue
        if child.is_dir():
            found[child.name] = child
        elif child.suffix.lower() == ".zip":
            found[child.stem] = child
    return dict(sorted(found.items()))


def read_metadata(path: Path) -> dict[str, list[dict]]:
    """Submission folder name -> its submitters ({"name", "email", "sid"}) from Gradescope's metadata file."""
    import yaml

    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_tolerant_loader())  # a SafeLoader subclass
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise GraderError(f"cannot read {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise GraderError(f"{path} is not a Gradescope submission_metadata.yml: expected a mapping of submissions")
    return {str(key): _submitters(value) for key, value in raw.items()}


def _submitters(record) -> list[dict]:
    """The submitters of one record, whether its keys are Ruby symbols (":name") or plain ("name")."""
    record = _plain_keys(record) if isinstance(record, dict) else {}
    people = record.get("submitters") or []
    return [{k: str(v) for k, v in _plain_keys(p).items() if k in ("name", "email", "sid") and v is not None}
            for p in people if isinstance(p, dict)]


def _plain_keys(mapping: dict) -> dict:
    return {str(k).lstrip(":"): v for k, v in mapping.items()}


def _tolerant_loader():
    """A SafeLoader that reads Ruby-tagged values (`!ruby/object:...`) as plain data instead of refusing them."""
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader plus: any unknown tag is read as the plain mapping, list or string it tags."""

    def plain(loader, _suffix, node):
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", plain)
    Loader.add_multi_constructor("tag:", plain)
    return Loader


def _visible(folder: Path) -> list[Path]:
    return sorted(c for c in folder.iterdir() if not c.name.startswith(".") and c.name not in _IGNORED)


def content_hash(path: Path) -> str:
    """A hash of a submission's files (names and bytes), or of a zip's bytes: its identity across runs."""
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(path.read_bytes())
        return digest.hexdigest()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(_sha256(file.read_bytes()).encode())
    return digest.hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
