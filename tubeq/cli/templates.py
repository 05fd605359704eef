"""`tubeq templates list | show | validate | result`: analysis templates (issue 13), and the
`--template` option `tubeq enqueue` and `tubeq backfill` share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shared import factory
from shared.errors import TubeqError
from shared.settings import Settings
from shared.templates.loader import TemplateFileError, load_template_file, load_templates, resolve
from shared.templates.model import SUMMARY, AnalysisTemplate
from shared.templates.render import render_markdown
from tubeq.cli.context import JsonOption, console, fail, load_settings, print_json

__all__ = ["SUMMARY", "TemplateOption", "check_template", "register"]

templates_app = typer.Typer(
    help="Analysis templates: the built-ins and your own (TUBEQ_TEMPLATES_DIR).",
    no_args_is_help=True,
)

TemplateOption = Annotated[
    str,
    typer.Option(
        "--template",
        "-t",
        help="The analysis template to run (`tubeq templates list`); default: summary.",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(templates_app, name="templates")


def _templates(settings: Settings) -> dict[str, AnalysisTemplate]:
    try:
        return load_templates(settings.templates_dir)
    except TemplateFileError as exc:
        fail(exc.message)


def check_template(settings: Settings, name: str) -> AnalysisTemplate:
    """The template called ``name``, or exit 2 listing the ones there are."""
    templates = _templates(settings)
    try:
        return resolve(templates, name)
    except TubeqError as exc:
        fail(exc.message)


@templates_app.command("list")
def list_templates(as_json: JsonOption = False) -> None:
    """The templates a consumer here would run: built-ins and TUBEQ_TEMPLATES_DIR's."""
    settings = load_settings()
    templates = _templates(settings)
    if as_json:
        print_json([_summary(t) for t in templates.values()])
        return
    table = Table("name", "version", "from", "description")
    for t in templates.values():
        table.add_row(t.name, t.version, escape(t.origin), escape(t.description))
    console.print(table)


def _summary(t: AnalysisTemplate) -> dict[str, object]:
    return {
        "name": t.name,
        "version": t.version,
        "description": t.description,
        "origin": t.origin,
        "content_hash": t.content_hash,
    }


@templates_app.command("show")
def show_template(
    name: Annotated[str, typer.Argument(help="A template's name.")],
    as_json: JsonOption = False,
) -> None:
    """A template's prompt, schema and the version key it analyses under here."""
    settings = load_settings()
    t = check_template(settings, name)
    analyzer = factory.build_template_analyzer(settings)
    try:
        key = t.version_key(analyzer.analysis_version)
    finally:
        analyzer.close()
    if as_json:
        print_json(
            {**_summary(t), "version_key": key, "prompt": t.prompt, "schema": t.output_schema}
        )
        return
    console.print(f"[bold]{t.name}[/] v{escape(t.version)} ({escape(t.origin)})")
    console.print(escape(t.description))
    console.print(f"version key here: {escape(key)}")
    console.print("\n[bold]prompt[/]")
    console.print(escape(t.prompt), highlight=False)
    console.print("\n[bold]schema[/]")
    console.print(escape(json.dumps(t.output_schema, indent=2)), highlight=False)


@templates_app.command("validate")
def validate_template(
    path: Annotated[Path, typer.Argument(help="A template file (<name>.toml).")],
) -> None:
    """Check a template file: TOML, its fields, its schema (exit 2 with what is wrong)."""
    try:
        t = load_template_file(path)
    except TemplateFileError as exc:
        fail(exc.message)
    builtins = load_templates(None)
    if t.name in builtins:
        fail(f"{path}: field 'name' is {t.name!r}, a built-in template: pick another name")
    console.print(f"[green]ok[/] {escape(t.name)} v{escape(t.version)} ({t.content_hash})")


@templates_app.command("result")
def show_result(
    video: Annotated[str, typer.Argument(help="A video id or URL.")],
    template: TemplateOption = "chapters",
    as_json: JsonOption = False,
) -> None:
    """A video's latest completed result of a template, as its Markdown report."""
    from shared.video_ids import parse_video_ref

    settings = load_settings()
    t = check_template(settings, template)
    try:
        video_id = parse_video_ref(video)
        store = factory.build_template_results(settings)
        try:
            found = [r for r in store.template_results(video_id) if r.template == t.name]
        finally:
            store.close()
    except TubeqError as exc:
        fail(exc.message)
    if not found:
        fail(
            f"no completed {t.name!r} result for {video_id}: run "
            f"`tubeq enqueue --template {t.name} {video_id}` and `tubeq consume --burst`",
            code=1,
        )
    if as_json:
        print_json(found[0].model_dump(mode="json"))
        return
    typer.echo(render_markdown(t, found[0], None).decode("utf-8"), nl=False)
