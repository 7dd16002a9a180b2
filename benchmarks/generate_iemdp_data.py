"""Simulate responses to the IEM-DP instrument for benchmarks.

The population follows the platform's measurement model: 10 constructs, 24 subconstructs (the
first-order factors), 3 items each (72 items, named ``<SUBCONSTRUCT>_<k>`` as in
``instruments/iemdp/1.0.0.yaml``). Data are generated through the second-order structure:

    construct scores   eta  ~ N(0, Phi)                  Phi: 10 x 10 construct correlations
    subconstruct       xi_s = g_s * eta_c(s) + sqrt(1 - g_s^2) * zeta_s
    item (standard)    z_i  = l_i * xi_s(i) + sqrt(1 - l_i^2) * eps_i
    item (as given)    x_i  = mu_i + sd_i * z_i          or, with --likert, z_i cut into 1..5

so that the standardised item loadings ``l_i`` lie in [0.55, 0.85] and the first-order factor
correlations are ``g_s * Phi[c(s), c(t)] * g_t``. ``Phi`` comes from two broad dimensions
(engagement and context/access) plus construct-specific variance, which keeps it positive
definite with moderate, mostly positive correlations (about .05 to .55). The four subconstructs
whose high pole is the opposite of engagement (UT_LAP, RR_RUP, TC_FIN, SS_STIG) load negatively on
their construct. Items are simulated as *scored*, i.e. after reverse keying, so every item
loading is positive.

The population parameters are fixed (drawn once from ``POPULATION_SEED``); ``--seed`` only draws
the sample, so different seeds are different samples from the same population.

Run::

    .venv/bin/python benchmarks/generate_iemdp_data.py --n 2000 --seed 1 [--likert] [--out DIR]

It writes ``<stem>.csv``, ``<stem>.lav`` (first-order CFA, correlated factors),
``<stem>.second_order.lav`` (10 constructs over the 24 subconstructs) and ``<stem>.json`` (the
population parameters) to ``benchmarks/results/data/`` by default (git-ignored).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

CONSTRUCTS: dict[str, tuple[str, ...]] = {
    "OE": ("OE_BEN", "OE_MOD"),
    "SE": ("SE_ACT", "SE_MAIN", "SE_REC"),
    "RP": ("RP_SYM", "RP_NEED"),
    "IP": ("IP_INT", "IP_ACT", "IP_COP"),
    "UT": ("UT_SEL", "UT_LAP", "UT_RES"),
    "TA": ("TA_BOND", "TA_GOAL", "TA_TASK"),
    "RR": ("RR_RUP", "RR_REP"),
    "TR": ("TR_RESP", "TR_MATCH"),
    "TC": ("TC_FIN", "TC_TIME"),
    "SS": ("SS_ENC", "SS_STIG"),
}
SUBCONSTRUCTS: tuple[str, ...] = tuple(s for subs in CONSTRUCTS.values() for s in subs)
ITEMS_PER_SUBCONSTRUCT = 3
ITEMS: tuple[str, ...] = tuple(
    f"{s}_{k}" for s in SUBCONSTRUCTS for k in range(1, ITEMS_PER_SUBCONSTRUCT + 1)
)
# High pole = less engagement: these load negatively on their construct.
NEGATIVE_POLE = frozenset({"UT_LAP", "RR_RUP", "TC_FIN", "SS_STIG"})

# Loadings of the 10 constructs on two broad dimensions (engagement, context/access).
CONSTRUCT_DIMENSIONS = np.array(
    [
        [0.65, 0.10],  # OE outcome expectancy
        [0.70, 0.15],  # SE self-efficacy
        [0.45, -0.10],  # RP need and risk perception
        [0.70, 0.05],  # IP intention and planning
        [0.60, 0.25],  # UT use trajectory
        [0.65, 0.15],  # TA therapeutic alliance
        [0.50, 0.20],  # RR rupture and repair
        [0.60, 0.20],  # TR therapist responsiveness
        [0.20, 0.55],  # TC treatment cost and access
        [0.30, 0.45],  # SS social support
    ]
)

POPULATION_SEED = 20230207
ITEM_LOADING_RANGE = (0.55, 0.85)
SECOND_ORDER_LOADING_RANGE = (0.70, 0.90)
# Likert cut points on the standardised item scale, shifted per item by a difficulty offset.
LIKERT_CUTS = np.array([-1.6, -0.7, 0.15, 1.05])
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "data"


@dataclass(frozen=True)
class Population:
    """Population parameters of the simulation (all standardised except ``item_mean/sd``)."""

    construct_cor: np.ndarray  # (10, 10)
    second_order_loadings: np.ndarray  # (24,), signed
    item_loadings: np.ndarray  # (72,)
    item_mean: np.ndarray  # (72,)
    item_sd: np.ndarray  # (72,)
    item_offset: np.ndarray  # (72,) Likert difficulty shifts

    def factor_cor(self) -> np.ndarray:
        """Correlations of the 24 first-order factors implied by the second-order structure."""
        c = np.array([_construct_index(s) for s in SUBCONSTRUCTS])
        g = self.second_order_loadings
        r = np.outer(g, g) * self.construct_cor[np.ix_(c, c)]
        np.fill_diagonal(r, 1.0)
        return r

    def to_dict(self) -> dict:
        return {
            "population_seed": POPULATION_SEED,
            "constructs": {k: list(v) for k, v in CONSTRUCTS.items()},
            "construct_cor": self.construct_cor.round(6).tolist(),
            "second_order_loadings": dict(
                zip(SUBCONSTRUCTS, self.second_order_loadings.round(6).tolist(), strict=True)
            ),
            "item_loadings": dict(zip(ITEMS, self.item_loadings.round(6).tolist(), strict=True)),
            "item_mean": dict(zip(ITEMS, self.item_mean.round(6).tolist(), strict=True)),
            "item_sd": dict(zip(ITEMS, self.item_sd.round(6).tolist(), strict=True)),
            "factor_cor": self.factor_cor().round(6).tolist(),
        }


def _construct_index(subconstruct: str) -> int:
    return list(CONSTRUCTS).index(subconstruct.split("_")[0])


def population() -> Population:
    """The fixed population (drawn from ``POPULATION_SEED``)."""
    rng = np.random.default_rng(POPULATION_SEED)
    b = CONSTRUCT_DIMENSIONS
    phi = b @ b.T
    np.fill_diagonal(phi, 1.0)
    g = rng.uniform(*SECOND_ORDER_LOADING_RANGE, size=len(SUBCONSTRUCTS))
    g = np.where([s in NEGATIVE_POLE for s in SUBCONSTRUCTS], -g, g)
    return Population(
        construct_cor=phi,
        second_order_loadings=g,
        item_loadings=rng.uniform(*ITEM_LOADING_RANGE, size=len(ITEMS)),
        item_mean=rng.uniform(2.6, 3.8, size=len(ITEMS)),
        item_sd=rng.uniform(0.8, 1.2, size=len(ITEMS)),
        item_offset=rng.uniform(-0.4, 0.4, size=len(ITEMS)),
    )


def simulate(n: int = 2000, seed: int = 1, likert: bool = False) -> pd.DataFrame:
    """Draw ``n`` respondents; columns are the 72 items in instrument order.

    Continuous items are normal with mean ``item_mean`` and SD ``item_sd``; with ``likert`` the
    standardised item is cut into 1..5 (int columns).
    """
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    pop = population()
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(pop.construct_cor)
    eta = rng.standard_normal((n, len(CONSTRUCTS))) @ chol.T
    c = np.array([_construct_index(s) for s in SUBCONSTRUCTS])
    g = pop.second_order_loadings
    xi = eta[:, c] * g + rng.standard_normal((n, len(SUBCONSTRUCTS))) * np.sqrt(1 - g**2)
    f = np.repeat(np.arange(len(SUBCONSTRUCTS)), ITEMS_PER_SUBCONSTRUCT)
    lam = pop.item_loadings
    z = xi[:, f] * lam + rng.standard_normal((n, len(ITEMS))) * np.sqrt(1 - lam**2)
    if likert:
        cuts = LIKERT_CUTS[None, :] + pop.item_offset[:, None]  # (72, 4)
        values = 1 + (z[:, :, None] > cuts[None, :, :]).sum(axis=2)
        return pd.DataFrame(values.astype(np.int64), columns=list(ITEMS))
    return pd.DataFrame(pop.item_mean + pop.item_sd * z, columns=list(ITEMS))


def first_order_syntax() -> str:
    """lavaan syntax: 24 correlated first-order factors (cfa() correlates them by default)."""
    return (
        "\n".join(
            f"{s} =~ " + " + ".join(f"{s}_{k}" for k in range(1, ITEMS_PER_SUBCONSTRUCT + 1))
            for s in SUBCONSTRUCTS
        )
        + "\n"
    )


def second_order_syntax() -> str:
    """lavaan syntax: the first-order factors plus 10 correlated constructs over them."""
    return (
        first_order_syntax()
        + "\n".join(f"{c} =~ " + " + ".join(subs) for c, subs in CONSTRUCTS.items())
        + "\n"
    )


def default_stem(n: int, seed: int, likert: bool) -> str:
    return f"iemdp_n{n}_seed{seed}" + ("_likert" if likert else "")


def write(out_dir: Path, n: int, seed: int, likert: bool) -> dict[str, Path]:
    """Simulate and write the CSV, both model files and the population JSON; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = default_stem(n, seed, likert)
    paths = {
        "data": out_dir / f"{stem}.csv",
        "model": out_dir / f"{stem}.lav",
        "model_second_order": out_dir / f"{stem}.second_order.lav",
        "population": out_dir / f"{stem}.json",
    }
    # repr-exact floats, so that R and Python read the same numbers
    simulate(n, seed, likert).to_csv(paths["data"], index=False, float_format="%.17g")
    paths["model"].write_text(first_order_syntax())
    paths["model_second_order"].write_text(second_order_syntax())
    meta = {
        "n": n,
        "seed": seed,
        "likert": likert,
        "generator": "benchmarks/generate_iemdp_data.py",
    }
    paths["population"].write_text(json.dumps({**meta, **population().to_dict()}, indent=1))
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="respondents (default 2000)")
    parser.add_argument("--seed", type=int, default=1, help="sample seed (default 1)")
    parser.add_argument("--likert", action="store_true", help="cut items into 1..5")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})"
    )
    args = parser.parse_args(argv)
    for kind, path in write(args.out, args.n, args.seed, args.likert).items():
        print(f"{kind}: {path}")


if __name__ == "__main__":
    main()
