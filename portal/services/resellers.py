"""A reseller's sub-accounts: created with a one-time set-password link, limited, acted inside."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import abort

from portal.extensions import db
from portal.models import LIMITS, Account, AccountKind, Domain, Role, Status, User, utcnow
from portal.models.kinds import ALL_LIMITS, DELETION_ORDER, SUSPENDED, Kind, counted
from portal.models.usage import totals
from portal.orchestration import operations
from portal.orchestration.unrouted import delete_now, purge_unrouted_domains
from portal.security.audit import audit
from portal.security.passwords import hash_password
from portal.security.scoping import Actor, sub_account
from portal.services import ServiceError, contacts
from portal.services.password_links import hand_over, make_token, send_link
from portal.services.password_links import user_for_token as _user_for_link
from portal.services.plans import refuse_below_usage
from portal.services.text import plain_text
from portal.words import gettext

LINK_DAYS = 7
ACCOUNT_NAME_MAX = 100  # Account.name is a String(100)


def reseller_of(actor: Actor) -> Account | None:
    account = actor.user.account
    return account if account is not None and account.kind == AccountKind.RESELLER else None


SET_PASSWORD_SALT = "hostdeck-set-password"  # noqa: S105 (a salt, not a password)


def set_password_token(user: User) -> str:
    # Bound to a fingerprint of the current hash (services/password_links.py), never a piece of the
    # hash itself: once the password is set, the link is spent.
    return make_token(user, salt=SET_PASSWORD_SALT)


def user_for_token(token: str, *, lock: bool = False) -> User | None:
    return _user_for_link(token, salt=SET_PASSWORD_SALT, max_age=LINK_DAYS * 86400, lock=lock)


def create_sub_account(actor: Actor, *, name: str, owner_email: str, emergency_email: str) -> tuple[Account, str]:
    """The new account and its owner's set-password token. The reseller never sets or sees the password.

    The emergency contact is asked for here, as a hosting panel does: a new account may have no
    owner yet who reads mail, and its warnings need somewhere to go from the first day."""
    reseller = reseller_of(actor)
    if reseller is None:
        raise ServiceError(gettext("Only resellers create accounts."))
    name = plain_text(name, "name").strip()
    if len(name) > ACCOUNT_NAME_MAX:
        raise ServiceError(gettext("At most %(max)d characters.", max=ACCOUNT_NAME_MAX), field="name")
    if not name or not name.isprintable():
        raise ServiceError(gettext("Give the account a name."), field="name")
    taken = db.session.scalar(sa.select(Account).where(Account.parent_id == reseller.id, Account.name == name))
    if taken is not None:
        raise ServiceError(gettext("You already have an account named %(name)s.", name=taken.name), field="name")
    try:
        email = validate_email(owner_email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ServiceError(str(exc), field="owner_email") from exc
    login = db.session.scalar(sa.select(User).where(User.email == email))
    if login is not None:
        raise ServiceError(_taken_email(reseller, login), field="owner_email")
    contact = contacts.checked(emergency_email, contacts.family(reseller))
    account = Account(name=name, kind=AccountKind.CUSTOMER, parent=reseller)
    owner = User(
        email=email, role=Role.OWNER, account=account, password_hash=hash_password(secrets.token_urlsafe(32))
    )  # nobody knows it
    db.session.add_all([account, owner])
    db.session.flush()
    account.assigned_prefix()
    contacts.set_new_account_contact(account, contact)
    audit(
        actor,
        "account.create",
        obj=account,
        account_id=account.id,
        fields={"name": name, "owner": email, "emergency_contact": contact},
    )
    return account, set_password_token(owner)


WELCOME_PATH = "/set-password/"  # the reseller pages' route for a new account's owner (the same link)


def mail_welcome_link(actor: Actor, account: Account) -> None:
    """E-mail the new sub-account's owner the link the reseller's page shows once (valid LINK_DAYS), for
    a reseller that never sees it (the API). After the commit: the worker must find the login."""
    owner = db.session.scalars(sa.select(User).where(User.account_id == account.id).order_by(User.id)).first()
    if owner is None:
        return
    audit(actor, "user.password_link", obj=owner, account_id=account.id, fields={"to": owner.email})
    hand_over(welcome_link_job, owner.id, account.parent.name if account.parent else "")


def welcome_link_job(user_id: int, sender: str) -> bool:
    """The RQ job: a fresh link, never one carried in the job."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        return False
    return send_link(user, sender, f"{WELCOME_PATH}{set_password_token(user)}", days=LINK_DAYS)


def _ours(reseller: Account, account: Account | None) -> bool:
    return account is not None and (account.id == reseller.id or account.parent_id == reseller.id)


# Logins are unique across the portal (an e-mail logs in to one account): a refusal says nothing
# of whose another reseller's login is, in one neutral sentence.
def _taken_email(reseller: Account, login: User) -> str:
    if _ours(reseller, login.account):
        return str(gettext("%(email)s already logs in to %(account)s.", email=login.email, account=str(login.account)))
    return str(gettext("%(email)s is not available; choose another.", email=login.email))


def set_limits(actor: Actor, account_id: int, values: dict[str, int | None]) -> Account:
    """A sub-account's limits, each within the reseller's own."""
    reseller = reseller_of(actor)
    account = sub_account(reseller, account_id)
    if reseller is None or account is None:
        abort(404)
    for kind in ALL_LIMITS:
        value, cap = values.get(kind), reseller.limit(kind)
        if value is not None and value < 0:
            raise ServiceError(gettext("Limits are zero or more."), field=kind)
        if cap is not None and (value is None or value > cap):
            raise ServiceError(
                gettext("Your own plan allows %(allowed)s: stay within it.", allowed=counted(kind, cap)), field=kind
            )
    refuse_below_usage([account], values)  # never below what the sub-account already has
    for kind in ALL_LIMITS:
        setattr(account, f"max_{kind}", values.get(kind))
    audit(actor, "account.limits", obj=account, account_id=account.id, fields=dict(values))
    return account


def usage(accounts: list[Account]) -> dict[int, dict[str, tuple[int, int | None]]]:
    """account id -> kind -> (used, limit), from the usage counters (a query only for resellers)."""
    used = totals(db.session, accounts)
    return {a.id: {kind: (used[a.id][kind], a.limit(kind)) for kind in LIMITS} for a in accounts}


def set_suspended(actor: Actor, account: Account, suspended: bool) -> int:
    """Suspend (or resume) an account: portal logins stop, and every service is re-applied in its
    suspended (or normal) form. Returns how many services are being re-applied."""
    account.active = not suspended
    audit(actor, "account.suspend" if suspended else "account.resume", obj=account, account_id=account.id)
    count = 0
    for kind in SUSPENDED:
        model = kind.model
        for obj in db.session.scalars(
            sa.select(model).where(model.account_id == account.id, model.status != Status.DELETING)
        ):
            obj.status, obj.last_error = Status.PENDING, None
            try:
                operations.record(obj, "save", actor=actor)
            except operations.NoServer:
                continue  # nothing runs it anywhere: nothing to suspend
            count += 1
    return count


def suspend_sub_account(actor: Actor, account_id: int, suspended: bool) -> tuple[Account, int]:
    account = sub_account(reseller_of(actor), account_id)
    if account is None:
        abort(404)
    return account, set_suspended(actor, account, suspended)


def remaining_services(account: Account) -> list[tuple[Kind, int]]:
    """How many objects of each kind the account still has, in the order they are deleted."""
    return [
        (
            kind,
            db.session.scalar(
                sa.select(sa.func.count()).select_from(kind.model).where(kind.model.account_id == account.id)
            )
            or 0,
        )
        for kind in DELETION_ORDER
    ]


def delete_sub_account(actor: Actor, account_id: int) -> Account:
    """Remove every service from the servers, in the deletion order (models/kinds.py: sites before
    their apps, system users, database users, databases, addresses, mailboxes and domains); logins
    stop at once. The account row stays,
    inactive, for its history."""
    account = sub_account(reseller_of(actor), account_id)
    if account is None or account.deleting_at is not None:
        abort(404)
    account.active, account.deleting_at = False, utcnow()
    audit(actor, "account.delete", obj=account, account_id=account.id)
    account.deletion_total = sum(n for _, n in remaining_services(account))
    for kind in DELETION_ORDER:
        model = kind.model
        for obj in db.session.scalars(sa.select(model).where(model.account_id == account.id)):
            if obj.status == Status.DELETING:
                continue
            obj.status, obj.last_error = Status.DELETING, None
            try:
                operations.record(obj, "delete", actor=actor)
            except operations.NoServer:
                # On no server only the row goes; a domain once nothing points at it (the purge).
                if model is not Domain:
                    delete_now(obj)
    db.session.flush()
    purge_unrouted_domains()
    return account


def switch_targets(reseller: Account, limit: int = 50) -> list[tuple[int, str]]:
    """(id, name) of the sub-accounts a reseller may act inside, for the switcher on every page."""
    rows = db.session.execute(
        sa.select(Account.id, Account.name)
        .where(Account.parent_id == reseller.id, Account.deleting_at.is_(None))
        .order_by(Account.name)
        .limit(limit)
    )
    return [(row.id, row.name) for row in rows]
