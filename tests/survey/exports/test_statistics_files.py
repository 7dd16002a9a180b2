"""The .sav, .dta and .rds exports read back: variable labels, value labels, missing-value
codes and values equal the wide CSV's; files joined from chunks equal one written whole."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime

import numpy as np
import pyreadr
import pyreadstat
import pytest

from survey.extensions import db
from survey.services import studies
from survey.services.exports import Selection, export_to
from survey.services.exports.readstat_frames import file_labels
from survey.services.exports.spss import ChunkMismatch, SavSink
from survey.services.exports.stata import DtaSink
from survey.services.exports.table import WideTable
from tests.survey.exports.conftest import EXCLUSION_REASON
from tests.survey.research.study_builders import make_battery_study, take_part

GENERATED = datetime(2027, 1, 1, tzinfo=UTC)


def export(study, kind, tmp_path, **selection):
    path = tmp_path / f"export.{kind}"
    export_to(study, kind, path, selection=Selection(**selection), actor=None)
    db.session.commit()
    return path


def wide_rows(study, tmp_path, **selection) -> list[dict[str, str]]:
    path = export(study, "wide", tmp_path, **selection)
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def assert_same_numbers(frame, rows, names):
    """Every numeric cell of ``frame`` (read back, missing as NaN) equals the CSV's."""
    for index, row in enumerate(rows):
        for csv_name, file_name in names.items():
            value = frame[file_name].iloc[index]
            if row[csv_name] == "":
                assert value is None or (isinstance(value, float) and math.isnan(value)), (
                    index,
                    csv_name,
                    value,
                )
            else:
                assert float(value) == pytest.approx(float(row[csv_name]), rel=1e-12)


def numeric_columns(rows):
    skip = {"participant", "wave", "exclusion_reason", "started_at", "completed_at", "battery"}
    return [name for name in rows[0] if name not in skip]


def test_sav_has_labels_missing_codes_and_the_values(
    app, export_world, export_definition, tmp_path
):
    with app.app_context():
        study = studies.get_study(export_world.slug)
        rows = wide_rows(study, tmp_path, include_excluded=True)
        path = export(study, "sav", tmp_path, include_excluded=True)
        frame, meta = pyreadstat.read_sav(path)
        raw, raw_meta = pyreadstat.read_sav(path, user_missing=True)

        assert meta.number_rows == len(rows) == 5
        item = export_definition.entry("AA_S_1")
        assert meta.column_names_to_labels["AA_S_1"] == item.text
        assert meta.column_names_to_labels["AA_S"].startswith("Mean of AA_S_1, AA_S_2, AA_S_3")
        assert (
            "longest run of identical answers ≥ 10"
            in meta.column_names_to_labels["flag_longstring"]
        )
        assert meta.variable_value_labels["AA_S_1"] == {
            1.0: "Disagree",
            2.0: "Neutral",
            3.0: "Agree",
            -9.0: "not answered",
        }
        assert meta.variable_value_labels["flag_any"] == {0.0: "No", 1.0: "Yes"}
        assert raw_meta.missing_ranges["AA_S_2"] == [{"lo": -9.0, "hi": -9.0}]
        # P1's AA_S_2, left empty on a submitted page: -9 (user-missing), NaN when applied.
        assert raw["AA_S_2"].iloc[0] == -9.0 and math.isnan(frame["AA_S_2"].iloc[0])
        # P2 never reached page 2: system missing, not -9.
        assert math.isnan(raw["BB_S_1"].iloc[2])
        assert_same_numbers(frame, rows, {name: name for name in numeric_columns(rows)})
        assert list(frame["participant"]) == [row["participant"] for row in rows]
        assert frame["exclusion_reason"].iloc[3] == EXCLUSION_REASON
        assert frame["started_at"].iloc[0].isoformat() == "2027-03-01T09:00:00"
        version = study.instrument_version
        assert meta.file_label == f"small 1.0.0 sha256:{version.content_hash[:12]}"
        assert version.content_hash in meta.notes
        assert any("simulated = 1" in note for note in meta.notes)
        assert frame["simulated"].tolist() == [0, 0, 0, 0, 1]


def test_dta_has_labels_extended_missing_and_the_values(
    app, export_world, export_definition, tmp_path
):
    with app.app_context():
        study = studies.get_study(export_world.slug)
        rows = wide_rows(study, tmp_path, include_excluded=True)
        path = export(study, "dta", tmp_path, include_excluded=True)
        frame, meta = pyreadstat.read_dta(path)
        raw, raw_meta = pyreadstat.read_dta(path, user_missing=True)

        assert meta.number_rows == 5
        assert meta.column_names_to_labels["AA_S_1"] == export_definition.entry("AA_S_1").text
        assert meta.variable_value_labels["AA_S_1"] == {
            1: "Disagree",
            2: "Neutral",
            3: "Agree",
            "a": "not answered",
        }
        assert raw_meta.missing_user_values["AA_S_2"] == ["a"]
        assert raw["AA_S_2"].iloc[0] == "a" and math.isnan(frame["AA_S_2"].iloc[0])
        assert math.isnan(raw["BB_S_1"].iloc[2])
        assert_same_numbers(frame, rows, {name: name for name in numeric_columns(rows)})
        assert list(frame["participant"]) == [row["participant"] for row in rows]
        assert frame["wave"].tolist() == [row["wave"] for row in rows]
        assert meta.file_label.startswith(f"{study.slug}: small 1.0.0 sha256:")
        assert frame["battery"].iloc[0].endswith(study.instrument_version.content_hash)
        assert frame["simulated"].tolist() == [0, 0, 0, 0, 1]


def test_rds_is_a_data_frame_with_factors(app, export_world, export_definition, tmp_path):
    with app.app_context():
        study = studies.get_study(export_world.slug)
        rows = wide_rows(study, tmp_path)
        frame = pyreadr.read_r(export(study, "rds", tmp_path))[None]
        assert list(frame.columns) == list(rows[0])
        labels = {1: "Disagree", 2: "Neutral", 3: "Agree"}
        for index, row in enumerate(rows):
            for entry in (e for page in export_definition.pages() for e in page.entries):
                value = frame[entry.id].iloc[index]
                expected = labels[int(row[entry.id])] if row[entry.id] else None
                assert (value if isinstance(value, str) else None) == expected
        assert list(frame["AA_S_1"].cat.categories) == ["Disagree", "Neutral", "Agree"]
        items = {entry.id for page in export_definition.pages() for entry in page.entries}
        numbers = [name for name in numeric_columns(rows) if name not in items]
        assert_same_numbers(frame, rows, {name: name for name in numbers})
        assert frame["started_at"].iloc[0] == rows[0]["started_at"]
        assert frame["simulated"].tolist() == [0, 0, 0, 1]


def _chunked(study, selection, chunk_size, sink_of):
    table = WideTable(study, selection, chunk_size=chunk_size)
    sink = sink_of(table.layout)
    for chunk in table.chunks():
        sink.add(chunk)
    sink.finish()
    return table


@pytest.mark.parametrize("suffix", [".sav", ".dta"])
def test_chunks_joined_read_back_as_one_file(app, export_world, tmp_path, suffix):
    with app.app_context():
        study = studies.get_study(export_world.slug)
        selection = Selection(include_excluded=True)
        frames = []
        for chunk_size in (1, 2, 500):
            path = tmp_path / f"chunks-{chunk_size}{suffix}"

            def sink_of(layout, path=path):
                labels = file_labels(study, layout, "all", GENERATED)
                if suffix == ".sav":
                    return SavSink(layout, path, tmp_path, notes=labels.notes, label=labels.sav)
                return DtaSink(layout, path, tmp_path, label=labels.dta)

            table = _chunked(study, selection, chunk_size, sink_of)
            read = pyreadstat.read_sav if suffix == ".sav" else pyreadstat.read_dta
            frame, meta = read(path, user_missing=True)
            assert meta.number_rows == table.rows == 5
            frames.append(frame)
        for frame in frames[:2]:
            assert frame.equals(frames[2])
            assert (frame["participant"] == frames[2]["participant"]).all()


def test_a_chunk_with_another_dictionary_stops_the_sav(app, export_world, tmp_path):
    with app.app_context():
        study = studies.get_study(export_world.slug)
        table = WideTable(study, Selection(include_excluded=True), chunk_size=2)
        labels = file_labels(study, table.layout, "all", GENERATED)
        sink = SavSink(
            table.layout, tmp_path / "x.sav", tmp_path, notes=labels.notes, label=labels.sav
        )
        chunks = table.chunks()
        sink.add(next(chunks))
        sink.metadata["column_labels"]["AA_S_1"] = "another label"
        with pytest.raises(ChunkMismatch, match="differs from the first chunk's"):
            sink.add(next(chunks))


def test_a_battery_gets_names_spss_and_stata_accept(app, small, tmp_path):
    with app.app_context():
        study = make_battery_study(small, participants=2, slug="battery-export")
        take_part(study.tokens[0], pages=3)
        db.session.commit()
        rows = wide_rows(study, tmp_path)
        assert "small.AA_S_1" in rows[0] and "mood_screener.MD_LOW_1" in rows[0]
        assert "small.AA_S" in rows[0]  # scores prefixed like the items
        frame, meta = pyreadstat.read_dta(export(study, "dta", tmp_path))
        assert "small_AA_S_1" in meta.column_names and "mood_screener_MD_LOW_1" in meta.column_names
        assert all("." not in name and len(name) <= 32 for name in meta.column_names)
        assert frame["small_AA_S_1"].iloc[0] == float(rows[0]["small.AA_S_1"])
        sav, _ = pyreadstat.read_sav(export(study, "sav", tmp_path))
        assert list(sav.columns) == list(frame.columns)
        assert not np.isnan(sav["small_AA_S_1"].iloc[0])


def test_no_sessions_still_writes_readable_files(app, make_study, small, tmp_path):
    info = make_study(small)
    with app.app_context():
        study = studies.get_study(info.slug)
        for kind, read in (("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)):
            frame, meta = read(export(study, kind, tmp_path))
            assert meta.number_rows == 0 and "AA_S_1" in meta.column_names
        assert len(pyreadr.read_r(export(study, "rds", tmp_path))[None]) == 0
