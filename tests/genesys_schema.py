"""A small validator over the Genesys schema subset in tests/fixtures/genesys/schemas.json.

The subset is Swagger 2.0 structure only (type, format, enum, required, properties,
readOnly, items, additionalProperties, $ref), so a few lines check it, with two rules a
generic JSON Schema validator does not apply: a *request* must not carry a property the
schema does not name, nor one it marks read-only (Genesys answers 400
``invalid.property`` to the first; the second is how an update sends back what it must
not). An *answer* may carry more than its schema names (the fixtures cut some large
answer-only definitions, and Genesys adds fields over time).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).parent / "fixtures" / "genesys" / "schemas.json"
FIXTURES = SCHEMAS.parent

_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,),
                                       "number": (int, float), "boolean": (bool,),
                                       "object": (dict,), "array": (list,)}


@dataclass(frozen=True)
class Operation:
    key: str  # "POST /api/v2/..."
    doc: dict[str, Any]


@cache
def schemas() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMAS.read_text())
    return data


def fixture(name: str) -> Any:
    """A document of tests/fixtures/genesys/ (a fresh copy each call)."""
    return json.loads((FIXTURES / name).read_text())


def definition(name: str) -> dict[str, Any]:
    return {"$ref": f"#/definitions/{name}"}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = schemas()["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def problems(value: Any, schema: dict[str, Any], *, request: bool,
             where: str = "$") -> list[str]:
    """What in ``value`` does not fit ``schema`` (empty: it fits)."""
    schema = _resolve(schema)
    found: list[str] = []
    kind = schema.get("type")
    if kind is None and "properties" in schema:
        kind = "object"
    if kind is not None:
        wanted = _TYPES[kind]
        if (isinstance(value, bool) and bool not in wanted) or not isinstance(value, wanted):
            return [f"{where}: {type(value).__name__} where the schema has {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} is not one of the schema's values")
    if schema.get("format") == "date-time" and isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            found.append(f"{where}: {value!r} is not a date-time")
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{where}: required {name!r} is missing")
        for name, item in value.items():
            if name in props:
                sub = props[name]
                if request and (sub.get("readOnly") or _resolve(sub).get("readOnly")):
                    found.append(f"{where}.{name}: read-only, must not be sent")
                found += problems(item, sub, request=request, where=f"{where}.{name}")
            elif isinstance(extra, dict):
                found += problems(item, extra, request=request, where=f"{where}.{name}")
            elif request and (props or kind == "object"):
                found.append(f"{where}.{name}: not in the schema")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += problems(item, schema["items"], request=request, where=f"{where}[{i}]")
    return found


@cache
def _templates() -> list[tuple[str, re.Pattern[str], str]]:
    out = []
    for key in schemas()["operations"]:
        method, path = key.split(" ", 1)
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        out.append((method, pattern, key))
    return out


def operation(method: str, path: str) -> Operation | None:
    for m, pattern, key in _templates():
        if m == method.upper() and pattern.match(path):
            return Operation(key, schemas()["operations"][key])
    return None


def _param_problems(name: str, value: str, schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if kind == "array":
        schema = schema.get("items", {})
        kind = schema.get("type")
    if kind == "integer" and not re.fullmatch(r"-?\d+", value):
        return [f"query {name}={value!r}: not an integer"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"query {name}={value!r}: not one of the schema's values"]
    return []


def request_problems(method: str, path: str, query: list[tuple[str, str]],
                     body: bytes) -> list[str]:
    """A request to the API host against the operation's parameters and body schema."""
    op = operation(method, path)
    if op is None:
        return [f"{method} {path}: no such operation in the fixtures"]
    found: list[str] = []
    known: dict[str, Any] = op.doc["query"]
    for name, value in query:
        if name not in known:
            found.append(f"{op.key}: query parameter {name!r} is not in the schema")
        else:
            found += [f"{op.key}: {p}" for p in _param_problems(name, value, known[name])]
    schema = op.doc.get("request")
    if schema is None:
        if body:
            found.append(f"{op.key}: a body, where the operation takes none")
        return found
    try:
        value = json.loads(body)
    except ValueError:
        return [*found, f"{op.key}: the body is not JSON"]
    return found + [f"{op.key}: {p}" for p in problems(value, schema, request=True)]


def answer_problems(method: str, path: str, status: int, body: Any) -> list[str]:
    """An answer (already parsed) against the operation's schema for that status."""
    op = operation(method, path)
    if op is None:
        return [f"{method} {path}: no such operation in the fixtures"]
    if status >= 300:
        return []  # error bodies: checked against ErrorBody where they are made
    responses: dict[str, Any] = op.doc["responses"]
    if str(status) not in responses and not (status == 204 and not responses):
        return [f"{op.key}: status {status} is not a success the schema lists "
                f"({', '.join(responses) or 'none'})"]
    schema = responses.get(str(status))
    if schema is None:
        return [] if body is None else [f"{op.key}: a body where the schema has none"]
    return [f"{op.key} -> {status}: {p}" for p in problems(body, schema, request=False)]
