"""The kinds registry (portal/models/kinds.py) is complete and consistent: adding a provisioned
kind without its entry, its limit columns or a backend fails here."""

from __future__ import annotations

import sqlalchemy as sa

from portal.models import KINDS, LIMITS, Account, Base, Plan
from portal.models.kinds import (
    ALL_LIMITS,
    COUNTED,
    DELETION_ORDER,
    SUSPENDED,
    UNCOUNTED_LIMITS,
    counted,
    kind_named,
    kind_of,
)
from portal.models.status import Provisioned
from portal.orchestration.backends import BACKENDS


def test_every_model_with_a_status_and_an_account_is_a_kind():
    provisioned = {
        mapper.class_ for mapper in Base.registry.mappers if {"status", "account_id"} <= set(mapper.columns.keys())
    }
    assert provisioned, "the walk found no models"
    # Every model with the Provisioned mixin (a status) belongs to an account, so it is walked above.
    no_account = [
        m.class_.__name__
        for m in Base.registry.mappers
        if issubclass(m.class_, Provisioned) and "account_id" not in m.columns
    ]
    assert no_account == [], f"provisioned models without an account_id: {no_account}"
    missing = sorted(model.__name__ for model in provisioned - {kind.model for kind in KINDS})
    assert missing == [], f"add these to KINDS in portal/models/kinds.py: {missing}"


def test_each_kind_is_declared_once_with_words_for_people():
    names = [kind.name for kind in KINDS]
    assert len(names) == len(set(names))
    assert len(set(KINDS)) == len(KINDS)  # a kind can be a set member or a dict key
    for kind in KINDS:
        assert kind_named(kind.name) is kind and kind_of(kind.model) is kind
        assert kind.singular and kind.plural
        # Words that sit mid-sentence: lowercase, but for an acronym ("DNS record").
        assert all(word == word.lower() or word.isupper() for word in str(kind.singular).split())
        # A count reads with its kind's words, in the singular for one.
        assert kind.count(1) == f"1 {kind.singular}" and kind.count(3) == f"3 {kind.plural}"


def test_each_limit_counts_in_words():
    assert set(LIMITS) == {limit for limit in LIMITS if counted(limit, 2)}
    assert counted("mailboxes", 1) == "1 mailbox" and counted("system_users", 2) == "2 system users"
    assert counted("quota_mb", 500) == "500 MB of mail quota"


def test_kinds_come_in_dependency_order():
    """A row that others point at is declared before them, so it is deleted after them: a kind's own
    table, or a table that belongs to it (ON DELETE CASCADE), points only at kinds above it."""
    position = {kind.model.__table__.name: i for i, kind in enumerate(KINDS)}
    checked = 0
    for table in Base.metadata.sorted_tables:
        owners = {
            position[fk.column.table.name]
            for fk in table.foreign_keys
            if fk.ondelete == "CASCADE" and fk.column.table.name in position
        }
        if table.name in position:
            owners.add(position[table.name])
        for fk in table.foreign_keys:
            target = fk.column.table.name
            if target in position and fk.ondelete != "CASCADE":
                for owner in owners:
                    assert position[target] < owner, f"{table.name} points at {target}, declared after it"
                    checked += 1
    assert checked >= 4  # mailbox and address -> domain, web_app -> system_user, a mount -> its web app
    assert tuple(reversed(KINDS)) == DELETION_ORDER


def test_every_limit_has_its_columns():
    limits = {column.name.removeprefix("max_") for column in Plan.__table__.columns if column.name.startswith("max_")}
    assert limits == set(ALL_LIMITS)  # the counted ones and those with no counter (per zone)
    account = {column.name for column in Account.__table__.columns}
    assert {f"max_{limit}" for limit in ALL_LIMITS} <= account
    assert not set(UNCOUNTED_LIMITS) & set(LIMITS)
    assert {f"used_{limit}" for limit in LIMITS} <= account
    assert {kind.limit for kind in COUNTED if kind.limit} | {c for kind in COUNTED for c in kind.measures} == set(
        LIMITS
    )


def test_measured_columns_keep_their_old_value():
    """A deleted or edited row takes off what was counted: the ORM must remember the old value."""
    for kind in KINDS:
        for column in kind.measures:
            assert sa.inspect(kind.model).attrs[column].active_history, f"{kind.name}.{column}: active_history=True"


def test_every_kind_has_a_backend_and_every_backend_handles_kinds():
    handled = {name for backend in BACKENDS.values() for name in backend.handles}
    assert handled == {kind.name for kind in KINDS}
    assert SUSPENDED and all(kind in KINDS for kind in SUSPENDED)
