"""The measurement models of a study's battery in lavaan syntax, and an R script to fit them.

For each instrument version, the first-order model (one factor per subconstruct) and the
second-order model (constructs on their subconstructs) of
:func:`instruments.measurement_model.measurement_model`, each headed by comments naming the
instrument, version and full content hash. The ``model`` export is an R script holding
every model as a string, the reverse keying the models need (they are fitted to
reverse-keyed items: ``min + max - x``) and a ``lavaan::cfa`` call per model; the bundle
also holds each model as a ``.lav`` file of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO

from instruments.definition import InstrumentDefinition
from instruments.measurement_model import measurement_model
from survey.models import InstrumentVersion
from survey.services.exports.layout import Layout

__all__ = ["ModelText", "model_texts", "write_r_script"]


@dataclass(frozen=True)
class ModelText:
    """One model: its file name in the bundle, its R object name and its lavaan syntax."""

    filename: str
    r_name: str
    syntax: str
    version: InstrumentVersion
    definition: InstrumentDefinition
    second_order: bool


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def model_texts(layout: Layout) -> list[ModelText]:
    """First- then second-order model of every instrument version of the battery."""
    texts = []
    for version, definition in zip(layout.versions, layout.definitions, strict=True):
        for second in (False, True):
            order = "second-order" if second else "first-order"
            header = (
                f"# {order.capitalize()} measurement model of {version.instrument.key} "
                f"{version.version}\n"
                f"# content hash (SHA-256): {version.content_hash}\n"
                "# Fit to reverse-keyed items; indicator names are item ids.\n"
            )
            syntax = header + measurement_model(definition, second_order=second).syntax
            texts.append(
                ModelText(
                    filename=f"{version.instrument.key}-{version.version}-{order}.lav",
                    r_name=f"model_{_slug(version.instrument.key)}_{_slug(version.version)}_"
                    f"{'second' if second else 'first'}_order",
                    syntax=syntax,
                    version=version,
                    definition=definition,
                    second_order=second,
                )
            )
    return texts


def _r_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def r_raw_string(text: str) -> str:
    """``text`` as an R raw string literal (R 4.0+), ``r"---[...]---"``: nothing escaped,
    so the model reads exactly as in its .lav file."""
    dashes = "---"
    while f']{dashes}"' in text:
        dashes += "-"
    return f'r"{dashes}[{text}]{dashes}"'


def _r_vector(names: list[str]) -> str:
    return "c(" + ", ".join(_r_string(name) for name in names) + ")"


def write_r_script(layout: Layout, out: IO[str], *, data_file: str = "wide.csv") -> None:
    """The R script of the ``model`` export: models as strings, keying, ``lavaan::cfa``."""
    out.write(
        "# Measurement models of the study's battery in lavaan syntax.\n"
        "# Battery: " + layout.battery + "\n"
        "# Each model is fitted to the reverse-keyed items of its instrument, one column per\n"
        "# item id (in a battery the wide CSV prefixes item columns with the instrument key).\n"
        '# Needs R 4.0 or later (raw strings); install.packages("lavaan")\n\n'
        f"data <- read.csv({_r_string(data_file)})\n"
        "data <- data[data$excluded == 0, ]  # leave out excluded sessions\n\n"
    )
    columns = {
        (v.version_id, v.column.item_id): v.name
        for v in layout.of_kind("item")
        if v.column is not None
    }
    for version, definition in zip(layout.versions, layout.definitions, strict=True):
        key = _slug(f"{version.instrument.key}_{version.version}")
        items = [item.id for item in definition.items]
        names = [columns[(version.id, item_id)] for item_id in items]
        r_names = [re.sub(r"[^A-Za-z0-9._]", ".", name) for name in names]  # read.csv's names
        out.write(
            f"# {version.instrument.key} {version.version}, content hash {version.content_hash}\n"
            f"items_{key} <- data[, {_r_vector(r_names)}]\n"
            f"names(items_{key}) <- {_r_vector(items)}\n"
        )
        for item in definition.items:
            if item.reverse:
                scale = definition.scale(item.scale)
                out.write(
                    f"items_{key}${item.id} <- {scale.minimum + scale.maximum} - "
                    f"items_{key}${item.id}  # reverse-keyed\n"
                )
        out.write("\n")
    for text in model_texts(layout):
        key = _slug(f"{text.version.instrument.key}_{text.version.version}")
        out.write(f"{text.r_name} <- {r_raw_string(text.syntax)}\n")
        out.write(
            f'# fit <- lavaan::cfa({text.r_name}, data = items_{key}, missing = "ml")\n'
            "# summary(fit, fit.measures = TRUE, standardized = TRUE)\n\n"
        )
