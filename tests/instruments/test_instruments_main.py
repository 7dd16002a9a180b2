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
