"""Hostile HTTP requests for one route, as hypothesis strategies.

A request takes a route of ``app.url_map`` and varies everything a client controls:

* path values: a real object's id or token most of the time, else huge or negative
  integers, non-ASCII text, NUL, bare ``%`` and broken escapes, very long values;
* the method: one the route accepts, or any of GET POST PUT DELETE PATCH HEAD OPTIONS;
* the query string: random keys and values, duplicate keys, NUL, raw ``&``/``=``;
* the body: none, a urlencoded form, multipart with files, JSON, or random bytes under a
  right or wrong content type. Forms start from the fields of the route's own HTML forms
  (harvested from the pages, see :class:`Vocabulary`) so they reach validation and the
  services, not just the form parser; a field may carry a valid CSRF token
  (:data:`CSRF_TOKEN` is replaced by the role's token when the request is sent);
* a few headers (forwarding headers, conditional requests, a bogus Host).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from functools import cache
from io import BytesIO
from urllib.parse import quote

from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
# Replaced by the sending role's CSRF token (tools.route_fuzzer.RouteFuzzer.send).
CSRF_TOKEN = "{{csrf-token-of-the-role}}"
MAX_CONTENT_LENGTH = 16 * 1024 * 1024
Fields = tuple[tuple[str, tuple[str, ...]], ...]  # field name → values seen, hashable

HOSTILE = (
    "\x00", "a\x00b", "%", "%00", "%zz", "%ff", "%c3%28", "é", "Ω≈ç√", "😀", "\u202e",
    "\r\n", " ", "", "' OR 1=1 --", "<script>alert(1)</script>", '=HYPERLINK("x")',
    "../../etc/passwd", "null", "[]", "{}", "true", "NaN", "1e309",
)  # fmt: skip
INTEGERS = (
    "0", "00", "01", "-1", "+1", "1.5", "1e3", "０", "١", "2147483647", "2147483648",
    "-2147483649", "4294967296", "9223372036854775807", "9223372036854775808",
    "18446744073709551616", "1" * 40,
)  # fmt: skip
LONG_SIZES = (300, 5_000, 70_000)
FORM_CONTENT_TYPES = (
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "application/x-www-form-urlencoded; charset=bogus",
)
RAW_CONTENT_TYPES = (
    None, "", "application/json", "text/plain", "application/octet-stream",
    "multipart/form-data", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
    "text/csv", "application/x-yaml", "image/png",
)  # fmt: skip
HEADERS = (
    ("Accept", "application/json"),
    ("Accept", "*/*;q=x"),
    ("Accept-Language", "é;q=2, *"),
    ("X-Forwarded-For", "256.256.256.256"),
    ("X-Forwarded-For", "203.0.113.1, 198.51.100.2"),
    ("X-Forwarded-Proto", "gopher"),
    ("X-Forwarded-Host", "evil.example"),
    ("Host", "evil.example"),
    ("Range", "bytes=9-1"),
    ("If-None-Match", "*"),
    ("If-Modified-Since", "yesterday"),
    ("Origin", "null"),
    ("Referer", "http://evil.example/"),
    ("Content-Encoding", "gzip"),
    ("Transfer-Encoding", "chunked"),
)
METHOD = st.sampled_from(METHODS)
HEADER_LISTS = st.lists(st.sampled_from(HEADERS), max_size=2, unique=True)
FILE_NAMES = ("instrument.yaml", "dictionary.csv", "", "../../x.yaml", "a\x00.yaml", "é.csv")
FILE_CONTENTS = (
    b"",
    b"\xff\xfe\x00\x00",
    b"format: 1\nkey: x\n",
    b"!!python/object/apply:os.system ['true']\n",
    b"a: &a [*a]\n",
    b'Variable / Field Name,Form Name\n=HYPERLINK("x"),f\n',
)


@dataclass(frozen=True)
class FuzzRequest:
    """A request to one route, sent as each role in turn."""

    endpoint: str
    method: str
    path: str
    query: str = ""
    content_type: str | None = None
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def describe(self, limit: int = 160) -> str:
        """One line naming the request, each part cut to ``limit`` characters."""

        def cut(text: str) -> str:
            return text if len(text) <= limit else f"{text[: limit - 1]}…({len(text)} chars)"

        text = f"{self.method} {cut(self.path)}" + (f"?{cut(self.query)}" if self.query else "")
        if self.content_type is not None or self.body:
            text += f" [{self.content_type!r}, {len(self.body)} bytes: {cut(repr(self.body))}]"
        if self.headers:
            text += " " + " ".join(f"{name}: {value}" for name, value in self.headers)
        return text


@dataclass
class Vocabulary:
    """Form fields seen on the app's pages, per endpoint the form goes to (field name →
    values seen): POST forms become bodies, GET forms (filters) query strings."""

    forms: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    queries: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    file_fields: set[str] = field(default_factory=set)

    def add_form(
        self, endpoint: str, method: str, fields: dict[str, set[str]], files: set[str]
    ) -> None:
        known = (self.queries if method == "GET" else self.forms).setdefault(endpoint, {})
        for name, values in fields.items():
            known.setdefault(name, set()).update(values)
        self.file_fields |= files

    def fields_of(self, endpoint: str) -> Fields:
        return _fields(self.forms.get(endpoint, {}))

    def query_fields_of(self, endpoint: str) -> Fields:
        """The endpoint's GET form fields with their values, and every other field name."""
        names = {name for fields in self.forms.values() for name in fields}
        own = self.queries.get(endpoint, {})
        return _fields(own | {name: set() for name in names if name not in own})

    @property
    def file_names(self) -> tuple[str, ...]:
        return tuple(sorted(self.file_fields))


def _fields(fields: dict[str, set[str]]) -> Fields:
    return tuple((name, tuple(sorted(values))) for name, values in sorted(fields.items()))


# -- harvesting forms from HTML --------------------------------------------------------------
FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
INPUT_RE = re.compile(r"<(input|button)\b([^>]*)>", re.I)
SELECT_RE = re.compile(r"<select\b([^>]*)>(.*?)</select>", re.S | re.I)
TEXTAREA_RE = re.compile(r"<textarea\b([^>]*)>(.*?)</textarea>", re.S | re.I)
OPTION_RE = re.compile(r"<option\b([^>]*)>", re.I)
ATTRIBUTE_RE = re.compile(r'([\w-]+)="([^"]*)"')


def _attributes(text: str) -> dict[str, str]:
    return {name.lower(): html.unescape(value) for name, value in ATTRIBUTE_RE.findall(text)}


def forms_in(page: str) -> list[tuple[str, str, dict[str, set[str]], set[str]]]:
    """``(action, method, fields, file fields)`` of every form in an HTML page."""
    found = []
    for form_attributes, inner in FORM_RE.findall(page):
        attributes = _attributes(form_attributes)
        fields: dict[str, set[str]] = {}
        files: set[str] = set()
        for _tag, text in INPUT_RE.findall(inner):
            input_attributes = _attributes(text)
            name = input_attributes.get("name")
            if not name:
                continue
            if input_attributes.get("type") == "file":
                files.add(name)
            fields.setdefault(name, set()).add(input_attributes.get("value", ""))
        for select_attributes, options in SELECT_RE.findall(inner):
            name = _attributes(select_attributes).get("name")
            if name:
                values = {_attributes(o).get("value", "") for o in OPTION_RE.findall(options)}
                fields.setdefault(name, set()).update(values)
        for textarea_attributes, content in TEXTAREA_RE.findall(inner):
            name = _attributes(textarea_attributes).get("name")
            if name:
                fields.setdefault(name, set()).add(html.unescape(content))
        method = attributes.get("method", "get").upper()
        found.append((attributes.get("action", ""), method, fields, files))
    return found


# -- values ----------------------------------------------------------------------------------
# Strategies are built once (module constants, or cached per argument): a strategy built
# inside a draw is validated again on every example, which costs more than the request.
HOSTILE_TEXT = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(INTEGERS),
    st.text(max_size=30),
    st.sampled_from([text * n for n in LONG_SIZES for text in ("A", "é", "\x00")]),
)
MALFORMED_SEGMENT = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(INTEGERS),
    HOSTILE_TEXT,
).map(lambda value: quote(value, safe="%"))


@cache
def path_values(valid: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A path segment: one of ``valid`` (two times in three), else a malformed value,
    percent-encoded except for the ``%`` signs it contains."""
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), MALFORMED_SEGMENT)


def _encode(value: str, raw: bool) -> str:
    return value if raw else quote(value, safe="")


def pairs_string(pairs: list[tuple[str, str]], raw: bool) -> str:
    return "&".join(f"{_encode(k, raw)}={_encode(v, raw)}" for k, v in pairs)


@cache
def value_for(seen: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A value seen in the form, a hostile one, or the CSRF token."""
    values = HOSTILE_TEXT | st.just(CSRF_TOKEN)
    return (st.sampled_from(seen) | values) if seen else values


@cache
def pairs(fields: Fields, max_size: int) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Key-value lists, keys of ``fields`` or hostile, values seen for the key or hostile;
    duplicates allowed."""
    known = [st.tuples(st.just(name), value_for(seen)) for name, seen in fields]
    unknown = st.tuples(HOSTILE_TEXT, value_for(()))
    return st.lists(st.one_of(*known, unknown), max_size=max_size)


@cache
def form_pairs(fields: Fields) -> st.SearchStrategy[list[tuple[str, str]]]:
    """A form for ``fields``: complete (every field, a seen value or a hostile one) or
    empty, then random pairs, then the CSRF token valid, missing, forged or doubled; in a
    random order."""
    fields = tuple((name, seen) for name, seen in fields if name != "csrf_token")
    complete = st.tuples(*(st.tuples(st.just(name), value_for(seen)) for name, seen in fields)).map(
        list
    )
    csrf = st.sampled_from(
        ([("csrf_token", CSRF_TOKEN)], [("csrf_token", CSRF_TOKEN)], [])
    ) | st.tuples(st.just("csrf_token"), HOSTILE_TEXT).map(
        lambda forged: [forged, ("csrf_token", CSRF_TOKEN)]
    )
    return st.tuples(st.just([]) | complete, pairs(fields, 6), csrf).flatmap(
        lambda parts: st.permutations(parts[0] + parts[1] + parts[2])
    )


# -- bodies ----------------------------------------------------------------------------------
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=8,
)
RAW_BODY = st.tuples(st.sampled_from(RAW_CONTENT_TYPES), st.binary(max_size=300))
JSON_BODY = st.tuples(
    st.sampled_from(("application/json", "text/plain", "application/x-www-form-urlencoded")),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
)
# Past MAX_CONTENT_LENGTH: refused (413) before anything reads it.
HUGE_BODY = st.sampled_from(
    [
        ("application/x-www-form-urlencoded", b"a=" + b"A" * n)
        for n in (100_000, MAX_CONTENT_LENGTH + 1)
    ]
)
NO_BODY: tuple[str | None, bytes] = (None, b"")


def _multipart(form: list[tuple[str, str]], files: list[tuple[str, str, bytes]]):
    values = MultiDict(form)
    for name, filename, content in files:
        values.add(name, FileStorage(BytesIO(content), filename=filename))
    # A fixed boundary: hypothesis forbids the random module inside strategies.
    boundary, data = encode_multipart(values, boundary="fuzz-boundary-7")
    return f"multipart/form-data; boundary={boundary}", data


@cache
def bodies(fields: Fields, file_fields: tuple[str, ...]) -> st.SearchStrategy:
    """``(content type or None, body bytes)`` for a route whose forms have ``fields``."""
    form = form_pairs(fields)
    urlencoded = st.tuples(st.sampled_from(FORM_CONTENT_TYPES), form, st.booleans()).map(
        lambda t: (t[0], pairs_string(t[1], raw=t[2]).encode("utf-8"))
    )
    upload = st.tuples(
        st.sampled_from(file_fields or ("file",)) | HOSTILE_TEXT,
        st.sampled_from(FILE_NAMES) | HOSTILE_TEXT,
        st.sampled_from(FILE_CONTENTS) | st.binary(max_size=200),
    )
    multipart = st.tuples(form, st.lists(upload, max_size=2)).map(lambda t: _multipart(*t))
    return st.one_of(urlencoded, urlencoded, multipart, JSON_BODY, RAW_BODY, RAW_BODY | HUGE_BODY)


@cache
def bodies_for(method_has_body: bool, fields: Fields, file_fields: tuple[str, ...]):
    """Mostly no body for GET, HEAD, OPTIONS and DELETE."""
    body = bodies(fields, file_fields)
    return body if method_has_body else st.one_of(st.just(NO_BODY), st.just(NO_BODY), body)


# -- requests --------------------------------------------------------------------------------
ARGUMENT_RE = re.compile(r"<(?:[\w]+(?:\([^)]*\))?:)?(\w+)>")


def fill(rule: str, values: dict[str, str]) -> str:
    """``rule`` (Werkzeug syntax) with its arguments replaced by ``values`` (as given)."""
    return ARGUMENT_RE.sub(lambda match: values[match.group(1)], rule)


@st.composite
def fuzz_requests(
    draw,
    *,
    endpoint: str,
    rule: str,
    methods: tuple[str, ...],
    valid_values: dict[str, tuple[str, ...]],
    vocabulary: Vocabulary,
) -> FuzzRequest:
    """One hostile request to ``rule``."""
    values = {name: draw(path_values(valid)) for name, valid in sorted(valid_values.items())}
    method = draw(st.sampled_from(methods) | METHOD)
    query_fields = vocabulary.query_fields_of(endpoint)
    query = pairs_string(draw(pairs(query_fields, 4)), raw=draw(st.booleans()))
    fields = vocabulary.fields_of(endpoint)
    has_body = method not in ("GET", "HEAD", "OPTIONS", "DELETE")
    content_type, data = draw(bodies_for(has_body, fields, vocabulary.file_names))
    headers = draw(HEADER_LISTS)
    return FuzzRequest(
        endpoint, method, fill(rule, values), query, content_type, data, tuple(headers)
    )


# The values behind the known 500s of issue 7, sent to every route on every run: an id
# past a 64-bit integer (past PostgreSQL's integer, too) and NUL in every field.
BEYOND_INT64 = str(2**63)
INT_ARGUMENT_RE = re.compile(r"<int(?:\([^)]*\))?:(\w+)>")


def _with_nul(seen: tuple[str, ...]) -> str:
    """A value the form offered (a choice, a hidden value), else text with a NUL inside."""
    return next((value for value in seen if value), "fuzz\x00nul")


def classic_requests(
    *,
    endpoint: str,
    rule: str,
    methods: tuple[str, ...],
    valid_values: dict[str, tuple[str, ...]],
    vocabulary: Vocabulary,
) -> list[FuzzRequest]:
    """Two fixed requests: every integer argument past 2**63 - 1 (GET when allowed); and
    real path values with the route's POST form (when it takes POST) filled in, NUL in
    every free-text field, or else NUL in every field of its query."""
    integers = set(INT_ARGUMENT_RE.findall(rule))
    valid = {name: values[0] for name, values in valid_values.items()}
    beyond = valid | {name: BEYOND_INT64 for name in integers}
    read = "GET" if "GET" in methods else methods[0]
    first = FuzzRequest(endpoint, read, fill(rule, beyond))
    if "POST" in methods:
        form = [(name, _with_nul(seen)) for name, seen in vocabulary.fields_of(endpoint)]
        form = [pair for pair in form if pair[0] != "csrf_token"] + [("csrf_token", CSRF_TOKEN)]
        body = pairs_string(form, raw=False).encode()
        content_type = "application/x-www-form-urlencoded"
        return [first, FuzzRequest(endpoint, "POST", fill(rule, valid), "", content_type, body)]
    names = sorted(vocabulary.queries.get(endpoint, {})) or ["q", "next"]
    query = pairs_string([(name, "\x00") for name in names], raw=False)
    return [first, FuzzRequest(endpoint, read, fill(rule, valid), query)]
