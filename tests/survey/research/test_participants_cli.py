"""`flask studies add-participants`: where its links point (survey/cli.py)."""

from __future__ import annotations

from flask_migrate import upgrade


def test_without_a_public_base_url_the_cli_says_where_links_point(make_app, make_definition):
    from survey.extensions import db
    from survey.services import instruments, studies

    app = make_app(PARTICIPANT_BASE_URL=None)
    with app.app_context():
        upgrade()
        version, _ = instruments.import_definition(make_definition())
        studies.create_study(
            name="CLI study",
            slug="cli-study",
            instrument_version=version,
            consent_text="Agree?",
            consent_version="1",
            urgent_help_note="Call 112.",
            first_wave_label="Baseline",
        )
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["studies", "add-participants", "cli-study", "2"])
    assert result.exit_code == 0, result.output
    links = result.stdout.split()
    assert len(links) == 2 and all(link.startswith("http://localhost:5000/p/") for link in links)
    assert "Links use http://localhost:5000" in result.stderr
    assert "SURVEY_PARTICIPANT_BASE_URL" in result.stderr and "--base-url" in result.stderr

    result = runner.invoke(
        args=["studies", "add-participants", "cli-study", "1", "--base-url", "https://x.org/"]
    )
    assert result.stdout.strip().startswith("https://x.org/p/") and result.stderr == ""

    app.config["PARTICIPANT_BASE_URL"] = "https://survey.example.org"
    result = runner.invoke(args=["studies", "add-participants", "cli-study", "1"])
    assert result.stdout.strip().startswith("https://survey.example.org/p/")
    assert result.stderr == ""
