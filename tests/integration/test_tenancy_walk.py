"""The tenancy proof: every route declares its access rule, and every route that takes an object id
answers another tenant's object exactly as it answers an id that does not exist, for reads and POSTs.

Three tenants: reseller RA, its customer A1, and customer B of another reseller.
"""

import pytest

from portal.extensions import db
from portal.models import (
    KINDS,
    Account,
    AccountKind,
    Address,
    BackendLog,
    Database,
    DatabaseUser,
    DnsRecord,
    Domain,
    LogState,
    Mailbox,
    Operation,
    Plan,
    Role,
    Server,
    Status,
    SystemUser,
    User,
    WebApp,
    Website,
)
from portal.security.passwords import hash_password
from portal.security.roles import RULES
from tests.helpers import PASSWORD, count, mailbox_operation, page_text
from tests.ids import ID_MODELS, by_arg, is_api

# Every provisioned kind has its pages, so the walk knows its id (and builds one of each below).
assert {kind.model for kind in KINDS} <= set(ID_MODELS.values()), "a kind's id route is missing from the walk"
NOT_IDS = {"token"}  # a signed token, checked on its own (test_resellers.py)
MISSING = 987654321
UNGUARDED = {"static", "bootstrap.static"}


@pytest.fixture
def app_config():
    return {}


def objects_for(account: Account, tag: str) -> dict[str, object]:
    domain = Domain(account=account, name=f"{tag}.test", status=Status.APPLIED)
    record = DnsRecord(account=account, domain=domain, name="www", rtype="A", value="192.0.2.1", status=Status.APPLIED)
    mailbox = Mailbox(account=account, domain=domain, local_part="box", status=Status.APPLIED)
    address = Address(
        account=account,
        domain=domain,
        local_part="info",
        forwards=["x@example.net"],
        mailboxes=[mailbox],
        status=Status.APPLIED,
    )
    user = SystemUser(account=account, name=f"{tag}1_web", status=Status.APPLIED)
    app = WebApp(account=account, system_user=user, name="site", kind="static", options={}, status=Status.APPLIED)
    website = Website(account=account, name=f"{tag} site", domains=[domain], status=Status.APPLIED)
    database = Database(account=account, engine="mariadb", name=f"{tag}1_db", status=Status.APPLIED)
    db_user = DatabaseUser(
        account=account, engine="mariadb", name=f"{tag}1_u", status=Status.APPLIED, databases=[database]
    )
    objects = [domain, record, mailbox, address, user, app, website, database, db_user]
    assert {type(obj) for obj in objects} == {kind.model for kind in KINDS}, "build one of every kind"
    db.session.add_all(objects)
    return by_arg(objects)


@pytest.fixture
def tenants():
    ra = Account(name="Reseller A", kind=AccountKind.RESELLER)
    a1 = Account(name="Customer A1", parent=ra)
    rb = Account(name="Reseller B", kind=AccountKind.RESELLER)
    b = Account(name="Customer B", parent=rb)
    pw = hash_password(PASSWORD)
    db.session.add_all(
        [
            User(email=f"{n}@walk.test", password_hash=pw, role=Role.OWNER, account=acc)
            for n, acc in (("ra", ra), ("a1", a1), ("b", b))
        ]
    )
    owned = {"ra": objects_for(ra, "ra"), "a1": objects_for(a1, "aone"), "b": objects_for(b, "bee")}
    owned["a1"]["account_id"], owned["b"]["account_id"] = a1, b  # the sub-accounts resellers manage
    for tenant, account in (("a1", a1), ("b", b)):  # the logins a reseller may impersonate
        owned[tenant]["subject_id"] = account.users[0]
    server = Server(name="walk1", host="localhost", transport="local", settings={})
    plan = Plan(name="Walk plan", max_mailboxes=3)
    db.session.add_all([server, plan])
    db.session.flush()
    entry = BackendLog(server_id=server.id, state=LogState.SUCCESS)
    db.session.add(entry)
    db.session.add(mailbox_operation(server.id, owned["b"]["mailbox_id"].id))
    db.session.commit()
    staff_only = by_arg([entry, server, plan])
    visible = {"ra": {"ra", "a1"}, "a1": {"a1"}, "b": {"b"}}
    return owned, staff_only, visible


def id_routes(app):
    for rule in app.url_map.iter_rules():
        if is_api(rule):
            continue
        args = [a for a in rule.arguments if a in ID_MODELS]
        if args:
            assert len(rule.arguments) == 1, f"{rule} takes more than one id: extend the walk"
            yield rule, args[0]


def test_every_route_declares_its_access_rule(app):
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNGUARDED or is_api(rule):
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "access_rule", None) not in RULES:
            missing.append(f"{rule} ({rule.endpoint})")
    assert not missing, f"routes without an access rule: {missing}"


def test_every_id_route_is_covered_by_the_walk(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNGUARDED or is_api(rule):
            continue
        unknown = [a for a in rule.arguments if a not in ID_MODELS and a not in NOT_IDS]
        assert not unknown, f"{rule}: the walk does not know {unknown}; add it to tests/ids.py ID_MODELS"


@pytest.mark.parametrize("viewer", ["ra", "a1", "b"])
def test_foreign_objects_answer_like_missing_ones(app, web, tenants, viewer):
    owned, staff_only, visible = tenants
    web.login(f"{viewer}@walk.test")
    token = web.token("/")
    checked = 0
    for rule, arg in id_routes(app):
        foreign = [objs[arg] for tenant, objs in owned.items() if tenant not in visible[viewer] and arg in objs]
        foreign += [staff_only[arg]] if arg in staff_only else []
        mine = [objs[arg] for tenant, objs in owned.items() if tenant in visible[viewer] and arg in objs]
        for method in sorted(rule.methods & {"GET", "POST"}):

            def call(object_id, method=method, rule=rule, arg=arg):
                url = _url(app, rule, arg, object_id)
                if method == "GET":
                    return web.client.get(url)
                return web.client.post(url, data={"csrf_token": token})

            missing = call(MISSING)
            assert missing.status_code == 404, f"{method} {rule} with a missing id: {missing.status_code}"
            for obj in foreign:
                got = call(obj.id)
                assert (got.status_code, page_text(got)) == (404, page_text(missing)), (
                    f"{viewer}: {method} {rule} answers a foreign {type(obj).__name__} with {got.status_code}"
                )
                checked += 1
            rule_name = getattr(app.view_functions[rule.endpoint], "access_rule", "")
            if (
                method == "GET"
                and rule_name not in ("staff", "admin")
                and not (rule_name == "reseller" and viewer != "ra")
            ):
                for obj in mine:  # and the walk can tell: one's own objects are not 404
                    got = call(obj.id)
                    assert got.status_code == 200, f"{viewer}: {rule} answers its own object with {got.status_code}"
    assert checked > 20
    assert count(Operation) == 1  # nothing was recorded


def _url(app, rule, arg, object_id) -> str:
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **{arg: object_id})
