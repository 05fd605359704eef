"""The fleet in `tubeq status` (and `--watch`, `--json`): the consumers running now (lost
ones marked) and the model quota in use, read as the dashboard's overview reads them
(``shared.fleet_view``)."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from shared import factory
from shared.errors import TubeqError
from shared.fleet_view import FleetView, ago, consumer_status, quota_summary
from shared.ports import BudgetMeter
from shared.settings import Settings
from tubeq.cli.context import err_console


def open_meter(settings: Settings) -> BudgetMeter | None:
    """The quota reader, or None with a warning when these settings give none."""
    try:
        return factory.build_budget_meter(settings)
    except TubeqError as exc:
        err_console.print(f"[yellow]model quota not read:[/] {exc.message}", highlight=False)
        return None


def fleet_parts(view: FleetView) -> list[RenderableType]:
    parts: list[RenderableType] = []
    if view.quota is not None:
        parts.append(Text(f"model quota: {quota_summary(view.quota)}"))
    if view.consumers is not None:
        if not view.consumers:
            parts.append(Text("consumers: none running"))
        else:
            table = Table(title=f"consumers ({view.running} running, {view.lost} lost)")
            for name, justify in [
                ("consumer", "left"),
                ("status", "left"),
                ("working on", "left"),
                ("done", "right"),
                ("failed", "right"),
                ("retried", "right"),
                ("dead", "right"),
                ("last seen", "right"),
            ]:
                table.add_column(name, justify=justify)  # type: ignore[arg-type]
            for c in view.consumers:
                status = consumer_status(c)
                table.add_row(
                    f"{c.host} pid {c.pid}",
                    Text(status, style="red" if c.stale else "green"),
                    ", ".join(c.current) or "idle",
                    str(c.done),
                    str(c.failed),
                    str(c.retried),
                    str(c.dead),
                    f"{ago(c.seen_s_ago)} ago",
                )
            parts.append(table)
    parts += [Text(note, style="yellow") for note in view.notes]
    return parts


def fleet_json(view: FleetView) -> dict[str, object]:
    return {
        "consumers": None
        if view.consumers is None
        else [c.model_dump(mode="json") | {"lost": c.stale} for c in view.consumers],
        "quota": None if view.quota is None else view.quota.model_dump(mode="json"),
        "fleet_notes": view.notes,
    }
