"""The one check on free text a service is given: nothing of it reaches a server with a control,
invisible or separator character in it (the forms check the same; the services hold for every face)."""

from __future__ import annotations

from portal.models.validators import control_problem, normalise_lines
from portal.services import ServiceError


def plain_text(value: str, field: str, *, multiline: bool = False) -> str:
    """value as given (a multi-line text with CR LF as LF), or a ServiceError at field."""
    if multiline:
        value = normalise_lines(value)
    problem = control_problem(value, multiline=multiline)
    if problem:
        raise ServiceError(problem, field=field)
    return value
