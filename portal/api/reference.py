"""The API's reference page, read off its OpenAPI document: an accessible page in the pages' frame,
instead of a third-party viewer (none we tried passes axe). Each operation once: the routes inside a
sub-account (`/accounts/{account_id}/…`) mirror the plain ones, and the page says so once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INSIDE = "/api/v1/accounts/{account_id}/"
METHODS = ("get", "post", "put", "patch", "delete", "options")


@dataclass
class Field:
    name: str
    type: str
    required: bool
    notes: str  # limits, default, write-only, description


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    scope: str
    parameters: list[Field]
    body: str  # the request body's object, if any
    answer: str  # the success answer's object, if any
    status: str
    anchor: str


@dataclass
class Section:
    name: str
    description: str
    operations: list[Operation] = field(default_factory=list)


def _ref(schema: dict[str, Any]) -> str:
    target = schema.get("$ref") or schema.get("items", {}).get("$ref", "")
    name = str(target).rsplit("/", 1)[-1]
    return f"{name}[]" if "items" in schema and name else name


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema or "$ref" in schema.get("items", {}):
        return _ref(schema)
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " | ".join(str(k) for k in kind)
    if kind == "array":
        return f"{_type(schema.get('items', {}))}[]"
    return f"{kind} ({schema['format']})" if "format" in schema else str(kind)


def _notes(schema: dict[str, Any]) -> str:
    notes = []
    for key, word in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"), ("maxLength", "length ≤")):
        if key in schema:
            notes.append(f"{word} {schema[key]}")
    if "enum" in schema:
        notes.append(" | ".join(str(v) for v in schema["enum"]))
    if "default" in schema:
        notes.append(f"default {schema['default']!r}")
    if schema.get("writeOnly"):
        notes.append("write-only")
    if schema.get("readOnly"):
        notes.append("read-only")
    if "description" in schema:
        notes.append(str(schema["description"]))
    return "; ".join(notes)


def objects(document: dict[str, Any]) -> dict[str, list[Field]]:
    """Every object of the document by name, with its fields."""
    found = {}
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        found[name] = [
            Field(prop, _type(sub), prop in required, _notes(sub))
            for prop, sub in sorted(schema.get("properties", {}).items())
        ]
    return found


def _json_schema(part: dict[str, Any]) -> dict[str, Any]:
    content = part.get("content", {})
    for media in ("application/json", "application/problem+json"):
        if media in content:
            schema: dict[str, Any] = content[media].get("schema", {})
            return schema
    return {}


def sections(document: dict[str, Any], scopes: dict[tuple[str, str], str]) -> list[Section]:
    """The operations by tag, plain paths only. `scopes`: (method, path) -> the scope its view needs."""
    by_tag = {t["name"]: Section(t["name"], t.get("description", "")) for t in document.get("tags", [])}
    for path, item in sorted(document.get("paths", {}).items()):
        if path.startswith(INSIDE):
            continue
        shared = item.get("parameters", [])
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = [
                Field(f"{p['name']} ({p['in']})", _type(p.get("schema", {})), bool(p.get("required")), _notes(p))
                for p in [*shared, *operation.get("parameters", [])]
            ]
            success = next((code for code in sorted(operation.get("responses", {})) if code.startswith("2")), "")
            answer = operation["responses"].get(success, {}) if success else {}
            tag = (operation.get("tags") or ["api"])[0]
            section = by_tag.setdefault(tag, Section(tag, ""))
            section.operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=operation.get("summary", ""),
                    scope=scopes.get((method.upper(), path), ""),
                    parameters=parameters,
                    body=_ref(_json_schema(operation.get("requestBody", {}))),
                    answer=_ref(_json_schema(answer)),
                    status=success,
                    anchor=operation.get("operationId") or f"{method}-{path}",
                )
            )
    return [s for s in by_tag.values() if s.operations]
