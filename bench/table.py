"""Issue 14's table: rows of (figure, measured, result, goal, verdict), printed with rich and
written into the README between ``<!-- bench:start -->`` and ``<!-- bench:end -->``."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

START = "<!-- bench:start -->"
_INTRO = (
    "`make bench` (about 8 minutes) runs real consumer processes (`tubeq consume",
    "--burst`, google-genai) against a local Gemini stub that enforces a quota the way",
    "the provider does (requests and input tokens per sliding window, 429 with a retry",
    "delay), prints the table below and writes `bench/results.json`; `.venv/bin/python",
    "bench/run.py --quick` is a shorter smoke run. What each figure measures is in",
    "`bench/run.py`'s docstring.",
)
END = "<!-- bench:end -->"


@dataclass(frozen=True)
class Row:
    figure: str
    #: absolute numbers, for context
    measured: str
    #: the ratio that is the result
    result: str
    goal: str
    #: "met", "missed by …", or "" when there is no goal
    verdict: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def at_least(value: float, goal: float, fmt: str = "{:.3f}") -> str:
    return "met" if value >= goal else f"missed by {fmt.format(goal - value)}"


def at_most(value: float, goal: float, fmt: str = "{:.2%}") -> str:
    return "met" if value <= goal else f"missed by {fmt.format(value - goal)}"


def both(*verdicts: str) -> str:
    missed = [v for v in verdicts if v != "met"]
    return "met" if not missed else "; ".join(missed)


def print_table(rows: list[Row], title: str, notes: list[str]) -> None:
    table = Table(title=title, show_lines=True)
    for name in ("figure", "measured (absolute)", "result", "goal", "verdict"):
        table.add_column(name, overflow="fold")
    for r in rows:
        style = "green" if r.verdict == "met" else ("red" if r.verdict else "")
        table.add_row(r.figure, r.measured, r.result, r.goal, r.verdict or "—", style=style)
    console = Console(width=160)
    console.print(table)
    for note in notes:
        console.print(f"  • {note}", highlight=False)


def markdown(rows: list[Row], heading: str, notes: list[str]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        heading,
        "",
        "| figure | measured (absolute) | result | goal | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            "| "
            + " | ".join(
                cell(c) for c in (r.figure, r.measured, r.result, r.goal, r.verdict or "—")
            )
            + " |"
        )
    lines.append("")
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines)


def write_readme(readme: Path, body: str) -> None:
    """Replace what is between the markers (or add a Benchmarks section at the end)."""
    text = readme.read_text(encoding="utf-8")
    block = f"{START}\n{body}\n{END}"
    if START in text and END in text:
        pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        section = "\n## Benchmarks\n\n" + "\n".join(_INTRO) + "\n\n"
        text = text.rstrip("\n") + "\n" + section + block + "\n"
    readme.write_text(text, encoding="utf-8")
