"""What users can do, as typed functions taking the actor. Services flush; requests commit."""

from __future__ import annotations

from portal.models import Status
from portal.security.scoping import get_scoped_or_404


class ServiceError(Exception):
    """A refusal in plain words, shown to the user as it is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def to_change(model, object_id: int, actor, noun: str):
    """The actor's object, marked pending for a change; refused while it is being deleted."""
    obj = get_scoped_or_404(model, object_id, actor)
    if obj.status == Status.DELETING:
        raise ServiceError(f"This {noun} is being deleted.")
    obj.status, obj.last_error = Status.PENDING, None
    return obj
