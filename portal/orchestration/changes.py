"""What a server owes: its pending operations folded into the latest desired state per object."""

from __future__ import annotations

from dataclasses import dataclass, field

from portal.models import Operation


@dataclass
class Change:
    """The latest desired state of one object on one backend."""

    op: Operation  # the newest operation; it carries the outcome
    secret: str | None = None
    folded: list[Operation] = field(default_factory=list)


def fold(ops: list[Operation]) -> list[Change]:
    """Last desired state wins; a delete cancels pending saves; a new password survives a later save."""
    changes: dict[tuple[str, str, int], Change] = {}
    for op in ops:  # ordered by id
        key = (op.backend, op.object_type, op.object_id)
        previous = changes.get(key)
        change = Change(op=op, secret=op.secret)
        if previous is not None:
            change.folded = [*previous.folded, previous.op]
            # An op that set a password it no longer has (wiped) never brings back an older one.
            if op.action == "save" and op.secret is None and not op.sets_password and previous.op.action == "save":
                change.secret = previous.secret
        changes[key] = change
    return sorted(changes.values(), key=lambda c: c.op.id)
