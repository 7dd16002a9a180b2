"""A participant's walk-through of the demo study in Chromium (issue 8, item 8).

Consent; on page 2, four answers, Back, Next: the four are still chosen; the cookies are
cleared and the page is sent: it is saved; a page sent unanswered shows the red bar and
its summary links bring the question into view; then the participant stops taking part
from the confirmation page and the link says so from then on. Everything goes through
the live server over HTTP, clicking as a participant would; screenshots at 360 and
1280 px.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import Answer, PageVisit, ResponseSession
from survey.services import tokens
from tests.browser.test_participant_journey import assert_fits_width, assert_png_has_content

pytestmark = pytest.mark.browser

DEMO_IEMDP_VERSION = "1.1.0"  # the demo's: participant page titles (conftest reads it)
PHONE = {"width": 360, "height": 800}
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 10_000
ERROR_RED = "rgb(185, 28, 28)"

# The legend's box relative to the viewport after a summary link was followed.
LEGEND_BOX_JS = """(id) => {
  const legend = document.getElementById(id).querySelector("legend");
  const box = legend.getBoundingClientRect();
  return {top: box.top, bottom: box.bottom, height: window.innerHeight,
          focused: document.activeElement && document.activeElement.id};
}"""


def items(page: Any) -> Any:
    return page.locator("form fieldset.item")


def choose(page: Any, index: int, option: int) -> str:
    """Click the label of option ``option`` of the ``index``-th question; its name."""
    fieldset = items(page).nth(index)
    fieldset.locator(".option label").nth(option).click()
    return fieldset.locator("input").first.get_attribute("name")


def checked(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll("input[type=radio]:checked")]
              .map(input => [input.name, input.value]))"""
    )


def click_and_wait(page: Any, name: str, url: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_url(url, timeout=TIMEOUT_MS)


def answer_all(page: Any) -> None:
    """Answer every question of the page as a reader would (attention checks as asked)."""
    count = items(page).count()
    for index in range(count):
        fieldset = items(page).nth(index)
        legend = fieldset.locator("legend").inner_text()
        labels = fieldset.locator(".option label").all_inner_texts()
        wanted = next((n for n, label in enumerate(labels) if f"'{label}'" in legend), 3)
        fieldset.locator(".option label").nth(wanted).click()


def stored(app: Any, token: str) -> tuple[dict[str, int | None], int]:
    """The participant's answers (item id → value) and how many pages they submitted."""
    with app.app_context():
        participant = tokens.find_participant(token)
        sessions = select(ResponseSession.id).where(
            ResponseSession.participant_id == participant.id
        )
        answers = dict(
            db.session.execute(
                select(Answer.item_id, Answer.value).where(Answer.session_id.in_(sessions))
            ).all()
        )
        submitted = len(
            db.session.scalars(
                select(PageVisit.id).where(
                    PageVisit.session_id.in_(sessions), PageVisit.submitted_at.is_not(None)
                )
            ).all()
        )
        return answers, submitted


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360px", "1280px"])
def test_participant_walk_through(live_server, browser, artifacts_dir, viewport):
    token = live_server.add_participant()
    link = live_server.participant_url(token)
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        # Consent, as shown: the study team's contact and "Stop taking part" come later.
        page.goto(link)
        click_and_wait(page, "I agree", f"{link}/page/1")
        assert page.locator("progress").get_attribute("value") == "0"
        assert page.locator(".team-contact").is_visible()
        heading = page.get_by_role("heading", level=1).inner_text()
        assert heading == "What you expect from therapy by messaging"
        answer_all(page)
        click_and_wait(page, "Next", f"{link}/page/2")
        assert page.locator("progress").get_attribute("value") == "1"

        # Four answers on page 2, Back, Next: the four are still chosen.
        assert items(page).count() > 4
        chosen = {choose(page, index, index % 5): str(index % 5 + 1) for index in range(4)}
        assert checked(page) == chosen
        click_and_wait(page, "Back", f"{link}/page/1")
        click_and_wait(page, "Next", f"{link}/page/2")
        assert checked(page) == chosen

        # The session cookie is gone (expired, cleared): the page is still saved.
        context.clear_cookies()
        answer_all(page)
        chosen_now = checked(page)
        click_and_wait(page, "Next", f"{link}/page/3")
        answers, submitted = stored(live_server.app, token)
        assert submitted == 2
        assert {name: str(answers[name]) for name in chosen_now} == chosen_now

        # Page 3 sent unanswered: the red bar, and the summary leads to each question.
        page.get_by_role("button", name="Next", exact=True).click()
        page.locator(".error-summary").wait_for(timeout=TIMEOUT_MS)
        assert page.url == f"{link}/page/3"
        errored = page.locator("fieldset.item--error").first
        border = errored.evaluate(
            "el => [getComputedStyle(el).borderLeftStyle, getComputedStyle(el).borderLeftWidth,"
            " getComputedStyle(el).borderLeftColor]"
        )
        assert border == ["solid", "5px", ERROR_RED], border
        count = items(page).count()
        assert f"{count} questions need an answer" in page.locator(".error-summary").inner_text()
        summary_links = page.locator(".error-summary a")
        if count > 3:
            page.locator(".error-summary summary").click()
        last = summary_links.nth(summary_links.count() - 1)
        target = last.get_attribute("href").removeprefix("#")
        page.evaluate("() => window.scrollTo(0, 0)")
        last.click()
        box = page.evaluate(LEGEND_BOX_JS, target)
        assert 0 <= box["top"] and box["bottom"] <= box["height"], box
        assert box["focused"] == target
        assert_fits_width_of(page, viewport)

        shot = artifacts_dir / f"participant_errors_{viewport['width']}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert_png_has_content(shot)

        # Stop taking part, from the link on the page, after reading what happens.
        page.get_by_role("link", name="Stop taking part").click()
        page.wait_for_url(f"{link}/withdraw", timeout=TIMEOUT_MS)
        assert "stay in the study" in page.locator("main").inner_text()
        click_and_wait(page, "Stop taking part", f"{link}/withdraw")
        assert page.get_by_role("heading", level=1).inner_text() == "You have stopped taking part"
        page.goto(link)
        assert page.get_by_role("heading", level=1).inner_text() == "You have stopped taking part"
        assert page.locator("form").count() == 0
        assert_fits_width_of(page, viewport)
        shot = artifacts_dir / f"participant_withdrawn_{viewport['width']}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert_png_has_content(shot)
    finally:
        context.close()

    with live_server.app.app_context():
        assert tokens.find_participant(token).withdrawn_at is not None


def assert_fits_width_of(page: Any, viewport: dict[str, int]) -> None:
    if viewport == PHONE:
        assert_fits_width(page)
    else:
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= viewport["width"]
