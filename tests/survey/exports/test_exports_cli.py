"""`flask exports KIND STUDY [-o FILE] [--wave W] [--include-excluded]`: every kind writes
its file, text kinds go to standard output, and every error names the problem, exits
non-zero and leaves no file behind."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import pyreadr
import pyreadstat
import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent

BINARY = ("sav", "dta", "rds", "bundle")


@pytest.fixture
def out_dir(tmp_path):
    """An empty directory for the files (tmp_path also holds the SQLite database)."""
    path = tmp_path / "out"
    path.mkdir()
    return path


def exports_events(app) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export_downloaded"))
        )


@pytest.mark.parametrize(
    ("kind", "filename"),
    [
        ("long", "long.csv"),
        ("wide", "wide.csv"),
        ("sav", "study.sav"),
        ("dta", "study.dta"),
        ("rds", "study.rds"),
        ("codebook", "codebook.html"),
        ("codebook", "codebook.json"),
        ("model", "model.R"),
        ("bundle", "bundle.zip"),
    ],
)
def test_each_kind_writes_its_file_and_says_what_it_left_out(
    app, runner, export_world, out_dir, kind, filename
):
    out = out_dir / filename
    result = runner.invoke(args=["exports", kind, export_world.slug, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out_dir.iterdir()) == [filename]  # no temporary file left
    data = out.read_bytes()
    if filename.endswith(".csv"):
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
        assert export_world.code(2) not in {row["participant"] for row in rows}
    elif filename.endswith(".sav"):
        assert pyreadstat.read_sav(out)[1].number_rows == 4
    elif filename.endswith(".dta"):
        assert pyreadstat.read_dta(out)[1].number_rows == 4
    elif filename.endswith(".rds"):
        assert len(pyreadr.read_r(out)[None]) == 4
    elif filename.endswith(".json"):
        assert json.loads(data)["counts"]["excluded_left_out"] == 1
    elif filename.endswith(".html"):
        assert data.startswith(b"<!doctype html>")
    elif filename.endswith(".zip"):
        assert "README.txt" in zipfile.ZipFile(out).namelist()
    else:
        assert b"lavaan" in data
    digest = hashlib.sha256(data).hexdigest()
    assert "1 excluded session(s) left out (--include-excluded keeps them)" in result.stderr
    assert "1 SIMULATED row(s)" in result.stderr and digest in result.stderr
    [event] = exports_events(app)
    assert event.hash_after == digest
    assert event.details["export"] == ("codebook_json" if filename.endswith(".json") else kind)


@pytest.mark.parametrize("kind", ["long", "wide", "codebook", "model"])
def test_text_kinds_go_to_standard_output(app, runner, export_world, kind):
    result = runner.invoke(args=["exports", kind, export_world.slug, "--wave", "week-4"])
    assert result.exit_code == 0, result.output
    assert "no excluded session left out" in result.stderr
    [event] = exports_events(app)
    assert event.hash_after == hashlib.sha256(result.stdout_bytes).hexdigest()
    assert event.details["wave"] == "week-4"
    if kind == "wide":
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert [(r["participant"], r["wave"]) for r in rows] == [(export_world.code(0), "week-4")]


def test_include_excluded_keeps_them_marked(app, runner, export_world, out_dir):
    out = out_dir / "wide.csv"
    args = ["exports", "wide", export_world.slug, "-o", str(out), "--include-excluded"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    rows = {r["participant"]: r for r in csv.DictReader(io.StringIO(out.read_text("utf-8")))}
    assert rows[export_world.code(2)]["excluded"] == "1"
    assert "no excluded session left out" in result.stderr


@pytest.mark.parametrize("kind", BINARY)
def test_binary_kinds_need_an_output_file(app, runner, export_world, kind):
    result = runner.invoke(args=["exports", kind, export_world.slug])
    assert result.exit_code == 2
    assert f"{kind} is a binary format: give -o FILE" in result.stderr
    assert exports_events(app) == []


def test_an_unknown_study_is_named(app, runner, out_dir):
    out = out_dir / "x.csv"
    result = runner.invoke(args=["exports", "wide", "no-such-study", "-o", str(out)])
    assert result.exit_code == 1
    assert "no study with the slug 'no-such-study'" in result.stderr
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("kind", ["wide", "sav", "bundle"])
def test_an_unknown_wave_is_named_and_leaves_no_file(app, runner, export_world, out_dir, kind):
    out = out_dir / f"x.{kind}"
    result = runner.invoke(
        args=["exports", kind, export_world.slug, "-o", str(out), "--wave", "w9"]
    )
    assert result.exit_code == 1
    assert f"study '{export_world.slug}' has no wave 'w9' (its waves: baseline, week-4)" in (
        result.stderr
    )
    assert list(out_dir.iterdir()) == []
    assert exports_events(app) == []


def test_an_unwritable_path_is_named(app, runner, export_world, out_dir):
    missing = out_dir / "no" / "such" / "dir" / "wide.csv"
    result = runner.invoke(args=["exports", "wide", export_world.slug, "-o", str(missing)])
    assert result.exit_code == 1
    assert f"cannot write {missing}: {missing.parent} is not a directory" in result.stderr

    a_file = out_dir / "plain-file"
    a_file.write_text("x")
    inside = a_file / "wide.csv"
    result = runner.invoke(args=["exports", "wide", export_world.slug, "-o", str(inside)])
    assert result.exit_code == 1
    assert f"cannot write {inside}: {a_file} is not a directory" in result.stderr

    result = runner.invoke(args=["exports", "wide", export_world.slug, "-o", str(out_dir)])
    assert result.exit_code == 1
    assert f"cannot write {out_dir}: it is a directory" in result.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == ["plain-file"]
    assert exports_events(app) == []


def test_an_existing_file_is_replaced_whole(app, runner, export_world, out_dir):
    out = out_dir / "wide.csv"
    out.write_text("old contents\n" * 1000)
    result = runner.invoke(args=["exports", "wide", export_world.slug, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text("utf-8").startswith("participant,wave,excluded,")
    assert "old contents" not in out.read_text("utf-8")
