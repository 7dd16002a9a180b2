"""Outcome and covariate uploads (survey.services.outcomes): every rejection, nothing stored
on error, versions kept, external ids, per-wave and per-participant rows, the records the
simulation hands over, the template and the download round trip."""

from __future__ import annotations

import hashlib
import math

import pytest
from sqlalchemy import func, select

from survey.models import AuditAction, AuditEvent, OutcomeSource, OutcomeUpload, OutcomeValue
from survey.models.participant import participant_code
from survey.services import accounts, instruments, outcomes, studies
from survey.services.invitations import hash_external_id
from survey.services.outcomes import OutcomeFileInvalid, OutcomeRecords

KEY = b"outcome test external id key"


@pytest.fixture
def study(db_session, small):
    """An open study of ``small`` with waves baseline and week-4, 60 participants by link
    and two by external id (``ext-1``, ``ext-2``)."""
    version, _ = instruments.import_definition(small)
    study = studies.create_study(
        name="Outcome study",
        slug="outcome-study",
        instrument_version=version,
        consent_text="Agree?",
        consent_version="v1",
        urgent_help_note="Call 112.",
        status="open",
    )
    studies.add_wave(study, key="baseline", label="Baseline")
    studies.add_wave(study, key="week-4", label="Week 4")
    studies.add_participants(study, 60)
    studies.add_participants(
        study, 2, external_id_hashes=[hash_external_id(e, KEY) for e in ("ext-1", "ext-2")]
    )
    db_session.flush()
    return study


@pytest.fixture
def researcher(db_session):
    user = accounts.create_user("outcomes@example.org", "a long password 1234", "researcher")
    db_session.flush()
    return user


def codes(study) -> list[str]:
    return [p.code for p in sorted(study_participants(study), key=lambda p: p.id)]


def study_participants(study):
    from survey.models import Participant

    return list(
        outcomes.db.session.scalars(select(Participant).where(Participant.study_id == study.id))
    )


def csv_bytes(*lines: str, bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n").encode("utf-8")


def parse(study, data: bytes, **kwargs):
    return outcomes.parse_outcomes_csv(study, data, "outcomes.csv", **kwargs)


def problems_of(study, data: bytes, **kwargs) -> list[str]:
    with pytest.raises(OutcomeFileInvalid) as caught:
        parse(study, data, **kwargs)
    return caught.value.problems


def stored_counts(db_session) -> tuple[int, int, int]:
    return (
        db_session.scalar(select(func.count()).select_from(OutcomeUpload)),
        db_session.scalar(select(func.count()).select_from(OutcomeValue)),
        db_session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == AuditAction.OUTCOMES_UPLOADED)
        ),
    )


# -- reading a valid file ------------------------------------------------------------------
def test_a_per_wave_file_is_read_with_kinds_and_sorted_levels(db_session, study):
    c = codes(study)
    data = csv_bytes(
        "participant,wave,messages_sent,age_group,score",
        f"{c[0]},baseline,12,26-35,0.5",
        f"{c[0]},week-4,3,26-35,NA",
        f"{c[1]},baseline,,18-25,-1e2",
        f"{c[2]},,7,NA,",
        bom=True,
    )
    parsed = parse(study, data)
    assert [(col.name, col.kind, col.levels) for col in parsed.columns] == [
        ("messages_sent", "numeric", ()),
        ("age_group", "categorical", ("18-25", "26-35")),
        ("score", "numeric", ()),
    ]
    baseline, week4 = (w.id for w in study.waves)
    ids = [int(code[1:]) for code in c]
    assert parsed.rows == (
        (ids[0], baseline, (12.0, "26-35", 0.5)),
        (ids[0], week4, (3.0, "26-35", None)),
        (ids[1], baseline, (None, "18-25", -100.0)),
        (ids[2], None, (7.0, None, None)),
    )


def test_a_column_with_one_non_number_is_categorical(db_session, study):
    c = codes(study)
    data = csv_bytes("participant,group", f"{c[0]},1", f"{c[1]},2", f"{c[2]},1,5")
    assert "row 4: 3 cells, but the header has 2 columns" in problems_of(study, data)
    data = csv_bytes("participant,group", f"{c[0]},1", f"{c[1]},2", f"{c[2]},1.5x")
    (column,) = parse(study, data).columns
    assert (column.kind, column.levels) == ("categorical", ("1", "1.5x", "2"))


def test_external_ids_are_matched_through_their_hash(db_session, study):
    ext = sorted((p for p in study_participants(study) if p.external_id_hash), key=lambda p: p.id)
    data = csv_bytes("External_ID,messages_sent", " ext-2 ,4", "ext-1,9")
    parsed = parse(study, data, external_id_key=KEY)
    assert parsed.rows == ((ext[1].id, None, (4.0,)), (ext[0].id, None, (9.0,)))
    assert problems_of(study, csv_bytes("external_id,x", "ext-9,1"), external_id_key=KEY) == [
        "row 2: external id 'ext-9' is not in this study"
    ]
    assert problems_of(study, csv_bytes("external_id,x", "ext-1,1")) == [
        "external ids cannot be matched: the server has no external-id key"
    ]


# -- every rejection, one by one ---------------------------------------------------------
def rejection_cases(c: list[str]) -> dict[str, tuple[bytes, str]]:
    long_text = "x" * 201
    return {
        "empty": (b"", "outcomes.csv: the file is empty (no header row, no data)"),
        "blank": (b"\r\n \r\n", "outcomes.csv: the file is empty (no header row, no data)"),
        "header only": (
            csv_bytes("participant,messages_sent"),
            "outcomes.csv: only a header row, no data rows: add one row per participant "
            "(or per participant and wave)",
        ),
        "no identification": (
            csv_bytes("code,messages_sent", f"{c[0]},1"),
            "outcomes.csv: no identification column: name one column 'participant' "
            "(codes like P000042) or 'external_id'",
        ),
        "semicolons": (
            csv_bytes("participant;messages_sent", f"{c[0]};1"),
            "outcomes.csv: no identification column: name one column 'participant' "
            "(codes like P000042) or 'external_id' (the header is one column: is the file "
            "separated by ; or tabs?)",
        ),
        "both": (
            csv_bytes("participant,external_id,x", f"{c[0]},ext-1,1"),
            "outcomes.csv: both or twice 'participant' and 'external_id': identify "
            "participants by one column, 'participant' or 'external_id'",
        ),
        "no outcome column": (
            csv_bytes("participant,wave", f"{c[0]},baseline"),
            "no outcome column: add at least one named column besides participant "
            "(or external_id) and wave",
        ),
        "unknown participant": (
            csv_bytes("participant,x", "P999999,1"),
            "row 2: participant P999999 is not in this study",
        ),
        "not a code": (
            csv_bytes("participant,x", "Alice,1"),
            "row 2: 'Alice' is not a participant code (like P000042)",
        ),
        "no code": (csv_bytes("participant,x", ",1", f"{c[0]},2"), "row 2: no participant code"),
        "unknown wave": (
            csv_bytes("participant,wave,x", f"{c[0]},week-9,1"),
            "row 2: wave 'week-9' is not a wave of this study (its waves: baseline, week-4)",
        ),
        "duplicate row": (
            csv_bytes("participant,wave,x", f"{c[0]},baseline,1", f"{c[0]},baseline,2"),
            f"row 3: participant {c[0]} and wave 'baseline' again (first in row 2)",
        ),
        "duplicate participant row": (
            csv_bytes("participant,x", f"{c[0]},1", f"{c[1]},1", f"{c[0]},2"),
            f"row 4: participant {c[0]} and the participant again (first in row 2)",
        ),
        "too many levels": (
            csv_bytes("participant,note", *(f"{c[i]},t{i}" for i in range(51))),
            "column 'note' has 51 different values, more than 50 for a category: is it an id "
            "or free text? Outcomes are numbers or categories.",
        ),
        "long cell": (
            csv_bytes("participant,note", f"{c[0]},{long_text}"),
            "row 2, column 'note': the cell has 201 characters (at most 200)",
        ),
        "ragged": (
            csv_bytes("participant,x,y", f"{c[0]},1,2", f"{c[1]},1"),
            "row 3: 2 cells, but the header has 3 columns",
        ),
        "bad name": (
            csv_bytes("participant,2nd wave", f"{c[0]},1"),
            "column '2nd wave' must start with a letter, then letters, digits or _ (R, SPSS, "
            "Stata)",
        ),
        "long name": (
            csv_bytes("participant," + "a" * 33, f"{c[0]},1"),
            f"column '{'a' * 33}' is 33 characters long; at most 32 (Stata's limit)",
        ),
        "reserved name": (
            csv_bytes("participant,Excluded", f"{c[0]},1"),
            "column 'Excluded' is a reserved name (of the exports, R, SPSS or Stata)",
        ),
        "an item's name": (
            csv_bytes("participant,aa_s_1", f"{c[0]},1"),
            "column 'aa_s_1' is already an item of small of this study's battery",
        ),
        "duplicate name": (
            csv_bytes("participant,Score,score", f"{c[0]},1,2"),
            "column 'score': the same name as column 'Score' (names are compared without case)",
        ),
        "unnamed column": (
            csv_bytes("participant,,x", f"{c[0]},1,2"),
            "column 2 has no name in the header",
        ),
        "empty column": (
            csv_bytes("participant,x,y", f"{c[0]},1,", f"{c[1]},2,NA"),
            "column 'y' is empty in every row",
        ),
        "not utf-8": (
            "participant,town\r\nP000001,Zürich\r\n".encode("latin-1"),
            "outcomes.csv: not valid UTF-8 (byte 0xfc at offset 27); save it as 'CSV UTF-8'",
        ),
        "binary": (
            b"\x00\x01\x02participant",
            "outcomes.csv: this is a binary file, not a CSV text file: save the table as "
            "'CSV UTF-8 (comma delimited)'",
        ),
        "excel": (
            b"PK\x03\x04rest of a workbook",
            "outcomes.csv: this is an Excel workbook or a zip, not a CSV text file: save the "
            "table as 'CSV UTF-8 (comma delimited)'",
        ),
        "too large": (
            b"participant,x\r\n" + b"P000001,1\r\n" * 1_000_000,
            "outcomes.csv: the file is 11.0 MB (11,000,015 bytes); the limit is 10 MB",
        ),
    }


@pytest.mark.parametrize("case", list(rejection_cases(["P000001"] * 62)))
def test_each_rejection_names_the_problem_and_stores_nothing(db_session, study, researcher, case):
    data, expected = rejection_cases(codes(study))[case]
    before = stored_counts(db_session)
    problems = problems_of(study, data)
    assert expected in problems, problems
    assert stored_counts(db_session) == before == (0, 0, 0)


def test_every_problem_of_one_file_is_listed_at_once(db_session, study):
    c = codes(study)
    data = csv_bytes(
        "participant,wave,2x,Score,score,excluded,note",
        "P999999,baseline,1,1,1,1,a",
        f"{c[0]},week-9,1,1,1,1,a",
        f"{c[1]},baseline,1,1,1,1,{'y' * 250}",
        f"{c[1]},baseline,1,1,1,1,b",
        f"{c[2]},baseline,1,1",
        "Bob,,1,1,1,1,c",
    )
    before = stored_counts(db_session)
    assert problems_of(study, data) == [
        "row 2: participant P999999 is not in this study",
        "row 3: wave 'week-9' is not a wave of this study (its waves: baseline, week-4)",
        "row 6: 4 cells, but the header has 7 columns",
        "row 7: 'Bob' is not a participant code (like P000042)",
        "column '2x' must start with a letter, then letters, digits or _ (R, SPSS, Stata)",
        "column 'score': the same name as column 'Score' (names are compared without case)",
        "column 'excluded' is a reserved name (of the exports, R, SPSS or Stata)",
        "row 4, column 'note': the cell has 250 characters (at most 200)",
        f"row 5: participant {c[1]} and wave 'baseline' again (first in row 4)",
    ]
    assert stored_counts(db_session) == before


def test_problems_past_the_limit_are_counted(db_session, study):
    lines = ["participant,x", *(f"P9{n:05d},1" for n in range(outcomes.MAX_PROBLEMS + 5))]
    problems = problems_of(study, csv_bytes(*lines))
    assert len(problems) == outcomes.MAX_PROBLEMS + 1
    assert problems[-1] == "... and 5 more problems not listed."


# -- storing -----------------------------------------------------------------------------
def test_a_file_is_stored_as_a_version_with_its_hash_and_audited(db_session, study, researcher):
    c = codes(study)
    data = csv_bytes("participant,wave,messages_sent,group", f"{c[0]},baseline,4,a", f"{c[1]},,,b")
    upload = outcomes.store_outcomes(
        study, parse(study, data), filename="engagement.csv", actor=researcher
    )
    assert (upload.version, upload.source, upload.filename, upload.row_count) == (
        1,
        OutcomeSource.UPLOAD,
        "engagement.csv",
        2,
    )
    assert upload.sha256 == hashlib.sha256(data).hexdigest()
    assert upload.columns == [
        {"name": "messages_sent", "kind": "numeric"},
        {"name": "group", "kind": "categorical", "levels": ["a", "b"]},
    ]
    assert (upload.simulated, upload.uploaded_by_id) == (False, researcher.id)
    cells = db_session.execute(
        select(
            OutcomeValue.participant_id,
            OutcomeValue.wave_id,
            OutcomeValue.name,
            OutcomeValue.number,
            OutcomeValue.text,
        )
        .where(OutcomeValue.upload_id == upload.id)
        .order_by(OutcomeValue.id)
    ).all()
    baseline = study.waves[0].id
    first, second = int(c[0][1:]), int(c[1][1:])
    assert [tuple(row) for row in cells] == [
        (first, baseline, "messages_sent", 4.0, None),
        (first, baseline, "group", None, "a"),
        (second, None, "messages_sent", None, None),
        (second, None, "group", None, "b"),
    ]
    (event,) = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.OUTCOMES_UPLOADED)
    )
    assert (event.target_type, event.target_id, event.hash_after) == (
        "study",
        str(study.id),
        upload.sha256,
    )
    assert event.details["outcome_version"] == 1
    assert event.details["columns"] == ["messages_sent", "group"]


def test_a_new_upload_is_a_new_version_and_the_old_one_is_kept(db_session, study, researcher):
    c = codes(study)
    first = outcomes.store_outcomes(
        study,
        parse(study, csv_bytes("participant,x", f"{c[0]},1")),
        filename="a.csv",
        actor=researcher,
    )
    second = outcomes.store_outcomes(
        study,
        parse(study, csv_bytes("participant,y", f"{c[1]},2")),
        filename="b.csv",
        actor=researcher,
    )
    assert (first.version, second.version) == (1, 2)
    assert [u.version for u in outcomes.uploads_of(study)] == [2, 1]
    current = outcomes.current_outcomes(study)
    assert current.upload.id == second.id and current.names == ("y",)
    assert outcomes.outcomes_of(first).rows == {(int(c[0][1:]), None): {"x": 1.0}}
    assert stored_counts(db_session) == (2, 2, 2)


def test_no_outcomes_yet(db_session, study):
    assert outcomes.current_outcomes(study) is None
    assert outcomes.uploads_of(study) == []


# -- records (the simulation's way in) ------------------------------------------------------
def test_records_are_checked_by_the_same_rules_and_stored(db_session, study):
    ids = sorted(p.id for p in study_participants(study))
    baseline, week4 = (w.id for w in study.waves)
    records = OutcomeRecords(
        columns=[
            {"name": "messages_sent", "kind": "numeric"},
            {"name": "dropped_out", "kind": "numeric"},
            {"name": "mode", "kind": "categorical", "levels": ["web", "chat"]},
        ],
        rows=[
            (ids[0], baseline, {"messages_sent": 3, "dropped_out": False, "mode": "chat"}),
            (ids[0], week4, {"messages_sent": 2.5, "dropped_out": True}),
            (ids[1], None, {"mode": "web"}),
        ],
    )
    upload = outcomes.store_outcomes(
        study,
        records,
        filename="simulation",
        source=OutcomeSource.SIMULATION,
        actor=None,
        simulated=True,
    )
    assert (upload.source, upload.simulated, upload.row_count) == ("simulation", True, 3)
    assert upload.columns[2] == {"name": "mode", "kind": "categorical", "levels": ["web", "chat"]}
    table = outcomes.current_outcomes(study)
    assert table.rows[(ids[0], week4)] == {"messages_sent": 2.5, "dropped_out": 1.0, "mode": None}
    # the hash of records is the hash of the version's CSV download
    download = "".join(outcomes.outcomes_csv_lines(upload)).encode("utf-8")
    assert upload.sha256 == hashlib.sha256(download).hexdigest()


def test_records_with_problems_are_refused_naming_each(db_session, study):
    baseline = study.waves[0].id
    other = max(p.id for p in study_participants(study)) + 100
    records = OutcomeRecords(
        columns=[
            {"name": "wave", "kind": "numeric"},
            {"name": "g", "kind": "ordinal"},
            {"name": "c", "kind": "categorical", "levels": ["a"]},
        ],
        rows=[
            (other, baseline, {"wave": 1}),
            (min(p.id for p in study_participants(study)), 99_999, {"wave": "x", "c": "b"}),
            (min(p.id for p in study_participants(study)), 99_999, {"zz": 1, "wave": math.inf}),
        ],
    )
    before = stored_counts(db_session)
    with pytest.raises(OutcomeFileInvalid) as caught:
        outcomes.store_outcomes(study, records, filename="sim", actor=None)
    first = participant_code(min(p.id for p in study_participants(study)))
    assert (
        caught.value.problems
        == [
            "column 'wave' is a reserved name (of the exports, R, SPSS or Stata)",
            "column 'g': kind 'ordinal' is not numeric or categorical",
            f"record 1: participant {participant_code(other)} is not in this study",
            "record 2: wave 99999 is not a wave of this study",
            "record 2, column 'wave': 'x' is not a finite number",
            "record 2, column 'c': 'b' is not one of its levels",
            "record 3: wave 99999 is not a wave of this study",
            f"record 3: participant {first} and the participant again (first in record 2)",
            "record 3: 'zz' is not one of the columns",
            "record 3, column 'wave': inf is not a finite number",
            "column 'g' is empty in every row",
        ]
        or caught.value.problems
    )
    assert stored_counts(db_session) == before


# -- reading back, the download and the template -------------------------------------------
def test_the_download_reads_back_as_the_same_values(db_session, study, researcher):
    c = codes(study)
    data = csv_bytes(
        "participant,wave,messages_sent,note",
        f"{c[1]},week-4,1.50,'=SUM(A1)",
        f'{c[0]},baseline,1e3,"a, b"',
        f"{c[0]},,NA,-",
        f"{c[1]},baseline,-2,",
    )
    first = outcomes.store_outcomes(study, parse(study, data), filename="a.csv", actor=researcher)
    download = "".join(outcomes.outcomes_csv_lines(first))
    assert download.splitlines() == [
        "participant,wave,messages_sent,note",
        f"{c[0]},,,'-",
        f'{c[0]},baseline,1000,"a, b"',
        f"{c[1]},baseline,-2,",
        f"{c[1]},week-4,1.5,'=SUM(A1)",
    ]
    again = outcomes.store_outcomes(
        study, parse(study, download.encode("utf-8")), filename="b.csv", actor=researcher
    )
    assert outcomes.outcomes_of(again).rows == outcomes.outcomes_of(first).rows
    assert outcomes.outcomes_of(first).rows[(int(c[1][1:]), study.waves[1].id)] == {
        "messages_sent": 1.5,
        "note": "=SUM(A1)",
    }
    assert again.columns == first.columns


def test_values_for_joins_per_wave_over_per_participant_values(db_session, study, researcher):
    c = codes(study)
    data = csv_bytes(
        "participant,wave,age_group,messages_sent",
        f"{c[0]},,26-35,",
        f"{c[0]},week-4,,5",
        f"{c[1]},baseline,18-25,2",
    )
    outcomes.store_outcomes(study, parse(study, data), filename="a.csv", actor=researcher)
    table = outcomes.current_outcomes(study)
    baseline, week4 = (w.id for w in study.waves)
    first, second = int(c[0][1:]), int(c[1][1:])
    assert table.values_for(first, week4) == {"age_group": "26-35", "messages_sent": 5.0}
    assert table.values_for(first, baseline) == {"age_group": "26-35", "messages_sent": None}
    assert table.values_for(second, week4) == {"age_group": None, "messages_sent": None}
    frame = table.frame()
    assert list(frame.columns) == [
        "participant_id",
        "participant",
        "wave_id",
        "wave",
        "age_group",
        "messages_sent",
    ]
    assert frame["participant"].tolist() == [c[0], c[0], c[1]]
    assert frame["wave"].tolist()[1:] == ["week-4", "baseline"]
    assert frame["wave"].isna().tolist() == [True, False, False]
    assert list(frame["age_group"].cat.categories) == ["18-25", "26-35"]
    assert math.isnan(frame["messages_sent"][0]) and frame["messages_sent"][1] == 5.0


def test_the_template_lists_the_study_participants_and_waves(db_session, study):
    c = codes(study)
    per_wave = "".join(outcomes.template_csv_lines(study, per_wave=True)).splitlines()
    assert per_wave[:4] == [
        "participant,wave",
        f"{c[0]},baseline",
        f"{c[0]},week-4",
        f"{c[1]},baseline",
    ]
    assert len(per_wave) == 1 + 2 * len(c)
    per_participant = "".join(outcomes.template_csv_lines(study, per_wave=False)).splitlines()
    assert per_participant == ["participant", *c]


def test_a_filled_template_is_accepted(db_session, study):
    lines = "".join(outcomes.template_csv_lines(study, per_wave=True)).splitlines()
    filled = [lines[0] + ",active_weeks", *(f"{line},{n % 4}" for n, line in enumerate(lines[1:]))]
    parsed = parse(study, csv_bytes(*filled))
    assert parsed.row_count == 2 * len(codes(study))
    assert parsed.columns[0].kind == "numeric"


@pytest.mark.parametrize(
    ("name", "problems"),
    [
        ("delivery_mode", []),
        ("age_group2", []),
        ("a" * 32, []),
        ("str80", ["'str80' is a reserved name (of the exports, R, SPSS or Stata)"]),
        ("NULL", ["'NULL' is a reserved name (of the exports, R, SPSS or Stata)"]),
        ("with", ["'with' is a reserved name (of the exports, R, SPSS or Stata)"]),
        ("_x", ["'_x' must start with a letter, then letters, digits or _ (R, SPSS, Stata)"]),
        (
            "age.group",
            ["'age.group' must start with a letter, then letters, digits or _ (R, SPSS, Stata)"],
        ),
        ("größe", ["'größe' must start with a letter, then letters, digits or _ (R, SPSS, Stata)"]),
    ],
)
def test_names_usable_in_r_spss_and_stata(name, problems):
    assert outcomes.name_problems(name) == problems
