"""supabase/migrations/ from sql/: the committed folder is current, the export is
reproducible and leaves a team's own migrations alone, and the exported files applied in
the Supabase CLI's order (each in its own transaction, as `supabase db push` does) give a
database that `tubeq db status` sees as fully migrated and `tubeq db migrate` leaves alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from shared import migrations, supabase_migrations
from tests.support.postgres import PgCluster, pg_cluster  # noqa: F401
from tubeq.cli.main import app

REPO = Path(__file__).resolve().parents[2]


def test_the_committed_folder_is_current() -> None:
    result = supabase_migrations.export(supabase_migrations.REPO_SUPABASE_DIR, write=False)
    assert not result.changed, "run `tubeq db supabase-export` and commit supabase/migrations"
    assert len(result.unchanged) == len(migrations.load_migrations())


def test_export_is_reproducible_ordered_and_leaves_other_files_alone(tmp_path: Path) -> None:
    out = tmp_path / "migrations"
    out.mkdir()
    own = out / "20990101000000_team_grants.sql"
    own.write_text("grant select on tubeq_videos to reporting;\n")
    stale = out / "20250101999900_gone.sql"
    stale.write_text(supabase_migrations.MARKER + "999_gone.sql\nselect 1;\n")

    first = supabase_migrations.export(out)
    assert first.removed == [stale.name] and not stale.exists()
    assert own.read_text().startswith("grant select")  # a team's own migration is theirs
    names = sorted(p.name for p in out.glob("2025*.sql"))
    sources = [m.name for m in migrations.load_migrations()]
    assert [n.split("_", 1)[1] for n in names] == [s.split("_", 1)[1] for s in sources]
    again = supabase_migrations.export(out)
    assert not again.changed and len(again.unchanged) == len(sources)


def test_the_cli_check_fails_on_a_stale_folder(tmp_path: Path) -> None:
    out = tmp_path / "migrations"
    runner = CliRunner()
    stale = runner.invoke(app, ["db", "supabase-export", "--out", str(out), "--check"])
    assert stale.exit_code != 0 and "out of date" in stale.output
    assert not out.exists()  # --check writes nothing
    wrote = runner.invoke(app, ["db", "supabase-export", "--out", str(out)])
    assert wrote.exit_code == 0, wrote.output
    ok = runner.invoke(app, ["db", "supabase-export", "--out", str(out), "--check"])
    assert ok.exit_code == 0 and "up to date" in " ".join(ok.output.split())


@pytest.fixture
def empty_dsn(pg_cluster: PgCluster) -> Iterator[str]:  # noqa: F811
    name = pg_cluster.create_database(template="template0")
    try:
        yield pg_cluster.dsn(name)
    finally:
        pg_cluster.drop_database(name)


@pytest.mark.services
def test_files_applied_as_supabase_does_are_migrations_tubeq_recognises(
    tmp_path: Path, empty_dsn: str
) -> None:
    out = tmp_path / "migrations"
    supabase_migrations.export(out)
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        for path in sorted(out.glob("*.sql")):  # the CLI's order: by version
            with conn.transaction():
                conn.execute(path.read_text())  # type: ignore[arg-type]
        states = migrations.status(conn)
        assert [s.state for s in states] == ["applied"] * len(states)
        assert migrations.migrate(conn) == []  # nothing applied twice
        views = conn.execute(
            "select count(*) from information_schema.views where table_name = 'channel_overview'"
        ).fetchone()
        assert views is not None and views[0] > 0
