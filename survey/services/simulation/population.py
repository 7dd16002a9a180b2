"""The population a simulated study's participants are drawn from: numpy only, no database.

A :class:`Population` is built from the instrument definitions of a study's battery and a
random generator. Every battery instrument contributes its structure: its subconstructs
are the first-order factors, its constructs the second-order factors (a construct with a
single subconstruct is that subconstruct's factor itself). All constructs of the battery
share one correlation matrix. At wave ``t`` (0-based), participant ``i``:

.. code-block:: text

    construct factors   eta_0 ~ N(0, Phi)
                        eta_t = m_t + rho (eta_{t-1} - m_{t-1}) + sqrt(1 - rho^2) u_t,
                        u_t ~ N(0, Phi),  m_t = t * delta          (AR(1), Var = Phi)
    subconstructs       xi_s = g_s eta_c(s) + sqrt(1 - g_s^2) zeta_s,
                        zeta_s AR(1) with the same rho, variance 1
    keyed item          z_j  = l_j xi_s(j) + sqrt(1 - l_j^2) e_j,   e_j ~ N(0, 1) every wave
    raw item            y_j  = z_j, or -z_j for a reverse-keyed item (``reverse: true``)
    answer              x_j  = the option k (0-based, in scale order) with
                               tau_{j,k-1} < y_j <= tau_{j,k}

so ``l_j`` is the standardised first-order loading of the *reverse-keyed* item
(:func:`instruments.scoring.reverse_keyed` turns ``x_j`` back into a function of ``z_j``)
and every keyed loading is positive; a subconstruct with ``reverse: true`` loads
negatively on its construct (``g_s < 0``).

Parameters (defaults in :class:`Settings`, drawn once per population):

- first-order loadings ``l_j ~ U(.55, .85)``; second-order loadings ``|g_s| ~ U(.60, .90)``;
- ``Phi = D D' + diag(1 - rowsum(D^2))`` from two broad dimensions (engagement
  ``D[:, 0] ~ U(.40, .70)``, context and access ``D[:, 1] ~ U(-.20, .40)``) plus unique
  variance: positive definite, correlations about .08 to .65 (the construction of
  ``benchmarks/generate_iemdp_data.py``, made general);
- thresholds: ``K - 1`` cut points on the keyed response ``z`` evenly spaced over
  ``[-0.4 (K - 1), 0.4 (K - 1)]`` (5 points: -1.6, -0.53, 0.53, 1.6), stretched by
  ``U(.9, 1.1)`` and shifted by ``N(-0.45, 0.2)`` per item, so answers lean toward the
  keyed high pole (5 points, average item: 2 %, 14 %, 37 %, 34 %, 13 %): participants
  mostly agree with forward-worded items and disagree with reverse-worded ones. A
  reverse-keyed item's cut points on its raw response ``y = -z`` are these mirrored
  (``-tau`` in reverse order); the truth states the raw ones;
- stability ``rho = .7`` on every construct; mean change ``delta = +0.15`` per wave (in
  SD units) for the *key constructs* (therapeutic alliance ``TA`` and self-efficacy
  ``SE`` when the battery has them, else its first construct), 0 for the others.

The sample (:meth:`Population.sample`) adds what a study sees:

- dropout between waves, logistic on the key constructs at the wave before:
  ``P(drop) = 1 / (1 + exp(-(b0 + sum_c b_c eta_c)))`` with ``b0 = logit(.12)`` and
  ``b_c = -0.5`` (low alliance and self-efficacy drop out more); a dropped participant has
  no later session;
- 4 % of sessions left incomplete (stopped after 1 .. P-1 of the P pages; the next page
  shown, never submitted);
- 5 % careless participants, a third each of ``straightline`` (one option, at the same
  relative place of every scale, for every entry of a session, attention checks
  included), ``random`` (uniform over each scale) and ``fast`` (40 % of answers uniform,
  the rest from the model; each attention check passed with probability .6; under 2 s
  per item). Attentive participants pass *all* attention checks of a session with
  probability .97 (each check with ``.97 ** (1 / checks)``; a failure is another option
  at random); an optional item is skipped with probability .03;
- page times: seconds per entry ``r_i ~ logN(log 6, .3)`` per participant (straight-liners
  ``logN(log 2.6, .3)``, random ``logN(log 2.8, .3)``, fast ``logN(log 1.1, .2)`` capped at
  1.9 s), times ``logN(0, .1)`` per session and ``logN(0, .25)`` per page; 2 % of an
  attentive participant's pages have a break of ``logN(log 240 s, .8)`` added;
- enrolment uniform over a 60-day recruitment period; a wave's session starts
  2 to 30 minutes after enrolment at offset 0, else ``offset + min(Exp(2 days), window -
  0.5 day)`` days after it;
- delivery mode chat for 30 % of participants (every answer of theirs), web for the rest;
  age group 18-25 / 26-35 / 36-45 / 46-55 / 56+ with probabilities .22 / .30 / .22 / .15 /
  .11, independent of the rest;
- per wave attended, engagement in the four weeks after it:
  ``messages_sent ~ Poisson(exp(log 12 + sum_c 0.25 eta_c - 1.0 d))`` and
  ``active_weeks ~ Binomial(4, logistic(1.0 + sum_c 0.5 eta_c - 1.5 d))`` over the key
  constructs, ``d = dropped_out`` (1: no session at the next wave; 0 at the last wave).

References: the latent-response formulation of ordered items, Muthén (1984),
*Psychometrika* 49, 115-132, doi:10.1007/BF02294210; careless-response kinds and
prevalence, Meade & Craig (2012), *Psychological Methods* 17, 437-455,
doi:10.1037/a0028085; under 2 s per item as too fast to read, Huang, Curran, Keeney,
Poposki & DeShon (2012), *Journal of Business and Psychology* 27, 99-114,
doi:10.1007/s10869-011-9231-8.

>>> import numpy as np
>>> from instruments.loader import instrument_path, load_instrument
>>> iemdp = load_instrument(instrument_path("iemdp", "1.0.0"))
>>> population = Population.draw([iemdp], np.random.default_rng(1))
>>> len(population.items), len(population.factors), len(population.constructs)
(72, 24, 10)
>>> [c.name for c in population.constructs if c.key]
['SE', 'TA']
>>> bool(np.linalg.eigvalsh(population.implied_correlation()).min() > 0)
True
>>> sample = population.sample(200, [(0, 14), (28, 14)], np.random.default_rng(2))
>>> sample.answers.shape, int(sample.present[0].sum())
((2, 200, 72), 200)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from instruments.definition import AttentionCheck, InstrumentDefinition

CARELESS_KINDS = ("straightline", "random", "fast")
AGE_GROUPS = ("18-25", "26-35", "36-45", "46-55", "56+")
# Construct codes whose growth and low values drive dropout (IEM-DP: therapeutic alliance
# and self-efficacy); a battery without them uses its first construct.
KEY_CONSTRUCT_CODES = ("TA", "SE")


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Settings:
    """The stated ranges and rates of the population model (see the module docstring)."""

    first_order_loadings: tuple[float, float] = (0.55, 0.85)
    second_order_loadings: tuple[float, float] = (0.60, 0.90)
    engagement_dimension: tuple[float, float] = (0.40, 0.70)
    context_dimension: tuple[float, float] = (-0.20, 0.40)
    stability: float = 0.7
    key_mean_change: float = 0.15
    threshold_step: float = 0.4  # half-width of the cut points per scale step
    threshold_stretch: tuple[float, float] = (0.9, 1.1)
    agreement_shift: float = -0.45
    agreement_shift_sd: float = 0.2
    dropout_probability: float = 0.12  # at average key constructs
    dropout_slope: float = -0.5
    incomplete_share: float = 0.04
    careless_share: float = 0.05
    attentive_session_pass: float = 0.97
    fast_check_pass: float = 0.6
    fast_random_share: float = 0.4
    optional_skip: float = 0.03
    seconds_per_entry: float = 6.0
    careless_seconds: tuple[tuple[str, float, float], ...] = (
        ("straightline", 2.6, 0.3),
        ("random", 2.8, 0.3),
        ("fast", 1.1, 0.2),
    )
    fast_cap_seconds: float = 1.9
    person_speed_sd: float = 0.3
    session_speed_sd: float = 0.1
    page_speed_sd: float = 0.25
    break_probability: float = 0.02
    break_seconds: float = 240.0
    break_sd: float = 0.8
    recruitment_days: float = 60.0
    later_wave_delay_days: float = 2.0
    chat_share: float = 0.30
    age_group_probabilities: tuple[float, ...] = (0.22, 0.30, 0.22, 0.15, 0.11)
    messages_intercept: float = math.log(12.0)
    messages_slope: float = 0.25
    messages_dropped: float = -1.0
    active_weeks_trials: int = 4
    active_weeks_intercept: float = 1.0
    active_weeks_slope: float = 0.5
    active_weeks_dropped: float = -1.5


@dataclass(frozen=True)
class ConstructParameters:
    """A construct (second-order factor): its name, mean change per wave, and whether it
    is a key construct (drives growth, dropout and engagement)."""

    name: str
    instrument: int
    code: str
    mean_change: float
    key: bool


@dataclass(frozen=True)
class FactorParameters:
    """A subconstruct (first-order factor) and its signed second-order loading ``g``
    (1 for a construct's only subconstruct)."""

    name: str
    instrument: int
    code: str
    construct: int
    loading: float
    second_order: bool


@dataclass(frozen=True)
class ItemParameters:
    """A scored item: its factor, standardised loading (on the keyed item), keying,
    thresholds on the raw latent response and the scale's values in order."""

    name: str
    instrument: int
    item_id: str
    factor: int
    loading: float
    reverse: bool
    thresholds: tuple[float, ...]
    values: tuple[int, ...]
    optional: bool
    safety_threshold: int | None


@dataclass(frozen=True)
class CheckParameters:
    """An attention check: its expected answer and the scale's values."""

    name: str
    instrument: int
    check_id: str
    expected: int
    values: tuple[int, ...]


@dataclass(frozen=True)
class PageLayout:
    """One page of the battery: the indices of its items and attention checks."""

    instrument: int
    key: str
    items: tuple[int, ...]
    checks: tuple[int, ...]

    @property
    def size(self) -> int:
        return len(self.items) + len(self.checks)


@dataclass(frozen=True)
class Sample:
    """Simulated participants of one draw (``W`` waves, ``n`` participants).

    Arrays are indexed ``[wave, participant, ...]``; ``NaN`` marks what does not exist (a
    page not shown, an answer not given, a wave not attended).

    - ``kind``: ``""`` (attentive) or a :data:`CARELESS_KINDS` entry, per participant;
    - ``chat``, ``age_group``, ``enrol_days`` (days after the start of recruitment),
      ``item_order_seed``;
    - ``eta`` (W, n, C) construct factors; ``present`` (W, n) a session exists;
      ``pages_submitted`` (W, n) of ``len(pages)``;
    - ``answers`` (W, n, I) raw answers, ``checks`` (W, n, A) attention-check answers,
      ``latent`` (W, n, I) the keyed latent responses ``z``;
    - ``start_days`` (W, n) session start (days after the start of recruitment),
      ``page_seconds`` (W, n, P) from showing to submitting each page (the first page not
      submitted of an incomplete session: shown, ``NaN``);
    - ``messages_sent``, ``active_weeks``, ``dropped_out`` (W, n).
    """

    kind: np.ndarray
    chat: np.ndarray
    age_group: np.ndarray
    enrol_days: np.ndarray
    item_order_seed: np.ndarray
    eta: np.ndarray
    present: np.ndarray
    pages_submitted: np.ndarray
    answers: np.ndarray
    checks: np.ndarray
    latent: np.ndarray
    start_days: np.ndarray
    page_seconds: np.ndarray
    messages_sent: np.ndarray
    active_weeks: np.ndarray
    dropped_out: np.ndarray

    @property
    def n(self) -> int:
        return int(self.kind.shape[0])


@dataclass(frozen=True)
class Population:
    """The drawn parameters of a battery's population model (see the module docstring)."""

    constructs: tuple[ConstructParameters, ...]
    factors: tuple[FactorParameters, ...]
    items: tuple[ItemParameters, ...]
    checks: tuple[CheckParameters, ...]
    pages: tuple[PageLayout, ...]
    correlations: np.ndarray
    broad_loadings: np.ndarray
    settings: Settings = field(default_factory=Settings)

    # -- drawing -------------------------------------------------------------------------
    @classmethod
    def draw(
        cls,
        definitions: Sequence[InstrumentDefinition],
        rng: np.random.Generator,
        settings: Settings | None = None,
    ) -> Population:
        """Draw the parameters for a battery of ``definitions`` (in battery order).

        Names are the definition's codes and item ids, prefixed ``<instrument key>.`` when
        the battery has more than one instrument (as the exports name columns).
        """
        settings = settings or Settings()
        if not definitions:
            raise ValueError("a population needs at least one instrument definition")
        qualify = len(definitions) > 1

        def name(definition: InstrumentDefinition, code: str) -> str:
            return f"{definition.key}.{code}" if qualify else code

        constructs: list[ConstructParameters] = []
        factors: list[FactorParameters] = []
        items: list[ItemParameters] = []
        checks: list[CheckParameters] = []
        pages: list[PageLayout] = []
        key_codes = {
            (index, construct.code)
            for index, definition in enumerate(definitions)
            for construct in definition.constructs
            if construct.code in KEY_CONSTRUCT_CODES
        } or {(0, definitions[0].constructs[0].code)}
        low, high = settings.first_order_loadings
        g_low, g_high = settings.second_order_loadings
        for index, definition in enumerate(definitions):
            item_index: dict[str, int] = {}
            check_index: dict[str, int] = {}
            for construct in definition.constructs:
                is_key = (index, construct.code) in key_codes
                constructs.append(
                    ConstructParameters(
                        name=name(definition, construct.code),
                        instrument=index,
                        code=construct.code,
                        mean_change=settings.key_mean_change if is_key else 0.0,
                        key=is_key,
                    )
                )
                second_order = len(construct.subconstructs) >= 2
                for sub in construct.subconstructs:
                    g = float(rng.uniform(g_low, g_high)) if second_order else 1.0
                    factors.append(
                        FactorParameters(
                            name=name(definition, sub.code),
                            instrument=index,
                            code=sub.code,
                            construct=len(constructs) - 1,
                            loading=-g if sub.reverse and second_order else g,
                            second_order=second_order,
                        )
                    )
                    for item in sub.items:
                        values = tuple(sorted(definition.scale(item.scale).values))
                        item_index[item.id] = len(items)
                        items.append(
                            ItemParameters(
                                name=name(definition, item.id),
                                instrument=index,
                                item_id=item.id,
                                factor=len(factors) - 1,
                                loading=float(rng.uniform(low, high)),
                                reverse=item.reverse,
                                thresholds=_draw_thresholds(
                                    len(values), item.reverse, rng, settings
                                ),
                                values=values,
                                optional=item.optional,
                                safety_threshold=item.safety_threshold,
                            )
                        )
            for check in definition.attention_checks:
                check_index[check.id] = len(checks)
                checks.append(
                    CheckParameters(
                        name=name(definition, check.id),
                        instrument=index,
                        check_id=check.id,
                        expected=check.expected,
                        values=tuple(sorted(definition.scale(check.scale).values)),
                    )
                )
            for page in definition.pages():
                pages.append(
                    PageLayout(
                        instrument=index,
                        key=page.key,
                        items=tuple(
                            item_index[e.id]
                            for e in page.entries
                            if not isinstance(e, AttentionCheck)
                        ),
                        checks=tuple(
                            check_index[e.id] for e in page.entries if isinstance(e, AttentionCheck)
                        ),
                    )
                )
        broad = np.column_stack(
            [
                rng.uniform(*settings.engagement_dimension, size=len(constructs)),
                rng.uniform(*settings.context_dimension, size=len(constructs)),
            ]
        )
        correlations = broad @ broad.T
        np.fill_diagonal(correlations, 1.0)
        return cls(
            constructs=tuple(constructs),
            factors=tuple(factors),
            items=tuple(items),
            checks=tuple(checks),
            pages=tuple(pages),
            correlations=correlations,
            broad_loadings=broad,
            settings=settings,
        )

    # -- implied moments -----------------------------------------------------------------
    def factor_correlation(self) -> np.ndarray:
        """Correlations of the first-order factors at any wave:
        ``g_s g_t Phi[c(s), c(t)]`` off the diagonal, 1 on it."""
        g = np.array([f.loading for f in self.factors])
        c = np.array([f.construct for f in self.factors])
        psi = np.outer(g, g) * self.correlations[np.ix_(c, c)]
        np.fill_diagonal(psi, 1.0)
        return psi

    def implied_correlation(self) -> np.ndarray:
        """Correlations of the keyed latent item responses ``z`` at any wave:
        ``Lambda Psi Lambda' + Theta`` with unit variances."""
        loadings = np.array([item.loading for item in self.items])
        factor = np.array([item.factor for item in self.items])
        psi = self.factor_correlation()
        sigma = np.outer(loadings, loadings) * psi[np.ix_(factor, factor)]
        np.fill_diagonal(sigma, 1.0)
        return sigma

    # -- sampling ------------------------------------------------------------------------
    def sample(
        self,
        n: int,
        schedule: Sequence[tuple[float, float | None]],
        rng: np.random.Generator,
    ) -> Sample:
        """Draw ``n`` participants over the waves of ``schedule`` (offset in days after
        enrolment, window in days or None) from this population."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        if not schedule:
            raise ValueError("the schedule needs at least one wave")
        s = self.settings
        waves = len(schedule)
        kind = _draw_kinds(n, rng, s)
        eta = self._constructs_over_waves(n, waves, rng)
        latent = self._item_latent(self._factors_over_waves(eta, rng), rng)
        present = self._dropout(eta, rng)
        pages_submitted = self._pages_submitted(present, rng)
        # A straight-liner's line: one relative place on every scale, per session.
        line = rng.random((waves, n))
        answers = np.stack([self._answers(latent[w], kind, line[w], rng) for w in range(waves)])
        checks = np.stack([self._check_answers(kind, line[w], rng) for w in range(waves)])
        answers, checks = self._blank_unsubmitted(answers, checks, pages_submitted)
        page_seconds = self._page_seconds(kind, pages_submitted, rng)
        enrol_days = rng.uniform(0.0, s.recruitment_days, size=n)
        start_days = _start_days(enrol_days, schedule, present, rng, s)
        dropped = np.zeros((waves, n))
        dropped[:-1] = present[:-1] & ~present[1:]
        dropped[~present] = np.nan
        messages, active = self._engagement(eta, dropped, present, rng)
        return Sample(
            kind=kind,
            chat=rng.random(n) < s.chat_share,
            age_group=np.array(AGE_GROUPS)[
                rng.choice(len(AGE_GROUPS), size=n, p=np.array(s.age_group_probabilities))
            ],
            enrol_days=enrol_days,
            item_order_seed=rng.integers(0, 2**31, size=n),
            eta=eta,
            present=present,
            pages_submitted=pages_submitted,
            answers=answers,
            checks=checks,
            latent=latent,
            start_days=start_days,
            page_seconds=page_seconds,
            messages_sent=messages,
            active_weeks=active,
            dropped_out=dropped,
        )

    def _constructs_over_waves(self, n: int, waves: int, rng: np.random.Generator) -> np.ndarray:
        rho = self.settings.stability
        chol = np.linalg.cholesky(self.correlations)
        change = np.array([c.mean_change for c in self.constructs])
        eta = np.empty((waves, n, len(self.constructs)))
        eta[0] = rng.standard_normal((n, len(self.constructs))) @ chol.T
        for w in range(1, waves):
            innovation = rng.standard_normal((n, len(self.constructs))) @ chol.T
            eta[w] = (
                w * change
                + rho * (eta[w - 1] - (w - 1) * change)
                + math.sqrt(1 - rho**2) * innovation
            )
        return eta

    def _factors_over_waves(self, eta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        rho = self.settings.stability
        waves, n, _ = eta.shape
        g = np.array([f.loading for f in self.factors])
        c = np.array([f.construct for f in self.factors])
        unique = np.empty((waves, n, len(self.factors)))
        unique[0] = rng.standard_normal((n, len(self.factors)))
        for w in range(1, waves):
            unique[w] = rho * unique[w - 1] + math.sqrt(1 - rho**2) * rng.standard_normal(
                (n, len(self.factors))
            )
        return g * eta[:, :, c] + np.sqrt(1.0 - g**2) * unique

    def _item_latent(self, xi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        loadings = np.array([item.loading for item in self.items])
        factor = np.array([item.factor for item in self.items])
        noise = rng.standard_normal((*xi.shape[:2], len(self.items)))
        return loadings * xi[:, :, factor] + np.sqrt(1.0 - loadings**2) * noise

    def _dropout(self, eta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        s = self.settings
        waves, n, _ = eta.shape
        present = np.ones((waves, n), dtype=bool)
        coefficients = self.dropout_coefficients()
        for w in range(1, waves):
            logit = _logit(s.dropout_probability) + eta[w - 1] @ coefficients
            dropped = rng.random(n) < _logistic(logit)
            present[w] = present[w - 1] & ~dropped
        return present

    def dropout_coefficients(self) -> np.ndarray:
        """Logistic dropout coefficients per construct (non-zero for key constructs)."""
        return np.array([self.settings.dropout_slope if c.key else 0.0 for c in self.constructs])

    def _pages_submitted(self, present: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        total = len(self.pages)
        waves, n = present.shape
        incomplete = present & (rng.random((waves, n)) < self.settings.incomplete_share)
        stopped_after = rng.integers(0, max(total - 1, 0), size=(waves, n), endpoint=True)
        if total > 1:
            stopped_after = np.maximum(stopped_after, 1)
        pages = np.where(incomplete, stopped_after, total)
        return np.where(present, pages, 0)

    def _answers(
        self, z: np.ndarray, kind: np.ndarray, line: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Raw answers (n, I) of one wave from the keyed latent responses ``z``; ``line``
        is each straight-liner's relative place on the scales (0 <= line < 1)."""
        n = z.shape[0]
        s = self.settings
        reverse = np.array([item.reverse for item in self.items])
        raw = np.where(reverse, -z, z)
        width = max(len(item.values) for item in self.items)
        cuts = np.full((len(self.items), width - 1), np.inf)
        values = np.zeros((len(self.items), width))
        for j, item in enumerate(self.items):
            cuts[j, : len(item.thresholds)] = item.thresholds
            values[j, : len(item.values)] = item.values
        category = (raw[:, :, None] > cuts[None, :, :]).sum(axis=2)
        sizes = np.array([len(item.values) for item in self.items])
        uniform = np.floor(rng.random((n, len(self.items))) * sizes).astype(int)
        random_answer = (kind == "random")[:, None] | (
            (kind == "fast")[:, None] & (rng.random((n, len(self.items))) < s.fast_random_share)
        )
        category = np.where(random_answer, uniform, category)
        straight = np.floor(line[:, None] * sizes[None, :]).astype(int)
        category = np.where((kind == "straightline")[:, None], straight, category)
        answers = values[np.arange(len(self.items))[None, :], category]
        optional = np.array([item.optional for item in self.items])
        skipped = (
            optional[None, :]
            & (kind == "")[:, None]
            & (rng.random(answers.shape) < s.optional_skip)
        )
        return np.where(skipped, np.nan, answers)

    def _check_answers(
        self, kind: np.ndarray, line: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Attention-check answers (n, A) of one wave (see :meth:`_answers` for ``line``)."""
        s = self.settings
        n = kind.shape[0]
        answers = np.empty((n, len(self.checks)))
        if not self.checks:
            return answers
        attentive_pass = s.attentive_session_pass ** (1.0 / len(self.checks))
        passes = np.where(kind == "fast", s.fast_check_pass, attentive_pass)
        for a, check in enumerate(self.checks):
            values = np.array(check.values, dtype=float)
            others = values[values != check.expected]
            if len(others) == 0:
                others = values
            wrong = others[rng.integers(0, len(others), size=n)]
            answer = np.where(rng.random(n) < passes, check.expected, wrong)
            answer = np.where(
                kind == "random", values[rng.integers(0, len(values), size=n)], answer
            )
            straight = values[np.floor(line * len(values)).astype(int)]
            answers[:, a] = np.where(kind == "straightline", straight, answer)
        return answers

    def _blank_unsubmitted(
        self, answers: np.ndarray, checks: np.ndarray, pages_submitted: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """NaN for every answer on a page that was not submitted."""
        item_page = np.empty(len(self.items), dtype=int)
        check_page = np.empty(len(self.checks), dtype=int)
        for p, page in enumerate(self.pages):
            item_page[list(page.items)] = p
            check_page[list(page.checks)] = p
        answers = np.where(item_page[None, None, :] < pages_submitted[:, :, None], answers, np.nan)
        checks = np.where(check_page[None, None, :] < pages_submitted[:, :, None], checks, np.nan)
        return answers, checks

    def _page_seconds(
        self, kind: np.ndarray, pages_submitted: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Seconds from showing to submitting each page (W, n, P); NaN when not submitted."""
        s = self.settings
        waves, n = pages_submitted.shape
        median = np.full(n, s.seconds_per_entry)
        sd = np.full(n, s.person_speed_sd)
        for careless, seconds, spread in s.careless_seconds:
            median[kind == careless] = seconds
            sd[kind == careless] = spread
        person = median * np.exp(sd * rng.standard_normal(n))
        session = person[None, :] * np.exp(s.session_speed_sd * rng.standard_normal((waves, n)))
        sizes = np.array([page.size for page in self.pages], dtype=float)
        rate = session[:, :, None] * np.exp(
            s.page_speed_sd * rng.standard_normal((waves, n, len(self.pages)))
        )
        fast = (kind == "fast")[None, :, None]
        rate = np.where(fast, np.minimum(rate, s.fast_cap_seconds), rate)
        seconds = rate * sizes[None, None, :]
        breaks = (
            (kind == "")[None, :, None] & (rng.random(seconds.shape) < s.break_probability)
        ) * (s.break_seconds * np.exp(s.break_sd * rng.standard_normal(seconds.shape)))
        seconds = seconds + breaks
        submitted = np.arange(len(self.pages))[None, None, :] < pages_submitted[:, :, None]
        return np.where(submitted, seconds, np.nan)

    def _engagement(
        self,
        eta: np.ndarray,
        dropped: np.ndarray,
        present: np.ndarray,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Messages sent and active weeks in the four weeks after each attended wave."""
        s = self.settings
        key = np.array([c.key for c in self.constructs], dtype=float)
        drive = eta @ key
        d = np.nan_to_num(dropped)
        rate = np.exp(s.messages_intercept + s.messages_slope * drive + s.messages_dropped * d)
        messages = rng.poisson(rate).astype(float)
        p_active = _logistic(
            s.active_weeks_intercept + s.active_weeks_slope * drive + s.active_weeks_dropped * d
        )
        active = rng.binomial(s.active_weeks_trials, p_active).astype(float)
        messages[~present] = np.nan
        active[~present] = np.nan
        return messages, active

    # -- truth ---------------------------------------------------------------------------
    def truth(self) -> dict[str, Any]:
        """The generating parameters as plain JSON data (names as in the module docstring).

        ``loadings``: item name -> standardised first-order loading of the reverse-keyed
        item; ``second_order_loadings``: subconstruct name -> signed loading on its
        construct (constructs with two or more subconstructs); ``thresholds``: item name ->
        cut points on the raw latent response with the scale values they separate.
        """
        s = self.settings
        key = [c.name for c in self.constructs if c.key]
        return {
            "model": (
                "eta_t AR(1) over waves with Phi; xi = g eta + sqrt(1-g^2) zeta; "
                "z = l xi + sqrt(1-l^2) e; raw y = z, or -z for reverse-keyed items; "
                "answer = scale option of y between thresholds"
            ),
            "loadings": {item.name: round(item.loading, 6) for item in self.items},
            "loading_range": list(s.first_order_loadings),
            "second_order_loadings": {
                f.name: round(f.loading, 6) for f in self.factors if f.second_order
            },
            "second_order_loading_range": list(s.second_order_loadings),
            "subconstruct_construct": {
                f.name: self.constructs[f.construct].name for f in self.factors
            },
            "thresholds": {
                item.name: {
                    "cuts": [round(t, 6) for t in item.thresholds],
                    "values": list(item.values),
                    "reverse_keyed": item.reverse,
                }
                for item in self.items
            },
            "constructs": [c.name for c in self.constructs],
            "construct_correlations": [
                [round(float(r), 6) for r in row] for row in self.correlations
            ],
            "broad_dimension_loadings": {
                c.name: [round(float(v), 6) for v in row]
                for c, row in zip(self.constructs, self.broad_loadings, strict=True)
            },
            "stabilities": {c.name: s.stability for c in self.constructs},
            "subconstruct_specific_stability": s.stability,
            "mean_changes": {c.name: c.mean_change for c in self.constructs},
            "key_constructs": key,
            "dropout_model": {
                "link": "logit",
                "outcome": "no session at the next wave",
                "predictors": "construct factors at the wave before",
                "intercept": round(_logit(s.dropout_probability), 6),
                "coefficients": {name: s.dropout_slope for name in key},
            },
            "outcome_model": {
                "messages_sent": {
                    "family": "poisson",
                    "link": "log",
                    "intercept": round(s.messages_intercept, 6),
                    "coefficients": {name: s.messages_slope for name in key}
                    | {"dropped_out": s.messages_dropped},
                },
                "active_weeks": {
                    "family": "binomial",
                    "trials": s.active_weeks_trials,
                    "link": "logit",
                    "intercept": s.active_weeks_intercept,
                    "coefficients": {name: s.active_weeks_slope for name in key}
                    | {"dropped_out": s.active_weeks_dropped},
                },
                "dropped_out": "1 when the participant has no session at the next wave",
                "age_group": dict(zip(AGE_GROUPS, s.age_group_probabilities, strict=True)),
                "chat_share": s.chat_share,
            },
            "careless_share": s.careless_share,
            "attention": {
                "attentive_session_pass": s.attentive_session_pass,
                "fast_check_pass": s.fast_check_pass,
            },
            "timing": {
                "seconds_per_entry_median": s.seconds_per_entry,
                "careless_seconds_per_entry_median": {k: v for k, v, _sd in s.careless_seconds},
                "fast_cap_seconds": s.fast_cap_seconds,
                "break_probability": s.break_probability,
            },
            "incomplete_share": s.incomplete_share,
        }


def _draw_thresholds(
    k: int, reverse: bool, rng: np.random.Generator, s: Settings
) -> tuple[float, ...]:
    """``k - 1`` increasing cut points on the raw latent response (see the module).

    They are drawn for the keyed response (leaning toward its high pole) and mirrored for
    a reverse-keyed item, whose raw response is the negated keyed one."""
    if k < 2:
        return ()
    half = s.threshold_step * (k - 1)
    base = np.linspace(-half, half, k - 1) if k > 2 else np.zeros(1)
    cuts = base * rng.uniform(*s.threshold_stretch) + rng.normal(
        s.agreement_shift, s.agreement_shift_sd
    )
    if reverse:
        cuts = -cuts[::-1]
    return tuple(float(c) for c in cuts)


def _draw_kinds(n: int, rng: np.random.Generator, s: Settings) -> np.ndarray:
    """``""`` for attentive participants, else one of :data:`CARELESS_KINDS` (equal
    shares of ``careless_share``)."""
    careless = rng.random(n) < s.careless_share
    kinds = np.array(CARELESS_KINDS)[rng.integers(0, len(CARELESS_KINDS), size=n)]
    return np.where(careless, kinds, "")


def _start_days(
    enrol_days: np.ndarray,
    schedule: Sequence[tuple[float, float | None]],
    present: np.ndarray,
    rng: np.random.Generator,
    s: Settings,
) -> np.ndarray:
    """Session start per wave (days after the start of recruitment); NaN when absent."""
    n = enrol_days.shape[0]
    start = np.empty((len(schedule), n))
    for w, (offset, window) in enumerate(schedule):
        if offset == 0:
            delay = rng.uniform(2.0, 30.0, size=n) / (24 * 60)
        else:
            cap = max((window if window is not None else 30.0) - 0.5, 0.1)
            delay = np.minimum(rng.exponential(s.later_wave_delay_days, size=n), cap)
        start[w] = enrol_days + offset + delay
    return np.where(present, start, np.nan)
