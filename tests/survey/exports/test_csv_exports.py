"""The wide and long CSV read back equal the stored answers, cell by cell; excluded sessions
are left out by default and in with the flag; simulated rows are marked; every export is
audited with its SHA-256."""

from __future__ import annotations

import csv
import hashlib
import math
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from instruments.scoring import score_frame
from survey.extensions import db
from survey.models import Answer, AuditEvent, Participant, ResponseSession, Wave
from survey.models.participant import participant_code
from survey.services import studies
from survey.services.exports import Selection, export_to
from survey.services.study_data import UnknownWave
from tests.survey.exports.conftest import EXCLUSION_REASON


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def stored_answers(study_id: int) -> dict[tuple[str, str, str], Answer]:
    """(participant code, wave key, item id) → the stored answer row."""
    rows = db.session.execute(
        select(Answer, Participant.id, Wave.key)
        .join(ResponseSession, ResponseSession.id == Answer.session_id)
        .join(Participant, Participant.id == ResponseSession.participant_id)
        .join(Wave, Wave.id == ResponseSession.wave_id)
        .where(Wave.study_id == study_id)
    ).all()
    return {(participant_code(pid), wave, a.item_id): a for a, pid, wave in rows}


def export(study, kind, tmp_path, **selection):
    path = tmp_path / f"export-{kind}"
    written = export_to(study, kind, path, selection=Selection(**selection), actor=None)
    db.session.commit()
    return path, written


def test_wide_csv_equals_the_stored_answers_cell_by_cell(
    app, export_world, export_definition, tmp_path
):
    with app.app_context():
        study = studies.get_study(export_world.slug)
        path, written = export(study, "wide", tmp_path, include_excluded=True)
        rows = read_csv(path)
        answers = stored_answers(export_world.study_id)

        entries = [entry.id for page in export_definition.pages() for entry in page.entries]
        header = list(rows[0])
        assert header[:8] == [
            "participant",
            "wave",
            "excluded",
            "exclusion_reason",
            "simulated",
            "started_at",
            "completed_at",
            "battery",
        ]
        assert header[8 : 8 + len(entries)] == entries
        assert header[8 + len(entries) : 12 + len(entries)] == ["AA_S", "BB_S", "AA", "BB"]
        quality = header[12 + len(entries) :]
        assert [name for name in quality if "flag" in name] == [
            "flag_longstring",
            "flag_fast",
            "flag_mahalanobis",
            "flag_attention",
            "flag_any",
        ]

        # One row per participant x wave: P1 twice, P2, P3 (excluded), P4; P5 never started.
        keys = [(row["participant"], row["wave"]) for row in rows]
        assert keys == [
            (export_world.code(0), "baseline"),
            (export_world.code(0), "week-4"),
            *((export_world.code(n), "baseline") for n in (1, 2, 3)),
        ]
        assert written.rows == 5 and written.excluded_left_out == 0
        compared = 0
        for row in rows:
            for item in entries:
                answer = answers.get((row["participant"], row["wave"], item))
                expected = "" if answer is None or answer.value is None else str(answer.value)
                assert row[item] == expected, (row["participant"], row["wave"], item)
                compared += answer is not None
        assert compared == len(answers)  # every stored answer was compared
        version = study.instrument_version
        assert all(row["battery"] == f"small 1.0.0 sha256:{version.content_hash}" for row in rows)

        # Scores are instruments.scoring's of the stored answers.
        frame = pd.DataFrame(
            [
                {item: float(row[item]) if row[item] else math.nan for item in entries}
                for row in rows
            ]
        )
        scores = score_frame(export_definition, frame)
        for index, row in enumerate(rows):
            for code in ("AA_S", "BB_S", "AA", "BB"):
                expected = scores.loc[index, code]
                assert (row[code] == "") if math.isnan(expected) else (float(row[code]) == expected)


def test_excluded_sessions_are_left_out_by_default_and_in_with_the_flag(
    app, export_world, tmp_path
):
    with app.app_context():
        study = studies.get_study(export_world.slug)
        third = export_world.code(2)

        path, written = export(study, "wide", tmp_path)
        rows = read_csv(path)
        assert third not in {row["participant"] for row in rows}
        assert {row["excluded"] for row in rows} == {"0"}
        assert (written.rows, written.excluded_left_out) == (4, 1)

        path, written = export(study, "wide", tmp_path, include_excluded=True)
        [excluded] = [row for row in read_csv(path) if row["participant"] == third]
        assert excluded["excluded"] == "1"
        # The reason, escaped: it starts with "=", which a spreadsheet would run.
        assert excluded["exclusion_reason"] == "'" + EXCLUSION_REASON
        assert written.excluded_left_out == 0

        path, _ = export(study, "long", tmp_path)
        assert third not in {row["participant"] for row in read_csv(path)}
        path, _ = export(study, "long", tmp_path, include_excluded=True)
        reasons = {r["exclusion_reason"] for r in read_csv(path) if r["participant"] == third}
        assert reasons == {"'" + EXCLUSION_REASON}


def test_simulated_rows_are_marked(app, export_world, tmp_path):
    with app.app_context():
        study = studies.get_study(export_world.slug)
        fourth = export_world.code(3)
        for kind in ("wide", "long"):
            path, written = export(study, kind, tmp_path)
            rows = read_csv(path)
            assert {r["simulated"] for r in rows if r["participant"] == fourth} == {"1"}
            assert {r["simulated"] for r in rows if r["participant"] != fourth} == {"0"}
            assert written.simulated_rows == 1


def test_long_csv_equals_the_stored_answers(app, export_world, export_definition, tmp_path):
    with app.app_context():
        study = studies.get_study(export_world.slug)
        path, written = export(study, "long", tmp_path, include_excluded=True)
        rows = read_csv(path)
        answers = stored_answers(export_world.study_id)
        assert list(rows[0]) == [
            "participant",
            "wave",
            "instrument",
            "version",
            "content_hash",
            "item",
            "value",
            "answered_at",
            "delivery_mode",
            "excluded",
            "exclusion_reason",
            "simulated",
        ]
        assert len(rows) == len(answers)
        version = study.instrument_version
        for row in rows:
            answer = answers[(row["participant"], row["wave"], row["item"])]
            assert row["value"] == ("" if answer.value is None else str(answer.value))
            assert row["answered_at"] == answer.answered_at.isoformat()
            assert row["delivery_mode"] == answer.delivery_mode == "web"
            assert (row["instrument"], row["version"], row["content_hash"]) == (
                "small",
                "1.0.0",
                version.content_hash,
            )
        # P1's AA_S_2 was left empty on a submitted page: a row without a value.
        first = export_world.code(0)
        [skipped] = [
            r
            for r in rows
            if (r["participant"], r["wave"], r["item"]) == (first, "baseline", "AA_S_2")
        ]
        assert skipped["value"] == ""
        # Rows come in participant, wave and battery order.
        order = [entry.id for page in export_definition.pages() for entry in page.entries]
        first_rows = [
            r["item"] for r in rows if (r["participant"], r["wave"]) == (first, "baseline")
        ]
        assert first_rows == order
        assert written.rows == 5


def test_one_wave_only(app, export_world, tmp_path):
    with app.app_context():
        study = studies.get_study(export_world.slug)
        path, written = export(study, "wide", tmp_path, wave="week-4")
        rows = read_csv(path)
        assert [(r["participant"], r["wave"]) for r in rows] == [(export_world.code(0), "week-4")]
        assert written.filename.endswith("-week-4-wide.csv")
        with pytest.raises(UnknownWave, match="no wave 'week-99'"):
            export_to(study, "wide", tmp_path / "x", selection=Selection("week-99"), actor=None)
        assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("kind", ["wide", "long", "sav", "codebook", "model", "bundle"])
def test_every_export_is_audited_with_its_sha256(app, export_world, tmp_path, kind):
    with app.app_context():
        study = studies.get_study(export_world.slug)
        path, written = export(study, kind, tmp_path, wave="baseline")
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export_downloaded")
        ).one()
        assert event.hash_after == written.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (event.target_type, event.target_id) == ("study", str(export_world.study_id))
        version = study.instrument_version
        assert event.details == {
            "export": kind,
            "wave": "baseline",
            "include_excluded": False,
            "rows": 3,
            "excluded_left_out": 1,
            "simulated_rows": 1,
            "battery": [
                {"instrument": "small", "version": "1.0.0", "content_hash": version.content_hash}
            ],
            "instrument": "small",
            "instrument_version": "1.0.0",
            "instrument_content_hash": version.content_hash,
        }


def test_csv_cells_a_spreadsheet_would_run_are_escaped(
    app, make_study, small, answers_for, tmp_path
):
    info = make_study(small, waves=(("=1+1", "open"),))
    participant = app.test_client()
    participant.post(f"/p/{info.token}", data={"agree": "I agree"})
    participant.post(f"/p/{info.token}/page/1", data=answers_for(small.pages()[0], 3))
    with app.app_context():
        study = studies.get_study(info.slug)
        for kind in ("wide", "long"):
            path, _ = export(study, kind, tmp_path)
            text = path.read_text(encoding="utf-8")
            [cell] = {row["wave"] for row in read_csv(path)}
            assert cell == "'=1+1"
            assert "\r\n=1+1" not in text and ",=1+1" not in text


def test_a_study_without_sessions_exports_headers_only(app, make_study, small, tmp_path):
    info = make_study(small)
    with app.app_context():
        study = studies.get_study(info.slug)
        path, written = export(study, "wide", tmp_path)
        assert read_csv(path) == []
        assert path.read_text(encoding="utf-8").startswith("participant,wave,excluded,")
        assert written.rows == 0
