"""Make the golden study's files: ``python tests/survey/validation/golden/make_golden.py``.

Simulates the golden study (:data:`tests.survey.validation.test_lavaan_golden.GOLDEN`:
IEM-DP 1.1.0, 400 participants, one wave, seed 2027) in a temporary SQLite database, and
writes the platform's own wide export (``wide.csv``) and lavaan model export (``model.R``)
here. Then run ``Rscript lavaan_golden.R`` in this folder: it fits both models with lavaan
to the baseline rows and writes ``lavaan_expected.json``, which the test compares with the
validation report. Commit all four files.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))


def main() -> None:
    from flask_migrate import upgrade

    from survey import create_app
    from survey.extensions import db
    from survey.services import exports
    from tests.survey.validation.test_lavaan_golden import GOLDEN, golden_study

    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'golden.sqlite3'}"
        app = create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url}, instance_path=f"{scratch}/i"
        )
        with app.app_context():
            upgrade()
            study = golden_study()
            exports.export_to(study, "wide", HERE / "wide.csv", actor=None)
            exports.export_to(study, "model", HERE / "model.R", actor=None)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
    print(f"wrote {HERE / 'wide.csv'} and {HERE / 'model.R'} for {GOLDEN}")


if __name__ == "__main__":
    main()
