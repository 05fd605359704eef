-- 016: the overview's fleet panels (issue 10). The consumers running now: each consumer
-- upserts its row on its heartbeat (every TUBEQ_CONSUMER_HEARTBEAT_S, never per video) and
-- deletes it on a clean stop; a row not refreshed for three intervals is a lost consumer
-- (killed, frozen, cut off from the database), shown as such until a day has passed. And a
-- read of the fleet's rate budget (009, 012) that says how much of the model quota is in use.
-- last_seen is the database's clock: a fleet's machines need not agree on the time.
create table consumers (
    consumer_id text primary key check (consumer_id <> '' and length(consumer_id) <= 200),
    host        text not null,
    pid         integer not null check (pid >= 0),
    version     text not null,
    started_at  timestamptz not null,
    last_seen   timestamptz not null default now(),
    interval_s  double precision not null check (interval_s > 0),
    state       text not null default 'running',
    concurrency integer not null default 1,
    -- the labels (video ids) of the work in flight at the last beat, at most 20
    current     jsonb not null default '[]'::jsonb,
    in_flight   integer not null default 0,
    done        integer not null default 0,
    skipped     integer not null default 0,
    failed      integer not null default 0,
    retried     integer not null default 0,
    dead        integer not null default 0
);

-- As every other table (003): service_role writes, analysts read, anon nothing.
alter table consumers enable row level security;
revoke all on table consumers from public, anon, authenticated, service_role;
grant select on table consumers to authenticated;
grant select, insert, update, delete on table consumers to service_role;
create policy consumers_analysts_read on consumers for select to authenticated
    using ((select tubeq_is_analyst()));
create policy consumers_service_role_all on consumers for all to service_role
    using (true) with check (true);

-- One heartbeat (shared.fleet.ConsumerBeat as JSON): insert or refresh the row. Rows of
-- consumers lost more than a day ago go at the same time (the table holds a few rows).
create or replace function tubeq_consumer_beat(payload jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
begin
    delete from consumers where last_seen < now() - interval '1 day';
    insert into consumers as c (consumer_id, host, pid, version, started_at, last_seen,
                                interval_s, state, concurrency, current, in_flight, done,
                                skipped, failed, retried, dead)
    values (
        tubeq__require(payload, '{consumer_id}', 'consumer id'),
        coalesce(payload ->> 'host', ''),
        coalesce((payload ->> 'pid')::integer, 0),
        coalesce(payload ->> 'version', ''),
        tubeq__require(payload, '{started_at}', 'consumer started_at')::timestamptz,
        now(),
        tubeq__require(payload, '{interval_s}', 'heartbeat interval_s')::double precision,
        coalesce(payload ->> 'state', 'running'),
        coalesce((payload ->> 'concurrency')::integer, 1),
        coalesce(payload -> 'current', '[]'::jsonb),
        coalesce((payload ->> 'in_flight')::integer, 0),
        coalesce((payload ->> 'done')::integer, 0),
        coalesce((payload ->> 'skipped')::integer, 0),
        coalesce((payload ->> 'failed')::integer, 0),
        coalesce((payload ->> 'retried')::integer, 0),
        coalesce((payload ->> 'dead')::integer, 0))
    on conflict (consumer_id) do update set
        last_seen = excluded.last_seen, interval_s = excluded.interval_s,
        state = excluded.state, concurrency = excluded.concurrency,
        current = excluded.current, in_flight = excluded.in_flight, done = excluded.done,
        skipped = excluded.skipped, failed = excluded.failed, retried = excluded.retried,
        dead = excluded.dead;
end
$$;

-- A clean stop: the consumer's row goes.
create or replace function tubeq_consumer_gone(p_consumer_id text)
returns void
language sql
set search_path = public, pg_temp
as $$
    delete from consumers where consumer_id = p_consumer_id
$$;

-- Every consumer's row with seen_s_ago, the seconds since its last beat on this clock.
create or replace function tubeq_consumers()
returns jsonb
language sql
volatile
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_agg(to_jsonb(c) || jsonb_build_object(
               'seen_s_ago', extract(epoch from clock_timestamp() - c.last_seen))
           order by c.started_at desc, c.consumer_id), '[]'::jsonb)
    from consumers c
$$;

-- The fleet budget's state as it is, {"budget", "now"} in: {"now" (the payload's, else
-- this clock), "limits": [{"limit_name", "tat", "paused_until"}], "window": {"firsts",
-- "lasts", "tokens", "requests"} or null}; null when the budget has no rows yet. A plain
-- read, no lock: shared/rate_budget/usage.py turns it into the quota in use.
create or replace function tubeq_budget_usage(payload jsonb)
returns jsonb
language sql
volatile
set search_path = public, pg_temp
as $$
    select case when not exists (select 1 from rate_budget_limits b
                                 where b.budget = payload ->> 'budget') then null
    else jsonb_build_object(
        'now', tubeq__budget_now(payload),
        'limits', (select jsonb_agg(jsonb_build_object('limit_name', b.limit_name,
                                                       'tat', b.tat,
                                                       'paused_until', b.paused_until)
                                    order by b.limit_name)
                   from rate_budget_limits b where b.budget = payload ->> 'budget'),
        'window', (select jsonb_build_object('firsts', w.firsts, 'lasts', w.lasts,
                                             'tokens', w.tokens, 'requests', w.requests)
                   from rate_budget_windows w where w.budget = payload ->> 'budget'))
    end
$$;

revoke all on function tubeq_consumer_beat(jsonb) from public, anon, authenticated;
revoke all on function tubeq_consumer_gone(text) from public, anon, authenticated;
revoke all on function tubeq_consumers() from public, anon, authenticated;
revoke all on function tubeq_budget_usage(jsonb) from public, anon, authenticated;
grant execute on function tubeq_consumer_beat(jsonb) to service_role;
grant execute on function tubeq_consumer_gone(text) to service_role;
grant execute on function tubeq_consumers() to service_role;
grant execute on function tubeq_budget_usage(jsonb) to service_role;
