"""``flask api create-key / keys / revoke-key``: the key alone on the last line, errors that
name the problem and store nothing, the list, revoking."""

from __future__ import annotations

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import ApiKey, AuditAction, AuditEvent


def key_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ApiKey))


def test_create_key_prints_the_key_alone_on_its_last_line_and_it_works(
    app, runner, client, make_study, small
):
    info = make_study(small)
    result = runner.invoke(
        args=[
            "api",
            "create-key",
            info.slug,
            "--scopes",
            "enrol,deliver,outcomes,read",
            "--name",
            "Chat platform",
            "--rate-limit",
            "120",
        ]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    key = lines[-1]
    assert key.startswith("iemdp_") and " " not in key
    assert key[:12] in lines[0] and "enrol,deliver,outcomes,read" in lines[0]
    assert "120 requests a minute" in lines[0]
    response = client.get("/api/v1/study", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.get_json()["study"] == info.slug
    with app.app_context():
        api_key = db.session.scalars(select(ApiKey)).one()
        assert (api_key.name, api_key.rate_limit_per_minute) == ("Chat platform", 120)
        assert key not in {api_key.key_hash, api_key.prefix}
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.API_KEY_CREATED)
        ).one()
        assert key not in str(event.details)


def test_create_key_with_some_scopes_and_the_default_name(app, runner, make_study, small):
    info = make_study(small)
    result = runner.invoke(args=["api", "create-key", info.slug, "--scopes", "read, enrol"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        api_key = db.session.scalars(select(ApiKey)).one()
        assert api_key.scopes == "enrol,read" and api_key.name == "command line"
        assert api_key.rate_limit_per_minute == 600


def test_create_key_errors_name_the_problem_and_store_nothing(app, runner, make_study, small):
    info = make_study(small)
    cases = [
        (["no-such-study", "--scopes", "read"], "no-such-study"),
        ([info.slug, "--scopes", "read,write"], "write"),
        ([info.slug, "--scopes", ","], "--scopes"),
        ([info.slug, "--scopes", "read", "--name", "  "], "--name"),
        ([info.slug, "--scopes", "read", "--rate-limit", "0"], "--rate-limit"),
        ([info.slug, "--scopes", "read", "--rate-limit", "lots"], "lots"),
        ([info.slug], "--scopes"),
    ]
    for arguments, named in cases:
        result = runner.invoke(args=["api", "create-key", *arguments])
        assert result.exit_code != 0, arguments
        assert named in result.output, (arguments, result.output)
        assert "iemdp_" not in result.stdout
    assert key_count(app) == 0


def test_keys_lists_the_study_keys_and_revoke_key_stops_one(
    app, runner, client, make_study, small, make_key
):
    info = make_study(small)
    other = make_study(small)
    first_id, first = make_key(info.study_id, name="first platform")
    second_id, _second = make_key(info.study_id, scopes=["read"], name="second platform")
    other_id, _ = make_key(other.study_id, name="other study's")
    client.get("/api/v1/study", headers={"Authorization": f"Bearer {first}"})

    listed = runner.invoke(args=["api", "keys", info.slug])
    assert listed.exit_code == 0, listed.output
    header, *rows = listed.stdout.splitlines()
    assert header.split("\t")[:4] == ["id", "prefix", "name", "scopes"]
    assert [row.split("\t")[0] for row in rows] == [str(second_id), str(first_id)]
    first_row = rows[1].split("\t")
    assert first_row[1] == first[:12] + "…" and first_row[2] == "first platform"
    assert first_row[6] != "-" and first_row[7] == "-"  # used, not revoked
    assert "other study's" not in listed.stdout and first not in listed.stdout

    revoked = runner.invoke(args=["api", "revoke-key", info.slug, str(first_id)])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in revoked.stdout
    response = client.get("/api/v1/study", headers={"Authorization": f"Bearer {first}"})
    assert response.status_code == 401
    again = runner.invoke(args=["api", "revoke-key", info.slug, str(first_id)])
    assert again.exit_code == 0 and "already" in again.output
    listed = runner.invoke(args=["api", "keys", info.slug]).stdout.splitlines()
    assert listed[2].split("\t")[7] != "-"


def test_revoke_key_refuses_another_studys_key_and_unknown_ones(
    app, runner, make_study, small, make_key
):
    info = make_study(small)
    other = make_study(small)
    other_id, _ = make_key(other.study_id)
    for arguments in ([info.slug, str(other_id)], [info.slug, "999"], ["nope", str(other_id)]):
        result = runner.invoke(args=["api", "revoke-key", *arguments])
        assert result.exit_code != 0, arguments
        assert arguments[-1] in result.output or "nope" in result.output
    with app.app_context():
        assert db.session.get(ApiKey, other_id).revoked_at is None


def test_keys_of_a_study_without_any(runner, make_study, small):
    info = make_study(small)
    result = runner.invoke(args=["api", "keys", info.slug])
    assert result.exit_code == 0 and "no API keys" in result.output
    assert runner.invoke(args=["api", "keys", "nope"]).exit_code != 0
