"""`tubeq cloudflare setup`: provision the queues, consumers, R2 bucket and KV namespace."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError

from shared.cloudflare_setup import Plan, apply, plan
from shared.errors import AccessDenied, ConfigError, TubeqError
from shared.factory import build_cloudflare_account
from shared.logging import configure_logging
from shared.settings import Settings
from tubeq.cli.context import console, err_console, fail

cloudflare_app = typer.Typer(
    help="The Cloudflare account tubeq runs on: queues, consumers, R2 bucket, KV.",
    no_args_is_help=True,
)

_STYLE = {"created": "green", "updated": "yellow", "unchanged": "dim"}
_WOULD = {"created": "would create", "updated": "would update", "unchanged": "unchanged"}


def register(app: typer.Typer) -> None:
    app.add_typer(cloudflare_app, name="cloudflare")


def _settings() -> Settings:
    """Settings without the start-up check of required secrets: setup is what produces
    TUBEQ_CF_QUEUE_ID, so it must run before that (and the other backends') settings exist."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            "TUBEQ_" + "_".join(str(p) for p in err["loc"]).upper() + f": {err['msg']}"
            for err in exc.errors()
        )
        fail(f"invalid settings: {problems}")
    configure_logging(settings.log_level, settings.log_format)
    return settings


@cloudflare_app.command("setup")
def setup(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create or update, idempotently: the jobs queue and its dead-letter queue, an HTTP pull
    consumer on each (max_retries, lease and retry delay from TUBEQ_MAX_RETRIES,
    TUBEQ_VISIBILITY_TIMEOUT_S, TUBEQ_RETRY_BASE_S), the R2 bucket with a rule expiring the
    Gemini cache, and the Worker's KV namespace. Prints the ids to put in .env.

    Needs TUBEQ_CF_ACCOUNT_ID and TUBEQ_CF_API_TOKEN (Queues Edit, Workers R2 Storage Edit,
    Workers KV Storage Edit). Exit code: 0 done, 1 Cloudflare refused a change or the queue
    has a Worker consumer, 2 settings missing or invalid, 4 the token was refused.
    """
    settings = _settings()
    try:
        account = build_cloudflare_account(settings)
    except ConfigError as exc:
        fail(exc.message)
    try:
        the_plan = plan(account, settings)
        if not dry_run and the_plan.changes_anything:
            apply(account, the_plan)
        the_plan.applied = not dry_run
    except AccessDenied as exc:
        fail(exc.message, code=4)
    except TubeqError as exc:
        fail(exc.message, code=1)
    finally:
        account.close()
    if as_json:
        typer.echo(json.dumps(the_plan.as_dict(), indent=2))
        return
    _print(the_plan, settings, dry_run=dry_run)


def _print(the_plan: Plan, settings: Settings, *, dry_run: bool) -> None:
    words = _WOULD if dry_run else {a: a for a in _STYLE}
    for step in the_plan.steps:
        style = _STYLE[step.action]
        line = f"[{style}]{words[step.action]:>12}[/]  {step.resource} {step.name}"
        if step.id:
            line += f" [dim]({step.id})[/]"
        if step.changes:
            line += ": " + ", ".join(step.changes)
        elif step.detail:
            line += f" [dim]— {step.detail}[/]"
        console.print(line, highlight=False, soft_wrap=True)
    if dry_run:
        console.print("dry run: nothing was changed", highlight=False)
    elif not the_plan.changes_anything:
        console.print("everything is already set up: nothing to change", highlight=False)
    env = the_plan.env()
    if any(value is None for value in env.values()):
        return  # a dry run of a fresh account: the ids exist only once created
    current = {
        "TUBEQ_CF_QUEUE_ID": settings.cf_queue_id,
        "TUBEQ_CF_DLQ_ID": settings.cf_dlq_id,
        "TUBEQ_CF_KV_NAMESPACE_ID": settings.cf_kv_namespace_id,
    }
    for name, value in env.items():
        if current[name] and current[name] != value:
            err_console.print(
                f"[yellow]note:[/] {name} is set to {current[name]}, not {value}: update it",
                highlight=False,
            )
    console.print("\nput these in .env (or the environment):", highlight=False)
    for name, value in env.items():
        typer.echo(f"{name}={value}")
