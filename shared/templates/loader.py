"""Reading templates: the built-ins shipped in this package and a user folder
(``TUBEQ_TEMPLATES_DIR``) of TOML files, one template each, named ``<name>.toml``::

    name = "claims"
    version = "1"
    description = "Factual claims, each with the second it is made at"
    prompt = \"\"\"List every factual claim the speaker makes ...\"\"\"
    schema = '''
    {"type": "object", "required": ["claims"], "properties": {...}}
    '''

``schema`` is a JSON Schema, as a JSON string (the easiest to write by hand) or as a TOML
table (``[schema]``). Every problem is a ``TemplateFileError`` naming the file and the field.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from shared.errors import ConfigError, PermanentError
from shared.templates.model import NAME_PATTERN, SUMMARY, AnalysisTemplate
from shared.templates.schema_check import schema_problem

_NAME = re.compile(NAME_PATTERN)
FIELDS = ("name", "version", "description", "prompt", "schema")
#: a prompt longer than this is surely a mistake (a transcript pasted in)
MAX_PROMPT_CHARS = 20_000


class TemplateFileError(ConfigError):
    """A template file is not a usable template."""

    code = "template_file"


class UnknownTemplate(PermanentError):
    """No template of that name here."""

    code = "unknown_template"


def parse_template(text: str, origin: str, *, expect_name: str | None = None) -> AnalysisTemplate:
    """A template from a TOML document; ``origin`` names it in errors."""

    def bad(field: str, why: str) -> TemplateFileError:
        return TemplateFileError(f"{origin}: field {field!r} {why}")

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateFileError(f"{origin}: not valid TOML: {exc}") from None
    strings = _strings(data, bad)
    name = strings["name"]
    if not _NAME.match(name):
        raise bad(
            "name", f"is {name!r}: use lower-case letters, digits and _, starting with a letter"
        )
    if expect_name is not None and name != expect_name:
        raise bad("name", f"is {name!r} but the file is named {expect_name}.toml: make them match")
    if len(strings["prompt"]) > MAX_PROMPT_CHARS:
        raise bad("prompt", f"is longer than {MAX_PROMPT_CHARS:,} characters")
    schema = data["schema"]
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as exc:
            raise bad("schema", f"is not valid JSON: {exc}") from None
    problem = schema_problem(schema)
    if problem is not None:
        raise bad("schema", problem)
    return AnalysisTemplate(
        name=name,
        version=strings["version"],
        description=strings["description"],
        prompt=strings["prompt"],
        output_schema=schema,
        origin=origin,
    )


def _strings(data: dict[str, Any], bad: Callable[[str, str], TemplateFileError]) -> dict[str, str]:
    """The text fields, checked: every field there, none unknown, none empty."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise bad(unknown[0], f"is not a template field (the fields: {', '.join(FIELDS)})")
    for field in FIELDS:
        if field not in data:
            raise bad(field, "is missing")
    strings: dict[str, str] = {}
    for field in ("name", "version", "description", "prompt"):
        value = data[field]
        if field == "version" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # version = 2 is as good as version = "2"
        if not isinstance(value, str) or not value.strip():
            raise bad(field, "must be a non-empty string")
        strings[field] = value.strip()
    return strings


def load_template_file(path: Path) -> AnalysisTemplate:
    """The template in ``path`` (``tubeq templates validate``, the user folder)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateFileError(f"{path}: cannot read it: {exc}") from None
    return parse_template(text, str(path), expect_name=path.stem)


def _builtin_files() -> list[Traversable]:
    folder = resources.files("shared.templates").joinpath("builtin")
    return sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)


def builtin_templates() -> dict[str, AnalysisTemplate]:
    """``summary`` (today's analysis) and the shipped TOML templates."""
    from shared.templates.summary import summary_template

    found = {SUMMARY: summary_template()}
    for file in _builtin_files():
        template = parse_template(file.read_text(encoding="utf-8"), "built-in")
        found[template.name] = template
    return found


def load_templates(folder: Path | None) -> dict[str, AnalysisTemplate]:
    """The built-ins, plus every ``*.toml`` in ``folder`` (a user template may not take a
    built-in's name: its results would be mistaken for the built-in's)."""
    found = builtin_templates()
    if folder is None:
        return found
    folder = folder.expanduser()
    if not folder.is_dir():
        raise TemplateFileError(
            f"TUBEQ_TEMPLATES_DIR: {folder} is not a folder (give a folder of <name>.toml files)"
        )
    for path in sorted(folder.glob("*.toml")):
        template = load_template_file(path)
        if template.name in found:
            raise TemplateFileError(
                f"{path}: field 'name' is {template.name!r}, which is "
                f"{'a built-in template' if found[template.name].builtin else 'taken'}: "
                "pick another name"
            )
        found[template.name] = template
    return found


def resolve(templates: dict[str, AnalysisTemplate], name: str) -> AnalysisTemplate:
    """The template called ``name``, or ``UnknownTemplate`` listing those there are."""
    template = templates.get(name)
    if template is None:
        raise UnknownTemplate(
            f"no analysis template {name!r}: the templates are {', '.join(sorted(templates))} "
            "(user templates come from TUBEQ_TEMPLATES_DIR; see `tubeq templates list`)"
        )
    return template


def load_data(value: Any) -> Any:
    """A stored JSON column (text on SQLite, already decoded elsewhere)."""
    return json.loads(value) if isinstance(value, str | bytes) else value
