"""A reseller's sub-accounts: list, create (the owner is mailed a set-password link), read, limits,
suspend, resume and delete, with the services the reseller pages call (services/resellers.py).

The routes' variable is `sub_account_id`, never `account_id`: `/accounts/{account_id}/…` elsewhere names
the sub-account a request acts inside (access.py pops it), while here the sub-account is the object
itself. A reseller's token kept to some sub-accounts sees and touches only those (any other is the
same 404 as an unknown id), and makes none.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, g
from marshmallow import Schema, fields, validate

from portal.api.access import api_actor, scope
from portal.api.paging import page
from portal.api.problems import problem
from portal.api.resource import allowed, api_blueprint, listed, locate, own_options, with_fields
from portal.api.schemas import (
    IDEMPOTENCY_KEY,
    IF_MATCH,
    INT_MAX,
    READ_HEADERS,
    WRITE_HEADERS,
    Options,
    PageArgs,
    Text,
)
from portal.api.writes import accepted, check_match, shown
from portal.extensions import db
from portal.models import LIMITS, Account, Operation, OpState, Plan, Status
from portal.models.kinds import ALL_LIMITS, DELETION_ORDER
from portal.security.scoping import Actor, sub_account
from portal.services.resellers import (
    create_sub_account,
    delete_sub_account,
    mail_welcome_link,
    reseller_of,
    set_limits,
    suspend_sub_account,
)
from portal.words import gettext

log = logging.getLogger(__name__)

blp = api_blueprint(
    "accounts",
    "A reseller's sub-accounts: create, limits, suspend, resume, delete (scopes accounts:read, accounts:write).",
)

ITEM = "/accounts/<int:sub_account_id>"
WHERE = locate("accounts.account_get", "sub_account_id")


def _plans() -> list[Plan]:
    """Every plan, read once per request (a page of accounts compares each against them)."""
    if "api_plans" not in g:
        g.api_plans = list(db.session.scalars(sa.select(Plan).order_by(Plan.id)))
    found: list[Plan] = g.api_plans
    return found


def plan_of(account: Account) -> str | None:
    """The plan whose limits are the account's, every one (services/plans.py: that is being on it)."""
    for plan in _plans():
        if all(plan.limit(kind) == account.limit(kind) for kind in ALL_LIMITS):
            return plan.name
    return None


def state_of(account: Account) -> str:
    """Where the account's services stand: pending while an operation of it waits for a server, then
    failed if any of them failed, else applied; an account being removed: deleting while anything of it
    remains, then deleted. (An object no server runs has no operation, and waits for nothing.)"""
    waiting = db.session.scalar(
        sa.select(Operation.id).where(Operation.account_id == account.id, Operation.state == OpState.PENDING).limit(1)
    )
    failed, remaining = False, False
    for kind in DELETION_ORDER:
        model = kind.model
        statuses = set(db.session.scalars(sa.select(model.status).where(model.account_id == account.id).distinct()))
        failed, remaining = failed or Status.FAILED in statuses, remaining or bool(statuses)
    if account.deleting_at is not None:
        return "deleting" if waiting is not None or remaining else "deleted"
    if waiting is not None:
        return str(Status.PENDING)
    return str(Status.FAILED) if failed else str(Status.APPLIED)


class SubAccount(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String()
    suspended = fields.Function(lambda a: not a.active, metadata={"description": "logins and services stopped"})
    deleting_at = fields.DateTime(allow_none=True, metadata={"description": "set once a deletion began"})
    plan = fields.Function(plan_of, allow_none=True, metadata={"description": "the plan its limits are, if any"})
    limits = fields.Function(
        lambda a: {kind: a.limit(kind) for kind in ALL_LIMITS},
        metadata={"description": "limit -> the most it may have (null: no limit of its own)"},
    )
    usage = fields.Function(
        lambda a: {kind: a.used(kind) for kind in LIMITS}, metadata={"description": "limit -> what it has now"}
    )
    emergency_email = fields.String(allow_none=True)
    owners = fields.Function(
        lambda a: [u.email for u in sorted(a.users, key=lambda u: u.id)], metadata={"description": "its logins"}
    )
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class SubAccountDetail(SubAccount):
    status = fields.Function(
        state_of,
        metadata={
            "enum": ["pending", "applied", "failed", "deleting", "deleted"],
            "description": "where its services on the servers stand (after a suspend, resume or delete)",
        },
    )


class SubAccountCreate(Schema):
    name = Text(required=True, validate=validate.Length(1, 100))
    owner_email = Text(required=True, validate=validate.Length(1, 254))
    emergency_email = Text(
        required=True,
        validate=validate.Length(1, 254),
        metadata={"description": "where warnings go: an address on no domain this portal hosts for the account"},
    )


SubAccountLimits = Schema.from_dict(
    {kind: fields.Integer(strict=True, allow_none=True, validate=validate.Range(0, INT_MAX)) for kind in ALL_LIMITS},
    name="SubAccountLimits",
)


def _kept(actor: Actor) -> list[int] | None:
    return actor.token.account_ids if actor.token is not None else None


def _reseller(actor: Actor) -> Account:
    reseller = reseller_of(actor)
    if reseller is None:
        abort(404)
    return reseller


def load(sub_account_id: int) -> Account:
    """One of the reseller's sub-accounts its token may touch; anything else the same 404."""
    actor = api_actor()
    kept = _kept(actor)
    account = sub_account(_reseller(actor), sub_account_id)
    if account is None or (kept is not None and account.id not in kept):
        abort(404)
    return account


@blp.route("/accounts", endpoint="accounts_list", methods=["GET"])
@own_options
@blp.response(200, SubAccount(many=True))
@scope("accounts:read")
@blp.arguments(PageArgs, location="query")
def accounts_list(query_args: dict[str, Any]) -> Response:
    """Your sub-accounts (a token kept to some: those)."""
    actor = api_actor()
    query = sa.select(Account).where(Account.parent_id == _reseller(actor).id, Account.deleting_at.is_(None))
    kept = _kept(actor)
    if kept is not None:
        query = query.where(Account.id.in_(kept))
    rows, headers = page(query, Account, query_args)
    return listed(SubAccount(many=True), rows, headers)


@blp.route("/accounts", endpoint="accounts_create", methods=["POST"])
@own_options
@blp.response(202, SubAccountDetail, headers=WRITE_HEADERS, description="Accepted: the owner is mailed a link")
@blp.doc(parameters=[IDEMPOTENCY_KEY])
@scope("accounts:write")
@blp.arguments(SubAccountCreate)
def accounts_create(data: dict[str, Any]) -> Response:
    """Create a sub-account; its owner is mailed a set-password link (202: poll Location)."""
    actor = api_actor()
    _reseller(actor)
    if _kept(actor) is not None:
        return problem(403, gettext("This token is kept to some sub-accounts: it may not create accounts."))
    made: list[int] = []

    def create() -> Account:
        account, _token = create_sub_account(  # the link is mailed below, never answered
            with_fields(data),
            name=data["name"],
            owner_email=data["owner_email"],
            emergency_email=data["emergency_email"],
        )
        made.append(account.id)
        return account

    answer = accepted(SubAccountDetail(), create, WHERE)
    if made:
        # After the commit (a worker must find the new login); not for a replayed answer. The owner gets
        # the link the reseller's page shows once, valid as long.
        mail_welcome_link(replace(api_actor(), fields=None), db.session.get_one(Account, made[0]))
        db.session.commit()
    return answer


@blp.route(ITEM, endpoint="account_get", methods=["GET"])
@own_options
@blp.response(200, SubAccountDetail, headers=READ_HEADERS)
@scope("accounts:read")
def account_get(sub_account_id: int) -> Response:
    """Read one sub-account: limits, usage, suspension, where its services stand."""
    return shown(SubAccountDetail(), load(sub_account_id))


def _limits(data: dict[str, Any], sub_account_id: int, *, whole: bool) -> Response:
    account = load(sub_account_id)
    check_match(SubAccountDetail(), account)
    current = {kind: account.limit(kind) for kind in ALL_LIMITS}
    values = {kind: data.get(kind) for kind in ALL_LIMITS} if whole else {**current, **data}
    return accepted(SubAccountDetail(), lambda: set_limits(with_fields(data), account.id, values), WHERE)


@blp.route(ITEM + "/limits", endpoint="account_limits_put", methods=["PUT"])
@own_options
@blp.response(202, SubAccountDetail, headers=WRITE_HEADERS, description="Every limit: one left out is no limit")
@blp.doc(parameters=[IF_MATCH])
@scope("accounts:write")
@blp.arguments(SubAccountLimits)
def account_limits_put(data: dict[str, Any], sub_account_id: int) -> Response:
    """Set every limit; one left out is no limit."""
    return _limits(data, sub_account_id, whole=True)


@blp.route(ITEM + "/limits", endpoint="account_limits_patch", methods=["PATCH"])
@own_options
@blp.response(202, SubAccountDetail, headers=WRITE_HEADERS, description="The limits sent; the others stay")
@blp.doc(parameters=[IF_MATCH])
@scope("accounts:write")
@blp.arguments(SubAccountLimits)
def account_limits_patch(data: dict[str, Any], sub_account_id: int) -> Response:
    """Change the limits sent; the others stay."""
    return _limits(data, sub_account_id, whole=False)


def _suspend(sub_account_id: int, suspended: bool) -> Response:
    account = load(sub_account_id)

    def change() -> Account:
        found, _count = suspend_sub_account(api_actor(), account.id, suspended)
        return found

    return accepted(SubAccountDetail(), change, WHERE)


@blp.route(ITEM + "/suspend", endpoint="account_suspend", methods=["POST"])
@blp.response(202, SubAccountDetail, headers=WRITE_HEADERS, description="Accepted: poll Location until applied")
@scope("accounts:write")
def account_suspend(sub_account_id: int) -> Response:
    """Suspend a sub-account: its services stop (202: poll Location)."""
    return _suspend(sub_account_id, True)


@blp.route(ITEM + "/resume", endpoint="account_resume", methods=["POST"])
@blp.response(202, SubAccountDetail, headers=WRITE_HEADERS, description="Accepted: poll Location until applied")
@scope("accounts:write")
def account_resume(sub_account_id: int) -> Response:
    """Make a suspended sub-account active again (202: poll Location)."""
    return _suspend(sub_account_id, False)


@blp.route(ITEM, endpoint="account_delete", methods=["DELETE"])
@own_options
@blp.response(202, SubAccountDetail, headers=WRITE_HEADERS, description="Accepted: poll Location until deleted")
@blp.doc(parameters=[IF_MATCH])
@scope("accounts:write")
def account_delete(sub_account_id: int) -> Response:
    """Delete a sub-account and everything in it (202: poll Location)."""
    account = load(sub_account_id)
    if account.deleting_at is not None:
        return problem(422, gettext("%(name)s is already being removed from the servers.", name=account.name))
    check_match(SubAccountDetail(), account)
    return accepted(SubAccountDetail(), lambda: delete_sub_account(api_actor(), account.id), WHERE)


@blp.route("/accounts", endpoint="accounts_options", methods=["OPTIONS"])
@blp.response(200, Options)
@scope("accounts:read")
def accounts_options() -> Response:
    """Methods and settable fields of the sub-accounts."""
    return allowed(["GET", "POST", "OPTIONS"], {"POST": SubAccountCreate})


@blp.route(ITEM, endpoint="account_options", methods=["OPTIONS"])
@blp.response(200, Options)
@scope("accounts:read")
def account_options(sub_account_id: int) -> Response:
    """Methods of one sub-account."""
    load(sub_account_id)
    return allowed(["GET", "DELETE", "OPTIONS"], {})


@blp.route(ITEM + "/limits", endpoint="account_limits_options", methods=["OPTIONS"])
@blp.response(200, Options)
@scope("accounts:read")
def account_limits_options(sub_account_id: int) -> Response:
    """Methods and settable fields of a sub-account's limits."""
    load(sub_account_id)
    return allowed(["PUT", "PATCH", "OPTIONS"], {"PUT": SubAccountLimits, "PATCH": SubAccountLimits})
