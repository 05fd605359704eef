"""`tubeq doctor`: check every configured production service and print a checklist."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError

from shared.doctor import DEFAULT_TIMEOUT_S, SERVICES, CheckResult, CheckStatus, run_checks
from shared.errors import ConfigError
from shared.logging import configure_logging
from shared.settings import Settings
from tubeq.cli.context import console, fail

_MARKS = {
    CheckStatus.PASS: "[green]✔ pass[/]",
    CheckStatus.FAIL: "[bold red]✘ FAIL[/]",
    CheckStatus.SKIP: "[dim]– skip[/]",
}


def register(app: typer.Typer) -> None:
    app.command()(doctor)


def doctor(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the checklist as JSON (one object per line).")
    ] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help=f"Check only this service (repeatable): {', '.join(SERVICES)}.",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(help="Seconds each service may take before it counts as failed.", min=1),
    ] = DEFAULT_TIMEOUT_S,
) -> None:
    """Check the configured services with calls that change nothing, and say how to fix what fails.

    A probe object written to R2 is deleted again.

    Exit code: 0 every check passed or was skipped (not configured), 1 a check failed,
    2 the settings themselves are invalid.
    """
    settings = _settings()
    try:
        results = run_checks(settings, only=only, timeout_s=timeout)
    except ConfigError as exc:
        fail(exc.message)
    if as_json:
        payload = {
            "ok": all(r.ok for r in results),
            "checks": [r.model_dump(mode="json") for r in results],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        _print(results)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def _settings() -> Settings:
    """The settings, even when a selected backend misses a secret: that is what the
    checks are for, and they name the variable. Invalid values still stop here."""
    try:
        settings = Settings.load()
    except ConfigError as exc:
        try:
            settings = Settings()
        except ValidationError:
            fail(exc.message)  # an invalid value: Settings.load's message names it
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _print(results: list[CheckResult]) -> None:
    for r in results:
        detail = f" — {r.detail}" if r.detail else ""
        console.print(
            f"{_MARKS[r.status]}  [bold]{r.service}[/]: {_esc(r.name)}{_esc(detail)}",
            highlight=False,
            soft_wrap=True,
        )
        if r.status is CheckStatus.FAIL and r.fix:
            console.print(f"          fix: {_esc(r.fix)}", highlight=False, soft_wrap=True)
    failed = sum(r.status is CheckStatus.FAIL for r in results)
    passed = sum(r.status is CheckStatus.PASS for r in results)
    skipped = sum(r.status is CheckStatus.SKIP for r in results)
    summary = f"{passed} passed, {failed} failed, {skipped} skipped (not configured)"
    console.print(f"[bold red]{summary}[/]" if failed else f"[green]{summary}[/]", highlight=False)


def _esc(text: str) -> str:
    # details quote server messages, which may contain [brackets] rich would eat
    return text.replace("[", "\\[")
