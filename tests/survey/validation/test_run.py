"""validate_data: every section per instrument, progress, warnings, same inputs → same JSON."""

from __future__ import annotations

import dataclasses
import json

from survey.services.validation import run
from tests.survey.validation.test_report_html import stated


def test_sections_progress_and_reproducibility(simulated_data, simulated_report):
    steps = []
    report = run.validate_data(
        simulated_data,
        seed=1,
        progress=lambda *s: steps.append(s),
        hypotheses=stated(simulated_data),
    )
    (sections,) = report["instruments"]
    assert [key for key, _label, _f in run.SECTIONS] + ["hypotheses"] == [
        k for k in sections if k not in ("instrument", "cosmin")
    ]
    assert [done for done, _total, _label in steps] == list(range(len(run.SECTIONS) + 2))
    assert {total for _done, total, _label in steps} == {len(run.SECTIONS) + 1}
    assert steps[-1][2] == "done"
    assert report["first_order"] is sections["structural_validity"]["first_order"]
    assert report["inputs"]["seed"] == 1
    assert report["inputs"]["instruments"][0]["content_hash"] == (
        simulated_data.instruments[0].version.content_hash
    )
    # the same inputs again (the session's run of them): the same JSON
    assert json.dumps(simulated_report, sort_keys=True) == json.dumps(report, sort_keys=True)
    json.dumps(report, allow_nan=False)  # no NaN anywhere


def test_run_warnings_say_simulated_and_many_excluded(simulated_data):
    warnings = run.run_warnings(simulated_data, [])
    assert any("analysed rows are simulated data" in w for w in warnings)
    assert not any("excluded and left out" in w for w in warnings)
    many = dataclasses.replace(
        simulated_data,
        sessions_total=simulated_data.n_rows + 200,
        sessions_excluded=200,
    )
    (warning,) = [w for w in run.run_warnings(many, []) if "excluded and left out" in w]
    assert warning.startswith("200 of ")
    kept = dataclasses.replace(many, include_excluded=True)
    assert not any("excluded and left out" in w for w in run.run_warnings(kept, []))
