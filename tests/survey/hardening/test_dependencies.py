"""The runtime dependencies are what the packages need: pingouin serves the tests only."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# Imports every module of the three packages, and builds the app, with pingouin missing.
WITHOUT_PINGOUIN = """
import importlib, pkgutil, sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "pingouin":
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NotInstalled())
for package in ("survey", "psychometrics", "instruments"):
    for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
        importlib.import_module(info.name)
from survey import create_app
create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"}, instance_path=sys.argv[1])
assert "pingouin" not in sys.modules
"""


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_pingouin_is_in_the_test_extra_not_the_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert "pingouin" not in requirement_names(project["dependencies"])
    assert "pingouin" in requirement_names(project["optional-dependencies"]["test"])


def test_the_packages_import_and_the_app_starts_without_pingouin(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_PINGOUIN, str(tmp_path / "instance")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
