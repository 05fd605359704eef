"""The names of the templates there are, without reading them: for the API (and the Worker,
which should not import a JSON Schema validator to check a name). A template that is named
but broken is refused by the consumer when it starts (``loader.load_templates``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from shared.errors import InvalidInput
from shared.templates.model import SUMMARY


def template_names(folder: Path | None) -> set[str]:
    names = {SUMMARY}
    builtin = resources.files("shared.templates").joinpath("builtin")
    names |= {f.name.removesuffix(".toml") for f in builtin.iterdir() if f.name.endswith(".toml")}
    if folder is not None and folder.expanduser().is_dir():
        names |= {p.stem for p in folder.expanduser().glob("*.toml")}
    return names


def check_template_name(name: str, folder: Path | None) -> None:
    """``InvalidInput`` naming the templates there are, when ``name`` is not one."""
    names = template_names(folder)
    if name not in names:
        raise InvalidInput(
            f"no analysis template {name!r}: the templates are {', '.join(sorted(names))}"
        )
