"""An admin walks through the admin area on a 360 px wide phone (issue 8, item 9).

Chromium talks to the live app of ``conftest.py`` (a database made by ``flask demo setup``)
as a newcomer would: the login form, the links on the pages, forms submitted with the
defaults as rendered. The demo admin gets a known password through the accounts service.

- every staff page fits 360 px: no sideways scrolling of the page (wide tables scroll inside
  their own box), with a long e-mail address and a draft in the database;
- the users form succeeds on the first submit, typing only the text fields;
- a draft's editor offers no "Remove" that cannot succeed (every IEM-DP subconstruct has the
  minimum 3 items) and says why; discarding asks for confirmation first;
- the audit log names its targets ("IEM-DP 1.0.1 (iemdp)"), the raw reference beside it.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import InstrumentVersion, Study, User
from tests.browser.staff import log_in

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "admin@demo.local"
ADMIN_PASSWORD = "browser walkthrough admin password"
# An address without a break opportunity, longer than a 360 px screen is wide.
LONG_EMAIL = (
    "a.very.long.address.of.a.research.assistant.without.breaks@clinic-department.example.org"
)
NEW_EMAIL = "first.submit@example.org"
NEW_PASSWORD = "quiet harbour violet 17 lantern"
WIDTH = 360
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def prepared(live_server):
    """The demo database plus a user with a long e-mail address and a draft 1.0.1 of
    IEM-DP with one item reworded (made through the services, as the console would)."""
    from survey.services import accounts, versions

    with live_server.app.app_context():
        accounts.set_password(accounts.get_user(ADMIN_EMAIL), ADMIN_PASSWORD, via="test")
        accounts.create_user(LONG_EMAIL, "long enough password 1234", "researcher", via="test")
        published = db.session.scalar(
            select(InstrumentVersion).where(InstrumentVersion.version == "1.0.0")
        )
        draft, _ = versions.create_draft_from(published, actor=None, level="patch")
        # A reworded item, so that the diff page has a table to fit.
        item, position = versions.item_position(draft, "OE_BEN_1")
        versions.edit_item(
            draft,
            "OE_BEN_1",
            text=f"{item.text} (reworded for a test of narrow screens)",
            reverse=item.reverse,
            optional=item.optional,
            position=position,
            actor=None,
        )
        db.session.commit()
        ids = {
            "published": published.id,
            "draft": draft.id,
            "study": db.session.scalar(select(Study.id).order_by(Study.id)),
        }
    return ids


@pytest.fixture
def phone(live_server, browser, prepared):
    """A logged-in admin's page in a 360 px wide browser."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 740})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    log_in(page, live_server.base_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    try:
        yield page
    finally:
        context.close()


def staff_pages(ids: dict[str, int]) -> list[str]:
    published, draft = ids["published"], ids["draft"]
    version = f"/admin/instruments/versions/{draft}"
    return [
        "/admin/",
        "/admin/users",
        "/admin/audit",
        "/admin/audit/1",
        "/admin/instruments/",
        "/admin/instruments/key/iemdp",
        f"/admin/instruments/versions/{published}",
        f"/admin/instruments/diff/{published}/{draft}",
        f"/admin/instruments/versions/{published}/new-version",
        f"/admin/instruments/versions/{published}/retire",
        "/admin/instruments/import",
        version,
        f"{version}/edit",
        f"{version}/items/OE_BEN_1",
        f"{version}/items/new",
        f"{version}/checks/ATTN_1",
        f"{version}/scales",
        f"{version}/yaml",
        f"{version}/publish",
        f"{version}/discard",
        "/research/",
        "/research/studies/new",
        f"/research/studies/{ids['study']}",
    ]


def test_every_staff_page_fits_360_px(live_server, phone, prepared, artifacts_dir):
    too_wide = {}
    for path in staff_pages(prepared):
        response = phone.goto(f"{live_server.base_url}{path}")
        assert response is not None and response.status == 200, path
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > WIDTH:
            too_wide[path] = width
            phone.screenshot(path=str(artifacts_dir / "too-wide.png"), full_page=True)
    assert not too_wide, f"pages wider than {WIDTH} px: {too_wide}"
    # A wide table scrolls inside its own box instead of the page.
    phone.goto(f"{live_server.base_url}/admin/users")
    boxes = phone.locator(".table-scroll")
    assert boxes.count() >= 1
    assert boxes.first.evaluate("box => box.scrollWidth > box.clientWidth")
    phone.screenshot(path=str(artifacts_dir / "admin-users-360.png"), full_page=True)


def test_the_users_form_succeeds_on_the_first_submit(live_server, phone):
    phone.get_by_role("link", name="Users").first.click()
    assert phone.get_by_role("heading", level=1).inner_text() == "Users"
    role = phone.get_by_label("Role")
    assert role.evaluate("select => select.size") == 0  # a drop-down, not a list box
    assert role.input_value() == "researcher"
    phone.get_by_label("E-mail address").fill(NEW_EMAIL)
    phone.get_by_label("Initial password").fill(NEW_PASSWORD)
    phone.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    phone.get_by_role("button", name="Create user").click()
    phone.wait_for_load_state()
    assert f"User {NEW_EMAIL} (researcher) created." in phone.locator(".notice").inner_text()
    with live_server.app.app_context():
        user = db.session.scalar(select(User).where(User.email == NEW_EMAIL))
        assert user is not None and user.role == "researcher" and user.active


def test_the_audit_log_names_its_targets(live_server, phone, prepared):
    phone.get_by_role("link", name="Audit log").first.click()
    created = phone.locator("tr", has_text="draft_created").first
    assert created.locator(".target-name").inner_text() == "IEM-DP 1.0.1 (iemdp)"
    assert created.locator(".target-ref").inner_text() == (
        f"instrument_version:{prepared['draft']}"
    )
    login = phone.locator("tr", has_text="login").first
    assert login.locator(".target-name").inner_text() == ADMIN_EMAIL


def test_the_draft_editor_offers_only_removals_that_can_succeed_and_discard_confirms(
    live_server, phone, prepared
):
    draft = prepared["draft"]
    phone.goto(f"{live_server.base_url}/admin/instruments/versions/{draft}/edit")
    assert phone.get_by_role("heading", level=1).inner_text().startswith("Edit the draft iemdp")
    # IEM-DP 1.0.0 has exactly 3 items in every subconstruct: nothing can be removed.
    assert phone.get_by_role("button", name=re.compile("^Remove item")).count() == 0
    row = phone.locator("tr", has=phone.get_by_role("link", name="Edit item OE_BEN_1"))
    assert "a subconstruct needs at least 3 items" in row.inner_text()

    # Discarding: the editor's link opens a confirmation; Cancel keeps the draft.
    phone.get_by_role("link", name="Discard this draft…").click()
    assert phone.get_by_role("heading", level=1).inner_text() == "Discard the draft iemdp 1.0.1"
    with live_server.app.app_context():
        assert db.session.get(InstrumentVersion, draft) is not None
    phone.get_by_role("link", name="Cancel").click()
    assert "/edit" in phone.url
    phone.get_by_role("link", name="Discard this draft…").click()
    phone.get_by_role("button", name="Discard 1.0.1").click()
    phone.wait_for_load_state()
    assert "Discarded the draft iemdp 1.0.1." in phone.locator(".notice").inner_text()
    with live_server.app.app_context():
        db.session.expire_all()
        assert db.session.get(InstrumentVersion, draft) is None

    # The log still names the discarded draft, from the event's details.
    phone.get_by_role("link", name="Audit log").first.click()
    discarded = phone.locator("tr", has_text="draft_discarded").first
    assert discarded.locator(".target-name").inner_text() == "iemdp 1.0.1"
