"""Folding pending operations into the latest desired state per object."""

from portal.models import Operation
from portal.orchestration.changes import fold


def op(id, object_id, action="save", secret=None, backend="dovecot"):
    return Operation(id=id, backend=backend, object_type="Mailbox", object_id=object_id, action=action, secret=secret)


def test_last_change_wins_and_keeps_the_newest_password():
    changes = fold([op(1, 7, secret="v1"), op(2, 7, secret="v2"), op(3, 7)])
    assert len(changes) == 1
    assert changes[0].op.id == 3
    assert changes[0].secret == "v2"
    assert [o.id for o in changes[0].folded] == [1, 2]


def test_delete_cancels_pending_saves():
    changes = fold([op(1, 7, secret="v1"), op(2, 7, action="delete")])
    assert [(c.op.action, c.secret) for c in changes] == [("delete", None)]


def test_objects_stay_apart_and_in_order():
    changes = fold([op(1, 1), op(2, 2), op(3, 1)])
    assert [(c.op.object_id, c.op.id) for c in changes] == [(2, 2), (1, 3)]
