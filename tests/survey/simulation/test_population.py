"""The population model of simulated studies (survey/services/simulation/population.py):
pure numpy, no database."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from instruments.loader import instrument_path, load_instrument, load_instrument_text
from instruments.measurement_model import measurement_model
from instruments.scoring import reverse_keyed
from psychometrics.cfa import cfa
from survey.services.simulation.population import CARELESS_KINDS, Population, Settings

MOOD_SCREENER = Path(__file__).parents[2] / "fixtures" / "instruments" / "mood_screener.yaml"
THREE_WAVES = [(0.0, 14.0), (28.0, 14.0), (56.0, 14.0)]


@pytest.fixture(scope="module")
def iemdp():
    return load_instrument(instrument_path("iemdp", "1.1.0"))


@pytest.fixture(scope="module")
def screener():
    return load_instrument_text(MOOD_SCREENER.read_text(encoding="utf-8"), MOOD_SCREENER.name)


@pytest.fixture(scope="module")
def population(iemdp):
    return Population.draw([iemdp], np.random.default_rng(11))


@pytest.fixture(scope="module")
def large(population):
    """20,000 participants over three waves."""
    return population.sample(20_000, THREE_WAVES, np.random.default_rng(12))


def keyed(definition, answers: np.ndarray) -> np.ndarray:
    names = [item.id for item in definition.items]
    return reverse_keyed(definition, pd.DataFrame(answers, columns=names)).to_numpy()


# -- reproducibility -------------------------------------------------------------------------
def test_same_seed_same_population_and_sample(iemdp):
    first = Population.draw([iemdp], np.random.default_rng(3))
    again = Population.draw([iemdp], np.random.default_rng(3))
    assert first.truth() == again.truth()
    one = first.sample(300, THREE_WAVES, np.random.default_rng(4))
    two = again.sample(300, THREE_WAVES, np.random.default_rng(4))
    for name in ("answers", "checks", "page_seconds", "start_days", "messages_sent"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))
    np.testing.assert_array_equal(one.kind, two.kind)


def test_other_seed_other_population(iemdp):
    first = Population.draw([iemdp], np.random.default_rng(3))
    other = Population.draw([iemdp], np.random.default_rng(5))
    assert first.truth()["loadings"] != other.truth()["loadings"]


# -- parameters in their stated ranges --------------------------------------------------------
def test_loadings_in_their_ranges_and_signs(population, iemdp):
    truth = population.truth()
    assert set(truth["loadings"]) == {item.id for item in iemdp.items}
    assert all(0.55 <= value <= 0.85 for value in truth["loadings"].values())
    reverse_subs = {sub.code for sub in iemdp.subconstructs if sub.reverse}
    assert reverse_subs == {"UT_LAP", "RR_RUP", "TC_FIN", "SS_STIG"}
    for code, value in truth["second_order_loadings"].items():
        assert 0.60 <= abs(value) <= 0.90
        assert (value < 0) == (code in reverse_subs)
    assert set(truth["second_order_loadings"]) == {sub.code for sub in iemdp.subconstructs}


def test_correlations_positive_definite_and_moderate(population):
    phi = population.correlations
    assert np.allclose(phi, phi.T) and np.allclose(np.diag(phi), 1)
    assert np.linalg.eigvalsh(phi).min() > 0
    off = phi[np.triu_indices(len(phi), k=1)]
    assert off.min() > 0.0 and off.max() < 0.7
    implied = population.implied_correlation()
    assert implied.shape == (72, 72)
    assert np.linalg.eigvalsh(implied).min() > 0


def test_thresholds_increase_and_lean_toward_the_keyed_high_pole(population, large):
    for item in population.items:
        cuts = np.array(item.thresholds)
        assert len(cuts) == 4 and np.all(np.diff(cuts) > 0)
    answers = large.answers[0][large.kind == ""]
    forward = [j for j, item in enumerate(population.items) if not item.reverse]
    reverse = [j for j, item in enumerate(population.items) if item.reverse]
    # Participants mostly agree with forward items and disagree with reverse-worded ones.
    assert 3.2 < np.nanmean(answers[:, forward]) < 3.7
    assert 2.3 < np.nanmean(answers[:, reverse]) < 2.8
    shares = [np.nanmean(answers == value) for value in (1, 2, 3, 4, 5)]
    assert all(share > 0.01 for share in shares)


def test_stabilities_mean_changes_and_key_constructs(population, large):
    truth = population.truth()
    assert truth["key_constructs"] == ["SE", "TA"]
    assert set(truth["stabilities"].values()) == {0.7}
    assert truth["mean_changes"]["TA"] == truth["mean_changes"]["SE"] == 0.15
    assert truth["mean_changes"]["OE"] == 0.0
    names = [c.name for c in population.constructs]
    ta = names.index("TA")
    eta = large.eta[:, :, ta]
    assert np.corrcoef(eta[0], eta[1])[0, 1] == pytest.approx(0.7, abs=0.02)
    assert eta[1].mean() - eta[0].mean() == pytest.approx(0.15, abs=0.03)
    assert eta[2].std() == pytest.approx(1.0, abs=0.03)


# -- reverse keying ---------------------------------------------------------------------------
def test_reverse_keyed_items_are_really_reversed(population, large, iemdp):
    attentive = (large.kind == "") & (large.pages_submitted[0] == len(population.pages))
    raw = large.answers[0][attentive]
    scored = keyed(iemdp, raw)
    for sub in iemdp.subconstructs:
        ids = [item.id for item in sub.items]
        positions = [[item.id for item in iemdp.items].index(i) for i in ids]
        reverse = [p for p, item in zip(positions, sub.items, strict=True) if item.reverse]
        forward = [p for p, item in zip(positions, sub.items, strict=True) if not item.reverse]
        for r in reverse:
            for f in forward:
                assert np.corrcoef(raw[:, r], raw[:, f])[0, 1] < -0.2, (sub.code, r, f)
                assert np.corrcoef(scored[:, r], scored[:, f])[0, 1] > 0.2, (sub.code, r, f)


# -- recovering the truth ---------------------------------------------------------------------
def test_cfa_recovers_the_generating_loadings(population, iemdp):
    """A first-order CFA of 3,000 simulated participants recovers every standardised
    loading within .05 from the latent item responses the answers are cut from; from the
    5-point answers (reverse-keyed, attentive, complete) Pearson-based ML attenuates them
    a little, as categorising does, and keeps their order."""
    sample = population.sample(3000, [(0.0, 14.0)], np.random.default_rng(21))
    truth = population.truth()["loadings"]
    names = [item.id for item in iemdp.items]
    syntax = measurement_model(iemdp, second_order=False).syntax

    latent = cfa(syntax, pd.DataFrame(sample.latent[0], columns=names))
    assert latent.converged
    estimated = latent.estimates.query("op == '=~'").set_index("rhs")["std_all"]
    differences = np.array([estimated[name] - truth[name] for name in names])
    assert np.abs(differences).max() < 0.05

    usable = (sample.kind == "") & (sample.pages_submitted[0] == len(population.pages))
    answers = pd.DataFrame(keyed(iemdp, sample.answers[0][usable]), columns=names)
    likert = cfa(syntax, answers)
    assert likert.converged
    estimated = likert.estimates.query("op == '=~'").set_index("rhs")["std_all"]
    pairs = np.array([(estimated[name], truth[name]) for name in names])
    assert np.corrcoef(pairs.T)[0, 1] > 0.95
    assert -0.08 < (pairs[:, 0] - pairs[:, 1]).mean() < 0.0
    assert np.abs(pairs[:, 0] - pairs[:, 1]).max() < 0.12


def test_second_order_cfa_recovers_the_construct_loadings(population, iemdp):
    """Constructs with three subconstructs are identified on their own: their
    second-order loadings come back within .06 (and with their signs)."""
    sample = population.sample(3000, [(0.0, 14.0)], np.random.default_rng(22))
    names = [item.id for item in iemdp.items]
    result = cfa(
        measurement_model(iemdp, second_order=True).syntax,
        pd.DataFrame(sample.latent[0], columns=names),
    )
    assert result.converged
    truth = population.truth()["second_order_loadings"]
    three = [c.code for c in iemdp.constructs if len(c.subconstructs) == 3]
    rows = result.estimates.query("op == '=~'")
    rows = rows[rows.lhs.isin(three)].set_index("rhs")["std_all"]
    assert len(rows) == 12
    for code, value in rows.items():
        assert value == pytest.approx(truth[code], abs=0.06), code


# -- careless responders ----------------------------------------------------------------------
def test_about_five_percent_careless_of_every_kind(large):
    shares = {kind: np.mean(large.kind == kind) for kind in CARELESS_KINDS}
    assert 0.04 < sum(shares.values()) < 0.06
    for share in shares.values():
        assert 0.01 < share < 0.025


def test_straight_liners_give_one_answer_everywhere(population, large):
    complete = large.pages_submitted[0] == len(population.pages)
    rows = (large.kind == "straightline") & complete
    answers = np.column_stack([large.answers[0][rows], large.checks[0][rows]])
    assert np.all(answers == answers[:, :1])
    assert len(np.unique(answers[:, 0])) == 5  # any option of the scale


def test_careless_fail_attention_checks_more_often(population, large):
    complete = large.pages_submitted[0] == len(population.pages)
    expected = np.array([check.expected for check in population.checks])
    passed = np.all(large.checks[0] == expected, axis=1)
    attentive = passed[(large.kind == "") & complete].mean()
    assert attentive == pytest.approx(0.97, abs=0.01)
    for kind in CARELESS_KINDS:
        assert passed[(large.kind == kind) & complete].mean() < 0.5, kind


def test_page_times(population, large):
    sizes = np.array([page.size for page in population.pages])
    complete = large.pages_submitted[0] == len(population.pages)
    per_item = np.nansum(large.page_seconds[0], axis=1) / sizes.sum()
    attentive = per_item[(large.kind == "") & complete]
    assert 5.0 < np.median(attentive) < 7.5
    assert np.mean(attentive < 2.0) < 0.001
    fast = per_item[(large.kind == "fast") & complete]
    assert np.all(fast < 2.0)
    # Occasional long breaks: some attentive pages take over two minutes.
    seconds = large.page_seconds[0][(large.kind == "") & complete]
    assert 0.005 < np.mean(seconds > 120) < 0.05


# -- dropout, incomplete sessions, outcomes ---------------------------------------------------
def test_dropout_depends_on_alliance_and_self_efficacy(population, large):
    names = [c.name for c in population.constructs]
    drive = large.eta[0][:, names.index("TA")] + large.eta[0][:, names.index("SE")]
    dropped = ~large.present[1]
    low, high = drive < np.median(drive), drive >= np.median(drive)
    assert dropped[low].mean() > dropped[high].mean() + 0.05
    # Dropped once, never back.
    assert not np.any(~large.present[1] & large.present[2])
    assert np.all(large.present[0])


def test_a_few_sessions_are_left_incomplete(population, large):
    total = len(population.pages)
    attended = large.present
    incomplete = attended & (large.pages_submitted < total)
    assert 0.025 < incomplete.sum() / attended.sum() < 0.055
    assert np.all(large.pages_submitted[incomplete] >= 1)
    w, i = np.argwhere(incomplete)[0]
    done = large.pages_submitted[w, i]
    assert np.isnan(large.page_seconds[w, i, done:]).all()
    assert not np.isnan(large.page_seconds[w, i, :done]).any()
    later_items = [j for page in population.pages[done:] for j in page.items]
    assert np.isnan(large.answers[w, i, later_items]).all()
    assert np.isnan(large.answers[~large.present]).all()


def test_engagement_outcomes_depend_on_the_constructs(population, large):
    names = [c.name for c in population.constructs]
    drive = large.eta[0][:, names.index("TA")] + large.eta[0][:, names.index("SE")]
    messages, active = large.messages_sent[0], large.active_weeks[0]
    assert np.corrcoef(drive, messages)[0, 1] > 0.2
    assert np.corrcoef(drive, active)[0, 1] > 0.1
    assert set(np.unique(active)) <= {0, 1, 2, 3, 4}
    assert np.isnan(large.messages_sent[2][~large.present[2]]).all()
    # dropped_out at a wave: no session at the next one; 0 at the last wave attended.
    np.testing.assert_array_equal(large.dropped_out[0] == 1, ~large.present[1])
    assert np.all(large.dropped_out[2][large.present[2]] == 0)
    assert 0.2 < large.chat.mean() < 0.4


def test_start_days_follow_the_schedule(large):
    assert np.all((large.enrol_days >= 0) & (large.enrol_days <= 60))
    baseline = large.start_days[0] - large.enrol_days
    assert np.all((baseline > 0) & (baseline < 31 / (24 * 60)))
    week4 = (large.start_days[1] - large.enrol_days)[large.present[1]]
    assert np.all((week4 >= 28) & (week4 <= 28 + 13.5 + 1e-9))


# -- any definition ---------------------------------------------------------------------------
def test_a_second_instrument_joins_the_model(iemdp, screener):
    population = Population.draw([iemdp, screener], np.random.default_rng(7))
    truth = population.truth()
    assert len(truth["loadings"]) == 72 + 10
    assert "iemdp.OE_BEN_1" in truth["loadings"] and "mood_screener.MD_LOW_1" in truth["loadings"]
    assert truth["key_constructs"] == ["iemdp.SE", "iemdp.TA"]
    # MD has one subconstruct: no second-order loading; EN has two.
    assert "mood_screener.MD_LOW" not in truth["second_order_loadings"]
    assert "mood_screener.EN_INT" in truth["second_order_loadings"]
    assert len(truth["constructs"]) == 12
    assert np.linalg.eigvalsh(population.implied_correlation()).min() > 0
    sample = population.sample(500, [(0.0, 14.0)], np.random.default_rng(8))
    screener_items = [j for j, item in enumerate(population.items) if item.instrument == 1]
    answered = sample.answers[0][:, screener_items]
    assert set(np.unique(answered[~np.isnan(answered)])) == {0, 1, 2, 3}
    assert len(population.pages) == 12 and len(population.checks) == 3


def test_an_instrument_without_alliance_uses_its_first_construct(screener):
    population = Population.draw([screener], np.random.default_rng(7))
    assert population.truth()["key_constructs"] == ["MD"]
    assert population.truth()["dropout_model"]["coefficients"] == {"MD": -0.5}


def test_settings_change_the_model(iemdp):
    settings = Settings(careless_share=0.5, first_order_loadings=(0.3, 0.4))
    population = Population.draw([iemdp], np.random.default_rng(1), settings)
    assert all(0.3 <= value <= 0.4 for value in population.truth()["loadings"].values())
    sample = population.sample(2000, [(0.0, None)], np.random.default_rng(2))
    assert 0.45 < np.mean(sample.kind != "") < 0.55


def test_bad_sizes_are_refused(population):
    with pytest.raises(ValueError, match="n must be at least 1"):
        population.sample(0, THREE_WAVES, np.random.default_rng(1))
    with pytest.raises(ValueError, match="at least one wave"):
        population.sample(5, [], np.random.default_rng(1))
    with pytest.raises(ValueError, match="at least one instrument"):
        Population.draw([], np.random.default_rng(1))
