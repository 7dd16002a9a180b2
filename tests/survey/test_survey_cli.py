"""The `flask instruments|studies|demo ...` commands (survey/cli.py)."""

from __future__ import annotations

import re

import pytest
import yaml
from sqlalchemy import func, select

from instruments.loader import instrument_path, to_mapping
from survey.extensions import db
from survey.models import InstrumentVersion, Participant, Study, Wave

IEMDP = instrument_path("iemdp", "1.0.0")
LINK = re.compile(r"^Participant link: (http://\S+/p/([A-Za-z0-9_-]{43}))$", re.MULTILINE)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def bad_iemdp(tmp_path):
    """A copy of iemdp 1.0.0 with a misspelt key and an item without `reverse`."""
    text = IEMDP.read_text(encoding="utf-8")
    text = text.replace("\ntitle: ", "\ntitel: ", 1)
    text = text.replace(
        '{id: OE_BEN_2, text: "I think this therapy will help me deal with my problems.", '
        "reverse: false, ",
        '{id: OE_BEN_2, text: "I think this therapy will help me deal with my problems.", ',
    )
    path = tmp_path / "iemdp" / "1.0.0.yaml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    return path


def write_definition(tmp_path, definition, **changes):
    mapping = to_mapping(definition) | changes
    path = tmp_path / definition.key / f"{definition.version}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    return path


# -- instruments validate --------------------------------------------------------------------
def test_validate_a_valid_file(runner):
    result = runner.invoke(args=["instruments", "validate", str(IEMDP)])
    assert result.exit_code == 0, result.output
    assert f"{IEMDP}: valid: iemdp 1.0.0, 10 pages, 72 items, 2 attention checks" in result.output


def test_validate_prints_every_problem_with_file_and_key(runner, bad_iemdp):
    result = runner.invoke(args=["instruments", "validate", str(bad_iemdp)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"{bad_iemdp}: titel: unknown key" in result.output
    assert any(line.startswith(f"{bad_iemdp}: title: ") for line in lines)
    assert any(
        line.startswith(f"{bad_iemdp}: constructs[0].subconstructs[0].items[1].reverse: ")
        for line in lines
    )
    assert lines[-1] == f"{bad_iemdp}: 3 problems"


def test_validate_a_missing_file(runner, tmp_path):
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(args=["instruments", "validate", str(missing)])
    assert result.exit_code == 1
    assert f"{missing}: file not found" in result.output


# -- instruments load ------------------------------------------------------------------------
def test_load_imports_once(app, runner, iemdp):
    result = runner.invoke(args=["instruments", "load", str(IEMDP)])
    assert result.exit_code == 0, result.output
    assert f"Loaded: iemdp 1.0.0, sha256 {iemdp.content_hash}" in result.output
    result = runner.invoke(args=["instruments", "load", str(IEMDP)])
    assert result.exit_code == 0
    assert "Already loaded (same content): iemdp 1.0.0" in result.output
    assert count(app, InstrumentVersion) == 1


def test_load_refuses_an_invalid_file_naming_it(app, runner, bad_iemdp):
    result = runner.invoke(args=["instruments", "load", str(bad_iemdp)])
    assert result.exit_code == 1
    assert f"{bad_iemdp}: titel: unknown key" in result.stderr
    assert f"{bad_iemdp} is not a valid instrument file (3 problems)" in result.stderr
    assert count(app, InstrumentVersion) == 0


def test_load_refuses_changed_content_under_the_same_version(app, runner, small, tmp_path):
    path = write_definition(tmp_path, small)
    assert runner.invoke(args=["instruments", "load", str(path)]).exit_code == 0
    write_definition(tmp_path, small, title="Changed title")
    result = runner.invoke(args=["instruments", "load", str(path)])
    assert result.exit_code == 1
    assert "exists already (published) with other content" in result.stderr
    assert str(path) in result.stderr
    assert count(app, InstrumentVersion) == 1


# -- demo setup ------------------------------------------------------------------------------
def test_demo_setup_migrates_an_empty_database_and_prints_a_working_link(make_app):
    app = make_app()  # no schema yet: the command upgrades
    result = app.test_cli_runner().invoke(args=["demo", "setup"])
    assert result.exit_code == 0, result.output
    match = LINK.search(result.output)
    assert match, result.output
    assert match.group(1).startswith(app.config["PARTICIPANT_BASE_URL"] + "/p/")
    response = app.test_client().get(f"/p/{match.group(2)}")
    assert response.status_code == 200
    assert "IEM-DP demo" in response.get_data(as_text=True)


def test_demo_setup_is_idempotent(app, runner):
    first = runner.invoke(args=["demo", "setup"])
    second = runner.invoke(args=["demo", "setup", "--base-url", "http://127.0.0.1:5000/"])
    assert first.exit_code == second.exit_code == 0
    link_one, link_two = LINK.search(first.output), LINK.search(second.output)
    assert link_one.group(2) != link_two.group(2)
    assert link_two.group(1).startswith("http://127.0.0.1:5000/p/")
    assert count(app, Study) == 1
    assert count(app, Wave) == 2
    assert count(app, Participant) == 2
    assert count(app, InstrumentVersion) == 1
    with app.app_context():
        waves = db.session.scalars(select(Wave).order_by(Wave.position)).all()
        assert [(w.key, w.status, w.offset_days, w.window_days) for w in waves] == [
            ("baseline", "open", 0, None),
            ("week-4", "open", 28, 14),
        ]
        study = db.session.scalar(select(Study))
        assert (study.name, study.slug) == ("IEM-DP demo", "iemdp-demo")
        assert study.urgent_help_note and study.consent_text


# -- studies add-participants ----------------------------------------------------------------
def test_add_participants_prints_working_links(app, runner, make_study, small):
    info = make_study(small)
    result = runner.invoke(args=["studies", "add-participants", info.slug, "3"])
    assert result.exit_code == 0, result.output
    links = result.output.split()
    assert len(links) == 3
    assert len(set(links)) == 3
    client = app.test_client()
    for link in links:
        assert link.startswith("http://localhost/p/")
        assert client.get(link.removeprefix("http://localhost")).status_code == 200
    assert count(app, Participant) == 4


def test_add_participants_to_an_unknown_study(app, runner):
    result = runner.invoke(args=["studies", "add-participants", "nope", "2"])
    assert result.exit_code == 1
    assert "no study with the slug 'nope'" in result.stderr
    assert runner.invoke(args=["studies", "add-participants", "nope", "0"]).exit_code == 2
