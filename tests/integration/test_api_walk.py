"""The API's tenancy proof, over every /api/v1 route: each declares its scope, another tenant's object
answers exactly as a missing one (the same 404 problem document), and a token without the route's scope
is refused with a 403 problem.

Tenants: customers A and B, reseller R with its sub-account S, and reseller R2 with its sub-account S2
(the other reseller's sub-account R names in /accounts/{account_id}/…). Each owns one object of every
kind (KINDS); a URL variable is mapped to its kind's model by name, so new resources are walked as soon
as their routes exist, and a variable the walk cannot map fails the test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from werkzeug.routing import Rule

from portal.extensions import db
from portal.models import KINDS, Account, AccountKind, Certificate, Role, User
from portal.models.tokens import SCOPES
from portal.security.passwords import hash_password
from tests.helpers import PASSWORD, api_token, bearer
from tests.ids import ID_MODELS
from tests.integration.test_tenancy_walk import objects_for

MISSING = 2**31 - 1
PROBLEM = "application/problem+json"
ACCOUNT_VARS = {"account_id", "sub_account_id"}
SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


@pytest.fixture
def app_config(app_config):
    return {**app_config, "API_REQUESTS_PER_MINUTE": 100_000, "API_REQUESTS_PER_MINUTE_PER_IP": 100_000}


def _kind_models() -> dict[str, type]:
    """URL variable -> model, for every kind: `<table>_id`, `<class in snake case>_id`, and the pages'
    names for the same models (record_id, app_id, db_user_id…)."""
    models = {kind.model for kind in KINDS} | {Certificate}  # and what the API only shows
    found: dict[str, type] = {arg: model for arg, model in ID_MODELS.items() if model in models}
    for model in models:
        found.setdefault(f"{model.__tablename__}_id", model)
        found.setdefault(f"{SNAKE.sub('_', model.__name__).lower()}_id", model)
    return found


MODELS = _kind_models()


def api_rules(app) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")]


def _methods(rule: Rule) -> list[str]:
    """The rule's methods; OPTIONS only where a view of ours answers it (not Flask's automatic one)."""
    automatic = {"OPTIONS"} if rule.provide_automatic_options else set()
    return sorted(rule.methods - {"HEAD"} - automatic)


def _openapi_path(rule: Rule) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)


def _example(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """The least body the schema takes: its required properties, each the simplest value of its type."""
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        schema = {k: v for part in schema["allOf"] for k, v in _resolved(part, spec).items()}
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: _example(props[name], spec) for name in schema.get("required", []) if name in props}
    if "enum" in schema:
        return schema["enum"][0]
    return {"boolean": False, "integer": 1, "number": 1, "array": [], "string": "x"}.get(kind)


def _resolved(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _body(spec: dict[str, Any], rule: Rule, method: str) -> Any:
    operation = spec["paths"].get(_openapi_path(rule), {}).get(method.lower())
    assert operation is not None, f"{method} {rule} is missing from the OpenAPI document"
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return _example(schema, spec) if schema is not None else None


def test_every_api_view_declares_its_scope(app):
    rules = api_rules(app)
    assert len(rules) > 5
    missing = [
        f"{rule} ({rule.endpoint})" for rule in rules if not hasattr(app.view_functions[rule.endpoint], "api_scope")
    ]
    assert not missing, f"API views without @scope(): {missing}"


def test_every_api_id_is_known_to_the_walk(app):
    unknown = [
        f"{rule.rule}: <{arg}>"
        for rule in api_rules(app)
        for arg in rule.arguments
        if arg not in MODELS and arg not in ACCOUNT_VARS and arg != "rest"
    ]
    assert not unknown, (
        f"the API walk cannot tell which model these URL variables name: {unknown}; name them <table>_id "
        "after a kind's model (portal/models/kinds.py KINDS), or teach tests/integration/test_api_walk.py"
    )


@pytest.fixture
def tenants():
    def account(name: str, **fields) -> Account:
        found = Account(name=name, **fields)
        db.session.add(found)
        return found

    r = account("Reseller R", kind=AccountKind.RESELLER)
    r2 = account("Reseller R2", kind=AccountKind.RESELLER)
    accounts = {
        "a": account("Customer A"),
        "b": account("Customer B"),
        "r": r,
        "s": account("Sub S", parent=r),
        "r2": r2,
        "s2": account("Sub S2", parent=r2),
    }
    pw = hash_password(PASSWORD)
    for name in ("a", "b", "r"):
        db.session.add(User(email=f"{name}@apiwalk.test", password_hash=pw, role=Role.OWNER, account=accounts[name]))
    tags = {"a": "cusa", "b": "cusb", "r": "resr", "s": "subs", "r2": "resrtwo", "s2": "substwo"}
    owned = {name: objects_for(acc, tags[name]) for name, acc in accounts.items()}
    db.session.flush()
    for name, acc in accounts.items():
        website = owned[name]["website_id"]
        cert = Certificate(account_id=acc.id, website_id=website.id, names=[f"{tags[name]}.test"])
        db.session.add(cert)
        owned[name]["certificate_id"] = cert
    db.session.commit()
    return accounts, owned


def _call(client, method: str, url: str, token: str, body: Any):
    return client.open(url, method=method, headers=bearer(token), json=body)


def _url(rule: Rule, values: dict[str, int]) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


@pytest.mark.parametrize("viewer", ["a", "b", "r"])
def test_foreign_objects_answer_like_missing_ones(app, client, tenants, viewer):
    accounts, owned = tenants
    token = api_token(f"{viewer}@apiwalk.test")
    spec = client.get("/api/v1/openapi.json").get_json()
    mine = {"r": {"r", "s"}}.get(viewer, {viewer})
    foreign = [name for name in owned if name not in mine]
    checked = 0
    for rule in api_rules(app):
        ids = [arg for arg in rule.arguments if arg in MODELS]
        if not ids and not (rule.arguments & ACCOUNT_VARS):
            continue
        for method in _methods(rule):
            body = _body(spec, rule, method)
            # Under /accounts/{id}/: the viewer's own sub-account (a reseller's), the objects vary.
            own_account = accounts["s"].id if viewer == "r" else accounts[viewer].id
            base = dict.fromkeys(rule.arguments & ACCOUNT_VARS, own_account)
            if ids:
                missing = _call(client, method, _url(rule, {**base, **dict.fromkeys(ids, MISSING)}), token, body)
                if method != "OPTIONS":  # which methods an id takes is no secret: the same answer for any id
                    assert missing.status_code == 404, f"{viewer}: {method} {rule}, a missing id: {missing.status_code}"
                    assert missing.content_type == PROBLEM
                for other in foreign:
                    values = {**base, **{arg: _owned(owned[other], arg).id for arg in ids}}
                    got = _call(client, method, _url(rule, values), token, body)
                    assert (got.status_code, got.get_data()) == (missing.status_code, missing.get_data()), (
                        f"{viewer}: {method} {rule} answers {other}'s {ids} with {got.status_code} {got.data[:300]!r}"
                    )
                    checked += 1
            for var in rule.arguments & ACCOUNT_VARS:  # another reseller's sub-account, with its own objects
                values = {**base, **{arg: _owned(owned["s2"], arg).id for arg in ids}}
                missing = _call(client, method, _url(rule, {**values, var: MISSING}), token, body)
                got = _call(client, method, _url(rule, {**values, var: accounts["s2"].id}), token, body)
                # A customer's token cannot hold accounts:*: 403 for every id alike, else the 404.
                refused = 403 if viewer != "r" and rule_scope(app, rule).startswith("accounts:") else 404
                assert missing.status_code == refused and missing.content_type == PROBLEM, f"{method} {rule}"
                assert (got.status_code, got.get_data()) == (refused, missing.get_data()), (
                    f"{viewer}: {method} {rule} answers another reseller's sub-account with {got.status_code}"
                )
                checked += 1
    assert checked > 10


def _owned(objects: dict[str, Any], arg: str) -> Any:
    """A tenant's object that a URL variable names, by its model (the API says system_user_id where a
    page says user_id)."""
    return next(obj for obj in objects.values() if type(obj) is MODELS[arg])


def rule_scope(app, rule: Rule) -> str:
    return str(app.view_functions[rule.endpoint].api_scope)


def _without(needed: str) -> list[str]:
    area, _, access = needed.partition(":")
    refused = {needed} | ({f"{area}:write"} if access == "read" else set())
    return [s for s in SCOPES if s not in refused]


def test_a_token_without_the_routes_scope_is_403(app, client, tenants):
    accounts, owned = tenants
    spec = client.get("/api/v1/openapi.json").get_json()
    tokens: dict[str, str] = {}
    checked = 0
    for rule in api_rules(app):
        needed = getattr(app.view_functions[rule.endpoint], "api_scope", "public")
        if needed == "public":
            continue
        if needed not in tokens:
            tokens[needed] = api_token("r@apiwalk.test", scopes=_without(needed), name=f"no {needed}")
        values = {arg: _owned(owned["r"], arg).id for arg in rule.arguments if arg in MODELS}
        values |= dict.fromkeys(rule.arguments & ACCOUNT_VARS, accounts["s"].id)
        if rule.arguments & ACCOUNT_VARS:
            values |= {arg: _owned(owned["s"], arg).id for arg in rule.arguments if arg in MODELS}
        for method in _methods(rule):
            got = _call(client, method, _url(rule, values), tokens[needed], _body(spec, rule, method))
            assert got.status_code == 403 and got.content_type == PROBLEM, f"{method} {rule}: {got.status_code}"
            assert needed in got.get_json()["detail"], f"{method} {rule}: {got.get_json()}"
            checked += 1
    assert checked > 10


def test_options_routes_run_their_view(app, client):
    options = [rule for rule in api_rules(app) if rule.methods - {"HEAD"} == {"OPTIONS"}]
    assert options
    for rule in options:
        got = client.open(_url(rule, dict.fromkeys(rule.arguments, MISSING)), method="OPTIONS")
        assert got.status_code == 401 and got.content_type == PROBLEM, f"OPTIONS {rule}: {got.status_code}"
