-- 006: analysis claims. Who is analysing a (video, analysis version) right now, so two
-- deliveries of one video never both pay the model (tubeq_claim_analysis). A claim expires on its own: a consumer
-- that died holding one only delays the video by the claim's ttl. No foreign key: a claim
-- is taken before the video's rows exist. Written by service_role only.
create table claims (
    video_id         text not null check (video_id <> ''),
    analysis_version text not null check (analysis_version <> ''),
    owner            text not null check (owner <> ''),
    claimed_at       timestamptz not null,
    expires_at       timestamptz not null,
    primary key (video_id, analysis_version)
);

-- Analysis claims are the pipeline's bookkeeping: service_role only, analysts see nothing.
alter table claims enable row level security;
revoke all on table claims from public, anon, authenticated, service_role;
grant select, insert, update, delete on table claims to service_role;
create policy claims_service_role_all on claims for all to service_role
    using (true) with check (true);

-- Claim the paid model call for {"video_id", "analysis_version", "owner", "ttl_s"}: take
-- the claim when there is none, when it expired, or when this owner already holds it
-- (which renews it; a ttl_s of 0 lets one's own claim expire now: a release). Returns 0
-- when the caller holds the claim afterwards, else the seconds until the current
-- holder's claim expires (always > 0). One statement: the primary key serialises
-- racers, and ON CONFLICT sees the winner's committed row even when it is newer than
-- this statement's snapshot, so exactly one of them gets 0.
create or replace function tubeq_claim_analysis(payload jsonb)
returns double precision
language plpgsql
set search_path = public, pg_temp
as $$
declare
    vid   text := tubeq__require(payload, '{video_id}', 'video id');
    ver   text := tubeq__require(payload, '{analysis_version}', 'analysis version');
    who   text := tubeq__require(payload, '{owner}', 'claim owner');
    ttl_s double precision := tubeq__require(payload, '{ttl_s}', 'claim ttl_s')::double precision;
    held  boolean;
    until timestamptz;
    -- one clock reading for every comparison, so the three CASEs below cannot disagree
    at_ts timestamptz := clock_timestamp();
begin
    if not (ttl_s >= 0 and ttl_s <= 7 * 86400) then
        raise exception 'tubeq_claim_analysis: ttl_s must be from 0 to 604800 seconds, got %',
            ttl_s
            using errcode = '22023', hint = 'claim for about as long as one analysis may take';
    end if;
    -- the loser's "update" keeps every value (a CASE, not a WHERE), so RETURNING always
    -- yields the row: who holds it and until when, without a second look
    insert into claims as c (video_id, analysis_version, owner, claimed_at, expires_at)
    values (vid, ver, who, at_ts, at_ts + make_interval(secs => ttl_s))
    on conflict (video_id, analysis_version) do update
        set owner      = case when c.expires_at <= at_ts or c.owner = excluded.owner
                              then excluded.owner else c.owner end,
            claimed_at = case when c.expires_at <= at_ts or c.owner = excluded.owner
                              then excluded.claimed_at else c.claimed_at end,
            expires_at = case when c.expires_at <= at_ts or c.owner = excluded.owner
                              then excluded.expires_at else c.expires_at end
    returning c.owner = who, c.expires_at into held, until;
    if held then
        return 0;
    end if;
    return greatest(extract(epoch from until - clock_timestamp())::double precision, 0.001);
end
$$;

revoke all on function tubeq_claim_analysis(jsonb) from public, anon, authenticated;
grant execute on function tubeq_claim_analysis(jsonb) to service_role;
