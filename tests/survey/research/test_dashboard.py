"""The study dashboard (survey.services.study_dashboard) on a constructed study, the
funnel SVG (survey.research.funnel) and the study page that shows them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from survey.extensions import db
from survey.models import ConsentDecision, Participant, Study, Wave
from survey.research.funnel import funnel_svg
from survey.services import participation, study_dashboard
from tests.survey.research.study_builders import T0, make_battery_study, take_part

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def constructed(db_session, small):
    """Seven participants of a four-page battery (2 + 2 pages) at wave 1:

    P1 completes in 10 min, P2 in 20 min (and is excluded), P3 submits 1 page, P4 submits
    2 pages and withdraws, P5 declines, P6 does nothing, P7 consents then declines."""
    study = make_battery_study(small, participants=7)
    tokens = study.tokens
    take_part(tokens[0], pages=4, minutes=10)
    take_part(tokens[1], pages=4, minutes=20)
    take_part(tokens[2], pages=1)
    take_part(tokens[3], pages=2)
    take_part(tokens[4], decisions=(ConsentDecision.DECLINED,))
    take_part(tokens[6], decisions=(ConsentDecision.GIVEN, ConsentDecision.DECLINED))
    participants = list(
        db.session.scalars(
            select(Participant).where(Participant.study_id == study.id).order_by(Participant.id)
        )
    )
    participants[1].excluded = True
    participation.withdraw(participants[3], now=T0 + timedelta(hours=1))
    db.session.commit()
    return study


def test_counts_per_study_and_wave(constructed):
    figures = study_dashboard.study_figures(constructed)
    assert (figures.invited, figures.consented, figures.declined, figures.undecided) == (7, 4, 2, 1)
    assert (figures.withdrawn, figures.excluded, figures.open_alerts) == (1, 1, 0)
    baseline, week4 = figures.waves
    assert baseline.wave.label == "Baseline" and week4.wave.label == "Week 4"
    assert (baseline.started, baseline.completed, baseline.in_progress) == (4, 2, 1)
    assert (baseline.withdrawn, baseline.excluded) == (1, 1)
    assert baseline.completion_rate == pytest.approx(0.5)  # 2 completed of 4 consented
    assert baseline.median_duration == timedelta(minutes=15)
    assert [step.submitted for step in baseline.funnel] == [4, 3, 2, 2]
    assert [step.instrument for step in baseline.funnel] == [
        "small 1.0.0",
        "small 1.0.0",
        "mood_screener 1.0.0",
        "mood_screener 1.0.0",
    ]
    assert baseline.funnel[2].title == "How you have been feeling"
    assert (week4.started, week4.completed, week4.completion_rate) == (0, 0, 0.0)
    assert week4.median_duration is None
    assert [step.submitted for step in week4.funnel] == [0, 0, 0, 0]


def test_consent_counts_follow_the_current_consent_version(constructed):
    constructed.consent_version = "v2"
    db.session.flush()
    figures = study_dashboard.study_figures(constructed)
    assert (figures.consented, figures.declined, figures.undecided) == (0, 0, 7)
    assert figures.waves[0].completion_rate is None


def test_a_study_without_participants(db_session, small):
    study = make_battery_study(small, participants=1, slug="empty")
    figures = study_dashboard.study_figures(study)
    assert (figures.invited, figures.consented, figures.withdrawn) == (1, 0, 0)
    assert figures.waves[0].completion_rate is None
    assert figures.waves[0].median_duration is None


def test_a_fixed_number_of_queries(db_session, small):
    """More participants, sessions and pages do not mean more queries."""

    def queries_for(study) -> int:
        db.session.expire_all()
        study = db.session.get(Study, study.id)
        statements = []
        engine = db.engine

        def count(*_args):
            statements.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            study_dashboard.study_figures(study)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    small_one = make_battery_study(small, participants=1, slug="one")
    take_part(small_one.tokens[0], pages=1)
    big = make_battery_study(small, participants=12, slug="twelve")
    for token in big.tokens:
        take_part(token, pages=4, minutes=5)
    db.session.commit()
    assert queries_for(big) == queries_for(small_one)


def test_funnel_svg_is_well_formed_with_the_counts(constructed):
    baseline = study_dashboard.study_figures(constructed).waves[0]
    markup = funnel_svg(baseline, element_id="funnel-1")
    root = ET.fromstring(str(markup))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "funnel-1-title funnel-1-desc"
    assert root.find(f"{SVG}title").text == "Drop-off per page, Baseline"
    assert root.find(f"{SVG}desc").text == (
        "4 sessions started; 2 of them submitted the last of 4 pages."
    )
    assert "style" not in str(markup)
    groups = root.findall(f"{SVG}g")
    labels = [group.findall(f"{SVG}text")[0].text for group in groups]
    figures = [group.findall(f"{SVG}text")[1].text for group in groups]
    assert labels[0] == "Started" and labels[1].startswith("1. ")
    assert figures == ["4 (100%)", "4 (100%)", "3 (75%)", "2 (50%)", "2 (50%)"]
    bars = [float(group.findall(f"{SVG}rect")[1].get("width")) for group in groups]
    assert bars == [320.0, 320.0, 240.0, 160.0, 160.0]


def test_funnel_of_a_wave_nobody_started(constructed):
    week4 = study_dashboard.study_figures(constructed).waves[1]
    root = ET.fromstring(str(funnel_svg(week4, element_id="w")))
    assert root.find(f"{SVG}desc").text == "No session started yet."
    assert {
        rect.get("width") for rect in root.iter(f"{SVG}rect") if rect.get("fill") == "#1d4ed8"
    } == {"0.0"}


def test_funnel_escapes_titles():
    wave = Wave(key="w", label="<Wave & co>", position=1)
    figures = study_dashboard.WaveFigures(
        wave=wave,
        started=1,
        completed=0,
        withdrawn=0,
        excluded=0,
        completion_rate=None,
        median_duration=None,
        funnel=(study_dashboard.FunnelStep(1, "A <b>page</b> & more", "x 1.0.0", 1),),
    )
    markup = str(funnel_svg(figures, element_id="e"))
    assert "<b>" not in markup
    root = ET.fromstring(markup)
    assert root.find(f"{SVG}title").text == "Drop-off per page, <Wave & co>"


# -- the page --------------------------------------------------------------------------------
def test_study_page_shows_counts_funnels_and_no_inline_style(app, researcher_client, small):
    from survey.services import accounts

    with app.app_context():
        owner = accounts.get_user("researcher@example.org")
        study = make_battery_study(small, participants=3, owner=owner)
        take_part(study.tokens[0], pages=4, minutes=8)
        take_part(study.tokens[1], pages=1)
        take_part(study.tokens[2], decisions=(ConsentDecision.DECLINED,))
        db.session.commit()
        study_id = study.id
    response = researcher_client.get(f"/research/studies/{study_id}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<tr><th>Participants</th><td>3</td></tr>" in body
    counts = body[body.index('id="participant-counts"') :]
    counts = counts[: counts.index("</table>")]
    assert [cell.split("</td>")[0] for cell in counts.split('<td class="num">')[1:]] == [
        "3",
        "2",
        "1",
        "0",
        "0",
        "0",
    ]
    waves = body[body.index('id="wave-counts"') :]
    baseline = waves[waves.index("Baseline") : waves.index("</tr>", waves.index("Baseline"))]
    assert [cell.split("</td>")[0] for cell in baseline.split('<td class="num">')[1:]] == [
        "2",
        "1",
        "1",
        "0",
        "0",
        "50 %",
        "8 min 0 s",
    ]
    assert body.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 2
    assert " style=" not in body
    assert "<script" not in body
    svg = body[body.index("<svg") : body.index("</svg>") + len("</svg>")]
    ET.fromstring(svg)
    assert "<td>1. Statement" not in body  # pages are named by their titles
    assert "How you have been feeling" in body


def test_the_quality_panel_shows_cases_alpha_and_flags(app, researcher_client):
    from survey.models import User
    from tests.survey.validation.conftest import make_simulated_study

    with app.app_context():
        study, _ = make_simulated_study(participants=40, waves=1, seed=12, slug="panel")
        study.owner = db.session.scalar(select(User).where(User.email == "researcher@example.org"))
        db.session.commit()
        study_id = study.id
    page = researcher_client.get(f"/research/studies/{study_id}").get_data(as_text=True)
    assert 'id="quality-panel"' in page
    assert "cases for the first-order CFA" in page and ">2100<" in page
    assert "Alpha per subconstruct so far" in page and "OE_BEN" in page
    assert 'id="quality-counts"' in page
