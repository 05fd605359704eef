"""Checking templates' schemas and the replies made for them, with the ``jsonschema``
package (Draft 2020-12, the dialect Gemini's ``responseJsonSchema`` takes)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

#: at most this many problems are reported for one reply
MAX_PROBLEMS = 10


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is no usable output schema, or None when it is one."""
    if not isinstance(schema, dict):
        return f"must be a JSON object (a JSON Schema), not {type(schema).__name__}"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        return f"is not a valid JSON Schema at {where}: {exc.message}"
    if schema.get("type") != "object":
        return 'must describe an object at the top level ("type": "object"): a reply is one object'
    return None


def reply_problems(schema: dict[str, Any], reply: Any) -> list[str]:
    """What is wrong with ``reply`` against ``schema`` (empty: it matches), each with where."""
    validator = Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(reply), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(the whole reply)"
        problems.append(f"{where}: {error.message[:300]}")
        if len(problems) >= MAX_PROBLEMS:
            break
    return problems
