"""psychometrics.items against psych::describe (tests/psychometrics/expected/items_describe.json,
written by tests/psychometrics/r/generate_reliability_oracles.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.items import describe_items, kurtosis, skewness

HERE = Path(__file__).parent
HS_ITEMS = [f"x{i}" for i in range(1, 10)]
LIKERT_ITEMS = [f"a{i}" for i in range(1, 7)] + [f"b{i}" for i in range(1, 6)]
TOL = 1e-10


def load_json(name):
    with open(HERE / "expected" / name, encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def oracle():
    return load_json("items_describe.json")


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(HERE / "data" / "holzinger_swineford_1939.csv")


@pytest.fixture(scope="module")
def likert():
    return pd.read_csv(HERE / "data" / "reliability_likert_sim.csv")


@pytest.mark.parametrize(
    ("dataset", "items"),
    [("holzinger_swineford", HS_ITEMS), ("likert_sim", LIKERT_ITEMS)],
)
def test_describe_matches_psych(oracle, hs, likert, dataset, items):
    data = hs if dataset == "holzinger_swineford" else likert
    table = describe_items(data, items).table
    for item in items:
        expected = oracle[dataset][item]
        row = table.loc[item]
        assert row["n"] == expected["n"]
        for stat in ("mean", "sd", "median", "min", "max", "skew", "kurtosis"):
            assert row[stat] == pytest.approx(expected[stat], abs=TOL), (item, stat)


@pytest.mark.parametrize("skew_type", [1, 2, 3])
@pytest.mark.parametrize("dataset", ["likert_sim", "holzinger_swineford"])
def test_skew_and_kurtosis_types_match_psych(oracle, hs, likert, dataset, skew_type):
    data, items = (likert, LIKERT_ITEMS) if dataset == "likert_sim" else (hs, HS_ITEMS)
    expected = oracle[f"{dataset}_types"][f"type{skew_type}"]
    table = describe_items(data, items, skew_type=skew_type).table
    for item in items:
        assert table.loc[item, "skew"] == pytest.approx(expected["skew"][item], abs=TOL)
        if skew_type == 1 and dataset == "likert_sim":
            # psych 2.2.9 kurtosi(type = 1) counts missing values in n; not comparable here
            continue
        assert table.loc[item, "kurtosis"] == pytest.approx(expected["kurtosis"][item], abs=TOL)


def test_missing_floor_ceiling_and_distribution():
    df = pd.DataFrame({"q1": [2, 2, 3, 4, None, None], "q2": [1, 5, 5, 3, 3, 1]})
    given = describe_items(df, response_range=(1, 5))
    assert given.range_source == "given"
    q1 = given.table.loc["q1"]
    assert q1["n"] == 4
    assert q1["missing_pct"] == pytest.approx(100 * 2 / 6)
    assert q1["floor_pct"] == 0.0  # nobody chose 1
    assert q1["ceiling_pct"] == 0.0
    assert given.table.loc["q2", "floor_pct"] == pytest.approx(100 * 2 / 6)
    assert given.table.loc["q2", "ceiling_pct"] == pytest.approx(100 * 2 / 6)
    assert list(given.distribution.columns) == [1, 2, 3, 4, 5]
    assert given.distribution.loc["q1"].tolist() == [0, 2, 1, 1, 0]

    observed = describe_items(df)
    assert observed.range_source == "observed"
    # against its own observed min (2) and max (4), q1 looks floored and ceilinged
    assert observed.table.loc["q1", "floor_pct"] == 50.0
    assert observed.table.loc["q1", "ceiling_pct"] == 25.0


def test_continuous_items_have_no_distribution(hs):
    assert describe_items(hs, HS_ITEMS).distribution is None


def test_to_dict_is_json_ready():
    df = pd.DataFrame({"q1": [1.0, 2.0, 2.0, None], "q2": [3.0, 3.0, 3.0, 3.0]})
    d = describe_items(df, response_range=(1, 5)).to_dict()
    text = json.dumps(d, allow_nan=False)  # constant item: skew is NaN -> null
    assert json.loads(text)["items"]["q2"]["skew"] is None
    assert d["distribution"]["q1"] == {"1": 1, "2": 2, "3": 0, "4": 0, "5": 0}
    assert d["skew_type"] == 3


def test_small_samples_give_nan():
    assert np.isnan(skewness(np.array([1.0, 2.0])))
    assert np.isnan(kurtosis(np.array([1.0, 2.0, 3.0])))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"items": ["q9"]}, "not in the data"),
        ({"items": ["txt"]}, "not numeric"),
        ({"items": ["q1"], "response_range": (5, 1)}, "low < high"),
        ({"items": ["q1"], "response_range": (2, 5)}, "outside the response range"),
        ({"items": ["q1"], "skew_type": 4}, "type must be"),
    ],
)
def test_bad_input_raises_value_error(kwargs, message):
    df = pd.DataFrame({"q1": [1, 2, 3], "txt": ["a", "b", "c"]})
    with pytest.raises(ValueError, match=message):
        describe_items(df, **kwargs)


def test_not_a_dataframe():
    with pytest.raises(ValueError, match="DataFrame"):
        describe_items([[1, 2], [3, 4]])
