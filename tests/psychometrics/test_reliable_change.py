"""Reliable change index (Jacobson & Truax, 1991) on a worked example computed by hand.

Five people, pre = 20, 25, 30, 18, 22 and post = 12, 27, 36, 18, 29; reliability .84:

    mean(pre) = 23, sum of squared deviations 9 + 4 + 49 + 25 + 1 = 88,
    s_pre = sqrt(88 / 4) = sqrt(22) = 4.690416
    S_diff = s_pre * sqrt(2) * sqrt(1 - .84) = sqrt(22) * sqrt(2) * 0.4 = 0.4 sqrt(44) = 2.653300
    RCI = (post - pre) / S_diff = -8, 2, 6, 0, 7 divided by 2.653300
        = -3.015113, 0.753778, 2.261335, 0, 2.638224
"""

import math

import numpy as np
import pandas as pd
import pytest

from psychometrics.change import reliable_change

PRE = [20, 25, 30, 18, 22]
POST = [12, 27, 36, 18, 29]
S_DIFF = 0.4 * math.sqrt(44)


def test_worked_example():
    out = reliable_change(PRE, POST, reliability=0.84)
    assert out.attrs["sd_pre"] == pytest.approx(math.sqrt(22), rel=1e-12)
    assert out.attrs["se_diff"] == pytest.approx(2.6532998, abs=1e-7)
    assert out.attrs["se_diff"] == pytest.approx(S_DIFF, rel=1e-12)
    expected = [-3.015113, 0.753778, 2.261335, 0.0, 2.638224]
    np.testing.assert_allclose(out["rci"], expected, atol=1e-6)
    assert list(out.columns) == ["rci", "reliable_improvement", "reliable_deterioration"]
    assert out["reliable_improvement"].tolist() == [False, False, True, False, True]
    assert out["reliable_deterioration"].tolist() == [True, False, False, False, False]


def test_symptom_scale_swaps_the_direction():
    out = reliable_change(PRE, POST, reliability=0.84, higher_is_better=False)
    assert out["reliable_improvement"].tolist() == [True, False, False, False, False]
    assert out["reliable_deterioration"].tolist() == [False, False, True, False, True]


def test_given_sd_and_critical_value():
    # S_diff = 5 * sqrt(2) * sqrt(.5) = 5; RCI = (post - pre) / 5
    out = reliable_change(PRE, POST, reliability=0.5, sd_pre=5.0, critical=1.5)
    np.testing.assert_allclose(out["rci"], [-1.6, 0.4, 1.2, 0.0, 1.4], atol=1e-12)
    assert out["reliable_deterioration"].tolist() == [True, False, False, False, False]
    assert not out["reliable_improvement"].any()


def test_series_index_and_missing_scores():
    pre = pd.Series([20.0, np.nan, 30.0], index=["a", "b", "c"])
    post = pd.Series([12.0, 27.0, np.nan], index=["a", "b", "c"])
    out = reliable_change(pre, post, reliability=0.84, sd_pre=math.sqrt(22))
    assert list(out.index) == ["a", "b", "c"]
    assert out["rci"].iloc[0] == pytest.approx(-3.015113, abs=1e-6)
    assert out["rci"].iloc[1:].isna().all()
    assert out["reliable_deterioration"].iloc[0]
    assert out["reliable_improvement"].iloc[1:].isna().all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reliability": 1.0}, "reliability must be"),
        ({"reliability": -0.1}, "reliability must be"),
        ({"reliability": 0.8, "sd_pre": 0.0}, "must be positive"),
        ({"reliability": 0.8, "critical": 0.0}, "critical must be"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        reliable_change(PRE, POST, **kwargs)


def test_lengths_must_match_and_values_be_numeric():
    with pytest.raises(ValueError, match="same length"):
        reliable_change(PRE, POST[:4], reliability=0.8)
    with pytest.raises(ValueError, match="numeric"):
        reliable_change(["a", "b"], [1, 2], reliability=0.8)
    with pytest.raises(ValueError, match="fewer than two"):
        reliable_change([1.0], [2.0], reliability=0.8)
