"""The benchmark data generator is deterministic and matches the instrument's item layout."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

GENERATOR = Path(__file__).resolve().parents[2] / "benchmarks" / "generate_iemdp_data.py"
SUBCONSTRUCTS = (
    "OE_BEN OE_MOD SE_ACT SE_MAIN SE_REC RP_SYM RP_NEED IP_INT IP_ACT IP_COP UT_SEL UT_LAP "
    "UT_RES TA_BOND TA_GOAL TA_TASK RR_RUP RR_REP TR_RESP TR_MATCH TC_FIN TC_TIME SS_ENC SS_STIG"
).split()


@pytest.fixture(scope="module")
def gen():
    # benchmarks/ is not a package: load the script by path.
    spec = importlib.util.spec_from_file_location("generate_iemdp_data", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_same_seed_same_data(gen):
    pd.testing.assert_frame_equal(gen.simulate(300, seed=7), gen.simulate(300, seed=7))


def test_other_seed_other_data(gen):
    assert not gen.simulate(300, seed=7).equals(gen.simulate(300, seed=8))


def test_72_items_named_by_subconstruct(gen):
    df = gen.simulate(50, seed=1)
    assert df.shape == (50, 72)
    assert list(df.columns) == [f"{s}_{k}" for s in SUBCONSTRUCTS for k in (1, 2, 3)]
    assert np.isfinite(df.to_numpy()).all()


def test_likert_values_are_1_to_5(gen):
    df = gen.simulate(500, seed=1, likert=True)
    assert df.shape == (500, 72)
    assert set(np.unique(df.to_numpy())) == {1, 2, 3, 4, 5}


def test_population_is_admissible(gen):
    pop = gen.population()
    assert np.linalg.eigvalsh(pop.factor_cor()).min() > 0
    assert pop.item_loadings.min() >= 0.55 and pop.item_loadings.max() <= 0.85


def test_model_syntax_covers_every_item_once(gen):
    lines = gen.first_order_syntax().strip().splitlines()
    assert [line.split(" =~ ")[0] for line in lines] == SUBCONSTRUCTS
    items = [i for line in lines for i in line.split(" =~ ")[1].split(" + ")]
    assert items == list(gen.ITEMS)
    second = gen.second_order_syntax().strip().splitlines()
    assert len(second) == 24 + 10
    assert sorted(i for line in second[24:] for i in line.split(" =~ ")[1].split(" + ")) == sorted(
        SUBCONSTRUCTS
    )


def test_write_files(gen, tmp_path):
    paths = gen.write(tmp_path, n=40, seed=3, likert=False)
    df = pd.read_csv(paths["data"])
    pd.testing.assert_frame_equal(df, gen.simulate(40, seed=3), check_exact=True)
    assert paths["model"].read_text() == gen.first_order_syntax()
    assert paths["model_second_order"].read_text() == gen.second_order_syntax()
