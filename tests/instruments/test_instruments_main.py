"""Tests for ``python -m instruments``."""

from __future__ import annotations

from pathlib import Path

from instruments.__main__ import main
from instruments.loader import instrument_path, load_instrument


def test_validates_every_discovered_file(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert f"iemdp 1.0.0 {load_instrument(instrument_path('iemdp', '1.0.0')).content_hash}" in out


def test_reports_problems_and_fails(tmp_path: Path, capsys):
    bad = tmp_path / "iemdp" / "1.0.0.yaml"
    bad.parent.mkdir()
    bad.write_text("format: 1\nkey: iemdp\nversion: 1.0.0\ntitel: x\n", encoding="utf-8")
    assert main([str(bad), str(instrument_path("iemdp", "1.0.0"))]) == 1
    captured = capsys.readouterr()
    assert f"{bad}: titel: unknown key" in captured.err
    assert "ok " in captured.out


def test_model_prints_the_lavaan_syntax(capsys):
    assert main(["model", str(instrument_path("iemdp", "1.0.0"))]) == 0
    captured = capsys.readouterr()
    assert "OE_BEN =~ OE_BEN_1 + OE_BEN_2 + OE_BEN_3" in captured.out
    assert "OE =~" in captured.out
    assert "reverse-keyed" in captured.err
    assert main(["model", str(instrument_path("iemdp", "1.0.0")), "--first-order"]) == 0
    assert "OE =~" not in capsys.readouterr().out


def test_scales_prints_reliability_arguments_with_keying(capsys):
    assert main(["scales", str(instrument_path("iemdp", "1.0.0"))]) == 0
    out = capsys.readouterr().out.split()
    assert out[:3] == ["--range", "1", "5"]
    assert out.count("--scale") == 24
    assert "OE_BEN=OE_BEN_1,OE_BEN_2,-OE_BEN_3" in out
    # one reverse-keyed item per subconstruct in IEM-DP 1.0.0
    assert all(arg.count(",-") + arg.startswith("-") == 1 for arg in out if "=" in arg)


def test_key_reverse_keys_the_data_and_keeps_other_columns(tmp_path: Path, capsys):
    iemdp = load_instrument(instrument_path("iemdp", "1.0.0"))
    raw = tmp_path / "answers.csv"
    row = {"participant": "p1", **{item.id: 5 for item in iemdp.items}}
    raw.write_text(",".join(row) + "\n" + ",".join(map(str, row.values())) + "\n")
    assert main(["key", str(instrument_path("iemdp", "1.0.0")), str(raw)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, values = lines[0].split(","), lines[1].split(",")
    keyed = dict(zip(header, values, strict=True))
    assert keyed["participant"] == "p1"
    assert float(keyed["OE_BEN_1"]) == 5 and float(keyed["OE_BEN_3"]) == 1


def test_bridge_commands_fail_with_one_line(tmp_path: Path, capsys):
    path = str(instrument_path("iemdp", "1.0.0"))
    assert main(["key", path, str(tmp_path / "absent.csv")]) == 1
    assert capsys.readouterr().err.strip().endswith("absent.csv: no such file")
    partial = tmp_path / "partial.csv"
    partial.write_text("OE_BEN_1\n3\n")
    assert main(["key", path, str(partial)]) == 1
    err = capsys.readouterr().err.strip()
    assert "partial.csv: frame has no column for 71 item(s)" in err and "\n" not in err
    assert main(["model", str(tmp_path / "nope.yaml")]) == 1
    assert "nope.yaml" in capsys.readouterr().err
    assert main(["scales"]) == 1


def test_validates_both_iemdp_versions(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    titled = load_instrument(instrument_path("iemdp", "1.1.0"))
    assert f"iemdp 1.1.0 {titled.content_hash}" in out
    assert out.index("iemdp 1.0.0") < out.index("iemdp 1.1.0")


def test_validates_the_mood_screener_placed_as_an_instrument_file(tmp_path: Path, capsys):
    fixture = Path(__file__).resolve().parents[1] / "fixtures/instruments/mood_screener.yaml"
    placed = tmp_path / "mood_screener" / "1.0.0.yaml"
    placed.parent.mkdir()
    placed.write_text(fixture.read_text(encoding="utf-8"), encoding="utf-8")
    assert main([str(placed)]) == 0
    assert f"ok {placed}: mood_screener 1.0.0 " in capsys.readouterr().out


def test_a_bad_safety_threshold_fails_validation(tmp_path: Path, capsys):
    fixture = Path(__file__).resolve().parents[1] / "fixtures/instruments/mood_screener.yaml"
    placed = tmp_path / "mood_screener" / "1.0.0.yaml"
    placed.parent.mkdir()
    text = fixture.read_text(encoding="utf-8")
    assert "safety_threshold: 1}" in text
    placed.write_text(text.replace("safety_threshold: 1}", "safety_threshold: 5}"))
    assert main([str(placed)]) == 1
    err = capsys.readouterr().err
    assert "items[3].safety_threshold: 5 is not a value of scale 'often4'" in err
    assert "of item MD_LOW_4" in err
