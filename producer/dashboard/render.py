"""The templates and static files shipped inside the package (no CDN, nothing external)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from shared.artifacts import display_time

STATIC_DIR = Path(__file__).resolve().parent / "static"

_env = Environment(
    loader=PackageLoader("producer.dashboard", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a missing variable is a bug, not an empty string
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["clock"] = display_time

#: what every page's base template reads; a page adds its own on top
BASE_CONTEXT: dict[str, Any] = {
    "refresh_s": 0,
    "role": None,
    "can_logout": False,
    "csrf": "",
    "flash": "",
    "flash_kind": "",
    "generated_at": "",
}


def render(template: str, **context: Any) -> str:
    return _env.get_template(template).render({**BASE_CONTEXT, **context})
