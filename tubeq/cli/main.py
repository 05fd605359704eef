"""The `tubeq` command: one Typer app, its commands registered from small modules."""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from tubeq.cli import help_format

help_format.install()

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 some of the work failed (inputs rejected, a check failed); "
    "2 usage error (a bad option, argument or setting); 3 consume: in-flight work outlived "
    "the grace period; 4 systemic (a refused key, a bad setting found while running: fix it, "
    "then start again); 75 services unreachable at start (try again later)."
)

app = typer.Typer(
    name="tubeq",
    help="Queue-driven YouTube video analysis: enqueue videos, consume them, read results.\n\n"
    + EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish
)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"tubeq {version('tubeq')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            typer.echo("tubeq (not installed: run `pip install -e .`)")
        raise typer.Exit()


@app.callback()
def _main(
    _show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Queue-driven YouTube video analysis: enqueue videos, consume them, read results."""


# Each module has `register(app)`; the order is the order of `tubeq --help`.
_COMMAND_MODULES = (
    "tubeq.cli.jobs",
    "tubeq.cli.backfill",
    "tubeq.cli.batch",
    "tubeq.cli.demo",
    "tubeq.cli.db",
    "tubeq.cli.dlq",
    "tubeq.cli.artifacts",
    "tubeq.cli.search",
    "tubeq.cli.embed",
    "tubeq.cli.templates",
    "tubeq.cli.serve",
    "tubeq.cli.site",
    "tubeq.cli.doctor",
    "tubeq.cli.cloudflare",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
