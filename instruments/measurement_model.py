"""The confirmatory measurement model implied by an instrument, as lavaan model syntax.

Each subconstruct is a first-order factor on its items; with ``second_order=True`` each
construct is a second-order factor on its subconstruct factors (construct map,
"Measurement conventions"). Factor names are the codes and indicator names the item ids of
the file, so the syntax fits a data frame whose columns are item ids.

**Fit it to reverse-keyed data.** The model assumes the items have been reverse-keyed
beforehand (:func:`instruments.scoring.reverse_keyed`), so that every item points toward
its subconstruct's high pole and every first-order loading is expected to be positive. It
does not reverse anything itself; raw answers would give negative loadings for the
reverse-keyed items (listed in :attr:`MeasurementModel.reverse_keyed_items`).

Identification (Rosseel 2012, doi:10.18637/jss.v048.i02; Kline, *Principles and Practice
of Structural Equation Modeling*, ch. on CFA identification):

- every factor has a marker: the loading of its first indicator is fixed (to 1, or to -1
  for a reverse-oriented subconstruct listed first) and its variance is free, as lavaan's
  ``cfa()`` does by default;
- a second-order factor with **two** indicators is not identified on its own (three
  covariance elements, four free parameters). Its two loadings are constrained equal,
  which under marker identification fixes both to 1. When one of the two subconstructs
  is reverse-oriented within its construct (``reverse: true``), equality is in size with
  opposite signs: that one is fixed to -1. Fixed values are written instead of a shared
  label so that the sign can be stated and no estimator has to resolve a label on a
  fixed marker;
- a construct with a single subconstruct gets no second-order factor.

The syntax uses only ``=~``, ``*`` with numbers and ``#`` comments.

>>> from instruments.loader import instrument_path, load_instrument
>>> model = measurement_model(load_instrument(instrument_path("iemdp", "1.0.0")))
>>> print(*[line for line in model.syntax.splitlines() if line.startswith(("OE", "TC "))],
...       sep="\\n")
OE_BEN =~ OE_BEN_1 + OE_BEN_2 + OE_BEN_3
OE_MOD =~ OE_MOD_1 + OE_MOD_2 + OE_MOD_3
OE =~ 1*OE_BEN + 1*OE_MOD
TC =~ -1*TC_FIN + 1*TC_TIME
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from instruments.definition import Construct, InstrumentDefinition

__all__ = ["MeasurementModel", "measurement_model"]


@dataclass(frozen=True)
class MeasurementModel:
    """lavaan syntax plus what a reader needs to fit and interpret it.

    ``first_order`` maps each subconstruct code to its item ids, ``second_order`` each
    construct code to its subconstruct codes (empty without second-order factors).
    """

    syntax: str
    notes: list[str]
    reverse_keyed_items: tuple[str, ...]
    first_order: dict[str, tuple[str, ...]] = field(default_factory=dict)
    second_order: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "syntax": self.syntax,
            "notes": list(self.notes),
            "reverse_keyed_items": list(self.reverse_keyed_items),
            "first_order": {k: list(v) for k, v in self.first_order.items()},
            "second_order": {k: list(v) for k, v in self.second_order.items()},
        }


def measurement_model(
    definition: InstrumentDefinition, *, second_order: bool = True
) -> MeasurementModel:
    """Build the measurement model of ``definition`` (see the module docstring)."""
    lines = [
        f"# Measurement model of instrument {definition.key} {definition.version} "
        f"(content hash {definition.content_hash[:12]}).",
        "# Fit to reverse-keyed item data; every factor's first loading is its marker.",
        "",
        "# First-order factors: one per subconstruct, on its items.",
    ]
    first: dict[str, tuple[str, ...]] = {}
    for sub in definition.subconstructs:
        first[sub.code] = tuple(item.id for item in sub.items)
        lines.append(f"{sub.code} =~ {' + '.join(first[sub.code])}")

    notes = [
        "Fit this model to reverse-keyed item data (instruments.scoring.reverse_keyed), so "
        "that every item points toward the high pole of its subconstruct and every "
        "first-order loading is expected to be positive.",
        "Each factor is identified by a marker: the loading of its first indicator is fixed "
        "and the factor's variance is estimated.",
        _first_order_note(definition),
    ]

    second: dict[str, tuple[str, ...]] = {}
    if second_order:
        lines += ["", "# Second-order factors: one per construct, on its subconstruct factors."]
        for construct in definition.constructs:
            line, note = _second_order(construct)
            notes.append(note)
            if line is None:
                continue
            second[construct.code] = tuple(sub.code for sub in construct.subconstructs)
            lines.append(line)
        notes.append(
            "The second-order factors covary freely (the lavaan cfa() default), and the "
            "first-order factors are related only through them."
        )
    else:
        notes.append("The first-order factors covary freely (the lavaan cfa() default).")

    return MeasurementModel(
        syntax="\n".join(lines) + "\n",
        notes=notes,
        reverse_keyed_items=tuple(item.id for item in definition.items if item.reverse),
        first_order=first,
        second_order=second,
    )


def _first_order_note(definition: InstrumentDefinition) -> str:
    sizes = sorted({len(sub.items) for sub in definition.subconstructs})
    if sizes == [3]:
        return (
            "Each first-order factor has three items: that is just enough to identify it on "
            "its own, and the full model has degrees of freedom to spare."
        )
    return (
        f"The first-order factors have {', '.join(map(str, sizes))} items; a factor with "
        "three or more items is identified on its own."
    )


def _count(number: int) -> str:
    words = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    return words[number] if number < len(words) else str(number)


def _sign(reverse: bool) -> str:
    return "-1" if reverse else "1"


def _second_order(construct: Construct) -> tuple[str | None, str]:
    """The syntax line (or ``None``) and the identification note for one construct."""
    subs = construct.subconstructs
    code = construct.code
    if len(subs) == 1:
        return None, (
            f"{code} has a single subconstruct, so it gets no second-order factor; "
            f"the factor {subs[0].code} stands for it."
        )
    if len(subs) == 2:
        first, other = subs
        line = (
            f"{code} =~ {_sign(first.reverse)}*{first.code} + {_sign(other.reverse)}*{other.code}"
        )
        head = (
            f"{code} has two subconstructs, and a second-order factor with only two "
            "indicators is not identified on its own, so its two loadings are constrained "
        )
        if first.reverse == other.reverse:
            note = head + (
                f"equal, which under marker identification fixes both to 1; this implies "
                f"{first.code} and {other.code} correlate positively."
            )
        else:
            reversed_sub = first if first.reverse else other
            plain_sub = other if first.reverse else first
            note = head + (
                f"equal in size and opposite in sign, because {reversed_sub.code} is "
                f"reverse-oriented within {code}: {reversed_sub.code} is fixed to -1 and "
                f"{plain_sub.code} to 1; this implies they correlate negatively."
            )
        return line, note
    terms = [f"{_sign(subs[0].reverse)}*{subs[0].code}"] + [sub.code for sub in subs[1:]]
    note = (
        f"{code} has {_count(len(subs))} subconstructs, so it is identified with {subs[0].code} as "
        "marker and the other loadings free."
    )
    reversed_codes = [sub.code for sub in subs[1:] if sub.reverse]
    if reversed_codes:
        note += (
            f" {' and '.join(reversed_codes)} "
            f"{'is' if len(reversed_codes) == 1 else 'are'} reverse-oriented within {code} "
            "and expected to load negatively."
        )
    return f"{code} =~ {' + '.join(terms)}", note
