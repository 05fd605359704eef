"""How `tubeq --help` names option values: ``TEXT``, ``INTEGER``, ``a|b``, never ``<bool>``.

Typer (0.2x) prints a Python-ish type tag (``<bool>``, ``<str>``, ``<int range>``) beside
every parameter, flags included, where Click users expect ``TEXT`` or nothing. Commands are
registered from many modules, so instead of a metavar on each parameter the two parameter
classes get one display rule here, applied once when the app is built (``install``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from typer.core import TyperArgument, TyperOption

#: Python type name (as Typer tags it) → the word Click uses for it
_WORDS = {
    "str": "TEXT",
    "int": "INTEGER",
    "int range": "INTEGER",
    "float": "FLOAT",
    "float range": "FLOAT",
    "bool": "BOOLEAN",
    "datetime": "DATE",
    "file": "PATH",
    "directory": "DIR",
    "path": "PATH",
}
_TAG = re.compile(r"^<(?P<inner>.*)>(?P<more>\.\.\.)?$")


def plain(tag: str | None, *, is_flag: bool) -> str | None:
    """Typer's ``<type>`` tag as help should show it: None for a flag (it takes no value)."""
    if is_flag or tag is None:
        return None
    match = _TAG.match(tag)
    if match is None:
        return tag  # a metavar someone chose
    inner, more = match["inner"], match["more"] or ""
    listed = re.fullmatch(r"list\[(.*)\]", inner)
    if listed:
        inner, more = listed[1], "..."
    return _WORDS.get(inner, inner) + more


def _wrap(original: Callable[[Any, Any], str | None]) -> Callable[[Any, Any], str | None]:
    def display_type_rich(self: Any, ctx: Any) -> str | None:
        is_flag = bool(getattr(self, "is_flag", False) or getattr(self, "count", False))
        return plain(original(self, ctx), is_flag=is_flag)

    return display_type_rich


def install() -> None:
    """Use ``plain`` for every Typer option and argument in this process (idempotent)."""
    for cls in (TyperOption, TyperArgument):
        if not getattr(cls.display_type_rich, "_tubeq_plain", False):
            wrapped = _wrap(cls.display_type_rich)
            wrapped._tubeq_plain = True  # type: ignore[attr-defined]
            cls.display_type_rich = wrapped  # type: ignore[method-assign,assignment]
