"""Apply the rubric of autograder.toml to graded tests through gradescope-utils' own decorators, and read it back."""

from __future__ import annotations

import os
from functools import cache

from gradescope_utils.autograder_utils import decorators as gs

from .config import VISIBILITIES, load_config
from .errors import GraderError

CONFIG_ENV = "BACKPROP_GRADER_CONFIG"  # set by the grader before pytest imports the graded suite


@cache
def active_config():
    """The configuration of this run (autograder.toml unless the grader named another)."""
    return load_config(os.environ.get(CONFIG_ENV) or None)


SWITCHED_OFF = "__switched_off__"  # set on a graded test of a case rubric.cases leaves out: the plugin drops it


def graded(number: str, *, partial: bool = False, tags: tuple = ()):
    """@number, @visibility, @tags and @weight (or @partial_credit) with the points and visibility configured; a
    test of a case the configuration does not grade is only marked, for the plugin to leave it out of the run."""
    if not active_config().grades(number):
        def switched_off(func):
            setattr(func, SWITCHED_OFF, True)
            return gs.number(number)(func)

        return switched_off
    entry = active_config().rubric(number)

    def apply(func):
        func = gs.tags(*tags)(gs.visibility(entry.visibility)(gs.number(number)(func)))
        return gs.partial_credit(entry.points)(func) if partial else gs.weight(entry.points)(func)

    return apply


def informational(number: str, *, tags: tuple = ()):
    """A 0-point, always visible check (SPEC section 3)."""

    def apply(func):
        return gs.weight(0)(gs.tags(*tags)(gs.visibility("visible")(gs.number(number)(func))))

    return apply


def attributes(func) -> dict:
    """The decorators' values on a test function, checked: a typo such as "hiden" is an error, not a silent default."""
    weight = getattr(func, "__weight__", None)
    visibility = getattr(func, "__visibility__", "visible")
    number = getattr(func, "__number__", None)
    name = getattr(func, "__name__", "?")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
        raise GraderError(f"graded test {name} has no valid @weight (got {weight!r})")
    if visibility not in VISIBILITIES:
        raise GraderError(f"graded test {name} has @visibility({visibility!r}); allowed {', '.join(VISIBILITIES)}")
    if not isinstance(number, str):
        raise GraderError(f"graded test {name} has no @number")
    doc = (func.__doc__ or name).strip().splitlines()[0]
    return {"weight": float(weight), "visibility": visibility, "number": number, "name": doc,
            "tags": list(getattr(func, "__tags__", ())), "partial": hasattr(func, "__wrapped__")}
