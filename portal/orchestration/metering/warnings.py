"""Warnings after a round: an account that crossed 80% or 100% of a quota or limit is told once.

`after_round(server_id)` looks at the accounts the round measured (their readings on that server)
and at their resellers (whose limits count their sub-accounts' too):

- quotas: a mailbox's MAIL_BYTES reading against its quota_mb (the highest reading, where several
  servers hold it);
- limits: every `used_*` against its `max_*` (models/plans.py), a reseller's with its sub-accounts'.

A threshold crossed and not yet told gets one e-mail and a `Crossing` row (account, subject, level):
the row is what keeps the next round quiet. It goes once use is back under that level, so the next
crossing warns again. 100% supersedes 80% (one mail, saying 100%; both rows are kept, so falling back
to 90% says nothing new). The row is inserted in the transaction that sends the mail: a mail that
could not go leaves no row, and the next round tries again; of two rounds at once (two servers of one
account), the second waits on the first's row and sends nothing.

The mail goes to the account's readers (orchestration/contacts.py: the confirmed emergency contact,
else the owners' login e-mails), each in their language, with a link to the page on PUBLIC_URL.
Nothing here may break a round: the round is committed before this runs, and every failure is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, format_number

from portal.extensions import db
from portal.models import LIMITS, Account, Mailbox, utcnow
from portal.models.kinds import counted
from portal.models.metering import MIB, Crossing, Metric, Reading
from portal.models.usage import totals
from portal.orchestration.contacts import Reader, page_url, readers
from portal.orchestration.mailer import compose, deliver
from portal.orchestration.metering.store import insert_for
from portal.words import gettext

log = logging.getLogger(__name__)

LEVELS = (100, 80)  # highest first: the highest crossed is the one told
# Where a limit's warning links: the list of what it counts.
LIST_PAGES = {
    "mailboxes": "mailboxes.index",
    "quota_mb": "mailboxes.index",
    "addresses": "addresses.index",
    "domains": "domains.index",
    "web_apps": "webapps.index",
    "system_users": "system_users.index",
    "databases": "databases.index",
}


@dataclass(frozen=True)
class Use:
    """One quota or limit of an account: how much is used of how much is allowed (one unit)."""

    subject: str  # Crossing.subject: "Mailbox:12:mail_bytes", "limit:mailboxes"
    used: int
    allowed: int
    endpoint: str
    values: dict[str, Any] = field(default_factory=dict)
    mailbox: Mailbox | None = None  # a quota's mailbox; None for a limit
    limit: str = ""

    @property
    def level(self) -> int:
        """The highest threshold reached (0: under them all). Nothing allowed means nothing to warn of."""
        if self.allowed <= 0:
            return 0
        return next((level for level in LEVELS if self.used * 100 >= level * self.allowed), 0)


def after_round(server_id: int) -> None:
    """Called by rounds.py after a successful round, its values committed."""
    if not current_app.config["SMTP_HOST"]:
        log.debug("server %s: no SMTP_HOST, so no usage warnings", server_id)
        return
    try:
        accounts = measured_accounts(server_id)
    except Exception:
        db.session.rollback()
        log.exception("server %s: could not look for usage warnings", server_id)
        return
    for account_id in accounts:
        try:
            warn(account_id)
        except Exception:
            db.session.rollback()
            log.exception("account %s: usage warnings failed", account_id)


def measured_accounts(server_id: int) -> list[int]:
    """The accounts with readings on the server, and their resellers."""
    ids = set(db.session.scalars(sa.select(Reading.account_id).where(Reading.server_id == server_id).distinct()))
    if ids:
        ids |= set(
            db.session.scalars(sa.select(Account.parent_id).where(Account.id.in_(ids), Account.parent_id.is_not(None)))
        )
    db.session.commit()  # no transaction left open while mail goes
    return sorted(i for i in ids if i is not None)


def quota_uses(account: Account) -> list[Use]:
    fullest = db.session.execute(
        sa.select(Reading.object_id, sa.func.max(Reading.value))
        .where(
            Reading.account_id == account.id,
            Reading.object_type == Mailbox.__name__,
            Reading.metric == str(Metric.MAIL_BYTES),
        )
        .group_by(Reading.object_id)
    ).all()
    if not fullest:
        return []
    boxes = {
        m.id: m
        for m in db.session.scalars(
            sa.select(Mailbox).where(Mailbox.account_id == account.id, Mailbox.id.in_([row[0] for row in fullest]))
        )
    }
    return [
        Use(
            subject=f"Mailbox:{box.id}:{Metric.MAIL_BYTES}",
            used=int(value),
            allowed=box.quota_mb * MIB,
            endpoint="mailboxes.show",
            values={"mailbox_id": box.id},
            mailbox=box,
        )
        for object_id, value in fullest
        if (box := boxes.get(object_id)) is not None
    ]


def limit_uses(account: Account) -> list[Use]:
    used = totals(db.session, [account])[account.id]
    return [
        Use(
            subject=f"limit:{limit}",
            used=used[limit],
            allowed=allowed,
            endpoint=LIST_PAGES.get(limit, "dashboard.index"),
            limit=limit,
        )
        for limit in LIMITS
        if (allowed := account.limit(limit)) is not None
    ]


def warn(account_id: int) -> int:
    """Tell the account of each threshold newly crossed; forget those it is back under. How many mails went."""
    account = db.session.get(Account, account_id)
    if account is None or account.deleting_at is not None:
        return 0
    uses = quota_uses(account) + limit_uses(account)
    held = {
        (c.subject, c.level) for c in db.session.scalars(sa.select(Crossing).where(Crossing.account_id == account.id))
    }
    levels = {use.subject: use.level for use in uses}
    # Back under a level (or the object or limit is gone): the next crossing warns again.
    gone = [(subject, level) for subject, level in held if level > levels.get(subject, 0)]
    for subject, level in gone:
        db.session.execute(
            sa.delete(Crossing).where(
                Crossing.account_id == account.id, Crossing.subject == subject, Crossing.level == level
            )
        )
    db.session.commit()
    sent = 0
    for use in uses:
        if use.level and (use.subject, use.level) not in held and _claim(account, use):
            if _send(account, use):
                db.session.commit()
                sent += 1
            else:
                db.session.rollback()  # no row: the next round tries again
    return sent


def _claim(account: Account, use: Use) -> bool:
    """Insert the crossing's rows (its level and those under it); False when another round has its
    level already. The transaction stays open until the mail went."""
    table = cast(sa.Table, Crossing.__table__)
    now, claimed = utcnow(), False
    for level in (lvl for lvl in LEVELS if lvl <= use.level):
        stmt = insert_for(table).values(account_id=account.id, subject=use.subject, level=level, at=now)
        # RETURNING says whether this one inserted it (rowcount is -1 here on some drivers).
        inserted = db.session.execute(stmt.on_conflict_do_nothing().returning(table.c.level)).first()
        if level == use.level:
            claimed = inserted is not None
    if not claimed:
        db.session.rollback()
    return claimed


def _words(account: Account, use: Use) -> tuple[str, list[str]]:
    """The subject and the paragraphs, in the current locale."""
    if use.mailbox is not None:
        name = use.mailbox.display
        if use.level >= 100:
            subject = gettext("Mailbox %(name)s is full", name=name)
            effect = gettext("Mail for it is refused until messages are deleted or its quota is raised.")
        else:
            subject = gettext("Mailbox %(name)s is %(percent)d%% full", name=name, percent=use.level)
            effect = gettext("When it is full, mail for it is refused.")
        holds = gettext(
            "It holds %(used)s MB of its %(quota)s MB quota.",
            used=format_number(round(use.used / MIB)),
            quota=format_number(use.mailbox.quota_mb),
        )
        return subject, [holds, effect]
    things = str(LIMITS[use.limit])
    if use.level >= 100:
        subject = gettext("%(account)s has reached its limit of %(things)s", account=account.name, things=things)
        effect = gettext("Nothing more of it can be added until some is removed or the limit is raised.")
    else:
        subject = gettext(
            "%(account)s has used %(percent)d%% of its limit of %(things)s",
            account=account.name,
            percent=use.level,
            things=things,
        )
        effect = gettext("Once it is used up, nothing more of it can be added.")
    has = gettext(
        "It has %(used)s; its limit is %(limit)s.",
        used=counted(use.limit, use.used),
        limit=counted(use.limit, use.allowed),
    )
    return subject, [has, effect]


def _send(account: Account, use: Use) -> bool:
    to = readers(account)
    if not to:
        log.warning("account %s: %s crossed %d%%, but nobody to tell", account.id, use.subject, use.level)
        return False
    link = page_url(use.endpoint, use.values)
    failure = f"account {account.id}: could not send the usage warning for {use.subject}"
    return all(deliver(_message(account, use, reader, link), failure) for reader in to)


def _message(account: Account, use: Use, reader: Reader, link: str) -> EmailMessage:
    with force_locale(reader.locale):
        subject, paragraphs = _words(account, use)
        context = {"paragraphs": paragraphs, "link": link, "account": account.name}
        text = render_template("email/usage_warning.txt", **context)
        html = render_template("email/usage_warning.html", **context)
    return compose(reader.address, subject, text, html)
