"""The admin area is one blueprint with nested ones: gate, error pages, no-store declared once."""

from __future__ import annotations

import pytest

from survey.auth.access import staff_error_page


def test_every_admin_route_belongs_to_the_admin_blueprint(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin")]
    assert any(rule.endpoint.startswith("admin.instruments.") for rule in rules)
    assert [r.endpoint for r in rules if not r.endpoint.startswith("admin.")] == []


def test_the_gate_error_pages_and_header_are_declared_once(app):
    nested = [name for name in app.blueprints if name.startswith("admin.")]
    assert nested == ["admin.instruments"]
    gates = app.before_request_funcs
    assert len(gates.get("admin", [])) == 1
    assert all(not gates.get(name) for name in nested)
    assert all(not app.after_request_funcs.get(name) for name in nested)
    handlers = app.error_handler_spec
    assert {code for code in handlers["admin"] if code} == {403, 404}
    for name in nested:
        assert not handlers.get(name, {}).get(403) and not handlers.get(name, {}).get(404)
    assert handlers["admin"][403][next(iter(handlers["admin"][403]))] is staff_error_page


@pytest.mark.parametrize("path", ["/admin/", "/admin/instruments/"])
def test_nested_pages_get_the_areas_header_and_gate(
    app, admin_client, researcher_client, client, path
):
    response = admin_client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    refused = researcher_client.get(path)
    assert refused.status_code == 403
    assert "Your account does not give access to this page." in refused.get_data(as_text=True)
    assert client.get(path).headers["Location"].startswith("/login?next=/admin")


def test_a_missing_version_is_the_staff_404_page(admin_client):
    response = admin_client.get("/admin/instruments/versions/999999")
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"
    assert "There is no such page" in response.get_data(as_text=True)
