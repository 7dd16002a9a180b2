"""A participant answers the whole IEM-DP questionnaire in a real browser, keyboard only.

Chromium at a phone's width (360 × 800) talks to the live app (see ``conftest.py``): the
link, consent, all ten pages and the thank-you page, moving with Tab / Shift+Tab, choosing
with Space and the arrow keys and sending with Enter or Space. The attention checks are
answered as a reader would: by reading the statement. Then the database must hold exactly
what was chosen.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from instruments.loader import instrument_path, load_instrument
from survey.extensions import db
from survey.models import Answer, PageVisit, ResponseSession
from survey.services import tokens

pytestmark = pytest.mark.browser
# The demo's IEM-DP: participant page titles (conftest.live_server reads this).
DEMO_IEMDP_VERSION = "1.1.0"

VIEWPORT = {"width": 360, "height": 800}
TOTAL_PAGES = 10
SCALE_LABELS = [
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
]
# Option index chosen for the n-th ordinary item (cycled), so every value is used.
ANSWER_CYCLE = (3, 1, 4, 0, 2)
ATTENTION_RE = re.compile(r"choose '([^']+)'", re.IGNORECASE)
NAVIGATION_TIMEOUT_MS = 10_000
# Tab presses allowed to get from one control to the next wanted one.
MAX_TABS = 40

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# What has the focus, and for a radio its group: legend, option labels, which is checked.
FOCUSED_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {tag: "body"};
  const info = {tag: el.tagName.toLowerCase(), type: el.getAttribute("type"),
                name: el.getAttribute("name"), text: (el.value || el.textContent).trim()};
  if (info.type === "radio") {
    const group = el.closest("fieldset");
    const radios = [...group.querySelectorAll("input[type=radio]")];
    info.index = radios.indexOf(el);
    info.checked = radios.findIndex(r => r.checked);
    info.legend = group.querySelector("legend").textContent.trim();
    info.labels = radios.map(r => r.labels[0].textContent.trim());
  }
  return info;
}"""

# Every Likert item as the DOM has it: fieldset → legend + radios with their <label for>.
ITEMS_JS = """() => [...document.querySelectorAll("form fieldset")].map(fs => ({
  legend: fs.querySelector(":scope > legend")?.textContent.trim() ?? null,
  radios: [...fs.querySelectorAll("input")].map(input => ({
    type: input.type, name: input.name, id: input.id, value: input.value,
    labels: [...input.labels].map(label => label.textContent.trim()),
  })),
}))"""

SCROLL_WIDTH_JS = "() => document.documentElement.scrollWidth"


# -- keyboard helpers ------------------------------------------------------------------------
def focused(page: Any) -> dict[str, Any]:
    return page.evaluate(FOCUSED_JS)


def tab_to(page: Any, wanted: str, *, shift: bool = False) -> dict[str, Any]:
    """Press (Shift+)Tab until the focus is on a control of kind ``wanted``
    (``"radio"``, ``"submit"`` or an input name)."""
    key = "Shift+Tab" if shift else "Tab"
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        info = focused(page)
        if wanted in (info.get("type"), info.get("name")):
            return info
    raise AssertionError(f"{key} never reached a {wanted!r} control (last focus: {info})")


def choose_with_keys(page: Any, info: dict[str, Any], target: int) -> dict[str, Any]:
    """From the focused radio ``info``, check option ``target`` with Space or the arrows."""
    delta = target - info["index"]
    if delta == 0:
        page.keyboard.press("Space")
    for _ in range(abs(delta)):
        page.keyboard.press("ArrowDown" if delta > 0 else "ArrowUp")
    after = focused(page)
    assert after["name"] == info["name"], "the arrow keys left the radio group"
    assert after["index"] == after["checked"] == target, after
    return after


def wanted_option(info: dict[str, Any], counter: int) -> int:
    """The option to choose: the one an attention check asks for, else the next of the cycle."""
    match = ATTENTION_RE.search(info["legend"])
    if match:
        return info["labels"].index(match.group(1))
    return ANSWER_CYCLE[counter % len(ANSWER_CYCLE)]


def answer_page(page: Any, chosen: dict[str, int], names: list[str]) -> dict[str, Any]:
    """Answer every item of the page by keyboard; record value per name in ``chosen``.

    Returns the focused submit button. The radio groups must come in DOM order, one Tab
    stop each.
    """
    for expected_name in names:
        info = tab_to(page, "radio")
        assert info["name"] == expected_name, "Tab order differs from the order of the items"
        assert info["checked"] == -1, f"{expected_name} was answered before"
        after = choose_with_keys(page, info, wanted_option(info, len(chosen)))
        chosen[expected_name] = after["index"] + 1  # values 1..5 in label order
    button = tab_to(page, "submit")
    assert button["tag"] == "button"
    return button


def submit_and_wait(page: Any, key: str, url: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.keyboard.press(key)
    try:
        page.wait_for_url(url, timeout=NAVIGATION_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        errors = page.locator(".error-summary")
        detail = errors.inner_text() if errors.count() else page.content()[:2000]
        pytest.fail(f"pressing {key} did not lead to {url} (at {page.url}):\n{detail}")


def give_consent(page: Any, token_url: str) -> None:
    page.goto(token_url)
    assert page.get_by_role("heading", name="Your consent").is_visible()
    agree = tab_to(page, "agree")
    assert agree["text"] == "I agree"
    submit_and_wait(page, "Enter", f"{token_url}/page/1")


# -- page checks -----------------------------------------------------------------------------
def assert_fits_width(page: Any) -> None:
    page.wait_for_load_state("load")  # measured with its style sheets
    width = page.evaluate(SCROLL_WIDTH_JS)
    assert width <= VIEWPORT["width"], f"{page.url} scrolls sideways: {width}px wide"


def assert_items_are_labelled(page: Any) -> list[str]:
    """Each item is a fieldset with a legend and five labelled radios; return the names."""
    items = page.evaluate(ITEMS_JS)
    assert items, "no fieldset on the page"
    names = []
    for item in items:
        assert item["legend"], f"a fieldset without legend: {item}"
        radios = item["radios"]
        assert [radio["type"] for radio in radios] == ["radio"] * len(SCALE_LABELS), item
        assert len({radio["name"] for radio in radios}) == 1, "one name per group"
        assert all(radio["id"] for radio in radios)
        assert [radio["labels"] for radio in radios] == [[label] for label in SCALE_LABELS]
        assert [radio["value"] for radio in radios] == ["1", "2", "3", "4", "5"]
        names.append(radios[0]["name"])
    assert len(set(names)) == len(names), "two items share a name"
    # The same through the accessibility tree (computed names), for the first item.
    group = page.get_by_role("group", name=items[0]["legend"], exact=True)
    assert group.count() == 1
    for label in SCALE_LABELS:
        assert group.get_by_role("radio", name=label, exact=True).count() == 1
    return names


def assert_progress(page: Any, number: int) -> str:
    text = page.locator("#progress-label").inner_text()
    assert text == f"Page {number} of {TOTAL_PAGES}"
    # The bar counts the pages finished: empty on arrival at page 1.
    assert page.locator("progress").get_attribute("value") == str(number - 1)
    assert f"page {number} of {TOTAL_PAGES}" in page.title()
    return text


def assert_png_has_content(path: Path) -> None:
    data = path.read_bytes()
    assert len(data) > 1000, f"{path} is only {len(data)} bytes"
    assert data.startswith(PNG_SIGNATURE), f"{path} is not a PNG"
    try:
        from PIL import Image
    except ImportError:  # Pillow is optional: look at the raw pixel bytes instead
        distinct = len(set(_png_pixel_bytes(data)))
        assert distinct > 8, f"{path} looks like a single colour ({distinct} byte values)"
        return
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 1, f"{path} is a single colour"


def _png_pixel_bytes(data: bytes) -> bytes:
    """The inflated IDAT stream of a PNG (scanlines with their filter bytes)."""
    position, idat = len(PNG_SIGNATURE), b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            idat += data[position + 8 : position + 8 + length]
        position += 12 + length
    return zlib.decompress(idat)


def stored(app: Any, token: str) -> tuple[ResponseSession, dict[str, int | None], int]:
    """The participant's session, its answers (item id → value) and submitted page count."""
    with app.app_context():
        participant = tokens.find_participant(token)
        assert participant is not None
        session = db.session.scalar(
            select(ResponseSession).where(ResponseSession.participant_id == participant.id)
        )
        assert session is not None
        rows = db.session.execute(
            select(Answer.item_id, Answer.value).where(Answer.session_id == session.id)
        )
        answers = {item_id: value for item_id, value in rows}
        submitted = len(
            db.session.scalars(
                select(PageVisit.id).where(
                    PageVisit.session_id == session.id, PageVisit.submitted_at.is_not(None)
                )
            ).all()
        )
        db.session.expunge(session)
        return session, answers, submitted


@pytest.fixture
def phone(browser: Any) -> Any:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


# -- tests -----------------------------------------------------------------------------------
def test_keyboard_only_journey_to_the_thank_you_page(live_server, phone, artifacts_dir):
    definition = load_instrument(instrument_path("iemdp", DEMO_IEMDP_VERSION))
    token = live_server.add_participant()
    link = live_server.participant_url(token)
    page = phone

    give_consent(page, link)
    assert_fits_width(page)

    chosen: dict[str, int] = {}
    progress_seen = []
    for number in range(1, TOTAL_PAGES + 1):
        assert page.url == f"{link}/page/{number}"
        progress_seen.append(assert_progress(page, number))
        heading = page.get_by_role("heading", level=1).inner_text()
        assert heading == definition.pages()[number - 1].title  # participant language
        assert_fits_width(page)
        names = assert_items_are_labelled(page)
        answer_page(page, chosen, names)

        if number == 1:
            # Shift+Tab goes back into the last group, onto its checked answer; the
            # participant changes their mind with an arrow key, then tabs on to the button.
            back = tab_to(page, "radio", shift=True)
            assert back["name"] == names[-1] and back["index"] == back["checked"]
            target = (back["index"] + 1) % len(SCALE_LABELS)
            chosen[names[-1]] = choose_with_keys(page, back, target)["index"] + 1
            assert tab_to(page, "submit")["text"] == "Next"

        key = "Enter" if number % 2 else "Space"
        last = number == TOTAL_PAGES
        assert focused(page)["text"] == ("Finish" if last else "Next")
        submit_and_wait(page, key, f"{link}/done" if last else f"{link}/page/{number + 1}")

    assert progress_seen == [f"Page {n} of {TOTAL_PAGES}" for n in range(1, TOTAL_PAGES + 1)]
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you"
    assert "You have answered all the questions of Baseline" in page.locator("main").inner_text()
    assert_fits_width(page)

    screenshot = artifacts_dir / "participant_journey_done.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert_png_has_content(screenshot)

    session, answers, submitted = stored(live_server.app, token)
    item_ids = {item.id for item in definition.items}
    check_ids = {check.id for check in definition.attention_checks}
    assert len(item_ids) == 72 and len(check_ids) == 2
    assert set(answers) == item_ids | check_ids
    assert answers == chosen
    assert {check.id: answers[check.id] for check in definition.attention_checks} == {
        check.id: check.expected for check in definition.attention_checks
    }
    assert session.completed_at is not None
    assert submitted == TOTAL_PAGES


def test_a_page_submits_without_javascript(live_server, browser):
    token = live_server.add_participant()
    link = live_server.participant_url(token)
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=False)
    try:
        page = context.new_page()
        give_consent(page, link)
        names = assert_items_are_labelled(page)
        chosen: dict[str, int] = {}
        answer_page(page, chosen, names)
        submit_and_wait(page, "Enter", f"{link}/page/2")
        assert_progress(page, 2)
        assert_fits_width(page)
    finally:
        context.close()

    session, answers, submitted = stored(live_server.app, token)
    assert answers == chosen
    assert submitted == 1
    assert session.completed_at is None


def test_error_messages_fit_the_narrow_screen(live_server, phone):
    """A page sent unanswered comes back with its messages, still without sideways scroll."""
    token = live_server.add_participant()
    link = live_server.participant_url(token)
    give_consent(phone, link)
    tab_to(phone, "submit")
    phone.keyboard.press("Enter")
    phone.locator(".error-summary").wait_for(timeout=NAVIGATION_TIMEOUT_MS)
    assert phone.url == f"{link}/page/1"
    assert phone.locator(".error-message").count() == len(assert_items_are_labelled(phone))
    assert_fits_width(phone)
