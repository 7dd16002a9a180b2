"""The browsable API documentation (``GET /api/v1/docs``): the OpenAPI document that
spectree generates, as one server-rendered page — every path and method with its summary,
description, scope, parameters, request body and responses, and the schemas they name.

No script and nothing from another site (the app's Content-Security-Policy allows
neither): the page is the document, read once per request, laid out by a template.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask

METHODS = ("get", "post", "put", "patch", "delete")
REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True)
class Parameter:
    name: str
    where: str  # path, query, header
    required: bool
    type: str
    description: str


@dataclass(frozen=True)
class Body:
    media_type: str
    schema: str  # the schema's name, or its type when it names none
    anchor: str | None  # where the named schema is on the page


@dataclass(frozen=True)
class Answer:
    status: str
    description: str
    bodies: tuple[Body, ...]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: str
    tags: tuple[str, ...]
    scope: str | None  # None: any key of the study; "public": no key
    parameters: tuple[Parameter, ...]
    request: tuple[Body, ...]
    responses: tuple[Answer, ...]


@dataclass(frozen=True)
class Schema:
    name: str
    anchor: str
    description: str
    text: str  # the JSON Schema, indented


def schema_name(ref: str) -> str:
    """A schema's display name: spectree's component key without its hash suffix.

    >>> schema_name("#/components/schemas/KeyInfo.f49a331")
    'KeyInfo'
    >>> schema_name("#/components/schemas/Enrol.ab12cd3.Nested")
    'Enrol.Nested'
    """
    key = ref.removeprefix(REF_PREFIX)
    parts = key.split(".")
    return ".".join(part for i, part in enumerate(parts) if not (i == 1 and len(parts) > 1))


def anchor_of(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text).strip("-").lower()


def _type_of(schema: Mapping[str, Any]) -> str:
    if "$ref" in schema:
        return schema_name(schema["$ref"])
    if "anyOf" in schema:
        return " or ".join(_type_of(option) for option in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type_of(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(json.dumps(value) for value in schema["enum"])
    return str(kind)


def _bodies(content: Mapping[str, Any]) -> tuple[Body, ...]:
    bodies = []
    for media_type, media in content.items():
        schema = media.get("schema", {})
        ref = schema.get("$ref")
        anchor = "schema-" + anchor_of(schema_name(ref)) if isinstance(ref, str) else None
        bodies.append(Body(media_type, _type_of(schema), anchor))
    return tuple(bodies)


def view_scope(view: Callable[..., Any] | None) -> str | None:
    """The scope a view requires, read from its :func:`survey.api.auth.require` wrapper
    (None when it has none)."""
    seen = 0
    while view is not None and seen < 20:
        code = view.__code__  # (functools.wraps copies the names, not the code)
        if code.co_qualname.startswith("require.") and "scope" in code.co_freevars:
            scope = inspect.getclosurevars(view).nonlocals.get("scope")
            return scope if isinstance(scope, str) else None
        view = getattr(view, "__wrapped__", None)
        seen += 1
    return None


def _scope_of(operation: Mapping[str, Any]) -> str | None:
    for requirement in operation.get("security") or ():
        for scopes in requirement.values():
            if scopes:
                return ", ".join(scopes)
    return None


def operations(document: Mapping[str, Any], app: Flask) -> list[Operation]:
    """The document's operations, in path order, with the scope each view requires."""
    scopes = _view_scopes(app)
    found = []
    for path, methods in document.get("paths", {}).items():
        for method in METHODS:
            operation = methods.get(method)
            if operation is None:
                continue
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    anchor=anchor_of(f"{method}-{path}"),
                    summary=operation.get("summary", ""),
                    description=operation.get("description", ""),
                    tags=tuple(operation.get("tags", ())),
                    scope=_scope_of(operation) or scopes.get((method.upper(), path)),
                    parameters=tuple(
                        Parameter(
                            name=parameter["name"],
                            where=parameter.get("in", ""),
                            required=bool(parameter.get("required")),
                            type=_type_of(parameter.get("schema", {})),
                            description=parameter.get("description", ""),
                        )
                        for parameter in operation.get("parameters", ())
                    ),
                    request=_bodies(operation.get("requestBody", {}).get("content", {})),
                    responses=tuple(
                        Answer(
                            status,
                            answer.get("description", ""),
                            _bodies(answer.get("content", {})),
                        )
                        for status, answer in sorted(operation.get("responses", {}).items())
                    ),
                )
            )
    return found


def _view_scopes(app: Flask) -> dict[tuple[str, str], str]:
    """(method, OpenAPI path) → the scope its view requires."""
    scopes = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        scope = view_scope(app.view_functions.get(rule.endpoint))
        if scope is None:
            continue
        path = rule.rule
        for argument in rule.arguments:
            for converter in ("", "int:", "string:", "path:", "uuid:"):
                path = path.replace(f"<{converter}{argument}>", f"{{{argument}}}")
        for method in rule.methods or ():
            scopes[(method, path)] = scope
    return scopes


def schemas(document: Mapping[str, Any]) -> list[Schema]:
    """The document's component schemas by display name (a name spectree gave two
    models keeps its first)."""
    found: dict[str, Schema] = {}
    for key, schema in document.get("components", {}).get("schemas", {}).items():
        name = schema_name(REF_PREFIX + key)
        if name in found:
            continue
        found[name] = Schema(
            name=name,
            anchor="schema-" + anchor_of(name),
            description=schema.get("description", ""),
            text=json.dumps(_named_refs(schema), indent=2, ensure_ascii=False),
        )
    return sorted(found.values(), key=lambda schema: schema.name)


def _named_refs(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: schema_name(item) if key == "$ref" and isinstance(item, str) else _named_refs(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_named_refs(item) for item in value]
    return value
