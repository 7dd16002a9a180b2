"""psychometrics is a pure analysis library: it must not import the web app, its database layer or
the instrument registry (dependencies point one way: survey -> psychometrics)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "psychometrics"
FORBIDDEN = ("flask", "sqlalchemy", "survey", "instruments")


def _forbidden(module: str) -> bool:
    top = module.split(".")[0]
    # flask_sqlalchemy, flask_wtf, ... count as flask
    return any(top == name or top.startswith(f"{name}_") for name in FORBIDDEN)


def imported_modules(tree: ast.AST):
    """Yield (line, module) for every import statement and import_module("...") call."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Call):
            func = node.func
            name = getattr(func, "attr", None) or getattr(func, "id", None)
            if name in ("import_module", "__import__") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    yield node.lineno, first.value


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_package_found():
    assert (PACKAGE / "__init__.py").is_file()
    assert len(SOURCES) > 3


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_no_app_imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = [
        f"line {line}: {module}" for line, module in imported_modules(tree) if _forbidden(module)
    ]
    assert not bad, f"{path.name} imports {', '.join(bad)}"


def test_the_checker_catches_violations():
    code = (
        "import flask\nfrom sqlalchemy.orm import Session\nimport importlib\n"
        "importlib.import_module('survey.models')\nfrom flask_wtf import FlaskForm\n"
        "import instruments.loader\nimport surveyor\n"
    )
    found = [m for _, m in sorted(imported_modules(ast.parse(code))) if _forbidden(m)]
    assert found == ["flask", "sqlalchemy.orm", "survey.models", "flask_wtf", "instruments.loader"]
