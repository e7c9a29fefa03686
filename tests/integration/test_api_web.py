"""System users, web apps and websites through the API: a real worker applies them on the test sshd
(useradd) and the test nginx and PHP-FPM; refusals are problems at their field, others' objects 404."""

from __future__ import annotations

import pwd

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal.models import SystemUser, WebApp, Website
from tests.helpers import WEB_PASSWORD, api_token, bearer, count, domain_id


@pytest.fixture
def token(make_account):
    make_account("Acme", domains=("shop.test",))
    return api_token()


def public_key() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def post(client, token, path: str, **body):
    return client.post(f"/api/v1/{path}", json=body, headers=bearer(token))


def applied(client, token, location: str) -> dict:
    polled = client.get(location, headers=bearer(token))
    assert polled.status_code == 200, polled.data
    body = polled.get_json()
    assert body["status"] == "applied", body
    return body


def gone(client, token, location: str, work) -> None:
    deleted = client.delete(location, headers=bearer(token))
    assert deleted.status_code == 202, deleted.data
    work()
    missing = client.get(location, headers=bearer(token))
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"


def test_a_system_user_is_created_read_and_deleted(client, token, web_server, work):
    key = public_key()
    created = post(client, token, "system_users", name="web", password=WEB_PASSWORD, ssh_keys=[key + " laptop"])
    assert created.status_code == 202, created.data
    body = created.get_json()
    assert body["status"] == "pending" and "password" not in body
    assert body["name"].startswith("acme") and body["name"].endswith("_web")
    assert body["ssh_keys"] == [key]  # the comment is dropped: it would reach a file
    location = created.headers["Location"]
    assert location.endswith(f"/api/v1/system_users/{body['id']}")
    work()
    assert applied(client, token, location)["shell"] == "sftp"
    assert pwd.getpwnam(body["name"])

    changed = client.patch(location, json={"ssh_keys": []}, headers=bearer(token))
    assert changed.status_code == 202 and changed.get_json()["ssh_keys"] == []
    work()
    assert applied(client, token, location)["ssh_keys"] == []

    gone(client, token, location, work)
    with pytest.raises(KeyError):
        pwd.getpwnam(body["name"])


def test_a_refused_key_or_name_is_a_problem_at_its_field(client, token, web_server):
    refused = post(client, token, "system_users", name="web", password=WEB_PASSWORD, ssh_keys=["ssh-ed25519 nope"])
    assert refused.status_code == 422 and refused.content_type == "application/problem+json"
    assert "Not an OpenSSH public key" in refused.get_json()["errors"]["ssh_keys"][0]
    reserved = post(client, token, "system_users", name="root", password=WEB_PASSWORD)
    assert reserved.status_code == 422 and "root is reserved" in reserved.get_json()["errors"]["name"][0]
    broken = post(client, token, "system_users", name="web", password=WEB_PASSWORD, ssh_keys=["ssh-ed25519 a\nb"])
    assert broken.status_code == 422 and "ssh_keys.0" in broken.get_json()["errors"]
    assert count(SystemUser) == 0


def test_a_web_app_and_its_website_are_created_read_and_deleted(client, token, webstack, work):
    user = post(client, token, "system_users", name="web", password=WEB_PASSWORD).get_json()
    created = post(
        client,
        token,
        "web_apps",
        name="shop",
        system_user_id=user["id"],
        kind="php",
        php_version="8.2",
        options={"memory_limit": "96M", "display_errors": True},
    )
    assert created.status_code == 202, created.data
    app_url = created.headers["Location"]
    app = created.get_json()
    assert app["options"]["memory_limit"] == "96M" and app["options"]["display_errors"] is True
    assert app["options"]["date_timezone"] == "UTC" and app["options"]["max_execution_time"] == 30

    site = post(
        client,
        token,
        "websites",
        name="Shop",
        domain_ids=[domain_id("shop.test")],
        mounts=[{"path": "/", "web_app_id": app["id"]}],
        tls_mode="none",
    )
    assert site.status_code == 202, site.data
    site_url = site.headers["Location"]
    assert site.get_json()["domains"] == ["shop.test"] and site.get_json()["with_www"] is True
    work()
    assert applied(client, token, app_url)["php_version"] == "8.2"
    shown = applied(client, token, site_url)
    assert shown["mounts"] == [{"path": "/", "web_app_id": app["id"]}] and shown["tls_mode"] == "none"

    renamed = client.patch(site_url, json={"name": "Shop two"}, headers=bearer(token))
    assert renamed.status_code == 202 and renamed.get_json()["name"] == "Shop two"
    assert renamed.get_json()["mounts"] == shown["mounts"]  # what the change left out stays

    served = client.delete(app_url, headers=bearer(token))  # a website still serves it
    assert served.status_code == 422 and "remove it there first" in served.get_json()["detail"]
    work()
    gone(client, token, site_url, work)
    gone(client, token, app_url, work)
    assert count(Website) == count(WebApp) == 0


def test_refused_php_settings_and_domains_are_problems_at_their_field(client, token, web_server):
    user = post(client, token, "system_users", name="web", password=WEB_PASSWORD).get_json()
    data = {"name": "shop", "system_user_id": user["id"], "php_version": "8.2"}
    big = post(client, token, "web_apps", **data, options={"memory_limit": "9999G"})
    assert big.status_code == 422, big.data
    assert "Choose between 16M and 2048M" in big.get_json()["errors"]["options.memory_limit"][0]
    zone = post(client, token, "web_apps", **data, options={"date_timezone": "../../../etc/passwd"})
    assert zone.status_code == 422 and "options.date_timezone" in zone.get_json()["errors"]
    no_domain = post(client, token, "websites", name="Shop", domain_ids=[])
    assert (
        no_domain.status_code == 422 and "Choose at least one domain." in no_domain.get_json()["errors"]["domain_ids"]
    )
    assert count(WebApp) == count(Website) == 0


def test_another_accounts_users_apps_and_websites_are_404(client, token, make_account, webstack):
    user = post(client, token, "system_users", name="web", password=WEB_PASSWORD).get_json()
    app = post(client, token, "web_apps", name="shop", system_user_id=user["id"], kind="static").get_json()
    site = post(client, token, "websites", name="Shop", domain_ids=[domain_id("shop.test")], tls_mode="none").get_json()
    make_account("Other", domains=("other.test",))
    theirs = api_token("other@owner.test")
    changes = {"system_users": {"shell": "sftp"}, "web_apps": {"options": {}}, "websites": {"name": "X"}}
    for kind, obj in (("system_users", user), ("web_apps", app), ("websites", site)):
        url = f"/api/v1/{kind}/{obj['id']}"
        for method, body in (("get", None), ("patch", changes[kind]), ("delete", None)):
            answer = getattr(client, method)(url, json=body, headers=bearer(theirs))
            assert answer.status_code == 404, (method, url)
            assert answer.content_type == "application/problem+json"
        assert client.get(f"/api/v1/{kind}", headers=bearer(theirs)).get_json() == []
    # Acme's system user and domain are not theirs to build on either.
    borrowed = post(client, theirs, "web_apps", name="x", system_user_id=user["id"], kind="static")
    assert borrowed.status_code == 422 and "system_user_id" in borrowed.get_json()["errors"]
    taken = post(client, theirs, "websites", name="X", domain_ids=[domain_id("shop.test")])
    assert taken.status_code == 422 and "domain_ids" in taken.get_json()["errors"]
    assert count(SystemUser) == count(WebApp) == count(Website) == 1
