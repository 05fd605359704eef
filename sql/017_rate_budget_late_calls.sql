-- 017: a grant whose call left late is counted where the server will see it (issue 14).
-- A consumer sleeps until its grant's time "at", then calls; a process that wakes late (CPU
-- contention, a GC pause) sends its call later than its slot, and the call R places after it,
-- from a machine that woke on time, reached the server less than a window after it: a 429.
-- The consumer measures its lateness on its own monotonic clock (never comparing it with
-- this database's) and, past half the safety margin, asks for the grant to be counted at
-- at + lateness: the window's slots forget it at "at" and count it at "to", exactly as
-- shared.rate_budget.window.move (refund, then record) does on the local budget. The
-- requests' TAT (009) stays: pacing spaced the grants; the window keeps the limit exact.

-- window.refund then window.record on the slots' four arrays (012's layout: sorted by first,
-- one slot per cell of p_cell seconds; a slot counts from its first to its last grant).
create or replace function tubeq__window_move(
    f double precision[], l double precision[], t double precision[], r double precision[],
    p_at double precision, p_to double precision, p_tokens double precision,
    p_cell double precision,
    out firsts double precision[], out lasts double precision[],
    out tokens double precision[], out requests double precision[])
language plpgsql
immutable
set search_path = pg_catalog
as $$
declare
    n      int := coalesce(array_length(f, 1), 0);
    i      int;
    v_slot int := 0;
begin
    -- forget it in the slot of at's cell; the slot keeps its span (never counts less), and a
    -- slot gone already (out of every window) needs nothing
    for i in 1..n loop
        continue when floor(f[i] / p_cell) <> floor(p_at / p_cell);
        if r[i] - 1 <= 0 then
            f := f[1:i - 1] || f[i + 1:n];
            l := l[1:i - 1] || l[i + 1:n];
            t := t[1:i - 1] || t[i + 1:n];
            r := r[1:i - 1] || r[i + 1:n];
        else
            t[i] := greatest(0, t[i] - p_tokens);
            r[i] := r[i] - 1;
        end if;
        exit;
    end loop;
    -- count it in the slot of to's cell, or a new slot in order
    n := coalesce(array_length(f, 1), 0);
    for i in 1..n loop
        if floor(f[i] / p_cell) = floor(p_to / p_cell) then
            v_slot := i;
            exit;
        end if;
    end loop;
    if v_slot > 0 then
        f[v_slot] := least(f[v_slot], p_to);
        l[v_slot] := greatest(l[v_slot], p_to);
        t[v_slot] := t[v_slot] + p_tokens;
        r[v_slot] := r[v_slot] + 1;
    else
        v_slot := n + 1;
        for i in 1..n loop
            if f[i] > p_to then
                v_slot := i;
                exit;
            end if;
        end loop;
        f := f[1:v_slot - 1] || p_to || f[v_slot:n];
        l := l[1:v_slot - 1] || p_to || l[v_slot:n];
        t := t[1:v_slot - 1] || p_tokens || t[v_slot:n];
        r := r[1:v_slot - 1] || 1::double precision || r[v_slot:n];
    end if;
    firsts := f;
    lasts := l;
    tokens := t;
    requests := r;
end
$$;

revoke all on function tubeq__window_move(double precision[], double precision[],
    double precision[], double precision[], double precision, double precision,
    double precision, double precision) from public, anon, authenticated;
grant execute on function tubeq__window_move(double precision[], double precision[],
    double precision[], double precision[], double precision, double precision,
    double precision, double precision) to service_role;

-- Count a grant at the time its call really left, {"budget", "window": {"at", "to", "tokens",
-- "cell_s"}} ("at" the grant's time as tubeq_acquire_budget answered it, "to" >= "at").
-- Locks the budget's window row only (acquire and refund lock it last, after the pace rows,
-- so no lock order is reversed); a budget with no window row yet has nothing to move.
create or replace function tubeq_move_budget(payload jsonb)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
declare
    v_budget text := tubeq__require(payload, '{budget}', 'budget name');
    v_at     double precision := tubeq__require(payload, '{window,at}', 'window at')::double precision;
    v_to     double precision := tubeq__require(payload, '{window,to}', 'window to')::double precision;
    v_tokens double precision :=
        tubeq__require(payload, '{window,tokens}', 'window tokens')::double precision;
    v_cell   double precision :=
        tubeq__require(payload, '{window,cell_s}', 'window cell_s')::double precision;
    v_win    rate_budget_windows%rowtype;
    v_moved  record;
begin
    if v_cell <= 0 then
        raise exception 'tubeq_move_budget: window cell_s must be > 0' using errcode = '22023';
    end if;
    if v_to < v_at then
        raise exception 'tubeq_move_budget: window to (%) is before at (%): a call is only ever moved later',
            v_to, v_at using errcode = '22023';
    end if;
    select * into v_win from rate_budget_windows b where b.budget = v_budget for update;
    if not found then
        return;
    end if;
    select * into v_moved
    from tubeq__window_move(v_win.firsts, v_win.lasts, v_win.tokens, v_win.requests,
                            v_at, v_to, v_tokens, v_cell);
    update rate_budget_windows
    set firsts = v_moved.firsts, lasts = v_moved.lasts,
        tokens = v_moved.tokens, requests = v_moved.requests
    where budget = v_budget;
end
$$;

revoke all on function tubeq_move_budget(jsonb) from public, anon, authenticated;
grant execute on function tubeq_move_budget(jsonb) to service_role;
