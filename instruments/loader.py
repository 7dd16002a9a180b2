"""Load and validate instrument files (``instruments/<key>/<semver>.yaml``).

The file format is described in ``instruments/README.md``. Loading is two steps:

1. read the file (size, UTF-8, YAML syntax, duplicate keys) with ``yaml.safe_load`` only, so
   nothing in a file is ever executed;
2. validate the parsed mapping against the format and build a frozen
   :class:`~instruments.definition.InstrumentDefinition`.

Validation never stops at the first problem: every problem found is collected as a
:class:`Problem` (file, dotted key, message) and raised together in one
:class:`InstrumentValidationError`, so an author fixes a file in one pass.

>>> definition = load_instrument(instrument_path("iemdp", "1.0.0"))
>>> definition.key, definition.version, len(definition.items)
('iemdp', '1.0.0', 72)
>>> try:
...     load_instrument_text("format: 1\\nkey: iemdp\\ntitel: Typo\\n", "upload.yaml")
... except InstrumentValidationError as error:
...     print(*error.problems[:2], sep="\\n")  # doctest: +ELLIPSIS
upload.yaml: titel: unknown key (allowed here: format, key, version, title, ...)
upload.yaml: version: is required (a semantic version such as 1.0.0)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from instruments.definition import (
    AttentionCheck,
    Construct,
    InstrumentDefinition,
    Item,
    ResponseOption,
    ResponseScale,
    Subconstruct,
)
from instruments.item_types import DEFAULT_ITEM_TYPE, ITEM_TYPES
from instruments.text_encoding import UndecodableText, byte_size, decode_text, too_large

__all__ = [
    "INSTRUMENTS_DIR",
    "MAX_FILE_BYTES",
    "MIN_ITEMS_PER_SUBCONSTRUCT",
    "SUPPORTED_FORMATS",
    "InstrumentValidationError",
    "Problem",
    "discover",
    "instrument_path",
    "load_instrument",
    "load_instrument_text",
    "parse_definition",
    "to_mapping",
    "validate_file",
]

INSTRUMENTS_DIR = Path(__file__).resolve().parent
MAX_FILE_BYTES = 1_000_000
SUPPORTED_FORMATS = (1,)
MIN_ITEMS_PER_SUBCONSTRUCT = 3

KEY_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
# MAJOR.MINOR.PATCH without leading zeros, optionally a pre-release tag. Build metadata
# ("+...") is not accepted: it does not change a version's identity, so two files differing
# only in it would be the same version.
SEMVER_RE = re.compile(
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
# Construct and subconstruct codes: upper-case segments that each start with a letter, so a
# code can never look like an item id (``<SUBCODE>_<n>``) and is a valid lavaan name.
CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z][A-Z0-9]*)*$")
ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
SCALE_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


# --------------------------------------------------------------------------------------
# problems
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One thing wrong with an instrument file.

    ``key`` is the dotted path of the offending value, e.g.
    ``constructs[2].subconstructs[0].items[1].reverse``; it is ``""`` for problems with the
    file as a whole (not found, not UTF-8, YAML syntax, ...).
    """

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        if self.key:
            return f"{self.file}: {self.key}: {self.message}"
        return f"{self.file}: {self.message}"


class InstrumentValidationError(ValueError):
    """An instrument file is invalid; ``.problems`` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        files = sorted({problem.file for problem in self.problems})
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in {', '.join(files) or 'instrument'}:"
        super().__init__("\n  ".join([head, *(str(problem) for problem in self.problems)]))


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------
def load_instrument(path: str | Path) -> InstrumentDefinition:
    """Read, validate and return the instrument at ``path``.

    Besides the content, the path is checked: the file must be named ``<version>.yaml`` and
    sit in a folder named after its ``key``. Raises :class:`InstrumentValidationError`
    listing every problem.
    """
    problems, definition = _load_path(Path(path))
    if problems:
        raise InstrumentValidationError(problems)
    assert definition is not None  # no problems means a definition was built
    return definition


def load_instrument_text(text: str, source_name: str) -> InstrumentDefinition:
    """Validate YAML ``text`` (e.g. an upload) and return the definition.

    ``source_name`` names the text in problems; no path checks are made.
    """
    problems, definition = _load_text(text, source_name)
    if problems:
        raise InstrumentValidationError(problems)
    assert definition is not None
    return definition


def parse_definition(mapping: Any, source_name: str) -> InstrumentDefinition:
    """Validate an already parsed mapping and return the definition."""
    problems, definition = _parse(mapping, source_name)
    if problems:
        raise InstrumentValidationError(problems)
    assert definition is not None
    return definition


def validate_file(path: str | Path) -> list[Problem]:
    """Every problem with the file at ``path``; an empty list when it is valid."""
    problems, _ = _load_path(Path(path))
    return problems


def discover(root: str | Path = INSTRUMENTS_DIR) -> list[Path]:
    """Every instrument file under ``root``: ``<root>/<folder>/<name>.yaml``, one level deep.

    All such files are returned, also misnamed ones, so that validation reports a misnamed
    file instead of it being silently skipped. Sorted by key, then by semantic version.
    """
    root = Path(root)
    paths = [
        path
        for path in root.glob("*/*.yaml")
        if path.is_file() and not path.parent.name.startswith((".", "_"))
    ]
    return sorted(paths, key=lambda path: (path.parent.name, _version_sort_key(path.stem)))


def instrument_path(key: str, version: str, root: str | Path = INSTRUMENTS_DIR) -> Path:
    """Where the file of instrument ``key`` version ``version`` lives under ``root``."""
    return Path(root) / key / f"{version}.yaml"


def to_mapping(definition: InstrumentDefinition) -> dict[str, Any]:
    """The normalised mapping of a definition: every default filled in, strings stripped.

    This is what :attr:`InstrumentDefinition.source` holds and what its content hash is
    computed from, so two files that differ only in layout, comments, key order or spelled
    out defaults have the same hash. :func:`parse_definition` accepts it back.

    The optional fields added after version 1.0.0 of the format was published (a
    construct's ``page_title``, an item's ``safety_threshold``) appear only when set, so
    the content hash of a file that does not use them is what it was before they existed.
    """

    def item(entry: Item) -> dict[str, Any]:
        out = {
            "id": entry.id,
            "text": entry.text,
            "reverse": entry.reverse,
            "scale": entry.scale,
            "type": entry.type,
            "optional": entry.optional,
        }
        if entry.safety_threshold is not None:
            out["safety_threshold"] = entry.safety_threshold
        return out

    def construct(entry: Construct) -> dict[str, Any]:
        out: dict[str, Any] = {"code": entry.code, "name": entry.name}
        if entry.page_title is not None:
            out["page_title"] = entry.page_title
        return out | {
            "domain": entry.domain,
            "description": entry.description,
            "subconstructs": [
                {
                    "code": sub.code,
                    "name": sub.name,
                    "description": sub.description,
                    "reverse": sub.reverse,
                    "items": [item(entry) for entry in sub.items],
                }
                for sub in entry.subconstructs
            ],
        }

    def check(entry: AttentionCheck) -> dict[str, Any]:
        return {
            "id": entry.id,
            "text": entry.text,
            "scale": entry.scale,
            "expected": entry.expected,
            "page": entry.page,
            "position": entry.position,
            "type": entry.type,
            "optional": entry.optional,
        }

    return {
        "format": SUPPORTED_FORMATS[-1],
        "key": definition.key,
        "version": definition.version,
        "title": definition.title,
        "citation": definition.citation,
        "intro": definition.intro,
        "shuffle_items": definition.shuffle_items,
        "response_scales": {
            scale.key: [{"value": o.value, "label": o.label} for o in scale.options]
            for scale in definition.response_scales
        },
        "constructs": [construct(entry) for entry in definition.constructs],
        "attention_checks": [check(entry) for entry in definition.attention_checks],
    }


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------
def _load_path(path: Path) -> tuple[list[Problem], InstrumentDefinition | None]:
    name = str(path)
    if not path.is_file():
        return [Problem(name, "", "file not found")], None
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:  # before reading it into memory
        return [Problem(name, "", too_large(size, MAX_FILE_BYTES))], None
    try:
        text = decode_text(path.read_bytes(), limit=MAX_FILE_BYTES)
    except UndecodableText as error:
        return [Problem(name, "", str(error))], None
    problems, mapping = _read_text(text, name)
    if mapping is None:
        return problems, None
    parse_problems, definition = _parse(mapping, name)
    problems += parse_problems + _path_problems(path, mapping, name)
    return problems, (None if problems else definition)


def _load_text(text: str, name: str) -> tuple[list[Problem], InstrumentDefinition | None]:
    problems, mapping = _read_text(text, name)
    if mapping is None:
        return problems, None
    parse_problems, definition = _parse(mapping, name)
    problems += parse_problems
    return problems, (None if problems else definition)


def _read_text(text: str, name: str) -> tuple[list[Problem], Any]:
    """Parse YAML text. Returns problems and the parsed value (``None`` when unusable)."""
    size = byte_size(text)
    if size > MAX_FILE_BYTES:
        return [Problem(name, "", too_large(size, MAX_FILE_BYTES))], None
    try:
        mapping = yaml.safe_load(text)
        # Composing builds only the node graph (nothing is constructed, let alone run);
        # it still shows what safe_load hides: overwritten keys, how a boolean was spelled.
        duplicates = _node_problems(yaml.compose(text, Loader=yaml.SafeLoader), name)
    except yaml.YAMLError as error:
        return [Problem(name, "", _yaml_message(error))], None
    except RecursionError:  # PyYAML builds nested collections recursively
        return [Problem(name, "", "YAML nested too deeply to read")], None
    if mapping is None:
        return [Problem(name, "", "file is empty: the top level must be a mapping")], None
    return duplicates, mapping


def _yaml_message(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    # A constructor error is well-formed YAML asking for something safe_load refuses to
    # build (e.g. a !!python/object tag); anything else is a syntax error.
    what = (
        "YAML tag not allowed"
        if isinstance(error, yaml.constructor.ConstructorError)
        else "YAML syntax error"
    )
    if mark is not None:
        # Marks are 0-based; editors count from 1.
        return f"{what} at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return f"{what}: {problem}"


def _node_problems(node: yaml.Node | None, name: str) -> list[Problem]:
    """Problems only the YAML node graph shows: duplicate keys (safe_load keeps the last
    value silently) and booleans spelled other than true/false (``yes``, ``on`` ... are
    booleans in YAML 1.1 but strings in YAML 1.2, so other tools would read them
    differently)."""
    problems: list[Problem] = []
    seen_nodes: set[int] = set()

    def walk(node: yaml.Node, key: str) -> None:
        if id(node) in seen_nodes:  # aliases may point back to a node already walked
            return
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                label = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
                child = _join(key, label)
                line = key_node.start_mark.line + 1
                if label in first_line:
                    message = (
                        f"duplicate key at line {line} (first at line {first_line[label]}); "
                        "YAML would keep only the last value"
                    )
                    problems.append(Problem(name, child, message))
                else:
                    first_line[label] = line
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, value_node in enumerate(node.value):
                walk(value_node, f"{key}[{index}]")
        elif (
            isinstance(node, yaml.ScalarNode)
            and node.tag == _BOOL_TAG
            and node.value.lower() not in ("true", "false")
        ):
            message = f"write true or false, not {node.value!r} (line {node.start_mark.line + 1})"
            problems.append(Problem(name, key, message))

    if node is not None:
        walk(node, "")
    return problems


_BOOL_TAG = "tag:yaml.org,2002:bool"


def _path_problems(path: Path, mapping: Any, name: str) -> list[Problem]:
    """The file must be ``<key>/<version>.yaml``; reported together with content problems."""
    problems = []
    if path.suffix != ".yaml":
        problems.append(Problem(name, "", f"file name must end in .yaml, got {path.name!r}"))
    if not isinstance(mapping, dict):
        return problems
    key, version = mapping.get("key"), mapping.get("version")
    if isinstance(key, str) and key.strip() != path.parent.name:
        problems.append(
            Problem(name, "key", f"{key!r} does not match the folder name {path.parent.name!r}")
        )
    if isinstance(version, str) and version.strip() != path.stem:
        problems.append(
            Problem(name, "version", f"{version!r} does not match the file name {path.name!r}")
        )
    return problems


def _version_sort_key(text: str) -> tuple[Any, ...]:
    match = SEMVER_RE.fullmatch(text)
    if not match:
        return (1, text)  # misnamed files sort after the versions
    major, minor, patch, pre = match.groups()
    # A pre-release sorts before its release.
    return (0, int(major), int(minor), int(patch), pre is None, pre or "")


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Field:
    kind: str  # "text" (non-empty string), "string", "integer", "boolean", "list", "mapping"
    required: bool = True
    default: Any = None
    missing: str = "is required"


_KIND_NAMES = {
    "text": "a string",
    "string": "a string",
    "integer": "an integer",
    "boolean": "true or false",
    "list": "a list",
    "mapping": "a mapping",
}

_TOP = {
    "format": _Field("integer"),
    "key": _Field("string"),
    "version": _Field("string", missing="is required (a semantic version such as 1.0.0)"),
    "title": _Field("text"),
    "citation": _Field("text"),
    "intro": _Field("text"),
    "shuffle_items": _Field("boolean"),
    "response_scales": _Field("mapping"),
    "constructs": _Field("list"),
    "attention_checks": _Field("list", required=False, default=()),
}
_OPTION = {"value": _Field("integer"), "label": _Field("text")}
_CONSTRUCT = {
    "code": _Field("string"),
    "name": _Field("text"),
    "page_title": _Field("text", required=False, default=None),
    "domain": _Field("text"),
    "description": _Field("text"),
    "subconstructs": _Field("list"),
}
_SUBCONSTRUCT = {
    "code": _Field("string"),
    "name": _Field("text"),
    "description": _Field("text"),
    "reverse": _Field("boolean", required=False, default=False),
    "items": _Field("list"),
}
_ITEM = {
    "id": _Field("string"),
    "text": _Field("text"),
    "reverse": _Field(
        "boolean", missing="is required: every item states reverse: true or reverse: false"
    ),
    "scale": _Field("string"),
    "type": _Field("string", required=False, default=DEFAULT_ITEM_TYPE),
    "optional": _Field("boolean", required=False, default=False),
    "safety_threshold": _Field("integer", required=False, default=None),
}
_ATTENTION_CHECK = {
    "id": _Field("string"),
    "text": _Field("text"),
    "scale": _Field("string"),
    "expected": _Field("integer"),
    "page": _Field("string"),
    "position": _Field("integer"),
    "type": _Field("string", required=False, default=DEFAULT_ITEM_TYPE),
    "optional": _Field("boolean", required=False, default=False),
}


def _join(parent: str, child: str) -> str:
    return f"{parent}.{child}" if parent else child


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _is_kind(value: Any, kind: str) -> bool:
    if kind in ("text", "string"):
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind == "mapping":
        return isinstance(value, dict)
    raise AssertionError(kind)


class _Validator:
    """Walks the parsed mapping once, collecting problems and the normalised values."""

    def __init__(self, name: str):
        self.name = name
        self.problems: list[Problem] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.name, key, message))

    def fields(self, value: Any, key: str, spec: Mapping[str, _Field]) -> dict[str, Any] | None:
        """Check a mapping's keys and value types. Returns the values that passed (defaults
        filled in, strings stripped); a value that failed is absent. ``None`` if ``value``
        is not a mapping at all."""
        if not isinstance(value, dict):
            self.add(key, f"must be a mapping, got {_kind_of(value)}")
            return None
        allowed = ", ".join(spec)
        for name in value:
            if not isinstance(name, str) or name not in spec:
                self.add(_join(key, str(name)), f"unknown key (allowed here: {allowed})")
        out: dict[str, Any] = {}
        for name, field in spec.items():
            child = _join(key, name)
            if name not in value:
                if field.required:
                    self.add(child, field.missing)
                else:
                    out[name] = field.default
                continue
            raw = value[name]
            if not _is_kind(raw, field.kind):
                self.add(child, f"must be {_KIND_NAMES[field.kind]}, got {_kind_of(raw)}")
                continue
            if isinstance(raw, str):
                raw = raw.strip()
                if field.kind == "text" and not raw:
                    self.add(child, "must not be empty")
                    continue
            out[name] = raw
        return out

    def pattern(
        self, values: dict[str, Any], name: str, key: str, regex: re.Pattern[str], what: str
    ) -> None:
        value = values.get(name)
        if value is None:
            return
        if not regex.fullmatch(value):
            self.add(_join(key, name), f"must match {what}, got {value!r}")
            del values[name]


def _parse(mapping: Any, name: str) -> tuple[list[Problem], InstrumentDefinition | None]:
    check = _Validator(name)
    top = check.fields(mapping, "", _TOP)
    if top is None:
        check.problems[-1] = Problem(
            name, "", f"the top level must be a mapping, got {_kind_of(mapping)}"
        )
        return check.problems, None

    if "format" in top and top["format"] not in SUPPORTED_FORMATS:
        check.add(
            "format",
            f"unsupported format {top['format']} (supported: "
            f"{', '.join(map(str, SUPPORTED_FORMATS))})",
        )
    check.pattern(
        top, "key", "", KEY_RE, "[a-z][a-z0-9_-]* (lower-case letters, digits, '_' or '-')"
    )
    check.pattern(top, "version", "", SEMVER_RE, "a semantic version MAJOR.MINOR.PATCH")

    scales = _parse_scales(check, top.get("response_scales"))
    constructs, item_ids, page_sizes = _parse_constructs(check, top.get("constructs"), scales)
    checks = _parse_attention_checks(
        check, top.get("attention_checks"), scales, page_sizes, item_ids
    )

    if check.problems:
        return check.problems, None
    definition = InstrumentDefinition(
        key=top["key"],
        version=top["version"],
        title=top["title"],
        intro=top["intro"],
        citation=top["citation"],
        shuffle_items=top["shuffle_items"],
        response_scales=tuple(scales.values()),
        constructs=tuple(constructs),
        attention_checks=tuple(checks),
    )
    return [], replace(definition, source=to_mapping(definition))


def _parse_scales(check: _Validator, raw: Any) -> dict[str, ResponseScale]:
    """Response scales by key; a scale with problems is still returned when its key is
    usable, so that references to it are not reported as missing too."""
    scales: dict[str, ResponseScale] = {}
    if raw is None:
        return scales
    if not raw:
        check.add("response_scales", "must define at least one response scale")
    for scale_key, options_raw in raw.items():
        key = f"response_scales.{scale_key}"
        if not isinstance(scale_key, str) or not SCALE_KEY_RE.fullmatch(scale_key):
            check.add(key, "a response scale's key must be a name such as agree5")
            continue
        options: list[ResponseOption] = []
        if not isinstance(options_raw, list):
            check.add(key, f"must be a list of options, got {_kind_of(options_raw)}")
        else:
            if len(options_raw) < 2:
                check.add(key, "must have at least 2 options")
            first_at: dict[Any, int] = {}
            labels: dict[str, int] = {}
            for index, option_raw in enumerate(options_raw):
                option_key = f"{key}[{index}]"
                option = check.fields(option_raw, option_key, _OPTION)
                if option is None:
                    continue
                value, label = option.get("value"), option.get("label")
                if value is not None:
                    if value in first_at:
                        check.add(
                            f"{option_key}.value",
                            f"duplicate value {value} (also at "
                            f"{key}[{first_at[value]}]); values must be unique integers",
                        )
                    else:
                        first_at[value] = index
                if label is not None:
                    if label in labels:
                        check.add(
                            f"{option_key}.label",
                            f"duplicate label {label!r} (also at {key}[{labels[label]}])",
                        )
                    else:
                        labels[label] = index
                if value is not None and label is not None:
                    options.append(ResponseOption(value=value, label=label))
            values = set(first_at)
            if len(values) >= 2 and {min(values) + max(values) - v for v in values} != values:
                check.add(
                    key,
                    f"values {sorted(values)} are not symmetric around their "
                    "midpoint, so reverse keying (min + max - x) would leave the scale",
                )
        scales[scale_key] = ResponseScale(key=scale_key, options=tuple(options))
    return scales


def _parse_constructs(
    check: _Validator, raw: Any, scales: Mapping[str, ResponseScale]
) -> tuple[list[Construct], dict[str, str], dict[str, int]]:
    """Constructs; every item id mapped to the key where it was first defined; the number
    of items listed under each construct code (its page size before attention checks).

    Objects are built for every entry whose own fields are valid, even when there are
    problems elsewhere, so later checks (attention-check pages) see what the file meant.
    """
    constructs: list[Construct] = []
    ids: dict[str, str] = {}
    codes: dict[str, str] = {}
    page_sizes: dict[str, int] = {}
    if raw is None:
        return constructs, ids, page_sizes
    if not raw:
        check.add("constructs", "must have at least one construct")

    def code_of(values: dict[str, Any], key: str) -> str | None:
        check.pattern(
            values,
            "code",
            key,
            CODE_RE,
            "upper-case letters and digits in '_'-separated parts, e.g. SE_MAIN",
        )
        code = values.get("code")
        if code is None:
            return None
        if code in codes:
            check.add(
                f"{key}.code",
                f"duplicate code {code!r} (first at {codes[code]}); "
                "construct and subconstruct codes must all be different",
            )
        else:
            codes[code] = f"{key}.code"
        return code

    for c_index, construct_raw in enumerate(raw):
        c_key = f"constructs[{c_index}]"
        construct = check.fields(construct_raw, c_key, _CONSTRUCT)
        if construct is None:
            continue
        construct_code = code_of(construct, c_key)
        if "\n" in (construct.get("page_title") or ""):
            check.add(f"{c_key}.page_title", "must be one line: it is the page's title")
            del construct["page_title"]
        subconstructs: list[Subconstruct] = []
        subs_raw = construct.get("subconstructs")
        first_scale: tuple[str, str] | None = None  # (scale, where) of the construct
        if construct_code is not None:
            page_sizes[construct_code] = sum(
                len(sub["items"])
                for sub in subs_raw or ()
                if isinstance(sub, dict) and isinstance(sub.get("items"), list)
            )
        if subs_raw is not None and not subs_raw:
            check.add(f"{c_key}.subconstructs", "must have at least one subconstruct")
        for s_index, sub_raw in enumerate(subs_raw or ()):
            s_key = f"{c_key}.subconstructs[{s_index}]"
            sub = check.fields(sub_raw, s_key, _SUBCONSTRUCT)
            if sub is None:
                continue
            sub_code = code_of(sub, s_key)
            items_raw = sub.get("items")
            if items_raw is not None and len(items_raw) < MIN_ITEMS_PER_SUBCONSTRUCT:
                count = len(items_raw)
                check.add(
                    f"{s_key}.items",
                    f"has {count} item{'' if count == 1 else 's'}; "
                    f"a subconstruct needs at least {MIN_ITEMS_PER_SUBCONSTRUCT}",
                )
            items: list[Item] = []
            for i_index, item_raw in enumerate(items_raw or ()):
                i_key = f"{s_key}.items[{i_index}]"
                item = check.fields(item_raw, i_key, _ITEM)
                if item is None:
                    continue
                item_id = item.get("id")
                if item_id is not None and sub_code is not None:
                    if not re.fullmatch(re.escape(sub_code) + r"_[1-9][0-9]*", item_id):
                        check.add(
                            f"{i_key}.id",
                            f"must be {sub_code}_<n> (n = 1, 2, ...) "
                            f"for an item of subconstruct {sub_code}, got {item_id!r}",
                        )
                        del item["id"]
                if not _check_id(check, item.get("id"), f"{i_key}.id", ids):
                    item.pop("id", None)
                _check_type_and_scale(check, item, i_key, scales)
                _check_safety_threshold(check, item, i_key, scales)
                scale = item.get("scale")
                if scale in scales:
                    if first_scale is None:
                        first_scale = (scale, f"{i_key}.scale")
                    elif scale != first_scale[0]:
                        # Subconstruct scores are item means and construct scores their
                        # means: both need one response range.
                        check.add(
                            f"{i_key}.scale",
                            f"{scale!r} differs from {first_scale[0]!r} at {first_scale[1]}; "
                            "all items of a construct use one response scale",
                        )
                if _complete(item, _ITEM) and sub_code and construct_code:
                    items.append(Item(**item, subconstruct=sub_code, construct=construct_code))
            if _complete(sub, _SUBCONSTRUCT):
                subconstructs.append(
                    Subconstruct(
                        code=sub["code"],
                        name=sub["name"],
                        description=sub["description"],
                        items=tuple(items),
                        reverse=sub["reverse"],
                    )
                )
        if _complete(construct, _CONSTRUCT):
            constructs.append(
                Construct(
                    code=construct["code"],
                    name=construct["name"],
                    domain=construct["domain"],
                    description=construct["description"],
                    subconstructs=tuple(subconstructs),
                    page_title=construct["page_title"],
                )
            )
    return constructs, ids, page_sizes


def _complete(values: dict[str, Any], spec: Mapping[str, _Field]) -> bool:
    """Every field of ``spec`` passed its checks."""
    return all(name in values for name in spec)


def _check_id(check: _Validator, entry_id: str | None, key: str, ids: dict[str, str]) -> bool:
    """Record ``entry_id`` in ``ids``; False (and a problem) if it is malformed or taken."""
    if entry_id is None:
        return False
    if not ID_RE.fullmatch(entry_id):
        check.add(
            key, f"must start with a letter and hold only letters, digits and '_', got {entry_id!r}"
        )
        return False
    if entry_id in ids:
        check.add(
            key,
            f"duplicate id {entry_id!r} (first at {ids[entry_id]}); items and "
            "attention checks share one id space",
        )
        return False
    ids[entry_id] = key
    return True


def _check_type_and_scale(
    check: _Validator, entry: dict[str, Any], key: str, scales: Mapping[str, ResponseScale]
) -> None:
    item_type = entry.get("type")
    if item_type is not None and item_type not in ITEM_TYPES:
        check.add(
            f"{key}.type",
            f"unknown item type {item_type!r} (registered: {', '.join(sorted(ITEM_TYPES))})",
        )
    scale = entry.get("scale")
    if scale is not None and scale not in scales:
        known = ", ".join(sorted(scales)) or "none defined"
        check.add(f"{key}.scale", f"names no response scale: {scale!r} (defined: {known})")


def _check_safety_threshold(
    check: _Validator, item: dict[str, Any], key: str, scales: Mapping[str, ResponseScale]
) -> None:
    """A safety threshold is a value of the item's scale above its lowest value (at the
    lowest value every answer would be a safety signal)."""
    threshold = item.get("safety_threshold")
    scale = scales.get(item.get("scale", ""))
    if threshold is None or scale is None or not scale.options:
        return
    name = f"item {item['id']}" if "id" in item else "this item"
    if threshold not in scale.values:
        check.add(
            f"{key}.safety_threshold",
            f"{threshold} is not a value of scale {scale.key!r} "
            f"({', '.join(map(str, scale.values))}) of {name}",
        )
        del item["safety_threshold"]
    elif threshold == scale.minimum:
        check.add(
            f"{key}.safety_threshold",
            f"{threshold} is the lowest value of scale {scale.key!r}: every answer to {name} "
            "would be a safety signal",
        )
        del item["safety_threshold"]


def _parse_attention_checks(
    check: _Validator,
    raw: Any,
    scales: Mapping[str, ResponseScale],
    page_sizes: Mapping[str, int],
    ids: dict[str, str],
) -> list[AttentionCheck]:
    checks: list[AttentionCheck] = []
    per_page: dict[str, int] = {}
    for entry_raw in raw or ():
        if isinstance(entry_raw, dict) and isinstance(entry_raw.get("page"), str):
            page = entry_raw["page"].strip()
            per_page[page] = per_page.get(page, 0) + 1
    for index, entry_raw in enumerate(raw or ()):
        key = f"attention_checks[{index}]"
        if isinstance(entry_raw, dict) and "safety_threshold" in entry_raw:
            # An attention check is unscored and has one correct answer: it cannot also
            # be a safety item. Said plainly rather than as an unknown key.
            name = entry_raw.get("id")
            what = f"attention check {name}" if isinstance(name, str) else "an attention check"
            check.add(
                f"{key}.safety_threshold",
                f"{what} cannot be a safety item: put the question among the items of a "
                "construct to give it a safety_threshold",
            )
            entry_raw = {k: v for k, v in entry_raw.items() if k != "safety_threshold"}
        entry = check.fields(entry_raw, key, _ATTENTION_CHECK)
        if entry is None:
            continue
        if not _check_id(check, entry.get("id"), f"{key}.id", ids):
            entry.pop("id", None)
        _check_type_and_scale(check, entry, key, scales)
        scale = scales.get(entry.get("scale", ""))
        expected = entry.get("expected")
        if scale is not None and expected is not None and scale.options:
            if expected not in scale.values:
                check.add(
                    f"{key}.expected",
                    f"{expected} is not a value of scale "
                    f"{scale.key!r} ({', '.join(map(str, scale.values))})",
                )
        page, position = entry.get("page"), entry.get("position")
        if page is not None and page not in page_sizes:
            known = ", ".join(page_sizes) or "none defined"
            check.add(
                f"{key}.page", f"names no construct: {page!r} (pages are construct codes: {known})"
            )
        if position is not None:
            if position < 0:
                check.add(f"{key}.position", f"must be 0 or more, got {position}")
            elif page in page_sizes:
                # 0-based index among the page's entries, the checks on it included.
                last = page_sizes[page] + per_page[page] - 1
                if position > last:
                    check.add(
                        f"{key}.position",
                        f"{position} is past the end of page {page!r} (last position: {last})",
                    )
        if _complete(entry, _ATTENTION_CHECK):
            checks.append(AttentionCheck(**entry))
    return checks
