"""The url parameters that name an object (<int:domain_id>, …) and the model each one names: one map for
the walks over every route (tests/browser/pages.py, test_tenancy_walk.py, test_no_server_errors.py)."""

from __future__ import annotations

from portal.models import (
    Account,
    Address,
    ApiToken,
    BackendLog,
    Certificate,
    Database,
    DatabaseUser,
    DnsRecord,
    Domain,
    Mailbox,
    Plan,
    Server,
    SystemUser,
    User,
    WebApp,
    Website,
)

ID_MODELS: dict[str, type] = {
    "domain_id": Domain,
    "certificate_id": Certificate,
    "token_id": ApiToken,
    "record_id": DnsRecord,
    "mailbox_id": Mailbox,
    "address_id": Address,
    "user_id": SystemUser,
    "app_id": WebApp,
    "website_id": Website,
    "database_id": Database,
    "db_user_id": DatabaseUser,
    "account_id": Account,
    "subject_id": User,  # a login, as resellers and staff act on it
    "log_id": BackendLog,
    "server_id": Server,
    "plan_id": Plan,  # not account-owned: staff only (the console)
}
_ARG_OF = {model: arg for arg, model in ID_MODELS.items()}


def by_arg(objects) -> dict[str, object]:
    """Each object under the url parameter that names its model: {"domain_id": domain, …}."""
    return {_ARG_OF[type(obj)]: obj for obj in objects}


def is_api(rule) -> bool:
    """A REST API route: walked with tokens by tests/integration/test_api_walk.py and test_api_schema.py,
    not with a browser's login. (The API's reference page is a page: walked with the pages.)"""
    return rule.rule.startswith("/api/") and rule.endpoint != "api_meta.docs"
