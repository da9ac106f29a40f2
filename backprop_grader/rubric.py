"""Apply the rubric of autograder.toml to graded tests through gradescope-utils' own decorators, and read it back.

The configuration reaches the graded suite by one route: the plugin, which holds the run's Config (config.Config),
gives each collected test its points and visibility (configure). Importing tests/ reads no configuration.
"""

from __future__ import annotations

from gradescope_utils.autograder_utils import decorators as gs

from .config import VISIBILITIES
from .errors import GraderError

CONFIGURED = "__configured__"  # set on a graded test: its points and visibility come from the run's configuration


def graded(number: str, *, partial: bool = False, tags: tuple = ()):
    """@number, @tags and (for partial credit) @partial_credit's set_score now; @weight and @visibility from the
    run's configuration once the plugin knows it (configure), at collection."""

    def apply(func):
        func = gs.tags(*tags)(gs.number(number)(func))
        if partial:
            func = gs.partial_credit(None)(func)  # its points are the configuration's, set by configure()
        setattr(func, CONFIGURED, True)
        return func

    return apply


def configure(func, config) -> bool:
    """Give a graded test the points and visibility that config (config.Config) sets for its number, with
    gradescope-utils' @weight and @visibility; False for a test of a case config does not grade, which the plugin
    leaves out of the run. An informational check (not @graded) keeps its own."""
    if not getattr(func, CONFIGURED, False):
        return True
    if not config.grades(func.__number__):
        return False
    entry = config.rubric(func.__number__)
    gs.visibility(entry.visibility)(gs.weight(entry.points)(func))
    return True


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
