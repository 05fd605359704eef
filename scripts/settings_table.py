"""Print (or, with --write, update in README.md) the configuration table from shared/settings/.

The table sits between the markers <!-- settings:start --> and <!-- settings:end -->, so the
README never drifts from the code (a test checks that it is current).
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic_core import PydanticUndefined

from shared.settings import BUNDLED_SAMPLES, Settings

START, END = "<!-- settings:start -->", "<!-- settings:end -->"
README = Path(__file__).resolve().parent.parent / "README.md"


def _default(name: str) -> str:
    field = Settings.model_fields[name]
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        return ",".join(map(str, value)) if isinstance(value, list) and value else "(none)"
    value = field.default
    if value is PydanticUndefined or value is None:
        return "(none)"
    if value == BUNDLED_SAMPLES:
        return "bundled `samples/transcripts`"
    return f"`{value}`"


def table() -> str:
    rows = ["| variable | default | what it does |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        secret = " (secret)" if "SecretStr" in str(field.annotation) else ""
        doc = (field.description or "").replace("|", "\\|")
        rows.append(f"| `TUBEQ_{name.upper()}` | {_default(name)} | {doc}{secret} |")
    return "\n".join(rows)


def render(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main() -> int:
    if "--write" in sys.argv:
        README.write_text(render(README.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    if "--check" in sys.argv:
        text = README.read_text(encoding="utf-8")
        return 0 if render(text) == text else 1
    print(table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
