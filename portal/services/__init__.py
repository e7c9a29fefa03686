"""What users can do, as typed functions taking the actor. Services flush; requests commit."""

from __future__ import annotations

from typing import TypeVar

from portal.models import Operation, Status
from portal.models.status import Provisioned
from portal.orchestration import operations
from portal.orchestration.proof import NotProven
from portal.security import strength
from portal.security.scoping import Actor, get_scoped_or_404

P = TypeVar("P", bound=Provisioned)


class ServiceError(Exception):
    """A refusal in plain words, shown to the user as it is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def refuse_weak_password(password: str, *names: str | None) -> None:
    """A new password the strength rules refuse (security/strength.py: common, a name from the account
    given in names, too easy to guess), as a refusal at the form's password field."""
    why = strength.weakness(password, names)
    if why:
        raise ServiceError(why, field="password")


def record(obj: Provisioned, action: str, actor: Actor | None, password: str | None = None) -> list[Operation]:
    """The outbox's record(), with "no server runs this" (or "its domain is not proven") as a refusal
    the customer reads."""
    try:
        return operations.record(obj, action, actor=actor, password=password)
    except (operations.NoServer, NotProven) as exc:
        raise ServiceError(str(exc)) from exc


def to_delete(obj: P, actor: Actor | None) -> P:
    """Mark an object for deletion and record it: its row goes once every server has let it go."""
    obj.status, obj.last_error = Status.DELETING, None
    record(obj, "delete", actor)
    return obj


def to_change(model: type[P], object_id: int, actor: Actor, deleting: str) -> P:
    """The actor's object, marked pending for a change; refused while it is being deleted, with the
    words given ("This mailbox is being deleted.": a whole sentence per kind, for the languages)."""
    obj = get_scoped_or_404(model, object_id, actor)
    if obj.status == Status.DELETING:
        raise ServiceError(deleting)
    obj.status, obj.last_error = Status.PENDING, None
    return obj
