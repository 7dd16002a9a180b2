"""A simple single-choice FHIR R4 ``Questionnaire`` (JSON) → a draft instrument version.

What is accepted
----------------
- ``resourceType`` ``Questionnaire``; its top-level items either all ``group`` items (one
  page each) or none (all items on one page);
- inside a group (at most one level of groups), only ``choice`` items, each with a
  ``linkId``, ``text`` and ``answerOption`` given as ``valueCoding`` with an integer
  ``code`` (the value; ``display`` is the label, the code when missing) or as
  ``valueInteger`` (the label is the number);
- ``linkId``: the item id, so it must have the instrument format's item id form
  ``<SUBCONSTRUCT>_<n>`` (``GAD_1``): items are grouped into subconstructs by it, which
  must be consecutive within their group.

Every distinct option set is one response scale (``options1``, ``options2``, ... in
order of appearance); ``required`` false (FHIR's default) makes an item optional.

Where the Questionnaire carries this platform's extensions (:mod:`.extensions`, written by
:mod:`.questionnaire`), they give what FHIR has no element for: the construct and
subconstruct codes, names, descriptions and orientation, the scale keys, reverse keys,
safety thresholds, attention checks, the citation and shuffling, so an exported version
imports back equal. Without them: items are not reverse-keyed (set reverse keys in the
draft before publishing), a group is a construct whose code is the group's ``linkId``
(``PAGE<n>`` when that is no construct code or names a subconstruct too), named by its
``text``, domain ``imported``; a subconstruct is named by its code.

The key is the ``key`` argument, else the last segment of ``url`` (``.../Questionnaire/
<key>``), else ``name`` in lower case. The version is ``version`` (``1.0.0`` when
missing), the title ``title`` (else ``name``, else the key), the intro ``description``
(else the title), the citation the extension, else ``copyright``, ``publisher`` or where
it came from.

What is refused
---------------
Anything else, whole: every problem is listed by ``linkId`` (or by the item's position,
``item[2].item[0]``, when it has none) in one
:class:`~instruments.loader.InstrumentValidationError`, including what the instrument
loader refuses once the items make an instrument (e.g. a subconstruct of fewer than three
items), translated back to the ``linkId`` it came from. In particular: nested groups,
types other than ``choice``, ``repeats``, ``enableWhen``, ``answerValueSet``,
``initial``, options other than integer ``valueCoding``/``valueInteger``, duplicate codes,
missing or duplicate ``linkId``, and (anywhere in the file) control characters or lone
surrogates, which no text column can store. Files over 2 MB, not UTF-8 or not JSON are
refused before they are read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from instruments.definition import InstrumentDefinition
from instruments.item_types import DEFAULT_ITEM_TYPE
from instruments.loader import (
    CODE_RE,
    KEY_RE,
    SUPPORTED_FORMATS,
    InstrumentValidationError,
    Problem,
    parse_definition,
)
from instruments.text_encoding import UndecodableText, decode_text
from survey.models import InstrumentVersion, User
from survey.services.errors import InvalidDefinition
from survey.services.fhir import extensions as ext
from survey.services.instruments import import_definition

MEDIA_TYPE = "application/fhir+json"
MAX_BYTES = 2_000_000  # the limit of every instrument upload
DEFAULT_VERSION = "1.0.0"
DEFAULT_DOMAIN = "imported"

_ITEM_ID_RE = re.compile(r"^([A-Z][A-Z0-9]*(?:_[A-Z][A-Z0-9]*)*)_[1-9][0-9]*$")
_INTEGER_RE = re.compile(r"^[+-]?[0-9]+$")
_UNSUPPORTED_ELEMENTS = {
    "enableWhen": "enableWhen (conditional display) is not supported",
    "answerValueSet": "answerValueSet is not supported: list the options as answerOption",
    "initial": "initial (a pre-set answer) is not supported",
}


@dataclass
class _Entry:
    link_id: str
    text: str
    required: bool
    options: tuple[tuple[int, str], ...]
    scale_key: str | None  # from the extension
    reverse: bool
    safety_threshold: int | None
    expected: int | None  # an attention check's expected answer
    item_type: str


@dataclass
class _Group:
    link_id: str | None  # None: the implicit page of a questionnaire without groups
    text: str | None
    construct: dict[str, Any]
    subconstructs: dict[str, dict[str, Any]]
    entries: list[_Entry] = field(default_factory=list)


class _Reader:
    """Walks the Questionnaire once, collecting problems by linkId."""

    def __init__(self, source_name: str):
        self.source_name = source_name
        self.problems: list[Problem] = []
        self.link_ids: dict[str, str] = {}  # linkId -> where first seen

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.source_name, where, message))

    # -- items ---------------------------------------------------------------------------
    def groups(self, questionnaire: Mapping[str, Any]) -> list[_Group]:
        items = questionnaire.get("item")
        if not isinstance(items, list) or not items:
            self.add("item", "the Questionnaire has no items")
            return []
        grouped = [isinstance(item, dict) and item.get("type") == "group" for item in items]
        if any(grouped):
            groups = []
            for index, item in enumerate(items):
                where = f"item[{index}]"
                if not grouped[index]:
                    self.add(
                        self.name(item, where),
                        "is not a group while other top-level items are: put every item "
                        "in a group (one page each) or none",
                    )
                    continue
                link_id = self.link_id(item, where)
                group = _Group(
                    link_id=link_id,
                    text=_text(item.get("text")),
                    construct=_construct_parts(item),
                    subconstructs=_subconstruct_parts(item),
                )
                self.disallow(item, self.name(item, where), group=True)
                children = item.get("item")
                if not isinstance(children, list) or not children:
                    self.add(self.name(item, where), "the group has no items")
                    continue
                for c_index, child in enumerate(children):
                    entry = self.entry(child, f"{where}.item[{c_index}]")
                    if entry is not None:
                        group.entries.append(entry)
                groups.append(group)
            return groups
        title = _text(questionnaire.get("title")) or _text(questionnaire.get("name"))
        group = _Group(link_id=None, text=title, construct={}, subconstructs={})
        for index, item in enumerate(items):
            entry = self.entry(item, f"item[{index}]")
            if entry is not None:
                group.entries.append(entry)
        return [group]

    def name(self, item: Any, where: str) -> str:
        if isinstance(item, dict) and isinstance(item.get("linkId"), str) and item["linkId"]:
            return f"linkId {item['linkId']!r}"
        return where

    def link_id(self, item: dict[str, Any], where: str) -> str | None:
        link_id = item.get("linkId")
        if not isinstance(link_id, str) or not link_id.strip():
            self.add(where, "has no linkId")
            return None
        if link_id in self.link_ids:
            self.add(
                f"linkId {link_id!r}",
                f"duplicate linkId (also at {self.link_ids[link_id]}); every item needs its own",
            )
            return None
        self.link_ids[link_id] = where
        return link_id

    def disallow(self, item: dict[str, Any], name: str, *, group: bool = False) -> None:
        for element, message in _UNSUPPORTED_ELEMENTS.items():
            if element in item:
                self.add(name, message)
        if item.get("repeats") is True:
            self.add(name, "repeats (several answers) is not supported: single choice only")
        if group and "answerOption" in item:
            self.add(name, "a group cannot have answerOption")

    def entry(self, item: Any, where: str) -> _Entry | None:
        if not isinstance(item, dict):
            self.add(where, "an item must be a JSON object")
            return None
        link_id = self.link_id(item, where)
        name = self.name(item, where)
        kind = item.get("type")
        ok = link_id is not None
        if kind == "group":
            self.add(name, "a group inside a group is not supported: one level of groups only")
            return None
        if kind != "choice":
            self.add(
                name,
                f"type {kind!r} is not supported: only single-choice items (type 'choice') "
                "with answerOption",
            )
            ok = False
        if item.get("item"):
            self.add(name, "items under a choice item are not supported")
            ok = False
        before = len(self.problems)
        self.disallow(item, name)
        text = _text(item.get("text"))
        if text is None:
            self.add(name, "has no text (the item's wording)")
        options = self.options(item, name) if kind == "choice" else None
        expected = _single(item, ext.ATTENTION_CHECK, int)
        if link_id is not None and expected is None and not _ITEM_ID_RE.fullmatch(link_id):
            self.add(
                name,
                "is not an item id of the form <SUBCONSTRUCT>_<n> (an upper-case code and a "
                "number from 1, e.g. GAD_1): items are grouped into subconstructs by it",
            )
            ok = False
        if not ok or text is None or options is None or len(self.problems) > before:
            return None
        assert link_id is not None
        return _Entry(
            link_id=link_id,
            text=text,
            required=item.get("required") is True,
            options=options,
            scale_key=_single(item, ext.RESPONSE_SCALE, str),
            reverse=_single(item, ext.REVERSE_KEYED, bool) or False,
            safety_threshold=_single(item, ext.SAFETY_THRESHOLD, int),
            expected=expected,
            item_type=_single(item, ext.BASE + "item-type", str) or DEFAULT_ITEM_TYPE,
        )

    def options(self, item: dict[str, Any], name: str) -> tuple[tuple[int, str], ...] | None:
        raw = item.get("answerOption")
        if not isinstance(raw, list) or not raw:
            if "answerValueSet" not in item:
                self.add(name, "has no answerOption (the response options)")
            return None
        options: list[tuple[int, str]] = []
        seen: set[int] = set()
        ok = True
        for index, option in enumerate(raw):
            value, label = self.option(option, f"{name}: answerOption[{index}]")
            if value is None or label is None:
                ok = False
                continue
            if value in seen:
                self.add(f"{name}: answerOption[{index}]", f"duplicate code {value}")
                ok = False
            seen.add(value)
            options.append((value, label))
        return tuple(options) if ok else None

    def option(self, option: Any, where: str) -> tuple[int | None, str | None]:
        if not isinstance(option, dict):
            self.add(where, "an answer option must be a JSON object")
            return None, None
        if "valueInteger" in option:
            value = option["valueInteger"]
            if not isinstance(value, int) or isinstance(value, bool):
                self.add(where, f"valueInteger {value!r} is not an integer")
                return None, None
            return value, str(value)
        coding = option.get("valueCoding")
        if not isinstance(coding, dict):
            kinds = [key for key in option if key.startswith("value")]
            self.add(
                where,
                f"{kinds[0] if kinds else 'an option without a value'} is not supported: "
                "use valueCoding with an integer code, or valueInteger",
            )
            return None, None
        code = coding.get("code")
        if not isinstance(code, str) or not _INTEGER_RE.fullmatch(code.strip()):
            self.add(
                where,
                f"code {code!r} is not an integer: the codes are the values stored and scored",
            )
            return None, None
        label = _text(coding.get("display")) or code.strip()
        return int(code), label


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _single(element: dict[str, Any], url: str, kind: type) -> Any:
    for found in ext.find(element, url):
        value = ext.value_of(found)
        if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
            return value
    return None


def _construct_parts(group: dict[str, Any]) -> dict[str, Any]:
    found = ext.find(group, ext.CONSTRUCT)
    return ext.parts_of(found[0]) if found else {}


def _subconstruct_parts(group: dict[str, Any]) -> dict[str, dict[str, Any]]:
    parts = [ext.parts_of(found) for found in ext.find(group, ext.SUBCONSTRUCT)]
    return {part["code"]: part for part in parts if isinstance(part.get("code"), str)}


def _nonempty(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


# --------------------------------------------------------------------------------------
# the mapping of the instrument format
# --------------------------------------------------------------------------------------
class _Builder:
    """Turns the groups into the instrument file's mapping and remembers which linkId each
    part came from, to name it in the loader's problems."""

    def __init__(self, reader: _Reader):
        self.reader = reader
        self.origins: dict[str, str] = {}
        self.scales: dict[str, list[dict[str, Any]]] = {}
        self.scale_keys: dict[tuple[tuple[int, str], ...], str] = {}
        self.scale_origin: dict[str, str] = {}

    def scale(self, entry: _Entry) -> str | None:
        options = [{"value": value, "label": label} for value, label in entry.options]
        if entry.scale_key is not None:
            key = entry.scale_key
            if key in self.scales and self.scales[key] != options:
                self.reader.add(
                    f"linkId {entry.link_id!r}",
                    f"response scale {key!r} has other options here than at linkId "
                    f"{self.scale_origin[key]!r}",
                )
                return None
        else:
            key = self.scale_keys.get(entry.options)
            if key is None:
                number = len(self.scale_keys) + 1
                while f"options{number}" in self.scales:
                    number += 1
                key = f"options{number}"
                self.scale_keys[entry.options] = key
        if key not in self.scales:
            self.scales[key] = options
            self.scale_origin[key] = entry.link_id
            self.origins[f"response_scales.{key}"] = f"answerOption of linkId {entry.link_id!r}"
        return key

    def constructs(self, groups: list[_Group]) -> tuple[list[dict[str, Any]], list[dict]]:
        sub_codes = {
            match.group(1)
            for group in groups
            for entry in group.entries
            if (match := _ITEM_ID_RE.fullmatch(entry.link_id))
        }
        constructs: list[dict[str, Any]] = []
        checks: list[dict[str, Any]] = []
        for c_index, group in enumerate(groups):
            construct = self.construct(group, c_index, sub_codes)
            c_key = f"constructs[{c_index}]"
            self.origins[c_key] = (
                f"group linkId {group.link_id!r}" if group.link_id else "the questionnaire"
            )
            subs: list[dict[str, Any]] = []
            by_code: dict[str, dict[str, Any]] = {}
            last_code: str | None = None
            for position, entry in enumerate(group.entries):
                scale = self.scale(entry)
                if entry.expected is not None:
                    self.origins[f"attention_checks[{len(checks)}]"] = f"linkId {entry.link_id!r}"
                    checks.append(
                        {
                            "id": entry.link_id,
                            "text": entry.text,
                            "scale": scale,
                            "expected": entry.expected,
                            "page": construct["code"],
                            "position": position,
                            "type": entry.item_type,
                            "optional": not entry.required,
                        }
                    )
                    continue
                match = _ITEM_ID_RE.fullmatch(entry.link_id)
                assert match is not None
                code = match.group(1)
                if code in by_code and code != last_code:
                    self.reader.add(
                        f"linkId {entry.link_id!r}",
                        f"the items of subconstruct {code} must follow each other in their "
                        "group (the instrument format nests items under subconstructs)",
                    )
                if code not in by_code:
                    parts = group.subconstructs.get(code, {})
                    sub = {
                        "code": code,
                        "name": _nonempty(parts.get("name")) or code,
                        "description": _nonempty(parts.get("description")) or code,
                        "reverse": parts.get("reverse") is True,
                        "items": [],
                    }
                    s_key = f"{c_key}.subconstructs[{len(subs)}]"
                    self.origins[s_key] = f"subconstruct {code} (linkId {entry.link_id!r})"
                    by_code[code] = sub
                    subs.append(sub)
                sub = by_code[code]
                s_index = subs.index(sub)
                i_key = f"{c_key}.subconstructs[{s_index}].items[{len(sub['items'])}]"
                self.origins[i_key] = f"linkId {entry.link_id!r}"
                item: dict[str, Any] = {
                    "id": entry.link_id,
                    "text": entry.text,
                    "reverse": entry.reverse,
                    "scale": scale,
                    "type": entry.item_type,
                    "optional": not entry.required,
                }
                if entry.safety_threshold is not None:
                    item["safety_threshold"] = entry.safety_threshold
                sub["items"].append(item)
                last_code = code
            construct["subconstructs"] = subs
            constructs.append(construct)
        return constructs, checks

    def construct(self, group: _Group, index: int, sub_codes: set[str]) -> dict[str, Any]:
        parts = group.construct
        code = parts.get("code") if isinstance(parts.get("code"), str) else None
        if code is None:
            link_id = group.link_id or ""
            code = (
                link_id
                if CODE_RE.fullmatch(link_id) and link_id not in sub_codes
                else f"PAGE{index + 1}"
            )
        text = group.text
        name = _nonempty(parts.get("name")) or text or code
        construct = {
            "code": code,
            "name": name,
            "domain": _nonempty(parts.get("domain")) or DEFAULT_DOMAIN,
            "description": _nonempty(parts.get("description")) or text or name,
        }
        if text is not None and text != name:
            construct["page_title"] = text
        return construct

    def translate(self, problem: Problem) -> Problem:
        key = problem.key
        best = ""
        for prefix in self.origins:
            if len(prefix) > len(best) and (
                key == prefix or key.startswith(prefix + ".") or key.startswith(prefix + "[")
            ):
                best = prefix
        if not best:
            return problem
        rest = key[len(best) :].lstrip(".")
        where = self.origins[best] + (f" ({rest})" if rest else "")
        return Problem(problem.file, where, problem.message)


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------
def questionnaire_definition(
    data: str | bytes | Mapping[str, Any],
    *,
    key: str | None = None,
    source_name: str = "questionnaire.json",
) -> InstrumentDefinition:
    """The definition a FHIR ``Questionnaire`` (JSON text, bytes or a parsed mapping)
    describes (rules in the module docstring). Raises
    :class:`~instruments.loader.InstrumentValidationError` listing every problem."""
    reader = _Reader(source_name)
    questionnaire = _parse(data, reader)
    if questionnaire is None:
        raise InstrumentValidationError(reader.problems)
    groups = reader.groups(questionnaire)
    if reader.problems:
        raise InstrumentValidationError(reader.problems)
    builder = _Builder(reader)
    constructs, checks = builder.constructs(groups)
    if reader.problems:
        raise InstrumentValidationError(reader.problems)
    instrument_key = key or _key_of(questionnaire)
    if instrument_key is None:
        raise InstrumentValidationError(
            [
                Problem(
                    source_name,
                    "key",
                    "cannot tell the instrument's key: give one (--key), or a url ending in "
                    "/Questionnaire/<key>, or a name",
                )
            ]
        )
    title = (
        _nonempty(questionnaire.get("title"))
        or _nonempty(questionnaire.get("name"))
        or instrument_key
    )
    origin = questionnaire.get("url") or questionnaire.get("id") or source_name
    citation = (
        _single(questionnaire, ext.CITATION, str)
        or _nonempty(questionnaire.get("copyright"))
        or _nonempty(questionnaire.get("publisher"))
        or f"Imported from the FHIR Questionnaire {origin}."
    )
    version = questionnaire.get("version", DEFAULT_VERSION)
    mapping = {
        "format": SUPPORTED_FORMATS[-1],
        "key": instrument_key,
        "version": version,
        "title": title,
        "citation": citation,
        "intro": _nonempty(questionnaire.get("description")) or title,
        "shuffle_items": _single(questionnaire, ext.SHUFFLE_ITEMS, bool) or False,
        "response_scales": builder.scales,
        "constructs": constructs,
    }
    if checks:
        mapping["attention_checks"] = checks
    try:
        return parse_definition(mapping, source_name)
    except InstrumentValidationError as error:
        raise InstrumentValidationError(
            [builder.translate(problem) for problem in error.problems]
        ) from None


def _parse(data: str | bytes | Mapping[str, Any], reader: _Reader) -> dict[str, Any] | None:
    if isinstance(data, Mapping):
        parsed: Any = dict(data)
    else:
        try:
            text = decode_text(data, limit=MAX_BYTES, advice="save the file as UTF-8")
        except UndecodableText as error:
            reader.add("", str(error))
            return None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as error:
            reader.add("", f"not valid JSON: line {error.lineno} column {error.colno}: {error.msg}")
            return None
        except RecursionError:
            reader.add("", "not valid JSON here: nested too deeply")
            return None
    for where, value in _strings(parsed, ""):
        bad = next((char for char in value if _unstorable(char)), None)
        if bad is not None:
            reader.add(
                where or "",
                f"holds the character U+{ord(bad):04X}, which text cannot hold "
                "(a control character or half of a surrogate pair)",
            )
    if reader.problems:
        return None
    if not isinstance(parsed, dict) or parsed.get("resourceType") != "Questionnaire":
        found = parsed.get("resourceType") if isinstance(parsed, dict) else None
        reader.add(
            "resourceType",
            f"must be 'Questionnaire', got {found!r}"
            if isinstance(parsed, dict)
            else "the file must hold one FHIR resource (a JSON object)",
        )
        return None
    return parsed


def _strings(value: Any, where: str):
    """Every string in a parsed JSON value (keys too), with where it is."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _strings(key, where)
            yield from _strings(child, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _strings(child, f"{where}[{index}]")


def _unstorable(char: str) -> bool:
    code = ord(char)
    return (code < 0x20 and char not in "\t\n\r") or 0xD800 <= code <= 0xDFFF


def _key_of(questionnaire: Mapping[str, Any]) -> str | None:
    url = questionnaire.get("url")
    if isinstance(url, str):
        tail = url.rstrip("/").rpartition("/")[2]
        if KEY_RE.fullmatch(tail):
            return tail
    name = questionnaire.get("name")
    if isinstance(name, str) and KEY_RE.fullmatch(name.strip().lower()):
        return name.strip().lower()
    return None


def import_questionnaire(
    data: str | bytes | Mapping[str, Any],
    *,
    key: str | None = None,
    actor: User | None = None,
    via: str = "cli",
    source_name: str = "questionnaire.json",
    now: datetime | None = None,
) -> tuple[InstrumentVersion, bool]:
    """Import a FHIR ``Questionnaire`` as a draft version (flushes, never commits).

    Returns the version and whether it is new: the same key, version and content again
    returns the stored version; the same key and version with other content raises
    :class:`~survey.services.errors.VersionConflict`. Raises
    :class:`~survey.services.errors.InvalidDefinition` with every problem (nothing stored).
    """
    try:
        definition = questionnaire_definition(data, key=key, source_name=source_name)
    except InstrumentValidationError as error:
        raise InvalidDefinition(error.problems) from None
    return import_definition(
        definition,
        actor=actor,
        via=via,
        publish=False,
        fmt="fhir",
        source_name=source_name,
        now=now,
    )
