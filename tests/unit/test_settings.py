from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.settings import Settings


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
