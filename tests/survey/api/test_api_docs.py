"""/api/v1/docs: the OpenAPI document as a page, public, without any script; every path and
method, its summary, scope, parameters, request and response schemas."""

from __future__ import annotations

import re
from html import unescape

from survey.api import docs


def test_the_docs_page_shows_every_operation_of_the_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    response = client.get("/api/v1/docs")  # no key
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = unescape(response.get_data(as_text=True))
    assert "<script" not in html and "cdn" not in html.lower()
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert f"{method.upper()} {path}" in html, (method, path)
            assert operation["summary"] in html
    for schema in ("EnrolRequest", "EnrolResult", "ParticipantStatus", "ProblemDetails"):
        assert f'id="schema-{schema.lower()}"' in html, schema


def _section(html: str, method: str, path: str) -> str:
    anchor = docs.anchor_of(f"{method}-{path}")
    match = re.search(rf'<section class="api-operation" id="{anchor}".*?</section>', html, re.S)
    assert match, (method, path)
    return unescape(match.group(0))


def test_each_operation_says_its_scope_parameters_and_bodies(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    enrol = _section(html, "post", "/api/v1/participants")
    assert "<code>enrol</code>" in enrol
    assert 'href="#schema-enrolrequest"' in enrol and "application/json" in enrol
    assert "application/problem+json" in enrol and "409" in enrol and "429" in enrol
    status = _section(html, "get", "/api/v1/participants/{participant}")
    assert "any key of the study" in status
    assert "<code>participant</code>" in status and "P000042" in status
    assert "<code>read</code>" in _section(html, "get", "/api/v1/progress")


def test_spectrees_own_ui_pages_are_off(client):
    for page in ("swagger", "redoc", "scalar"):
        assert client.get(f"/api/v1/docs/{page}/").status_code == 404
