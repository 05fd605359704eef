-- 009: the fleet-wide rate budget (TUBEQ_RATE_BUDGET_BACKEND=results). Every machine of a
-- fleet spends one model quota through the result database they already share. The rule is
-- GCRA (shared/rate_budget/gcra.py says why): one row per limit of a budget (requests,
-- input tokens) holding its "theoretical arrival time" (tat, epoch seconds), and the end of
-- a pause the server asked for. A grant reads and moves those rows in one statement, so it
-- costs the same whatever number of grants or machines. Times default to the database's
-- clock, one clock for the fleet; callers get a relative wait back. service_role only.
create table rate_budget_limits (
    budget       text not null check (budget <> ''),
    limit_name   text not null check (limit_name <> ''),
    tat          double precision not null default 0,
    paused_until double precision not null default 0,
    primary key (budget, limit_name)
);

-- The pipeline's bookkeeping: service_role only, analysts see nothing.
alter table rate_budget_limits enable row level security;
revoke all on table rate_budget_limits from public, anon, authenticated, service_role;
grant select, insert, update on table rate_budget_limits to service_role;
create policy rate_budget_limits_service_role_all on rate_budget_limits for all
    to service_role using (true) with check (true);

-- The clock of a call: the payload's "now" (a test's clock) or the database's.
create or replace function tubeq__budget_now(payload jsonb)
returns double precision
language sql
volatile
set search_path = pg_catalog
as $$
    select coalesce((payload ->> 'now')::double precision,
                    extract(epoch from clock_timestamp())::double precision)
$$;

revoke all on function tubeq__budget_now(jsonb) from public, anon, authenticated;
grant execute on function tubeq__budget_now(jsonb) to service_role;

-- One GCRA step for {"budget", "limits": [{"name", "cost", "tolerance"}], "max_wait_s",
-- "now"}: costs and tolerances in seconds of each limit's time. The grant's time is
--     at = greatest(now, pause end, tat - tolerance of every limit)
-- and when at - now <= max_wait_s every limit's tat becomes greatest(tat, at) + cost.
-- Returns {"granted", "wait_s" (until at), "binding" (the limit or "pause" that set at)}.
-- Refused, nothing changes. The rows are locked in name order (FOR UPDATE ... ORDER BY), so
-- concurrent calls queue on the first row and never deadlock; the UPDATE in the same
-- statement moves them while still locked.
create or replace function tubeq_acquire_budget(payload jsonb)
returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
    v_budget   text := tubeq__require(payload, '{budget}', 'budget name');
    v_max_wait double precision :=
        tubeq__require(payload, '{max_wait_s}', 'max_wait_s')::double precision;
    v_now      double precision := tubeq__budget_now(payload);
    v_reply    jsonb;
begin
    if jsonb_typeof(payload -> 'limits') is distinct from 'array'
       or jsonb_array_length(payload -> 'limits') = 0 then
        raise exception 'tubeq_acquire_budget: limits must be a non-empty array'
            using errcode = '22023';
    end if;
    -- a budget's rows exist from its first call on (no row version when they do)
    insert into rate_budget_limits (budget, limit_name)
    select v_budget, l.name
    from jsonb_to_recordset(payload -> 'limits') as l(name text)
    order by l.name
    on conflict (budget, limit_name) do nothing;

    with wanted as (
        select l.name, l.cost, l.tolerance
        from jsonb_to_recordset(payload -> 'limits')
            as l(name text, cost double precision, tolerance double precision)
    ), cur as (
        select b.limit_name, b.tat, b.paused_until, w.cost, coalesce(w.tolerance, 0) as tolerance
        from rate_budget_limits b
        join wanted w on w.name = b.limit_name
        where b.budget = v_budget
        order by b.limit_name
        for update of b
    ), bound as (
        select limit_name as binding, tat - tolerance as conforms_at from cur
        union all
        select 'pause', max(paused_until) from cur
    ), slot as (
        select greatest(v_now, max(conforms_at)) as at,
               (array_agg(binding order by conforms_at desc))[1] as binding
        from bound
    ), moved as (
        update rate_budget_limits b
        set tat = greatest(cur.tat, slot.at) + cur.cost
        from cur, slot
        where b.budget = v_budget
          and b.limit_name = cur.limit_name
          and slot.at - v_now <= v_max_wait
        returning 1
    )
    select jsonb_build_object(
        'granted', slot.at - v_now <= v_max_wait,
        'wait_s', slot.at - v_now,
        'binding', case when slot.at > v_now then slot.binding else '' end)
    into v_reply
    from slot;
    return v_reply;
end
$$;

-- Give a refused call's grant back, {"budget", "limits": [{"name", "cost"}]}: each tat
-- moves back by its cost (the server did not count a call it answered 429).
create or replace function tubeq_refund_budget(payload jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
declare
    v_budget text := tubeq__require(payload, '{budget}', 'budget name');
begin
    with wanted as (
        select l.name, l.cost
        from jsonb_to_recordset(payload -> 'limits') as l(name text, cost double precision)
    ), cur as (
        select b.limit_name, w.cost
        from rate_budget_limits b
        join wanted w on w.name = b.limit_name
        where b.budget = v_budget
        order by b.limit_name
        for update of b
    )
    update rate_budget_limits b
    set tat = b.tat - cur.cost
    from cur
    where b.budget = v_budget and b.limit_name = cur.limit_name;
end
$$;

-- Grant nothing for {"seconds"} from now, {"budget", "limits": [{"name"}], "seconds",
-- "now"}: the server said so (a 429's retry delay). A pause only ever extends.
create or replace function tubeq_pause_budget(payload jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
declare
    v_budget  text := tubeq__require(payload, '{budget}', 'budget name');
    v_seconds double precision := tubeq__require(payload, '{seconds}', 'seconds')::double precision;
    v_until   double precision := tubeq__budget_now(payload) + v_seconds;
begin
    insert into rate_budget_limits as b (budget, limit_name, paused_until)
    select v_budget, l.name, v_until
    from jsonb_to_recordset(payload -> 'limits') as l(name text)
    order by l.name
    on conflict (budget, limit_name) do update
        set paused_until = greatest(b.paused_until, excluded.paused_until);
end
$$;

revoke all on function tubeq_acquire_budget(jsonb) from public, anon, authenticated;
revoke all on function tubeq_refund_budget(jsonb) from public, anon, authenticated;
revoke all on function tubeq_pause_budget(jsonb) from public, anon, authenticated;
grant execute on function tubeq_acquire_budget(jsonb) to service_role;
grant execute on function tubeq_refund_budget(jsonb) to service_role;
grant execute on function tubeq_pause_budget(jsonb) to service_role;
