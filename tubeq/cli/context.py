"""What every CLI command shares: settings loaded once, logging, one-line errors, output."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console

from shared.errors import ConfigError, TubeqError
from shared.logging import configure_logging, redact_text
from shared.settings import Settings

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error (what was wrong, what to do) and exit non-zero."""
    # An error may quote a URL or a DSN: the same redaction as the logs.
    message = redact_text(message).replace("[", "\\[")
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_settings(**overrides: object) -> Settings:
    """Parse settings once per command and set up logging; a bad setting exits cleanly."""
    try:
        settings = Settings.load(**overrides)
    except ConfigError as exc:
        fail(str(exc))
    configure_logging(settings.log_level, settings.log_format)
    return settings


def fail_on(exc: TubeqError) -> NoReturn:
    fail(exc.message)


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")
]


def print_json(payload: object) -> None:
    """One JSON document on stdout (dates as ISO 8601), nothing else: scripts parse it."""
    typer.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(value: object) -> object:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")
