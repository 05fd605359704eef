"""Each store adapter, against a real server (or file system) that goes away: its outage
comes out as ``StoreUnavailable`` — which the consumer treats like a queue outage (pause,
hand the messages back without spending attempts) — and only that: a refused login mid-run
is ``AccessDenied``, a read-only folder a ``ConfigError`` naming the path, one failing call
on a store that is up a plain transient error whose attempts count."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from shared.adapters.local_artifacts import LocalArtifactStore
from shared.adapters.postgres_results import PostgresResultStore
from shared.adapters.r2_artifacts import R2ArtifactStore, s3_client
from shared.adapters.sqlite_results import SqliteResultStore
from shared.adapters.supabase_results import SupabaseResultStore
from shared.errors import (
    AccessDenied,
    ConfigError,
    StorePermissionDenied,
    StoreUnavailable,
    UpstreamUnavailable,
)
from tests.support import factories as f
from tests.support.postgres import PgCluster, find_pg_bin, pg_cluster, pg_dsn  # noqa: F401
from tests.support.postgrest_stub import Fault, PostgrestStub, service_role_key
from tests.support.s3_servers import moto_s3
from tests.support.services import free_port, unavailable
from tests.support.tiny_disk import fill, remount_read_only, tmpfs

pytestmark = [pytest.mark.services, pytest.mark.skipif(sys.platform == "win32", reason="POSIX")]
V1 = "gemini:test-model:p1"
VID = f.video_id(1)


# ---- PostgreSQL ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def throwaway_pg() -> Iterator[PgCluster]:
    """A PostgreSQL of this module's own, to stop and start (the shared one stays up)."""
    from tests.support.postgres import _as_unprivileged

    bin_dir = find_pg_bin()
    if bin_dir is None:
        unavailable("PostgreSQL server binaries not found")
    assert bin_dir is not None
    prefix, uid = _as_unprivileged()
    root = Path(f"/tmp/tubeq-pg-outage-{uuid.uuid4().hex[:8]}")
    root.mkdir()
    if uid is not None:
        os.chown(root, uid, -1)
    cluster = PgCluster(bin_dir, root, free_port(), prefix)
    try:
        cluster.start()
        cluster.build_template()
    except Exception as exc:  # pragma: no cover - depends on the machine
        cluster.stop()
        unavailable(f"cannot start a throwaway PostgreSQL: {exc}")
    yield cluster
    cluster.stop()


def _pg_ctl(cluster: PgCluster, action: str) -> None:
    args = [str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.data_dir), "-w", "-t", "30"]
    if action == "stop":
        args += ["-m", "fast", "stop"]
    else:
        options = f"-c listen_addresses=127.0.0.1 -p {cluster.port} -k {cluster.root}"
        args += ["-o", options, "-l", str(cluster.root / "server.log"), "start"]
    subprocess.run([*cluster.prefix, *args], check=True, capture_output=True, timeout=60)


def test_postgres_on_a_closed_port_is_a_store_outage() -> None:
    store = PostgresResultStore(
        f"host=127.0.0.1 port={free_port()} user=postgres dbname=postgres", timeout_s=2
    )
    try:
        with pytest.raises(StoreUnavailable, match="postgres connection failed"):
            store.is_done(VID, V1)
    finally:
        store.close()


def test_postgres_stopped_mid_run_is_a_store_outage_and_the_store_comes_back(
    throwaway_pg: PgCluster,
) -> None:
    store = PostgresResultStore(throwaway_pg.dsn(throwaway_pg.create_database()), timeout_s=3)
    try:
        assert store.is_done(VID, V1) is False  # an idle connection is kept
        _pg_ctl(throwaway_pg, "stop")
        try:
            with pytest.raises(StoreUnavailable):
                store.is_done(VID, V1)
            with pytest.raises(StoreUnavailable):
                store.record_success(f.result(n=1))
        finally:
            _pg_ctl(throwaway_pg, "start")
        store.record_success(f.result(n=1))  # no restart of the consumer needed
        assert store.is_done(VID, f.result(n=1).analysis.analysis_version)
    finally:
        store.close()


def test_postgres_terminating_connections_is_survived_not_an_error(pg_dsn: str) -> None:  # noqa: F811
    store = PostgresResultStore(pg_dsn, timeout_s=3)
    try:
        store.is_done(VID, V1)
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where application_name = 'tubeq'"
            )
        assert store.is_done(VID, V1) is False  # one fresh try on a dropped connection
    finally:
        store.close()


MIDRUN_USER = "tubeq_midrun"


@pytest.fixture
def midrun_user(pg_cluster: PgCluster) -> Iterator[str]:  # noqa: F811
    """A role that must give its password, on the shared cluster (which trusts others)."""
    hba = pg_cluster.data_dir / "pg_hba.conf"
    rule = f"host all {MIDRUN_USER} 127.0.0.1/32 scram-sha-256\n"
    with psycopg.connect(pg_cluster.dsn(), autocommit=True) as admin:
        admin.execute(f"drop role if exists {MIDRUN_USER}")
        admin.execute(f"create role {MIDRUN_USER} login superuser password 'first-pw'")
        if rule not in hba.read_text():
            hba.write_text(rule + hba.read_text())
            admin.execute("select pg_reload_conf()")
    time.sleep(0.2)
    yield MIDRUN_USER
    with psycopg.connect(pg_cluster.dsn(), autocommit=True) as admin:
        admin.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where usename = %s",
            (MIDRUN_USER,),
        )


def test_postgres_password_changed_mid_run_is_access_denied_not_an_outage(
    pg_cluster: PgCluster,  # noqa: F811
    pg_dsn: str,  # noqa: F811
    midrun_user: str,
) -> None:
    """The pre-flight checked the password at start; rotated later (and the connections
    dropped), the consumer must stop, not treat every message as an outage."""
    dbname = psycopg.conninfo.conninfo_to_dict(pg_dsn)["dbname"]
    dsn = f"postgresql://{midrun_user}:first-pw@127.0.0.1:{pg_cluster.port}/{dbname}"
    store = PostgresResultStore(dsn, timeout_s=3)
    try:
        assert store.is_done(VID, V1) is False
        with psycopg.connect(pg_cluster.dsn(), autocommit=True) as admin:
            admin.execute(f"alter role {midrun_user} password 'rotated-pw'")
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where usename = %s",
                (midrun_user,),
            )
        with pytest.raises(AccessDenied, match="password authentication failed") as info:
            store.is_done(VID, V1)
        assert "first-pw" not in str(info.value)
    finally:
        store.close()


# ---- Supabase (supabase-py against the PostgREST stub) -----------------------------------


def test_supabase_unreachable_is_a_store_outage(pg_dsn: str) -> None:  # noqa: F811
    with PostgrestStub(pg_dsn) as gone:
        url = gone.url
    store = SupabaseResultStore(url, service_role_key(), timeout_s=2)
    try:
        with pytest.raises(StoreUnavailable, match="supabase unreachable"):
            store.is_done(VID, V1)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (503, {"code": "PGRST001", "message": "Database client error. Retrying the connection."}),
        (502, "<html><body>502 Bad Gateway</body></html>"),
        (504, {"message": "upstream timed out"}),
        (503, {"code": "08006", "message": "connection failure"}),
        (522, "<html>Connection timed out</html>"),
    ],
)
def test_supabase_without_its_database_is_a_store_outage(
    pg_dsn: str,  # noqa: F811
    status: int,
    body: dict[str, object] | str,
) -> None:
    with PostgrestStub(pg_dsn) as stub:
        store = SupabaseResultStore(stub.url, service_role_key(), timeout_s=5)
        try:
            stub.inject(Fault(status=status, body=body))
            with pytest.raises(StoreUnavailable):
                store.record_success(f.result(n=1))
        finally:
            store.close()


@pytest.mark.parametrize(("status", "code"), [(500, "XX000"), (500, "57014"), (500, "40P01")])
def test_supabase_one_failing_call_is_transient_but_no_outage(
    pg_dsn: str,  # noqa: F811
    status: int,
    code: str,
) -> None:
    with PostgrestStub(pg_dsn) as stub:
        store = SupabaseResultStore(stub.url, service_role_key(), timeout_s=5)
        try:
            stub.inject(Fault(status=status, body={"code": code, "message": "one call failed"}))
            with pytest.raises(UpstreamUnavailable) as info:
                store.record_success(f.result(n=1))
            assert not isinstance(info.value, StoreUnavailable)
        finally:
            store.close()


# ---- S3 (moto's server) -----------------------------------------------------------------


def test_s3_stopped_mid_run_is_a_store_outage() -> None:
    with moto_s3() as server:
        bucket = server.new_bucket()
        client = s3_client(
            server.endpoint_url,
            server.access_key_id,
            server.secret_access_key,
            connect_timeout_s=1.0,
            read_timeout_s=2.0,
            path_style=True,
        )
        store = R2ArtifactStore(client, bucket)
        store.put("reports/a.md", b"a", "text/markdown")
    # the server is gone now, the client is the same
    with pytest.raises(StoreUnavailable, match="S3"):
        store.put("reports/b.md", b"b", "text/markdown")
    with pytest.raises(StoreUnavailable):
        store.get("reports/a.md")


# ---- SQLite and local folders -----------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs: a disk that really fills up, and can be made read-only. (256 KiB was
    too small once the filler was gone for the result store's schema and its WAL.)"""
    with tmpfs(tmp_path / "tiny", "4m") as where:
        yield where


def test_sqlite_results_locked_past_the_busy_timeout_is_a_store_outage(tmp_path: Path) -> None:
    import sqlite3

    store = SqliteResultStore(tmp_path / "r.sqlite3")
    blocker = sqlite3.connect(store.path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        store._db.execute("PRAGMA busy_timeout = 50")
        with pytest.raises(StoreUnavailable, match="busy"):
            store.record_success(f.result(n=1))
    finally:
        blocker.close()
        store.close()


def test_sqlite_results_on_a_full_disk_is_a_store_outage(tiny_disk: Path) -> None:
    store = SqliteResultStore(tiny_disk / "r.sqlite3")
    try:
        filler = fill(tiny_disk)
        with pytest.raises(StoreUnavailable, match="full"):
            for n in range(1, 50):  # until the WAL needs a page the disk does not have
                store.record_success(f.result(n=n))
        filler.unlink()
        store.record_success(f.result(n=60))  # back by itself
    finally:
        store.close()


def test_local_artifacts_on_a_full_disk_is_a_store_outage(tiny_disk: Path) -> None:
    store = LocalArtifactStore(tiny_disk / "artifacts")
    filler = fill(tiny_disk)
    with pytest.raises(StoreUnavailable, match="no space left") as info:
        store.put("reports/a.md", b"x" * 8192, "text/markdown")
    assert "TUBEQ_ARTIFACTS_DIR" in info.value.message
    filler.unlink()
    store.put("reports/a.md", b"x" * 8192, "text/markdown")


def test_a_read_only_artifact_folder_is_a_config_error_naming_the_path(tiny_disk: Path) -> None:
    store = LocalArtifactStore(tiny_disk / "artifacts")
    remount_read_only(tiny_disk)
    with pytest.raises(StorePermissionDenied) as info:
        store.put("reports/a.md", b"x", "text/markdown")
    err = info.value
    assert isinstance(err, ConfigError) and err.systemic
    assert str(tiny_disk / "artifacts") in err.message and "TUBEQ_ARTIFACTS_DIR" in err.message
