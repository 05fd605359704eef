"""The ``tubeq`` console script: signals are caught before the CLI is imported."""

from __future__ import annotations

from shared import early_signals


def run() -> None:
    early_signals.install()  # see shared/early_signals.py
    from tubeq.cli.main import run as cli

    early_signals.release()
    cli()
