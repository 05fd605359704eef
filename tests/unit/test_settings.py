from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from shared import adapter_settings as sections
from shared.errors import ConfigError
from shared.settings import BUNDLED_LISTINGS, Settings


def test_defaults_are_the_embedded_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parent)  # no stray .env
    s = Settings.load()
    assert (s.queue_backend, s.results_backend, s.artifacts_backend) == (
        "sqlite",
        "sqlite",
        "local",
    )
    assert s.queue_file == Path(".tubeq/queue.sqlite3")


def test_environment_is_read_with_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUBEQ_CONCURRENCY", "7")
    monkeypatch.setenv("TUBEQ_YOUTUBE_LANGUAGES", "de, en ,fr")
    s = Settings.load()
    assert s.concurrency == 7
    assert s.youtube_languages == ["de", "en", "fr"]


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({"analyzer_backend": "gemini"}, ["TUBEQ_GEMINI_API_KEY"]),
        ({"queue_backend": "cloudflare"}, ["TUBEQ_CF_ACCOUNT_ID", "TUBEQ_CF_API_TOKEN"]),
        ({"results_backend": "postgres"}, ["TUBEQ_DATABASE_URL"]),
        (
            {"results_backend": "supabase"},
            ["TUBEQ_SUPABASE_URL", "TUBEQ_SUPABASE_SERVICE_ROLE_KEY"],
        ),
        ({"artifacts_backend": "r2"}, ["TUBEQ_R2_ACCESS_KEY_ID", "TUBEQ_R2_ACCOUNT_ID"]),
    ],
)
def test_missing_secret_fails_at_start_naming_the_variable(
    overrides: dict[str, str], names: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(**overrides)
    for name in names:
        assert name in str(info.value)


def test_invalid_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="TUBEQ_BATCH_SIZE"):
        Settings.load(batch_size=500)


def test_settings_are_frozen() -> None:
    s = Settings.load()
    with pytest.raises(Exception, match="frozen"):
        s.concurrency = 3  # type: ignore[misc]


def test_secrets_do_not_show_in_repr() -> None:
    s = Settings.load(gemini_api_key="AIza-very-secret", analyzer_backend="gemini")
    assert "very-secret" not in repr(s)
    assert "very-secret" not in str(s.model_dump())


def test_readme_configuration_table_is_current() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "scripts/settings_table.py", "--check"], cwd=root, check=False
    )
    assert done.returncode == 0, (
        "README table is stale: run python scripts/settings_table.py --write"
    )


# ---- each adapter's section (shared.adapter_settings) -----------------------------------


def _sections(settings: Settings) -> dict[str, BaseModel]:
    """Every section property of ``Settings`` (all that build a ``shared.adapter_settings``
    model), by name."""
    found = {}
    for cls in Settings.__mro__:
        if not cls.__module__.startswith("shared.settings"):
            continue  # pydantic's own properties (some deprecated) are not sections
        for name, attr in vars(cls).items():
            value = getattr(settings, name) if isinstance(attr, property) else None
            if isinstance(value, BaseModel) and type(value).__module__ == sections.__name__:
                found[name] = value
    return found


@pytest.mark.parametrize(
    ("env", "name", "expected"),
    [
        (
            {"TUBEQ_QUEUE_PATH": "/q/jobs.db", "TUBEQ_MAX_RETRIES": "7"},
            "sqlite_queue",
            sections.SqliteQueueSettings(file=Path("/q/jobs.db"), max_retries=7),
        ),
        (
            {"TUBEQ_DATA_DIR": "/d"},
            "sqlite_queue",
            sections.SqliteQueueSettings(file=Path("/d/queue.sqlite3"), max_retries=3),
        ),
        (
            {
                "TUBEQ_CF_ACCOUNT_ID": "acct",
                "TUBEQ_CF_API_TOKEN": "tok",
                "TUBEQ_CF_API_URL": "http://127.0.0.1:9/v4",
                "TUBEQ_CF_TIMEOUT_S": "4",
                "TUBEQ_CF_QUEUE_ID": "q1",
                "TUBEQ_CF_DLQ_ID": "d1",
                "TUBEQ_MAX_RETRIES": "5",
            },
            "cloudflare_queue",
            sections.CloudflareQueueSettings(
                account_id="acct",
                api_token=SecretStr("tok"),
                api_url="http://127.0.0.1:9/v4",
                timeout_s=4,
                queue_id="q1",
                dlq_id="d1",
                max_retries=5,
            ),
        ),
        (
            {"TUBEQ_CF_ACCOUNT_ID": "acct", "TUBEQ_CF_API_TOKEN": "tok", "TUBEQ_CF_QUEUE_ID": "q"},
            "cloudflare_account",
            sections.CloudflareAccountSettings(account_id="acct", api_token=SecretStr("tok")),
        ),
        (
            {"TUBEQ_DATA_DIR": "/d", "TUBEQ_RESULTS_PATH": "/r/results.db"},
            "sqlite_store",
            sections.SqliteStoreSettings(file=Path("/r/results.db")),
        ),
        (
            {"TUBEQ_DATA_DIR": "/d", "TUBEQ_VECTORS_PATH": "/v/vec.db"},
            "sqlite_vectors",
            sections.SqliteVectorSettings(
                results_file=Path("/d/results.sqlite3"), vectors_file=Path("/v/vec.db")
            ),
        ),
        (
            {
                "TUBEQ_DATABASE_URL": "postgresql://u:pw@h/db",
                "TUBEQ_DATABASE_POOL_SIZE": "9",
                "TUBEQ_DATABASE_TIMEOUT_S": "3",
            },
            "postgres",
            sections.PostgresSettings(
                dsn=SecretStr("postgresql://u:pw@h/db"), pool_size=9, timeout_s=3
            ),
        ),
        (
            {
                "TUBEQ_SUPABASE_URL": "https://ref.supabase.co",
                "TUBEQ_SUPABASE_SERVICE_ROLE_KEY": "srk",
                "TUBEQ_SUPABASE_TIMEOUT_S": "6",
            },
            "supabase",
            sections.SupabaseSettings(
                url="https://ref.supabase.co", service_role_key=SecretStr("srk"), timeout_s=6
            ),
        ),
        (
            # the fleet budget holds the result database's sections, read from the same names
            {
                "TUBEQ_DATA_DIR": "/d",
                "TUBEQ_RATE_BUDGET_BACKEND": "results",
                "TUBEQ_RESULTS_BACKEND": "supabase",
                "TUBEQ_GEMINI_RPM": "11",
                "TUBEQ_GEMINI_TPM": "2200",
                "TUBEQ_RATE_BUDGET_WINDOW_S": "30",
                "TUBEQ_DATABASE_URL": "postgresql://u:pw@h/db",
                "TUBEQ_DATABASE_TIMEOUT_S": "3",
                "TUBEQ_SUPABASE_URL": "https://ref.supabase.co",
                "TUBEQ_SUPABASE_SERVICE_ROLE_KEY": "srk",
                "TUBEQ_SUPABASE_TIMEOUT_S": "6",
            },
            "rate_budget",
            sections.RateBudgetSettings(
                backend="results",
                path=Path("/d/budget.sqlite3"),
                requests_per_minute=11,
                tokens_per_minute=2200,
                window_s=30,
                results_backend="supabase",
                postgres=sections.PostgresSettings(
                    dsn=SecretStr("postgresql://u:pw@h/db"), timeout_s=3
                ),
                supabase=sections.SupabaseSettings(
                    url="https://ref.supabase.co", service_role_key=SecretStr("srk"), timeout_s=6
                ),
            ),
        ),
        (
            {"TUBEQ_LISTINGS_DIR": "/l"},
            "directory_listing",
            sections.DirectoryListingSettings(folder=Path("/l")),
        ),
        (
            {},
            "directory_listing",
            sections.DirectoryListingSettings(folder=BUNDLED_LISTINGS),
        ),
        (
            {
                "TUBEQ_YOUTUBE_API_KEY": "yk",
                "TUBEQ_YOUTUBE_API_URL": "http://127.0.0.1:9/yt",
                "TUBEQ_YOUTUBE_API_TIMEOUT_S": "2",
                "TUBEQ_YOUTUBE_API_RETRY_WAIT_S": "0",
            },
            "youtube_data_api",
            sections.YouTubeDataApiSettings(
                api_key=SecretStr("yk"),
                base_url="http://127.0.0.1:9/yt",
                timeout_s=2,
                retry_wait_s=0,
            ),
        ),
    ],
)
def test_each_section_reads_its_variables(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], name: str, expected: BaseModel
) -> None:
    monkeypatch.chdir(Path(__file__).parent)  # no stray .env
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    got = getattr(Settings(), name)
    assert type(got) is type(expected)
    # SecretStr compares by identity of the wrapper: compare what the adapter will read
    assert _plain(got) == _plain(expected)


def _plain(section: BaseModel) -> dict[str, object]:
    return {k: _unwrap(v) for k, v in section.model_dump().items()}


def _unwrap(value: object) -> object:
    """A secret's value, also inside a section a section holds (dumped as a dict)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def test_no_secret_shows_in_any_section(monkeypatch: pytest.MonkeyPatch) -> None:
    secret_fields = [
        name
        for name, field in Settings.model_fields.items()
        if "SecretStr" in str(field.annotation)
    ]
    values = {name: f"s3cret-{name}" for name in secret_fields}
    settings = Settings(
        **values,  # type: ignore[arg-type]
        alert_smtp_host="smtp.example.com",  # so the e-mail section exists
    )
    built = _sections(settings)
    # every section is there (a new one joins this check by being a property)
    assert {"sqlite_queue", "cloudflare_queue", "postgres", "supabase", "youtube_data_api"} <= set(
        built
    )
    assert {"gemini", "r2", "rate_budget", "webhook_alerts", "smtp_alerts"} <= set(built)
    for name, section in built.items():
        shown = repr(section) + str(section) + str(section.model_dump())
        leaked = [v for v in values.values() if v in shown]
        assert not leaked, f"settings.{name} shows {leaked}"


def test_sections_are_frozen_and_refuse_unknown_fields() -> None:
    section = Settings().postgres
    with pytest.raises(ValidationError, match="frozen"):
        section.pool_size = 2  # type: ignore[misc]
    with pytest.raises(ValidationError, match="database_url"):
        sections.PostgresSettings(database_url="postgresql://h/db")  # type: ignore[call-arg]
