"""Databases and their users through the API, made by a real worker over SSH on the machine's MariaDB and
a real PostgreSQL; refusals are problems at their field, another account's objects 404."""

from __future__ import annotations

import secrets

import psycopg
import pymysql
import pytest

from portal.models import Database, DatabaseUser
from tests.helpers import api_token, bearer, count

RUN = "a" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7))  # this run's own names
P1, P2 = "first-Pässwörd-1", "second password 2"


@pytest.fixture
def token(make_account, db_server):
    make_account(RUN)
    return api_token(f"{RUN}@owner.test")


def post(client, token, path: str, **body):
    return client.post(f"/api/v1/{path}", json=body, headers=bearer(token))


def logs_in(engine: str, mariadb, postgres, user: str, password: str, database: str) -> bool:
    try:
        if engine == "mariadb":
            mariadb.connect(user=user, password=password, database=database).close()
        else:
            psycopg.connect(
                host=postgres.host, port=postgres.port, user=user, password=password, dbname=database, connect_timeout=5
            ).close()
    except (pymysql.MySQLError, psycopg.OperationalError):
        return False
    return True


def applied(client, token, location: str) -> dict:
    polled = client.get(location, headers=bearer(token))
    assert polled.status_code == 200, polled.data
    body = polled.get_json()
    assert body["status"] == "applied", body
    return body


@pytest.mark.parametrize("engine", ["mariadb", "postgresql"])
def test_a_database_and_its_user_are_created_read_and_deleted(engine, client, token, mariadb, postgres, work):
    created = post(client, token, "databases", engine=engine, name="blog")
    assert created.status_code == 202, created.data
    database = created.get_json()
    assert database["engine"] == engine and database["name"].endswith("_blog")
    db_url = created.headers["Location"]
    assert db_url.endswith(f"/api/v1/databases/{database['id']}")

    user = post(client, token, "database_users", engine=engine, name="app", password=P1, database_ids=[database["id"]])
    assert user.status_code == 202, user.data
    body = user.get_json()
    assert "password" not in body and body["database_ids"] == [database["id"]]
    user_url = user.headers["Location"]
    work()
    assert applied(client, token, db_url)["user_ids"] == [body["id"]]
    assert applied(client, token, user_url)["name"] == body["name"]
    assert logs_in(engine, mariadb, postgres, body["name"], P1, database["name"])

    changed = client.patch(user_url, json={"password": P2}, headers=bearer(token))
    assert changed.status_code == 202 and "password" not in changed.get_json()
    work()
    assert logs_in(engine, mariadb, postgres, body["name"], P2, database["name"])
    assert not logs_in(engine, mariadb, postgres, body["name"], P1, database["name"])

    for url in (user_url, db_url):
        assert client.delete(url, headers=bearer(token)).status_code == 202
        work()
        missing = client.get(url, headers=bearer(token))
        assert missing.status_code == 404 and missing.content_type == "application/problem+json"
    assert not logs_in(engine, mariadb, postgres, body["name"], P2, database["name"])
    assert count(Database) == count(DatabaseUser) == 0


def test_refusals_are_problems_at_their_field(client, token):
    bad = post(client, token, "databases", engine="mariadb", name="a;b")
    assert bad.status_code == 422 and bad.content_type == "application/problem+json"
    assert "Use lowercase letters a-z" in bad.get_json()["errors"]["name"][0]
    engine = post(client, token, "databases", engine="oracle", name="x")
    assert engine.status_code == 422 and "engine" in engine.get_json()["errors"]
    maria = post(client, token, "databases", engine="mariadb", name="app").get_json()
    other_engine = post(
        client, token, "database_users", engine="postgresql", name="pgapp", password=P1, database_ids=[maria["id"]]
    )
    assert other_engine.status_code == 422, other_engine.data
    assert "one engine" in other_engine.get_json()["errors"]["database_ids"][0]
    weak = post(client, token, "database_users", engine="mariadb", name="u", password="password")
    assert weak.status_code == 422 and "password" in weak.get_json()["errors"]
    assert count(DatabaseUser) == 0


def test_another_accounts_databases_and_users_are_404(client, token, make_account):
    database = post(client, token, "databases", engine="mariadb", name="mine").get_json()
    user = post(client, token, "database_users", engine="mariadb", name="me", password=P1).get_json()
    make_account("Other")
    theirs = api_token("other@owner.test")
    for url, change in (
        (f"/api/v1/databases/{database['id']}", None),
        (f"/api/v1/database_users/{user['id']}", {"database_ids": []}),
    ):
        assert client.get(url, headers=bearer(theirs)).status_code == 404, url
        assert client.delete(url, headers=bearer(theirs)).status_code == 404, url
        if change is not None:
            assert client.patch(url, json=change, headers=bearer(theirs)).status_code == 404, url
    assert client.get("/api/v1/databases", headers=bearer(theirs)).get_json() == []
    assert client.get("/api/v1/database_users", headers=bearer(theirs)).get_json() == []
    # Granting another account's database: 404, and nothing is made.
    grab = post(
        client, theirs, "database_users", engine="mariadb", name="thief", password=P1, database_ids=[database["id"]]
    )
    assert grab.status_code == 404 and grab.content_type == "application/problem+json"
    assert count(DatabaseUser) == 1 and count(Database) == 1


def test_the_document_describes_the_web_and_database_routes_without_secrets(client):
    document = client.get("/api/v1/openapi.json").get_json()
    for path in ("/databases/{database_id}", "/database_users/{database_user_id}", "/system_users", "/websites"):
        assert f"/api/v1{path}" in document["paths"], path
        assert f"/api/v1/accounts/{{account_id}}{path}" in document["paths"], path
    shown = document["components"]["schemas"]
    for name in ("DatabaseUserOut", "SystemUserOut", "WebsiteOut"):
        assert "password" not in shown[name]["properties"] and "key" not in shown[name]["properties"], name
    assert shown["DatabaseUserCreate"]["properties"]["password"]["writeOnly"] is True
