-- 001: the roles tubeq's grants and policies name.
--
-- Supabase already has anon (no JWT), authenticated (a signed-in analyst) and service_role
-- (the server-side key the pipeline writes with). A plain PostgreSQL has none of them, so
-- create them here as NOLOGIN group roles: the same GRANTs and RLS policies then work on
-- both, and tests can SET ROLE to each. No extension is needed: full-text search is core.

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'anon') then
        create role anon nologin noinherit;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'service_role') then
        -- Supabase's service_role has BYPASSRLS; here it gets explicit policies instead,
        -- so nothing depends on that attribute (creating it would need a superuser).
        create role service_role nologin noinherit;
    end if;
end
$$;

-- Supabase grants usage on public to these roles; a plain Postgres only to PUBLIC.
grant usage on schema public to authenticated, service_role;

-- Language code ('de', 'en-GB', 'pt-BR', ...) → text search configuration. IMMUTABLE so a
-- generated column may use it; a language without a stemmer falls back to 'simple'.
create or replace function tubeq_ts_config(lang text)
returns regconfig
language sql
immutable
parallel safe
set search_path = pg_catalog
as $$
    select case lower(split_part(split_part(coalesce(lang, ''), '-', 1), '_', 1))
        when 'en' then 'english'::regconfig
        when 'de' then 'german'::regconfig
        when 'fr' then 'french'::regconfig
        when 'es' then 'spanish'::regconfig
        when 'it' then 'italian'::regconfig
        when 'pt' then 'portuguese'::regconfig
        when 'nl' then 'dutch'::regconfig
        when 'sv' then 'swedish'::regconfig
        when 'da' then 'danish'::regconfig
        when 'no' then 'norwegian'::regconfig
        when 'nb' then 'norwegian'::regconfig
        when 'fi' then 'finnish'::regconfig
        when 'ru' then 'russian'::regconfig
        when 'tr' then 'turkish'::regconfig
        when 'hu' then 'hungarian'::regconfig
        when 'ro' then 'romanian'::regconfig
        else 'simple'::regconfig
    end
$$;

revoke all on function tubeq_ts_config(text) from public, anon;
grant execute on function tubeq_ts_config(text) to authenticated, service_role;
