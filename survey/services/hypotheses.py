"""Hypotheses for construct validity: read, stated with the study, retired, handed to a run.

COSMIN judges construct validity by hypotheses stated *before* the analysis: expected
correlations with other measures, or expected differences between them (Prinsen et al.
2018, doi:10.1007/s11136-018-1798-3; Mokkink et al. 2010, doi:10.1016/j.jclinepi.2010.02.006).
A researcher writes each as one sentence; :func:`parse_hypothesis` reads it into a plain
``spec`` that :mod:`survey.services.validation.hypotheses` tests.

**The grammar.** Keywords are case-insensitive, blanks free; a final full stop is allowed.
``A``, ``B``, ``C`` are names from :func:`known_names`; ``r`` a number such as ``.30``,
``0.3``, ``-0.2`` or ``+.5`` between -1 and 1::

    A correlates <op> r with B          op: >=  >  <=  <  ≥  ≤   (r(A, B) <op> r)
    A correlates more with B than with C                          (|r(A, B)| > |r(A, C)|)
    A correlates positively with B                                (r(A, B) > 0)
    A correlates negatively with B                                (r(A, B) < 0)

``correlate`` is accepted for ``correlates``, ``more strongly`` for ``more`` and
``than C`` for ``than with C``. Thresholds are on the signed r: "UT_LAP correlates <= -.10
with active_weeks" expects a negative correlation of at least 0.10 in size. Names match
exactly, or without regard to case when that is unambiguous (stored as the known
spelling). The names of a hypothesis are distinct, and at least one is a score: a
hypothesis about construct validity is about the instrument.

The specs (plain JSON)::

    {"kind": "correlation", "left": "TA", "right": "messages_sent", "op": ">=", "value": 0.3}
    {"kind": "comparison", "left": "SE", "more": "IP", "than": "TC"}
    {"kind": "sign", "left": "TA", "right": "dropped_out", "sign": "negative"}

**Names** (:func:`known_names`): the construct and subconstruct codes of the battery's
instruments (kind ``"score"``) and the numeric columns of the study's current outcome
version (kind ``"outcome"``). With more than one instrument in the battery every code is
prefixed by its instrument's key, ``iemdp.TA``, as the exports name columns
(:func:`survey.services.study_data.battery_columns`); with one, codes stand alone. A score
hides an outcome column of the same name.

**Storage.** A hypothesis is stated once (:func:`state_hypothesis`), time-stamped, and never
edited or deleted: it is retired (:func:`retire_hypothesis`) and another stated. Both are
audited (``hypothesis_stated`` / ``hypothesis_retired``, target the study). A run takes the
hypotheses in force when it was asked for (:func:`hypotheses_for_run`). Services flush and
never commit.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditAction, Study, StudyHypothesis, User, utcnow
from survey.services import audit, outcomes
from survey.services.errors import SurveyError
from survey.services.instruments import definition_of

__all__ = [
    "ACCEPTED_FORMS",
    "MAX_TEXT",
    "OUTCOME",
    "SCORE",
    "DuplicateHypothesis",
    "HypothesisAlreadyRetired",
    "InvalidHypothesis",
    "UnknownName",
    "describe",
    "hypotheses_for_run",
    "hypotheses_of",
    "known_names",
    "parse_hypothesis",
    "retire_hypothesis",
    "spec_names",
    "state_hypothesis",
]

SCORE = "score"
OUTCOME = "outcome"
MAX_TEXT = 500
"""The longest hypothesis accepted (characters, after stripping)."""

ACCEPTED_FORMS = (
    "A correlates >= .30 with B  (or >, <=, <, ≥, ≤; a number from -1 to 1)",
    "A correlates more with B than with C",
    "A correlates positively with B  (or negatively)",
)


class InvalidHypothesis(SurveyError):
    """A hypothesis that cannot be read or stated; ``field`` is the form field it concerns."""

    field = "text"


class UnknownName(InvalidHypothesis):
    """A name that is no score or outcome of the study; ``name`` is the name written,
    ``known`` every known name, closest first."""

    def __init__(self, message: str, *, name: str, known: list[str]):
        self.name = name
        self.known = known
        super().__init__(message)


class DuplicateHypothesis(InvalidHypothesis):
    """The same hypothesis (the same spec) is in force already; ``existing`` is it."""

    def __init__(self, message: str, *, existing: StudyHypothesis):
        self.existing = existing
        super().__init__(message)


class HypothesisAlreadyRetired(SurveyError):
    """The hypothesis was retired already: retiring is done once."""


# -- the grammar ----------------------------------------------------------------------------

_NAME = r"[A-Za-z][A-Za-z0-9_\-]*(?:\.[A-Za-z][A-Za-z0-9_]*)?"
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_OP = r">=|<=|>|<"
_CORRELATES = r"correlates?"
_FORMS = (
    (
        "correlation",
        re.compile(
            rf"(?P<left>{_NAME})\s+{_CORRELATES}\s*(?P<op>{_OP})\s*(?P<value>{_NUMBER})"
            rf"\s+with\s+(?P<right>{_NAME})",
            re.IGNORECASE,
        ),
    ),
    (
        "comparison",
        re.compile(
            rf"(?P<left>{_NAME})\s+{_CORRELATES}\s+more(?:\s+strongly)?\s+with\s+"
            rf"(?P<more>{_NAME})\s+than(?:\s+with)?\s+(?P<than>{_NAME})",
            re.IGNORECASE,
        ),
    ),
    (
        "sign",
        re.compile(
            rf"(?P<left>{_NAME})\s+{_CORRELATES}\s+(?P<sign>positively|negatively)"
            rf"\s+with\s+(?P<right>{_NAME})",
            re.IGNORECASE,
        ),
    ),
)
_UNICODE_OPS = {"≥": ">=", "≤": "<=", "⩾": ">=", "⩽": "<="}
_BAD_OP = re.compile(rf"{_CORRELATES}\s*(==|=>|=<|=|≈|~|≠|!=)", re.IGNORECASE)
# The names each kind of spec holds, in the order they are written.
_NAME_KEYS = {"correlation": ("left", "right"), "sign": ("left", "right")}
_NAME_KEYS["comparison"] = ("left", "more", "than")


def _normalised(text: str) -> str:
    text = " ".join(text.split())
    for symbol, ascii_op in _UNICODE_OPS.items():
        text = text.replace(symbol, ascii_op)
    return text[:-1].rstrip() if text.endswith(".") else text


def _forms_message(text: str, problem: str) -> str:
    forms = "; ".join(f'"{form}"' for form in ACCEPTED_FORMS)
    return f"{problem} in {text!r}. Write one of: {forms} (A, B, C: score or outcome names)."


def parse_hypothesis(text: str, *, names: Mapping[str, str]) -> dict[str, Any]:
    """The spec of hypothesis ``text`` (see the module docstring for the grammar).

    ``names`` maps every known name to its kind, ``"score"`` or ``"outcome"``
    (:func:`known_names`). Raises :class:`UnknownName` for a name not in ``names`` (the
    message lists the known names, closest first) and :class:`InvalidHypothesis` for
    anything else that does not fit the grammar (the message shows the accepted forms).

    >>> parse_hypothesis("TA correlates >= .30 with messages_sent",
    ...                  names={"TA": "score", "messages_sent": "outcome"})
    {'kind': 'correlation', 'left': 'TA', 'right': 'messages_sent', 'op': '>=', 'value': 0.3}
    """
    written = (text or "").strip()
    if not written:
        raise InvalidHypothesis(_forms_message(written, "The hypothesis is empty"))
    normalised = _normalised(written)
    found = next(
        ((kind, match) for kind, pattern in _FORMS if (match := pattern.fullmatch(normalised))),
        None,
    )
    if found is None:
        bad = _BAD_OP.search(normalised)
        if bad:
            raise InvalidHypothesis(
                _forms_message(written, f"{bad.group(1)!r} is not a comparison: use >=, >, <=, <")
            )
        raise InvalidHypothesis(_forms_message(written, "Could not read the hypothesis"))
    kind, match = found
    spec: dict[str, Any] = {"kind": kind}
    for key in _NAME_KEYS[kind]:
        spec[key] = _resolve(match.group(key), names)
    if kind == "correlation":
        value = float(match.group("value"))
        if not -1.0 <= value <= 1.0:
            raise InvalidHypothesis(
                f"{match.group('value')} is not a correlation in {written!r}: "
                "a correlation lies between -1 and 1."
            )
        spec["op"] = match.group("op")
        spec["value"] = value + 0.0  # -0.0 → 0.0
    elif kind == "sign":
        spec["sign"] = "positive" if match.group("sign").lower() == "positively" else "negative"
    _check_names(spec, names, written)
    return spec


def _resolve(name: str, names: Mapping[str, str]) -> str:
    if name in names:
        return name
    folded = [known for known in names if known.casefold() == name.casefold()]
    if len(folded) == 1:
        return folded[0]
    known = _closest_first(name, list(names))
    if folded:
        raise UnknownName(
            f"{name!r} matches {', '.join(folded)} but for case: write it exactly.",
            name=name,
            known=known,
        )
    if not names:
        raise UnknownName(
            f"{name!r} is not a score or outcome of this study: it has no instrument "
            "scores or numeric outcomes to name.",
            name=name,
            known=[],
        )
    # A bare code in a battery of several instruments: the codes carry the instrument key.
    prefixed = [k for k in known if "." in k and k.rsplit(".", 1)[1].casefold() == name.casefold()]
    close = difflib.get_close_matches(
        name.casefold(), [k.casefold() for k in known], n=3, cutoff=0.5
    )
    spelled = prefixed + [
        k for c in close for k in known if k.casefold() == c and k not in prefixed
    ]
    hint = f" Did you mean {' or '.join(spelled[:3])}?" if spelled else ""
    if prefixed:
        hint += " With several instruments in the battery, codes start with the instrument key."
    raise UnknownName(
        f"{name!r} is not a score or outcome of this study.{hint} "
        f"Known names (closest first): {', '.join(known)}.",
        name=name,
        known=known,
    )


def _closest_first(name: str, known: list[str]) -> list[str]:
    """Every known name, closest to ``name`` first: a prefixed code whose code it is, then by
    decreasing similarity (:class:`difflib.SequenceMatcher`; ties in the given order)."""
    target = name.casefold()
    ratio = {k: difflib.SequenceMatcher(None, target, k.casefold()).ratio() for k in known}
    code = {k: k.rsplit(".", 1)[-1].casefold() == target for k in known}  # "AA" → "small.AA"
    return sorted(known, key=lambda k: (not code[k], -ratio[k]))


def _check_names(spec: dict[str, Any], names: Mapping[str, str], text: str) -> None:
    used = spec_names(spec)
    if len(set(used)) != len(used):
        raise InvalidHypothesis(
            f"A hypothesis relates different variables; {text!r} names one twice."
        )
    if not any(names.get(name) == SCORE for name in used):
        raise InvalidHypothesis(
            f"{text!r} names outcomes only: a hypothesis about construct validity relates "
            "at least one of the instrument's scores (a construct or subconstruct code)."
        )


def spec_names(spec: Mapping[str, Any]) -> list[str]:
    """The variable names of a spec, in the order they are written (empty for an unknown
    kind)."""
    return [str(spec[key]) for key in _NAME_KEYS.get(str(spec.get("kind")), ()) if key in spec]


def describe(spec: Mapping[str, Any]) -> str:
    """The spec as a canonical sentence of the grammar ("TA correlates >= 0.30 with X")."""
    kind = spec.get("kind")
    if kind == "correlation":
        return (
            f"{spec['left']} correlates {spec['op']} {float(spec['value']):.2f} "
            f"with {spec['right']}"
        )
    if kind == "comparison":
        return f"{spec['left']} correlates more with {spec['more']} than with {spec['than']}"
    if kind == "sign":
        adverb = "positively" if spec["sign"] == "positive" else "negatively"
        return f"{spec['left']} correlates {adverb} with {spec['right']}"
    return f"unknown kind of hypothesis {kind!r}"


# -- the names of a study ---------------------------------------------------------------------


def known_names(study: Study) -> dict[str, str]:
    """Every name a hypothesis of ``study`` may use → ``"score"`` or ``"outcome"``.

    Scores: construct then subconstruct codes per instrument version of the battery, in
    battery order, prefixed ``key.`` when the battery has more than one instrument.
    Outcomes: the numeric columns of the current outcome version, in their order (a
    column named like a score is left out: the score takes the name).
    """
    names: dict[str, str] = {}
    versions = study.instrument_versions
    prefixed = len(versions) > 1
    for version in versions:
        definition = definition_of(version)
        prefix = f"{version.instrument.key}." if prefixed else ""
        for code in [c.code for c in definition.constructs] + [
            s.code for s in definition.subconstructs
        ]:
            names[prefix + code] = SCORE
    upload = outcomes.current_upload(study)
    if upload is not None:
        for meta in upload.columns:
            column = outcomes.OutcomeColumn.from_meta(meta)
            if column.kind == outcomes.NUMERIC:
                names.setdefault(column.name, OUTCOME)
    return names


# -- stating and retiring ---------------------------------------------------------------------


def state_hypothesis(
    study: Study, text: str, *, actor: User | None, now: datetime | None = None
) -> StudyHypothesis:
    """Read ``text`` against the study's names and store it, time-stamped (flushed).

    The text is kept as written (stripped), with its spec. Raises :class:`InvalidHypothesis`
    (or :class:`UnknownName`) for text the grammar does not read, and
    :class:`DuplicateHypothesis` when a hypothesis in force has the same spec. Audited
    ``hypothesis_stated`` with the hypothesis's id, text and spec.
    """
    written = (text or "").strip()
    if len(written) > MAX_TEXT:
        raise InvalidHypothesis(
            f"Keep a hypothesis to {MAX_TEXT} characters (this one has {len(written)}): "
            "state one expectation per hypothesis."
        )
    spec = parse_hypothesis(written, names=known_names(study))
    for existing in hypotheses_of(study):
        if existing.spec == spec:
            raise DuplicateHypothesis(
                f"Hypothesis {existing.id} says this already ({existing.text!r}, stated "
                f"{_iso(existing.created_at)}); retire it first to state it again.",
                existing=existing,
            )
    moment = now or utcnow()
    hypothesis = StudyHypothesis(
        study_id=study.id,
        text=written,
        spec=spec,
        created_at=moment,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(hypothesis)
    db.session.flush()
    audit.record(
        AuditAction.HYPOTHESIS_STATED,
        actor=actor,
        target_type="study",
        target_id=study.id,
        details={"hypothesis": hypothesis.id, "text": written, "spec": spec},
        now=moment,
    )
    return hypothesis


def retire_hypothesis(
    hypothesis: StudyHypothesis, *, actor: User | None, now: datetime | None = None
) -> StudyHypothesis:
    """Retire ``hypothesis`` (flushed): later runs leave it out, earlier ones keep it.
    Raises :class:`HypothesisAlreadyRetired` the second time. Audited
    ``hypothesis_retired``."""
    if hypothesis.retired_at is not None:
        raise HypothesisAlreadyRetired(
            f"Hypothesis {hypothesis.id} ({hypothesis.text!r}) was retired on "
            f"{_iso(hypothesis.retired_at)}; state a new one instead."
        )
    moment = now or utcnow()
    hypothesis.retired_at = moment
    hypothesis.retired_by_id = actor.id if actor is not None else None
    db.session.flush()
    audit.record(
        AuditAction.HYPOTHESIS_RETIRED,
        actor=actor,
        target_type="study",
        target_id=hypothesis.study_id,
        details={"hypothesis": hypothesis.id, "text": hypothesis.text},
        now=moment,
    )
    return hypothesis


def hypotheses_of(study: Study, *, include_retired: bool = False) -> list[StudyHypothesis]:
    """The study's hypotheses in the order they were stated (in force only, by default)."""
    query = select(StudyHypothesis).where(StudyHypothesis.study_id == study.id)
    if not include_retired:
        query = query.where(StudyHypothesis.retired_at.is_(None))
    query = query.order_by(StudyHypothesis.created_at, StudyHypothesis.id)
    return list(db.session.scalars(query))


def hypotheses_for_run(study: Study, *, before: datetime | None = None) -> list[dict[str, Any]]:
    """What a validation run tests: ``{"id", "text", "spec", "stated_at"}`` per hypothesis
    in force, in stated order, ``stated_at`` ISO 8601 in UTC.

    With ``before`` (the time the run was asked for), the hypotheses in force *then*:
    stated before it and not retired by it, so a run that starts later tests what stood
    when it was requested.
    """
    if before is None:
        chosen = hypotheses_of(study)
    else:
        chosen = [
            h
            for h in hypotheses_of(study, include_retired=True)
            if h.created_at < before and (h.retired_at is None or h.retired_at > before)
        ]
    return [
        {"id": h.id, "text": h.text, "spec": dict(h.spec), "stated_at": _iso(h.created_at)}
        for h in chosen
    ]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
