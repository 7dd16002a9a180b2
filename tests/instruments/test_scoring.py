"""Tests for instruments.scoring."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from instruments.definition import InstrumentDefinition
from instruments.loader import instrument_path, load_instrument
from instruments.scoring import (
    Scores,
    attention_check_frame,
    attention_check_results,
    min_answered,
    reverse_keyed,
    score_frame,
    score_responses,
)


@pytest.fixture(scope="module")
def iemdp() -> InstrumentDefinition:
    return load_instrument(instrument_path("iemdp", "1.0.0"))


def all_items(definition: InstrumentDefinition, value: int) -> dict[str, int]:
    return {item.id: value for item in definition.items}


# --------------------------------------------------------------------------------------
# reverse keying
# --------------------------------------------------------------------------------------
def test_reverse_keyed_items_score_six_minus_x(iemdp):
    # OE_BEN_3 is reverse-keyed, OE_BEN_1 and OE_BEN_2 are not.
    assert [i.reverse for i in iemdp.subconstruct("OE_BEN").items] == [False, False, True]
    for x in range(1, 6):
        scores = score_responses(iemdp, {"OE_BEN_1": 3, "OE_BEN_2": 3, "OE_BEN_3": x})
        assert scores.subconstructs["OE_BEN"] == pytest.approx((3 + 3 + (6 - x)) / 3)


def test_reverse_keyed_frame(iemdp):
    raw = pd.DataFrame([all_items(iemdp, 1), all_items(iemdp, 4)], index=["p1", "p2"]).assign(
        ATTN_1=2, participant="x"
    )
    keyed = reverse_keyed(iemdp, raw)
    assert list(keyed.columns) == [item.id for item in iemdp.items]  # others dropped
    assert list(keyed.index) == ["p1", "p2"]
    assert (keyed.dtypes == "float64").all()
    for item in iemdp.items:
        assert keyed.loc["p1", item.id] == (5 if item.reverse else 1)
        assert keyed.loc["p2", item.id] == (2 if item.reverse else 4)


def test_reverse_keyed_keeps_missing_answers_missing(iemdp):
    raw = pd.DataFrame([all_items(iemdp, 2)])
    raw["OE_BEN_3"] = np.nan
    keyed = reverse_keyed(iemdp, raw)
    assert math.isnan(keyed.loc[0, "OE_BEN_3"])


def test_reverse_keyed_needs_every_item_column(iemdp):
    raw = pd.DataFrame([all_items(iemdp, 2)]).drop(columns=["SE_REC_2"])
    with pytest.raises(ValueError, match=r"frame has no column for 1 item\(s\): SE_REC_2"):
        reverse_keyed(iemdp, raw)


# --------------------------------------------------------------------------------------
# subconstruct scores: mean, prorating
# --------------------------------------------------------------------------------------
def test_min_answered_is_two_thirds_rounded_up():
    assert min_answered(3) == 2
    assert [min_answered(n) for n in range(1, 10)] == [1, 2, 2, 3, 4, 4, 5, 6, 6]
    with pytest.raises(ValueError):
        min_answered(0)


def test_subconstruct_score_is_the_mean_of_its_keyed_items(iemdp):
    scores = score_responses(iemdp, {"SE_MAIN_1": 5, "SE_MAIN_2": 4, "SE_MAIN_3": 3})
    # SE_MAIN_2 is the reverse-keyed one: 6 - 4 = 2
    assert scores.subconstructs["SE_MAIN"] == pytest.approx((5 + 2 + 3) / 3)


def test_two_of_three_answered_is_prorated_to_the_mean_of_the_two(iemdp):
    scores = score_responses(iemdp, {"OE_BEN_1": 5, "OE_BEN_2": None, "OE_BEN_3": 2})
    assert scores.subconstructs["OE_BEN"] == pytest.approx((5 + 4) / 2)
    absent = score_responses(iemdp, {"OE_BEN_1": 5, "OE_BEN_3": 2})  # key absent = missing
    assert absent.subconstructs["OE_BEN"] == pytest.approx(4.5)


def test_one_of_three_answered_is_missing(iemdp):
    scores = score_responses(iemdp, {"OE_BEN_1": 5})
    assert scores.subconstructs["OE_BEN"] is None
    assert score_responses(iemdp, {}).subconstructs["OE_BEN"] is None


def test_nan_counts_as_unanswered(iemdp):
    scores = score_responses(iemdp, {"OE_BEN_1": 5, "OE_BEN_2": float("nan"), "OE_BEN_3": 1})
    assert scores.subconstructs["OE_BEN"] == pytest.approx(5.0)


def test_integral_floats_are_accepted(iemdp):
    scores = score_responses(iemdp, {"OE_BEN_1": 4.0, "OE_BEN_2": np.int64(4), "OE_BEN_3": 2})
    assert scores.subconstructs["OE_BEN"] == pytest.approx(4.0)


# --------------------------------------------------------------------------------------
# construct scores
# --------------------------------------------------------------------------------------
def test_construct_score_is_the_mean_of_its_subconstruct_scores(iemdp):
    answers = {
        "SE_ACT_1": 5, "SE_ACT_2": 5, "SE_ACT_3": 1,  # SE_ACT = 5
        "SE_MAIN_1": 3, "SE_MAIN_2": 3, "SE_MAIN_3": 3,  # SE_MAIN = 3
        "SE_REC_1": 4, "SE_REC_2": 4, "SE_REC_3": 2,  # SE_REC = 4
    }  # fmt: skip
    scores = score_responses(iemdp, answers)
    assert [scores.subconstructs[c] for c in ("SE_ACT", "SE_MAIN", "SE_REC")] == [5, 3, 4]
    assert scores.constructs["SE"] == pytest.approx(4.0)


def test_reverse_oriented_subconstruct_enters_its_construct_reflected(iemdp):
    # TC_FIN high = more financial strain; TC high = cost and time not in the way.
    answers = {
        "TC_FIN_1": 5, "TC_FIN_2": 5, "TC_FIN_3": 1,  # TC_FIN = 5: strong strain
        "TC_TIME_1": 4, "TC_TIME_2": 4, "TC_TIME_3": 2,  # TC_TIME = 4
    }  # fmt: skip
    scores = score_responses(iemdp, answers)
    assert scores.subconstructs["TC_FIN"] == pytest.approx(5.0)  # keeps its own direction
    assert scores.constructs["TC"] == pytest.approx(((6 - 5) + 4) / 2)


def test_reverse_oriented_subconstructs_are_the_reverse_of_engagement_ones(iemdp):
    reverse = {sub.code for sub in iemdp.subconstructs if sub.reverse}
    assert reverse == {"UT_LAP", "RR_RUP", "TC_FIN", "SS_STIG"}


def test_construct_score_needs_all_its_subconstruct_scores(iemdp):
    answers = {
        "OE_BEN_1": 4, "OE_BEN_2": 4, "OE_BEN_3": 2,  # OE_BEN = 4
        "OE_MOD_1": 5,  # OE_MOD: 1 of 3, missing
    }  # fmt: skip
    scores = score_responses(iemdp, answers)
    assert scores.subconstructs["OE_BEN"] == pytest.approx(4.0)
    assert scores.subconstructs["OE_MOD"] is None
    assert scores.constructs["OE"] is None


def test_construct_score_with_one_prorated_subconstruct(iemdp):
    answers = {"OE_BEN_1": 4, "OE_BEN_3": 2, "OE_MOD_1": 2, "OE_MOD_2": 2, "OE_MOD_3": 4}
    scores = score_responses(iemdp, answers)
    assert scores.constructs["OE"] == pytest.approx((4 + 2) / 2)


def test_scores_cover_every_code_in_instrument_order(iemdp):
    scores = score_responses(iemdp, all_items(iemdp, 3))
    assert list(scores.subconstructs) == [sub.code for sub in iemdp.subconstructs]
    assert list(scores.constructs) == [construct.code for construct in iemdp.constructs]
    # all 3s: every keyed item is 3, so every score is 3
    assert set(scores.subconstructs.values()) == {3.0}
    assert set(scores.constructs.values()) == {3.0}


def test_scores_are_frozen_and_serialisable(iemdp):
    scores = score_responses(iemdp, {"OE_BEN_1": 4, "OE_BEN_2": 4})
    assert isinstance(scores, Scores)
    with pytest.raises(AttributeError):
        scores.constructs = {}  # type: ignore[misc]
    as_dict = scores.to_dict()
    assert as_dict["subconstructs"]["OE_BEN"] == 4.0
    assert as_dict["constructs"]["OE"] is None
    assert set(as_dict) == {"subconstructs", "constructs"}


# --------------------------------------------------------------------------------------
# attention checks
# --------------------------------------------------------------------------------------
def test_attention_checks_are_never_scored(iemdp):
    base = all_items(iemdp, 4)
    assert score_responses(iemdp, {**base, "ATTN_1": 2, "ATTN_2": 2}) == score_responses(
        iemdp, {**base, "ATTN_1": 5, "ATTN_2": 1}
    )
    frame = pd.DataFrame([base]).assign(ATTN_1=5)
    assert "ATTN_1" not in score_frame(iemdp, frame).columns


def test_attention_check_results(iemdp):
    assert attention_check_results(iemdp, {"ATTN_1": 2, "ATTN_2": 2}) == {
        "ATTN_1": True,
        "ATTN_2": True,
    }
    assert attention_check_results(iemdp, {"ATTN_1": 4, "ATTN_2": None}) == {
        "ATTN_1": False,
        "ATTN_2": None,
    }
    assert attention_check_results(iemdp, {}) == {"ATTN_1": None, "ATTN_2": None}


def test_attention_check_out_of_scale_raises(iemdp):
    with pytest.raises(ValueError, match="item ATTN_2: 9 is not a value"):
        attention_check_results(iemdp, {"ATTN_2": 9})


def test_attention_check_frame(iemdp):
    frame = pd.DataFrame({"ATTN_1": [2, 3, np.nan]}, index=["a", "b", "c"])
    result = attention_check_frame(iemdp, frame)
    assert list(result.columns) == ["ATTN_1", "ATTN_2"]
    assert result["ATTN_1"].tolist() == [True, False, pd.NA]
    assert result["ATTN_2"].isna().all()  # column absent: not answered
    assert str(result["ATTN_1"].dtype) == "boolean"


# --------------------------------------------------------------------------------------
# out-of-range and malformed answers
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [0, 6, -1, 2.5, True, "4"])
def test_out_of_scale_answer_raises_naming_the_item(iemdp, value):
    with pytest.raises(ValueError, match=r"^item SE_REC_2: .* is not a value of response scale"):
        score_responses(iemdp, {"SE_REC_2": value})


def test_out_of_scale_answer_in_a_frame_raises_naming_the_item(iemdp):
    frame = pd.DataFrame([all_items(iemdp, 3), all_items(iemdp, 3)], index=["p1", "p2"])
    frame.loc["p2", "TA_GOAL_3"] = 7
    with pytest.raises(ValueError, match=r"item TA_GOAL_3: 1 answer\(s\) not on .*7 \(row 'p2'\)"):
        score_frame(iemdp, frame)


def test_non_numeric_column_raises_naming_the_item(iemdp):
    frame = pd.DataFrame([all_items(iemdp, 3)])
    frame["RP_SYM_1"] = frame["RP_SYM_1"].astype(str)
    with pytest.raises(ValueError, match="item RP_SYM_1: answers must be numbers"):
        score_frame(iemdp, frame)


def test_boolean_column_raises(iemdp):
    frame = pd.DataFrame([all_items(iemdp, 3)])
    frame["RP_SYM_1"] = True
    with pytest.raises(ValueError, match="item RP_SYM_1: answers must be numbers"):
        reverse_keyed(iemdp, frame)


# --------------------------------------------------------------------------------------
# score_frame
# --------------------------------------------------------------------------------------
def test_score_frame_columns_and_index(iemdp):
    frame = pd.DataFrame([all_items(iemdp, 2)], index=pd.Index([17], name="participant"))
    scores = score_frame(iemdp, frame)
    assert list(scores.columns) == [s.code for s in iemdp.subconstructs] + [
        c.code for c in iemdp.constructs
    ]
    assert scores.index.equals(frame.index)
    assert (scores.dtypes == "float64").all()


def test_score_frame_equals_score_responses_row_wise(iemdp):
    rng = np.random.default_rng(20231)
    ids = [item.id for item in iemdp.items]
    values = rng.integers(1, 6, size=(300, len(ids))).astype(float)
    values[rng.random(values.shape) < 0.25] = np.nan  # plenty of missing answers
    frame = pd.DataFrame(values, columns=ids)
    frame["ATTN_1"] = 2
    scored = score_frame(iemdp, frame)
    assert scored.isna().any().any() and scored.notna().any().any()  # both cases exercised
    for row, answers in frame.iterrows():
        expected = score_responses(iemdp, answers.to_dict()).to_dict()
        for code, value in {**expected["subconstructs"], **expected["constructs"]}.items():
            got = scored.loc[row, code]
            if value is None:
                assert math.isnan(got), (row, code)
            else:
                assert got == pytest.approx(value, abs=1e-12), (row, code)


def test_score_frame_accepts_nullable_integers_and_object_columns(iemdp):
    records = [all_items(iemdp, 4), {**all_items(iemdp, 4), "OE_BEN_1": None}]
    as_int = pd.DataFrame(records).astype("Int64")
    as_object = pd.DataFrame(records, dtype=object)
    expected = score_frame(iemdp, pd.DataFrame(records, dtype=float))
    pd.testing.assert_frame_equal(score_frame(iemdp, as_int), expected)
    pd.testing.assert_frame_equal(score_frame(iemdp, as_object), expected)


def test_score_frame_of_no_rows(iemdp):
    frame = pd.DataFrame(columns=[item.id for item in iemdp.items], dtype=float)
    assert score_frame(iemdp, frame).shape == (0, 34)
