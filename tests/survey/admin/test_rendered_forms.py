"""Admin forms as a browser renders them: no <select> with ``size`` (a list box where
nothing shows as chosen), and the users form succeeds on its first submit with the defaults
as rendered, only the text fields typed."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from survey.models import User
from survey.services import versions


class Forms(HTMLParser):
    """Every <form> of a page: its action and the values a browser would submit untouched
    (hidden and text inputs, checked boxes, each select's chosen option); and every
    <select> with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.selects: list[dict[str, str | None]] = []
        self._select: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attributes.get("action"), "fields": {}, "selects": {}})
        elif not self.forms:
            return
        fields = self.forms[-1]["fields"]
        if tag == "input" and attributes.get("name"):
            kind = attributes.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            if kind not in ("submit", "button", "file"):
                fields[attributes["name"]] = attributes.get("value") or ""
        elif tag == "select":
            self.selects.append(attributes)
            self._select = {"name": attributes.get("name"), "first": None, "selected": None}
        elif tag == "option" and self._select is not None:
            value = attributes.get("value") or ""
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in attributes:
                self._select["selected"] = value

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None and self.forms:
            chosen = self._select["selected"]
            self.forms[-1]["fields"][self._select["name"]] = (
                chosen if chosen is not None else self._select["first"]
            )
            self.forms[-1]["selects"][self._select["name"]] = chosen
            self._select = None


def parse(html: str) -> Forms:
    forms = Forms()
    forms.feed(html)
    return forms


@pytest.fixture
def draft(db_session, version_admin, published):
    made, _ = versions.create_draft_from(published, actor=version_admin)
    db_session.commit()
    return made


def admin_pages(published, draft) -> list[str]:
    base = f"/admin/instruments/versions/{draft.id}"
    return [
        "/admin/",
        "/admin/users",
        "/admin/audit",
        "/admin/instruments/",
        "/admin/instruments/key/small",
        f"/admin/instruments/versions/{published.id}",
        f"/admin/instruments/versions/{published.id}/new-version",
        f"/admin/instruments/versions/{published.id}/retire",
        f"/admin/instruments/diff/{published.id}/{draft.id}",
        "/admin/instruments/import",
        base,
        f"{base}/edit",
        f"{base}/items/AA_S_1",
        f"{base}/items/new",
        f"{base}/checks/ATTN_1",
        f"{base}/scales",
        f"{base}/yaml",
        f"{base}/publish",
        f"{base}/discard",
    ]


def test_no_select_on_an_admin_page_has_a_size(console, published, draft):
    seen, list_boxes, missing = 0, [], []
    for path in admin_pages(published, draft):
        response = console.get(path)
        if response.status_code != 200:
            missing.append((path, response.status_code))
        for attributes in parse(response.get_data(as_text=True)).selects:
            seen += 1
            if "size" in attributes or "multiple" in attributes:
                list_boxes.append((path, attributes))
    assert not list_boxes
    assert not missing
    assert seen >= 6  # role, audit action, compare with, subconstruct, expected, page


def test_the_users_form_succeeds_on_the_first_submit_as_rendered(console, db_session):
    page = parse(console.get("/admin/users").get_data(as_text=True))
    (form,) = [f for f in page.forms if f["action"] == "/admin/users"]
    assert form["selects"] == {"role": "researcher"}  # rendered chosen, not a list box
    data = dict(form["fields"])
    data.update(
        email="newcomer@example.org",
        password="quiet harbour violet 17 lantern",
        confirm="quiet harbour violet 17 lantern",
    )
    response = console.post("/admin/users", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    user = db_session.scalar(select(User).where(User.email == "newcomer@example.org"))
    assert user is not None and user.role == "researcher"
