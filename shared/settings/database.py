"""The result database when it is not the embedded SQLite file: Postgres through psycopg,
or Supabase over HTTPS; and the public URL the analyst views' links point at."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from shared.adapter_settings import PostgresSettings, SupabaseSettings


class DatabaseFields(BaseModel):
    """``TUBEQ_DATABASE_*``, ``TUBEQ_SUPABASE_*``, ``TUBEQ_PUBLIC_URL``."""

    database_url: SecretStr | None = Field(
        None, description="Postgres DSN (Supabase pooler or any Postgres) for `postgres`."
    )
    supabase_url: str | None = Field(None, description="Supabase project URL, for `supabase`.")
    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
        description="Where readers reach tubeq's API (the Worker's URL in production): the "
        "analyst views' artifact links point there; `tubeq db migrate` records it.",
    )
    supabase_service_role_key: SecretStr | None = Field(
        None, description="Supabase service-role key (server side only, never in a browser)."
    )
    database_pool_size: int = Field(
        4, ge=1, le=64, description="Postgres connections per process (match `concurrency`)."
    )
    database_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="Connect and statement timeout for Postgres calls."
    )
    supabase_timeout_s: float = Field(
        30.0, gt=0, le=600, description="Timeout per Supabase (PostgREST) request."
    )

    @property
    def postgres(self) -> PostgresSettings:
        """Every adapter on the Postgres result database takes this section."""
        return PostgresSettings(
            dsn=self.database_url,
            pool_size=self.database_pool_size,
            timeout_s=self.database_timeout_s,
        )

    @property
    def supabase(self) -> SupabaseSettings:
        """Every adapter on the Supabase result database takes this section."""
        return SupabaseSettings(
            url=self.supabase_url,
            service_role_key=self.supabase_service_role_key,
            timeout_s=self.supabase_timeout_s,
        )
