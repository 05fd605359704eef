-- 012: the fleet budget keeps the provider's sliding window (shared/rate_budget/window.py
-- says why and how; this is the same rule on the fleet's rows). Pacing (GCRA, 009) alone is
-- exact for equal-sized calls only: calls of very different sizes let a window hold its
-- limit plus the last call, and each such call was a 429. Now a grant's time is the earliest
-- at which every window the call will be in stays within both limits, counting it.
--
-- One row per budget holds the window's slots as four parallel arrays sorted by "first": a
-- slot counts in every window ending at u with first <= u < last + length, holding "tokens"
-- input tokens and "requests" requests; grants in one cell (length / 120 s) share a slot, so
-- the row stays small whatever the call rate. 009's rows keep the requests' TAT and the pause.
create table rate_budget_windows (
    budget   text primary key check (budget <> ''),
    firsts   double precision[] not null default '{}',
    lasts    double precision[] not null default '{}',
    tokens   double precision[] not null default '{}',
    requests double precision[] not null default '{}'
);

alter table rate_budget_windows enable row level security;
revoke all on table rate_budget_windows from public, anon, authenticated, service_role;
grant select, insert, update on table rate_budget_windows to service_role;
create policy rate_budget_windows_service_role_all on rate_budget_windows for all
    to service_role using (true) with check (true);

-- window.earliest: the earliest t >= p_start at which p_tokens more keep every window that
-- ends in [t, t + p_length) within both limits; binding is the limit that held it back ('' when
-- p_start fits). The slots are the live ones, sorted, one per cell.
create or replace function tubeq__window_earliest(
    f double precision[], l double precision[], t double precision[], r double precision[],
    p_tokens double precision, p_start double precision, p_length double precision,
    p_tokens_limit double precision, p_requests_limit double precision,
    out at double precision, out binding text)
language plpgsql
immutable
set search_path = pg_catalog
as $$
declare
    n       int := coalesce(array_length(f, 1), 0);
    sum_t   double precision[] := array_fill(0::double precision, array[n + 1]);
    sum_r   double precision[] := array_fill(0::double precision, array[n + 1]);
    peak_t  double precision[] := array_fill(0::double precision, array[greatest(n, 1)]);
    peak_r  double precision[] := array_fill(0::double precision, array[greatest(n, 1)]);
    i       int;
    j       int;
    k       int;
    c       int;
    cand    double precision;
    worst_t double precision;
    worst_r double precision;
begin
    binding := '';
    -- sum_x[i + 1] is the amount of slots 1..i
    for i in 1..n loop
        sum_t[i + 1] := sum_t[i] + t[i];
        sum_r[i + 1] := sum_r[i] + r[i];
    end loop;
    if sum_t[n + 1] + p_tokens <= p_tokens_limit and sum_r[n + 1] + 1 <= p_requests_limit then
        at := p_start;  -- every slot in one window still leaves room: the common case
        return;
    end if;
    -- what the window ending at each slot's first holds (ends are sorted like firsts)
    j := 0;
    for k in 1..n loop
        while j < n and l[j + 1] + p_length <= f[k] loop
            j := j + 1;
        end loop;
        peak_t[k] := sum_t[k + 1] - sum_t[j + 1];
        peak_r[k] := sum_r[k + 1] - sum_r[j + 1];
    end loop;
    -- candidates: p_start, then each slot's leaving time after it, in order
    for c in 0..n loop
        if c = 0 then
            cand := p_start;
        else
            cand := l[c] + p_length;
            continue when cand <= p_start;
        end if;
        -- the window ending at cand: slots begun by cand and not yet left
        i := 0;
        while i < n and f[i + 1] <= cand loop
            i := i + 1;
        end loop;
        j := 0;
        while j < n and l[j + 1] + p_length <= cand loop
            j := j + 1;
        end loop;
        worst_t := sum_t[i + 1] - sum_t[j + 1];
        worst_r := sum_r[i + 1] - sum_r[j + 1];
        -- and the windows ending at each first in (cand, cand + p_length)
        for k in (i + 1)..n loop
            exit when f[k] >= cand + p_length;
            worst_t := greatest(worst_t, peak_t[k]);
            worst_r := greatest(worst_r, peak_r[k]);
        end loop;
        if worst_t + p_tokens <= p_tokens_limit and worst_r + 1 <= p_requests_limit then
            at := cand;
            return;
        end if;
        if binding = '' then
            binding := case when worst_t + p_tokens > p_tokens_limit
                            then 'tokens' else 'requests' end;
        end if;
    end loop;
    raise exception 'tubeq__window_earliest: no time fits (tokens % over the limit %?)',
        p_tokens, p_tokens_limit using errcode = '22023';
end
$$;

revoke all on function tubeq__window_earliest(double precision[], double precision[],
    double precision[], double precision[], double precision, double precision,
    double precision, double precision, double precision) from public, anon, authenticated;
grant execute on function tubeq__window_earliest(double precision[], double precision[],
    double precision[], double precision[], double precision, double precision,
    double precision, double precision, double precision) to service_role;

-- One step of shared.rate_budget.gcra.budget_step for {"budget", "pace": {"name", "cost",
-- "tolerance"}, "window": {"length_s", "cell_s", "tokens_limit", "requests_limit", "tokens"},
-- "max_wait_s", "now"}. Returns {"granted", "wait_s", "binding", "at" (the grant's time on
-- this clock: a refund sends it back)}. Refused, nothing changes. Locks the pace row, then
-- the window row (refunds lock in the same order; pauses touch the pace rows only).
create or replace function tubeq__acquire_budget_window(payload jsonb)
returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
    v_budget   text := tubeq__require(payload, '{budget}', 'budget name');
    v_max_wait double precision :=
        tubeq__require(payload, '{max_wait_s}', 'max_wait_s')::double precision;
    v_now      double precision := tubeq__budget_now(payload);
    v_pace     text := tubeq__require(payload, '{pace,name}', 'pace name');
    v_cost     double precision := tubeq__require(payload, '{pace,cost}', 'pace cost')::double precision;
    v_tol      double precision := coalesce((payload #>> '{pace,tolerance}')::double precision, 0);
    v_length   double precision :=
        tubeq__require(payload, '{window,length_s}', 'window length_s')::double precision;
    v_cell     double precision :=
        tubeq__require(payload, '{window,cell_s}', 'window cell_s')::double precision;
    v_tok_lim  double precision :=
        tubeq__require(payload, '{window,tokens_limit}', 'tokens_limit')::double precision;
    v_req_lim  double precision :=
        tubeq__require(payload, '{window,requests_limit}', 'requests_limit')::double precision;
    v_tokens   double precision :=
        tubeq__require(payload, '{window,tokens}', 'window tokens')::double precision;
    v_tat      double precision;
    v_paused   double precision;
    v_start    double precision;
    v_binding  text := '';
    v_at       double precision;
    v_held     text;
    v_win      rate_budget_windows%rowtype;
    f          double precision[] := '{}';
    l          double precision[] := '{}';
    t          double precision[] := '{}';
    r          double precision[] := '{}';
    n          int;
    i          int;
    v_slot     int := 0;
begin
    if v_length <= 0 or v_cell <= 0 then
        raise exception 'tubeq_acquire_budget: window length_s and cell_s must be > 0'
            using errcode = '22023';
    end if;
    insert into rate_budget_limits (budget, limit_name) values (v_budget, v_pace)
    on conflict (budget, limit_name) do nothing;
    insert into rate_budget_windows (budget) values (v_budget)
    on conflict (budget) do nothing;
    select b.tat into v_tat from rate_budget_limits b
    where b.budget = v_budget and b.limit_name = v_pace for update;
    -- a pause is set on every limit row of the budget (tubeq_pause_budget)
    select max(b.paused_until) into v_paused from rate_budget_limits b where b.budget = v_budget;

    v_start := v_now;
    if v_paused > v_start then
        v_start := v_paused;
        v_binding := 'pause';
    end if;
    if v_tat - v_tol > v_start then
        v_start := v_tat - v_tol;
        v_binding := 'requests';
    end if;

    select * into v_win from rate_budget_windows b where b.budget = v_budget for update;
    n := coalesce(array_length(v_win.firsts, 1), 0);
    for i in 1..n loop
        continue when v_win.lasts[i] + v_length <= v_now;  -- out of every window from now on
        f := f || v_win.firsts[i];
        l := l || v_win.lasts[i];
        t := t || v_win.tokens[i];
        r := r || v_win.requests[i];
    end loop;

    select e.at, e.binding into v_at, v_held
    from tubeq__window_earliest(f, l, t, r, v_tokens, v_start, v_length, v_tok_lim, v_req_lim) e;
    if v_held <> '' then
        v_binding := v_held;
    end if;
    if v_at - v_now > v_max_wait then
        return jsonb_build_object(
            'granted', false, 'wait_s', v_at - v_now, 'binding', v_binding, 'at', v_at);
    end if;

    update rate_budget_limits b set tat = greatest(v_tat, v_start) + v_cost
    where b.budget = v_budget and b.limit_name = v_pace;

    -- record the grant: into its cell's slot, or a new slot in order
    n := coalesce(array_length(f, 1), 0);
    for i in 1..n loop
        if floor(f[i] / v_cell) = floor(v_at / v_cell) then
            v_slot := i;
            exit;
        end if;
    end loop;
    if v_slot > 0 then
        f[v_slot] := least(f[v_slot], v_at);
        l[v_slot] := greatest(l[v_slot], v_at);
        t[v_slot] := t[v_slot] + v_tokens;
        r[v_slot] := r[v_slot] + 1;
    else
        v_slot := n + 1;
        for i in 1..n loop
            if f[i] > v_at then
                v_slot := i;
                exit;
            end if;
        end loop;
        f := f[1:v_slot - 1] || v_at || f[v_slot:n];
        l := l[1:v_slot - 1] || v_at || l[v_slot:n];
        t := t[1:v_slot - 1] || v_tokens || t[v_slot:n];
        r := r[1:v_slot - 1] || 1::double precision || r[v_slot:n];
    end if;
    update rate_budget_windows
    set firsts = f, lasts = l, tokens = t, requests = r
    where budget = v_budget;
    return jsonb_build_object(
        'granted', true, 'wait_s', v_at - v_now, 'binding', v_binding, 'at', v_at);
end
$$;

revoke all on function tubeq__acquire_budget_window(jsonb) from public, anon, authenticated;
grant execute on function tubeq__acquire_budget_window(jsonb) to service_role;

-- tubeq_acquire_budget: a payload with "window" takes the step above; one without it (a
-- consumer from before 012, during a rolling deploy) keeps 009's GCRA step unchanged.
create or replace function tubeq_acquire_budget(payload jsonb)
returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
    v_budget   text;
    v_max_wait double precision;
    v_now      double precision;
    v_reply    jsonb;
begin
    if payload ? 'window' then
        return tubeq__acquire_budget_window(payload);
    end if;
    v_budget := tubeq__require(payload, '{budget}', 'budget name');
    v_max_wait := tubeq__require(payload, '{max_wait_s}', 'max_wait_s')::double precision;
    v_now := tubeq__budget_now(payload);
    if jsonb_typeof(payload -> 'limits') is distinct from 'array'
       or jsonb_array_length(payload -> 'limits') = 0 then
        raise exception 'tubeq_acquire_budget: limits must be a non-empty array'
            using errcode = '22023';
    end if;
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

-- Give a refused call's grant back, {"budget", "limits": [{"name", "cost"}], "window":
-- {"at", "tokens", "cell_s"}}: each tat moves back by its cost and the window's slot of the
-- grant's cell forgets it (a slot already gone is out of every window: nothing to do).
create or replace function tubeq_refund_budget(payload jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
declare
    v_budget text := tubeq__require(payload, '{budget}', 'budget name');
    v_at     double precision;
    v_tokens double precision;
    v_cell   double precision;
    v_f      double precision[];
    v_l      double precision[];
    v_t      double precision[];
    v_r      double precision[];
    n        int;
    i        int;
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

    if not payload ? 'window' then
        return;
    end if;
    v_at := tubeq__require(payload, '{window,at}', 'window at')::double precision;
    v_tokens := tubeq__require(payload, '{window,tokens}', 'window tokens')::double precision;
    v_cell := tubeq__require(payload, '{window,cell_s}', 'window cell_s')::double precision;
    select b.firsts, b.lasts, b.tokens, b.requests into v_f, v_l, v_t, v_r
    from rate_budget_windows b where b.budget = v_budget for update;
    if not found then
        return;
    end if;
    n := coalesce(array_length(v_f, 1), 0);
    for i in 1..n loop
        continue when floor(v_f[i] / v_cell) <> floor(v_at / v_cell);
        if v_r[i] - 1 <= 0 then
            v_f := v_f[1:i - 1] || v_f[i + 1:n];
            v_l := v_l[1:i - 1] || v_l[i + 1:n];
            v_t := v_t[1:i - 1] || v_t[i + 1:n];
            v_r := v_r[1:i - 1] || v_r[i + 1:n];
        else
            v_t[i] := greatest(0, v_t[i] - v_tokens);
            v_r[i] := v_r[i] - 1;
        end if;
        update rate_budget_windows
        set firsts = v_f, lasts = v_l, tokens = v_t, requests = v_r
        where budget = v_budget;
        exit;
    end loop;
end
$$;

revoke all on function tubeq_acquire_budget(jsonb) from public, anon, authenticated;
revoke all on function tubeq_refund_budget(jsonb) from public, anon, authenticated;
grant execute on function tubeq_acquire_budget(jsonb) to service_role;
grant execute on function tubeq_refund_budget(jsonb) to service_role;
