"""The `tubeq` command: one Typer app, its commands registered from small modules."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="tubeq",
    help="Queue-driven YouTube video analysis: enqueue videos, consume them, read results.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
    add_completion=False,
)

# Each module has `register(app)`; the order is the order of `tubeq --help`.
_COMMAND_MODULES = (
    "tubeq.cli.jobs",
    "tubeq.cli.backfill",
    "tubeq.cli.demo",
    "tubeq.cli.db",
    "tubeq.cli.dlq",
    "tubeq.cli.artifacts",
    "tubeq.cli.serve",
    "tubeq.cli.doctor",
    "tubeq.cli.cloudflare",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
