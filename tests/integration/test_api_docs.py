"""The API's reference page: every operation of the document on it, with the scope its view needs."""

from __future__ import annotations

import html

from portal.api.reference import INSIDE


def test_the_reference_page_shows_every_operation_and_its_scope(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = html.unescape(page.get_data(as_text=True))
    plain = [path for path in document["paths"] if not path.startswith(INSIDE)]
    assert len(plain) > 20
    missing = [path for path in plain if f">{path}</code>" not in text]
    assert missing == []
    assert "<code>mail:write</code>" in text and 'id="object-MailboxCreate"' in text


def test_the_reference_page_speaks_spanish(client):
    page = client.get("/api/v1/docs", headers={"Accept-Language": "es"})
    assert "Referencia de la API" in page.get_data(as_text=True)
