"""psychometrics.careless against R's careless and against worked examples.

Reference values: tests/psychometrics/careless_reference/careless_expected.json on
careless_data.csv, written by careless_reference/generate_careless_reference.R (R 4.2.2, careless
1.2.2 sourced from its repository, psych 2.2.9). The worked examples below give their arithmetic
in comments.
"""

import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import distance

from psychometrics.careless import (
    attention_failed,
    even_odd,
    irv,
    item_correlations,
    longstring,
    mahalanobis,
    psychsyn,
    seconds_per_item,
    split_parts,
)

HERE = Path(__file__).parent / "careless_reference"
TOL = 1e-10
NAN = float("nan")


@pytest.fixture(scope="module")
def expected():
    with open(HERE / "careless_expected.json", encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(HERE / "careless_data.csv")


def _r(values):
    """R's vector from JSON (null -> NaN; jsonlite writes a length-1 vector as a scalar)."""
    return np.array([NAN if v is None else v for v in np.atleast_1d(values)], dtype=float)


def _same(actual, wanted, tol=TOL):
    """Equal within ``tol`` and NaN exactly where R has NA."""
    actual, wanted = np.asarray(actual, dtype=float), _r(wanted)
    assert actual.shape == wanted.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(wanted))
    np.testing.assert_allclose(actual, wanted, rtol=0, atol=tol, equal_nan=True)


# --------------------------------------------------------------------------- against careless
def test_reference_was_made_by_careless_1_2_2(expected, data):
    meta = expected["meta"]
    assert meta["careless_version"] == "1.2.2" and meta["psych_version"] == "2.2.9"
    assert data.shape == (240, 14)
    assert data.isna().sum().sum() > 50  # the missing-value paths are exercised


def test_longstring_matches_careless(expected, data):
    x = data.to_numpy(dtype=float)
    res = longstring(x)
    _same(res.longest, expected["longstring"]["longstr"])
    complete = ~np.isnan(x).any(axis=1)
    _same(res.average[complete], _r(expected["longstring"]["avgstr"])[complete])
    # On rows with m missing cells careless (R's rle) counts each NA as a run of length 1:
    # avgstr = (answers + m) / (runs + m), where ours is answers / runs.
    m = np.isnan(x).sum(axis=1)
    answers = (~np.isnan(x)).sum(axis=1)
    runs = answers / res.average
    _same(((answers + m) / (runs + m))[~complete], _r(expected["longstring"]["avgstr"])[~complete])


def test_irv_matches_careless(expected, data):
    ref = expected["irv"]
    for num_split, key in ((3, "split3"), (4, "split4")):
        res = irv(data, num_split=num_split)
        _same(res.irv, ref["irvTotal"])
        assert res.split.shape == (240, num_split)
        for j in range(num_split):
            _same(res.split[:, j], ref[key][j])


def test_split_parts_match_r_cut(expected):
    assert len(expected["cut"]) > 800
    for case in expected["cut"]:
        parts = split_parts(case["k"], case["s"])
        mine = np.empty(case["k"], dtype=int)
        for number, part in enumerate(parts, start=1):
            mine[list(part)] = number
        assert mine.tolist() == np.atleast_1d(case["part"]).tolist(), case


def test_mahalanobis_matches_careless_and_stats(expected, data):
    ref = expected["mahad"]
    x = data.to_numpy(dtype=float)
    res = mahalanobis(x, quantile=0.999)
    rows = np.array(ref["complete_rows"]) - 1
    assert res.n_reference == len(rows) == 173
    incomplete = np.setdiff1d(np.arange(240), rows)
    assert np.isnan(res.d2[incomplete]).all() and not res.flagged[incomplete].any()
    _same(res.d2[rows], ref["d_sq"])
    _same(res.d2[rows], ref["stats_mahalanobis"])
    _same(res.p_value[rows], ref["p_upper"])
    assert res.flagged[rows].tolist() == ref["flagged"]
    assert res.cutoff == pytest.approx(ref["cutoff"], abs=TOL)
    assert res.df == 14
    # The same distances on the complete rows alone: incomplete rows do not enter the reference.
    np.testing.assert_allclose(mahalanobis(x[rows]).d2, res.d2[rows], rtol=1e-12)


def test_even_odd_matches_careless(expected, data):
    keyed = data.copy()
    for item in expected["meta"]["reverse_keyed_for_evenodd"]:
        keyed[item] = 6 - keyed[item]
    res = even_odd(keyed, expected["meta"]["factors"])
    _same(res.score, expected["evenodd"]["eo_cor"])
    np.testing.assert_array_equal(res.consistency, -res.score)
    assert res.n_pairs.tolist() == expected["evenodd"]["eo_missing"]
    assert res.n_pairs.max() == 3  # four scales, the one-item scale d1 never pairs


@pytest.mark.parametrize("key, anto", [("psychsyn", False), ("psychant", True)])
def test_psychsyn_matches_careless(expected, data, key, anto):
    ref = expected[key]
    res = psychsyn(data, critval=ref["critval"], anto=anto)
    names = list(data.columns)
    # careless lists (var1, var2) = (row, column) of the lower triangle, column by column
    wanted = [[names.index(p["var2"]), names.index(p["var1"])] for p in ref["pairs"]]
    assert res.pairs.tolist() == wanted
    _same(res.pair_r, [p["r"] for p in ref["pairs"]])
    assert res.n_pairs.tolist() == ref["numPairs"]
    _same(res.correlation, ref["cor"])
    assert np.isnan(res.correlation[res.n_pairs < 3]).all()


def test_item_correlations_match_pairwise_r(expected, data):
    corr = item_correlations(data)
    names = list(data.columns)
    for p in expected["psychsyn"]["pairs"] + expected["psychant"]["pairs"]:
        i, j = names.index(p["var1"]), names.index(p["var2"])
        assert corr[i, j] == pytest.approx(p["r"], abs=TOL) and corr[j, i] == corr[i, j]
    np.testing.assert_allclose(corr, data.corr().to_numpy(), atol=1e-12)  # pandas: pairwise too


# --------------------------------------------------------------------------- longstring by hand
def test_longstring_worked_examples():
    res = longstring(
        [
            [3, 3, 3, 3, 3, 3, 3, 3],  # one run of 8: longest 8, average 8 / 1
            [1, 5, 1, 5, 1, 5, 1, 5],  # eight runs of 1: longest 1, average 8 / 8
            [2, 2, 4, 4, 4, 1, 1, 5],  # runs 2, 3, 2, 1: longest 3, average 8 / 4 = 2
            [4, 4, NAN, 4, 4, 4, NAN, NAN],  # the gap splits: runs 2, 3; average 5 / 2 = 2.5
            [NAN, 1, 1, NAN, 2, NAN, 2, 2],  # runs 2, 1, 2: longest 2, average 5 / 3
            [NAN] * 8,  # nothing answered: longest 0, average not applicable
        ]
    )
    assert res.longest.tolist() == [8, 1, 3, 3, 2, 0]
    assert res.average[:5].tolist() == [8.0, 1.0, 2.0, 2.5, 5 / 3]
    assert math.isnan(res.average[5])
    assert res.longest.dtype.kind == "i"


def test_longstring_straight_line_and_alternating_any_length():
    rng = np.random.default_rng(1)
    for k in (1, 2, 7, 72):
        line = np.full((5, k), float(rng.integers(1, 6)))
        assert longstring(line).longest.tolist() == [k] * 5
        alternating = np.tile([1.0, 5.0], k)[:k][None, :]
        assert longstring(alternating).longest.tolist() == [1]


def test_longstring_counts_presentation_order_not_instrument_order():
    # A respondent saw the ten items in a shuffled order and answered the first five 4 and the
    # last five 2: a run of 5 in the order seen. Stored in instrument order the same answers
    # interleave; unshuffling is the caller's job, so only the presentation order gives 5.
    shown = np.array([7, 2, 9, 0, 5, 3, 8, 1, 6, 4])  # instrument index of the j-th item seen
    as_seen = np.array([[4, 4, 4, 4, 4, 2, 2, 2, 2, 2]], dtype=float)
    instrument_order = np.empty_like(as_seen)
    instrument_order[:, shown] = as_seen
    assert instrument_order.tolist() == [[4, 2, 4, 2, 2, 4, 2, 4, 2, 4]]
    assert longstring(as_seen).longest.tolist() == [5]
    assert longstring(instrument_order).longest.tolist() == [2]
    # putting the columns back in presentation order recovers the run
    assert longstring(instrument_order[:, shown]).longest.tolist() == [5]


# --------------------------------------------------------------------------- irv by hand
def test_irv_worked_examples():
    res = irv(
        [
            [3, 3, 3, 3, 3, 3],  # straight line: SD 0
            [1, 2, 3, 4, 5, NAN],  # mean 3, squares 4+1+0+1+4 = 10, 10 / (5-1) = 2.5 -> 1.5811
            [1, 5, 1, 5, 1, 5],  # mean 3, squares 6 * 4 = 24, 24 / 5 = 4.8 -> 2.1909
            [NAN, NAN, 4, NAN, NAN, NAN],  # one answer: no SD (R: NA)
        ],
        num_split=2,
    )
    np.testing.assert_allclose(res.irv[:3], [0.0, math.sqrt(2.5), math.sqrt(4.8)], rtol=1e-15)
    assert math.isnan(res.irv[3])
    # parts {1,2,3} and {4,5,6}: row 1 gives SD(1,2,3) = 1 and SD(4,5) = sqrt(0.5)
    assert res.parts == ((0, 1, 2), (3, 4, 5))
    np.testing.assert_allclose(res.split[1], [1.0, math.sqrt(0.5)], rtol=1e-15)
    # row 2: SD(1,5,1) = sqrt((4/3*... ) ): mean 7/3, squares 16/9+64/9+16/9 = 96/9, /2 -> 5.333
    np.testing.assert_allclose(res.split[2], [math.sqrt(16 / 3)] * 2, rtol=1e-15)
    assert np.isnan(res.split[3]).tolist() == [True, True]
    assert irv([[1, 2]]).split is None


def test_split_parts_worked_example_and_limits():
    # cut(1:72, 3): breaks 1, 24.67, 48.33, 72 -> positions 1-24, 25-48, 49-72
    parts = split_parts(72, 3)
    assert [(p[0], p[-1]) for p in parts] == [(0, 23), (24, 47), (48, 71)]
    assert split_parts(5, 1) == ((0, 1, 2, 3, 4),)
    with pytest.raises(ValueError, match="num_split"):
        split_parts(4, 5)
    with pytest.raises(ValueError, match="num_split"):
        irv([[1, 2, 3]], num_split=0)


# --------------------------------------------------------------------------- mahalanobis by hand
def test_mahalanobis_identity_case():
    # Points (±1, ±1) and the origin: means 0, variances 4/4 = 1, covariance 0 -> S = I, so
    # D² = x² + y²: 2 for each corner and 0 for the origin.
    res = mahalanobis([[1, 1], [1, -1], [-1, 1], [-1, -1], [0, 0]], quantile=0.5)
    np.testing.assert_allclose(res.d2, [2, 2, 2, 2, 0], atol=1e-14)
    np.testing.assert_allclose(res.covariance, np.eye(2), atol=1e-15)
    # chi-square with 2 df: quantile q at -2 log(1 - q), survival exp(-d2 / 2)
    assert res.cutoff == pytest.approx(-2 * math.log(0.5), rel=1e-12)
    np.testing.assert_allclose(res.p_value, np.exp(-res.d2 / 2), rtol=1e-12)
    assert res.flagged.tolist() == [True, True, True, True, False]  # 2 > 1.386


def test_mahalanobis_correlated_case_by_hand():
    # Means 0; var x = var y = (4+0+4+0+1+1)/5 = 2; cov = (1+1)/5 = 0.4.
    # S = [[2, .4], [.4, 2]], det 3.84, S^-1 = [[2, -.4], [-.4, 2]] / 3.84.
    x = [[2, 0], [0, 2], [-2, 0], [0, -2], [1, 1], [-1, -1]]
    res = mahalanobis(x)
    np.testing.assert_allclose(res.covariance, [[2, 0.4], [0.4, 2]], rtol=1e-14)
    # (2, 0): 4 * 2 / 3.84 = 2.08333; (1, 1): (2 - .4 - .4 + 2) / 3.84 = 0.83333
    np.testing.assert_allclose(res.d2, [8 / 3.84] * 4 + [3.2 / 3.84] * 2, rtol=1e-13)
    # A new row scored against that reference: (3, -3) -> (2*9 + 2*9 + 2*.4*9) / 3.84 = 11.25
    new = mahalanobis([[3, -3]], center=res.center, covariance=res.covariance, quantile=0.99)
    assert new.d2[0] == pytest.approx(11.25, rel=1e-13)
    assert new.p_value[0] == pytest.approx(math.exp(-11.25 / 2), rel=1e-12)
    assert new.flagged.tolist() == [True]  # cut-off -2 log(0.01) = 9.21
    assert new.n_reference is None


def test_mahalanobis_agrees_with_scipy():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
    res = mahalanobis(x)
    inverse = np.linalg.inv(np.cov(x, rowvar=False))
    mean = x.mean(axis=0)
    wanted = [distance.mahalanobis(row, mean, inverse) ** 2 for row in x]
    np.testing.assert_allclose(res.d2, wanted, rtol=1e-10)
    assert res.n_reference == 300 and res.df == 6


def test_mahalanobis_missing_rows_and_errors():
    x = np.array([[1, 2], [2, 1], [3, 5], [4, 2], [NAN, 1]], dtype=float)
    res = mahalanobis(x)
    assert res.n_reference == 4 and math.isnan(res.d2[4]) and not res.flagged[4]
    assert math.isnan(res.p_value[4])
    with pytest.raises(ValueError, match="more complete rows than columns: 2 complete row"):
        mahalanobis([[1, 2], [2, 1], [NAN, 3]])
    with pytest.raises(ValueError, match=r"column\(s\) 1 \(0-based\) have no variance"):
        mahalanobis([[1, 3, 2], [2, 3, 5], [3, 3, 1], [5, 3, 2]])
    with pytest.raises(ValueError, match="exact linear combinations"):
        mahalanobis([[1, 2, 3], [2, 1, 3], [3, 5, 8], [4, 2, 6], [0, 1, 1]])  # c = a + b
    with pytest.raises(ValueError, match="both center and covariance"):
        mahalanobis(x, center=[0, 0])
    with pytest.raises(ValueError, match="center must have 2 values"):
        mahalanobis(x, center=[0, 0, 0], covariance=np.eye(3))
    with pytest.raises(ValueError, match="quantile"):
        mahalanobis(x, quantile=1.0)


# --------------------------------------------------------------------------- even-odd by hand
def test_even_odd_worked_examples():
    res = even_odd(
        [
            # scale means odd/even: (1, 2), (3, 3), (5, 4) -> odd 1,3,5 even 2,3,4: r = 1
            [1, 2, 1, 2, 3, 3, 3, 3, 5, 4, 5, 4],
            # odd 1,3,5; even 2,5,2: deviations -2,0,2 and -1,2,-1 -> sum 2 - 2 = 0: r = 0
            [1, 2, 1, 2, 3, 5, 3, 5, 5, 2, 5, 2],
            # odd 1,3,5 (dev -2,0,2); even 5,1,3 (dev 2,-2,0): sum -4, sqrt(8 * 8) = 8: r = -.5,
            # 2(-.5)/(1-.5) = -2 -> floored at -1, careless score +1
            [1, 5, 1, 5, 3, 1, 3, 1, 5, 3, 5, 3],
            # odd 2, 3, 4 (third scale: items 9, 11 -> (4 + 4) / 2); even 1, 5, 3
            # dev -1,0,1 and -2,2,0: sum 2, sqrt(2 * 8) = 4: r = .5, 2(.5)/1.5 = 2/3
            [2, 1, 2, 1, 3, 5, 3, 5, 4, 3, 4, 3],
            # all odd means 3: no variance -> NaN (R: NA)
            [3, 1, 3, 2, 3, 4, 3, 5, 3, 1, 3, 1],
        ],
        [4, 4, 4],
    )
    np.testing.assert_allclose(res.correlation[:4], [1.0, 0.0, -0.5, 0.5], atol=1e-15)
    np.testing.assert_allclose(res.consistency[:4], [1.0, 0.0, -1.0, 2 / 3], atol=1e-15)
    np.testing.assert_allclose(res.score[:4], [-1.0, -0.0, 1.0, -2 / 3], atol=1e-15)
    assert math.isnan(res.consistency[4]) and math.isnan(res.score[4])
    assert res.n_pairs.tolist() == [3] * 5


def test_even_odd_one_item_scale_contributes_nothing():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, size=(50, 13)).astype(float)
    with_single = even_odd(x, [4, 4, 1, 4])
    without = even_odd(np.delete(x, 8, axis=1), [4, 4, 4])
    np.testing.assert_array_equal(with_single.score, without.score)
    assert with_single.n_pairs.tolist() == [3] * 50


def test_even_odd_random_near_zero_consistent_near_one():
    rng = np.random.default_rng(11)
    n, scales, per = 2000, 10, 6
    random = rng.integers(1, 6, size=(n, scales * per)).astype(float)
    res = even_odd(random, [per] * scales)
    assert abs(np.nanmean(res.correlation)) < 0.03
    assert abs(np.nanmedian(res.consistency)) < 0.08
    # consistent answering: each scale's items follow that scale's level for the person
    level = rng.integers(1, 6, size=(n, scales)).astype(float)
    noise = rng.choice([-1.0, 0.0, 0.0, 0.0, 1.0], size=(n, scales * per))
    consistent = np.clip(np.repeat(level, per, axis=1) + noise, 1, 5)
    res = even_odd(consistent, [per] * scales)
    assert np.nanmedian(res.consistency) > 0.9
    assert np.nanmedian(res.score) < -0.9  # careless's direction: low = consistent


def test_even_odd_errors():
    with pytest.raises(ValueError, match="at least two scales"):
        even_odd([[1, 2, 3, 4]], [4])
    with pytest.raises(ValueError, match="add up to 6 items but x has 5 columns"):
        even_odd([[1, 2, 3, 4, 5]], [3, 3])
    with pytest.raises(ValueError, match="at least one item"):
        even_odd([[1, 2, 3]], [3, 0])


# --------------------------------------------------------------------------- psychsyn by hand
def test_psychsyn_worked_example():
    x = [[1, 1, 2, 2, 5], [2, 2, 3, 3, 4], [4, 5, 4, 5, 3], [5, 4, 5, 4, 1], [3, 3, 1, 1, 2]]
    res = psychsyn(x, critval=0.6)
    # item correlations: r(0,1) = r(2,3) = 0.9, r(0,2) = r(1,3) = 0.7; the rest are at most 0.6
    assert res.pairs.tolist() == [[0, 1], [0, 2], [1, 3], [2, 3]]
    np.testing.assert_allclose(res.pair_r, [0.9, 0.7, 0.7, 0.9], atol=1e-14)
    # row 0: first items x0,x0,x1,x2 = 1,1,1,2 (dev -.25,-.25,-.25,.75); second items
    # x1,x2,x3,x3 = 1,2,2,2 (dev -.75,.25,.25,.25); sum .1875-.0625-.0625+.1875 = .25;
    # sums of squares .75 and .75: r = .25 / .75 = 1/3
    assert res.correlation[0] == pytest.approx(1 / 3, abs=1e-14)
    assert res.n_pairs.tolist() == [4] * 5


def test_psychsyn_finds_known_pairs_and_separates_random_rows():
    rng = np.random.default_rng(5)
    n = 600
    latent = rng.normal(size=(n, 3))
    noise = rng.normal(scale=0.4, size=(n, 6))
    x = np.round(np.clip(3 + np.repeat(latent, 2, axis=1) + noise, 1, 5))
    x[:40] = rng.integers(1, 6, size=(40, 6))  # 40 random responders
    res = psychsyn(x)
    assert res.pairs.tolist() == [[0, 1], [2, 3], [4, 5]]
    assert np.nanmedian(res.correlation[40:]) > 0.8
    assert np.nanmedian(res.correlation[:40]) < 0.4
    # antonyms: reverse the second item of each pair
    reversed_ = x.copy()
    reversed_[:, 1::2] = 6 - reversed_[:, 1::2]
    anto = psychsyn(reversed_, anto=True)
    assert anto.pairs.tolist() == [[0, 1], [2, 3], [4, 5]]
    np.testing.assert_allclose(anto.correlation, -res.correlation, atol=1e-12)


def test_psychsyn_needs_three_pairs_and_some_pair():
    x = [[1, 1, 2, 2, 5], [2, 2, 3, 3, 4], [4, 5, 4, 5, 3], [5, 4, 5, 4, 1], [3, 3, 1, 1, 2]]
    x = np.array(x, dtype=float)
    x[1, [0, 3]] = NAN  # row 1 keeps only pair (1, ... ) -> pairs (0,1),(0,2),(1,3) lost: 1 left
    x[2, 0] = NAN  # row 2 keeps (1,3) and (2,3): 2 pairs
    res = psychsyn(x, critval=0.6)
    assert res.n_pairs[1] < 3 and res.n_pairs[2] == 2
    assert math.isnan(res.correlation[1]) and math.isnan(res.correlation[2])
    with pytest.raises(ValueError, match="no psychometric antonyms: no item pair correlates below"):
        psychsyn([[1, 2, 3], [2, 3, 4], [3, 5, 5], [4, 4, 1]], anto=True)
    with pytest.raises(ValueError, match="no psychometric synonyms"):
        psychsyn([[1, 5, 3], [2, 3, 1], [3, 1, 5], [4, 4, 1]], critval=0.99)


def test_psychsyn_with_pairs_from_a_reference_sample(data):
    whole = psychsyn(data)
    again = psychsyn(data, pairs=whole.pairs)
    np.testing.assert_array_equal(again.correlation, whole.correlation)
    np.testing.assert_allclose(again.pair_r, whole.pair_r, atol=1e-14)
    # pairs found on the whole sample, applied to a chunk of its rows: the same per-row values
    chunk = psychsyn(data.iloc[100:140], pairs=whole.pairs.tolist())
    np.testing.assert_array_equal(chunk.correlation, whole.correlation[100:140])
    assert chunk.n_pairs.tolist() == whole.n_pairs[100:140].tolist()
    none = psychsyn(data, pairs=np.empty((0, 2)))
    assert np.isnan(none.correlation).all() and none.n_pairs.tolist() == [0] * 240
    with pytest.raises(ValueError, match="from 0 to 13"):
        psychsyn(data, pairs=[[0, 14]])
    with pytest.raises(ValueError, match="two different columns"):
        psychsyn(data, pairs=[[2, 2]])


# --------------------------------------------------------------------------- timings and checks
def test_seconds_per_item_worked_example():
    res = seconds_per_item(
        [
            [30, 12, 8],  # 50 s over 10 + 6 + 4 = 20 items: 2.5
            [30, 12, NAN],  # the untimed page leaves: 42 s / 16 items = 2.625
            [NAN, NAN, NAN],  # no timing at all
            [0, 0, 0],  # zero seconds is a time: 0 / 20
        ],
        [10, 6, 4],
    )
    assert res.seconds_per_item[[0, 1, 3]].tolist() == [2.5, 2.625, 0.0]
    assert math.isnan(res.seconds_per_item[2])
    assert res.total_seconds.tolist() == [50.0, 42.0, 0.0, 0.0]
    assert res.items_timed.tolist() == [20, 16, 0, 20]
    assert res.pages_timed.tolist() == [3, 2, 0, 3]
    per_row = seconds_per_item([[10, 20], [10, 20]], [[5, 5], [2, 8]])
    assert per_row.seconds_per_item.tolist() == [3.0, 3.0]  # 30/10 both
    empty_page = seconds_per_item([[4, NAN]], [0, 3])  # only an item-less page timed
    assert math.isnan(empty_page.seconds_per_item[0]) and empty_page.total_seconds[0] == 4


def test_seconds_per_item_errors():
    with pytest.raises(ValueError, match="negative"):
        seconds_per_item([[3, -1]], [1, 1])
    with pytest.raises(ValueError, match=r"one count per page \(2\)"):
        seconds_per_item([[3, 1]], [1, 1, 1])
    with pytest.raises(ValueError, match="whole numbers"):
        seconds_per_item([[3, 1]], [1.5, 1])


def test_attention_failed_worked_example():
    res = attention_failed(
        [[4, 2, 1], [3, 2, 1], [NAN, 1, 1], [NAN, NAN, NAN], [1, 1, 5]], [4, 2, 1]
    )
    # row 1 misses check 0 (3 != 4); row 2 skips check 0, misses check 1; row 4 misses all three
    assert res.failed.tolist() == [0, 1, 1, 0, 3]
    assert res.answered.tolist() == [3, 3, 2, 0, 3]
    assert res.n_checks == 3
    with pytest.raises(ValueError, match="expected has 2 value"):
        attention_failed([[1, 2, 3]], [1, 2])
    with pytest.raises(ValueError, match="finite expected"):
        attention_failed([[1]], [NAN])


# --------------------------------------------------------------------------- inputs and output
def test_inputs_are_checked():
    with pytest.raises(ValueError, match="must be 2-D"):
        longstring([1, 2, 3])
    with pytest.raises(ValueError, match="infinite"):
        irv([[1, float("inf")]])
    with pytest.raises(ValueError, match="numeric 2-D array"):
        longstring([["a", "b"]])


def test_results_are_json_ready(data):
    x = data.to_numpy(dtype=float)
    results = [
        longstring(x),
        irv(x, num_split=3),
        mahalanobis(x),
        even_odd(x, [5, 4, 4, 1]),
        psychsyn(x),
        seconds_per_item([[1.0, NAN]], [1, 2]),
        attention_failed([[1.0, NAN]], [1, 2]),
    ]
    for res in results:
        text = json.dumps(res.to_dict(), allow_nan=False)
        assert text.startswith("{")
    assert longstring([[NAN, NAN]]).to_dict() == {"longest": [0], "average": [None]}


# --------------------------------------------------------------------------- speed
def _best_seconds(call, repeat=3):
    """Best CPU time of ``repeat`` calls (CPU, not wall time: other jobs share the machine)."""
    best = math.inf
    for _ in range(repeat):
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
    return best


def test_each_index_is_fast_on_10000_by_72():
    rng = np.random.default_rng(2026)
    x = rng.integers(1, 6, size=(10_000, 72)).astype(float)
    x[rng.random(x.shape) < 0.01] = NAN
    x[:, :6] = np.repeat(x[:, [0]], 6, axis=1) + rng.integers(0, 2, size=(10_000, 6))
    seconds = rng.uniform(5, 60, size=(10_000, 9))
    calls = {
        "longstring": lambda: longstring(x),
        "irv": lambda: irv(x, num_split=3),
        "mahalanobis": lambda: mahalanobis(np.nan_to_num(x, nan=3.0)),
        "even_odd": lambda: even_odd(x, [6] * 12),
        "psychsyn": lambda: psychsyn(x, critval=0.3),
        "seconds_per_item": lambda: seconds_per_item(seconds, [8] * 9),
        "attention_failed": lambda: attention_failed(x[:, :3], [1, 2, 3]),
    }
    times = {name: _best_seconds(call) for name, call in calls.items()}
    slow = {name: round(t, 3) for name, t in times.items() if t >= 1.0}
    assert not slow, f"slower than a second on 10,000 x 72: {slow}"
