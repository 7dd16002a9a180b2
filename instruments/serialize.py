"""Write an instrument definition back as an instrument file (``format: 1`` YAML).

The admin console edits drafts as :class:`~instruments.definition.InstrumentDefinition`
objects; :func:`to_yaml` turns one into the text of ``instruments/<key>/<version>.yaml`` in
the layout of the shipped files:

- keys in the fixed order of ``instruments/README.md`` (``format``, ``key``, ``version``,
  ``title``, ``citation``, ``intro``, ``shuffle_items``, ``response_scales``, ``constructs``,
  ``attention_checks``), never sorted alphabetically;
- block style for the structure, one flow mapping per line for each response option, item
  and attention check (``- {id: OE_BEN_1, text: "...", reverse: false, scale: agree5}``),
  item texts always double-quoted, multi-line texts (the intro) as literal blocks;
- unicode written as is (no ``\\u`` escapes), lines never folded;
- ``reverse`` and ``scale`` always spelled out (the format requires them); the item defaults
  ``type: likert`` and ``optional: false`` left out, as in the shipped file;
- the optional fields written only when set: a construct's ``page_title`` (after its
  ``name``) and an item's ``safety_threshold`` (last in its line);
- a blank line between sections and between constructs.

The round trip is lossless: loading the text gives an equal definition with the same
content hash, because the hash is computed from the normalised mapping
(:func:`instruments.loader.to_mapping`), not from the layout.

>>> from instruments.loader import instrument_path, load_instrument, load_instrument_text
>>> definition = load_instrument(instrument_path("iemdp", "1.0.0"))
>>> text = to_yaml(definition)
>>> start = text.splitlines().index("constructs:")
>>> print(*text.splitlines()[start:start + 4], sep="\\n")
constructs:
  - code: OE
    name: Outcome expectancy
    domain: intrapsychic
>>> again = load_instrument_text(text, "1.0.0.yaml")
>>> again == definition and again.content_hash == definition.content_hash
True
"""

from __future__ import annotations

from typing import Any

import yaml

from instruments.definition import InstrumentDefinition
from instruments.item_types import DEFAULT_ITEM_TYPE
from instruments.loader import to_mapping as normalised_mapping

__all__ = ["to_mapping", "to_yaml"]

# Never fold long lines: an item stays on one line, as in the shipped file.
_NO_WRAP = 2**31 - 1


def to_mapping(definition: InstrumentDefinition, *, explicit: bool = False) -> dict[str, Any]:
    """The mapping :func:`to_yaml` writes, with keys in file order.

    Parameters
    ----------
    definition : InstrumentDefinition
        The definition to write.
    explicit : bool, default False
        Spell out every default (item and attention-check ``type`` and ``optional``, an
        empty ``attention_checks``). With ``True`` the result equals
        :func:`instruments.loader.to_mapping` (the normalised mapping the content hash is
        computed from); with ``False`` it leaves out what the shipped file leaves out.

    Returns
    -------
    dict
        Plain dicts, lists, strings, integers and booleans, ready for ``yaml.safe_dump`` or
        JSON; :func:`instruments.loader.parse_definition` accepts it back and returns an
        equal definition.

    Examples
    --------
    >>> from instruments.loader import instrument_path, load_instrument, parse_definition
    >>> definition = load_instrument(instrument_path("iemdp", "1.0.0"))
    >>> list(to_mapping(definition))[:4]
    ['format', 'key', 'version', 'title']
    >>> to_mapping(definition)["constructs"][0]["subconstructs"][0]["items"][0]
    ... # doctest: +NORMALIZE_WHITESPACE
    {'id': 'OE_BEN_1', 'text': 'I expect messaging with my therapist to help me feel better.',
     'reverse': False, 'scale': 'agree5'}
    >>> parse_definition(to_mapping(definition), "x") == definition
    True
    """

    mapping = normalised_mapping(definition)  # fresh dicts: safe to trim
    if explicit:
        return mapping
    for construct in mapping["constructs"]:
        for sub in construct["subconstructs"]:
            for entry in sub["items"]:
                _drop_defaults(entry)
    for entry in mapping["attention_checks"]:
        _drop_defaults(entry)
    if not mapping["attention_checks"]:
        del mapping["attention_checks"]
    return mapping


def _drop_defaults(entry: dict[str, Any]) -> None:
    """Leave out what the shipped file leaves out: the default type and ``optional: false``."""
    if entry.get("type") == DEFAULT_ITEM_TYPE:
        del entry["type"]
    if entry.get("optional") is False:
        del entry["optional"]


def to_yaml(definition: InstrumentDefinition, *, header: str | None = None) -> str:
    """The instrument file text of ``definition`` (see the module docstring for the layout).

    Parameters
    ----------
    definition : InstrumentDefinition
        The definition to write.
    header : str, optional
        Comment lines put at the top of the file (``#`` is added to each line). By default
        the title, the version and the reminder that published versions are immutable.

    Returns
    -------
    str
        UTF-8-ready text ending in a newline. ``load_instrument_text(to_yaml(d), name)``
        equals ``d`` and has the same ``content_hash``.

    Examples
    --------
    >>> from instruments.loader import instrument_path, load_instrument
    >>> definition = load_instrument(instrument_path("iemdp", "1.0.0"))
    >>> print(to_yaml(definition, header="IEM-DP").splitlines()[0:4])
    ['# IEM-DP', 'format: 1', 'key: iemdp', 'version: 1.0.0']
    """
    if header is None:
        header = (
            f"{definition.title}, version {definition.version}.\n"
            "Published versions are immutable: change anything here and you make a new "
            "version file."
        )
    mapping = to_mapping(definition)
    head = {name: mapping[name] for name in list(mapping)[:7]}  # format ... shuffle_items
    sections = [_dump(head)]
    sections.append(
        _dump(
            {
                "response_scales": {
                    key: [_Flow(option) for option in options]
                    for key, options in mapping["response_scales"].items()
                }
            }
        )
    )
    constructs = [_dump([_construct(construct)]) for construct in mapping["constructs"]]
    sections.append("constructs:\n" + "\n".join(_indent(text) for text in constructs))
    if "attention_checks" in mapping:
        checks = [_Flow(_quoted_text(check)) for check in mapping["attention_checks"]]
        sections.append(_dump({"attention_checks": checks}))
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + "\n".join(sections)


# --------------------------------------------------------------------------------------
# YAML emitting
# --------------------------------------------------------------------------------------
class _Flow(dict):
    """A mapping written in flow style on one line."""


class _Quoted(str):
    """A string always written double-quoted (item texts, as in the shipped file)."""


class _Dumper(yaml.SafeDumper):
    """Safe dumper that indents block sequences under their key (``  - code: OE``)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_flow(dumper: yaml.SafeDumper, value: _Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=True)


def _represent_quoted(dumper: yaml.SafeDumper, value: _Quoted) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style='"')


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Multi-line texts as literal blocks; the emitter falls back to quoting by itself when
    # a text cannot be a block (trailing spaces on a line, control characters).
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(_Flow, _represent_flow)
_Dumper.add_representer(_Quoted, _represent_quoted)
_Dumper.add_representer(str, _represent_str)


def _dump(value: Any) -> str:
    return yaml.dump(
        value,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=_NO_WRAP,
    )


def _indent(text: str) -> str:
    # Blank lines (inside a literal block) stay empty: YAML does not need them indented.
    return "".join(f"  {line}" if line.strip() else line for line in text.splitlines(True))


def _quoted_text(entry: dict[str, Any]) -> dict[str, Any]:
    return {name: _Quoted(value) if name == "text" else value for name, value in entry.items()}


def _construct(construct: dict[str, Any]) -> dict[str, Any]:
    return {
        **construct,
        "subconstructs": [
            {**sub, "items": [_Flow(_quoted_text(item)) for item in sub["items"]]}
            for sub in construct["subconstructs"]
        ],
    }
