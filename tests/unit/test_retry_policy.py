from __future__ import annotations

import random

import pytest

from shared.errors import (
    RateLimited,
    RequestBlocked,
    TranscriptsDisabled,
    UnexpectedError,
    UpstreamUnavailable,
)
from shared.retry_policy import MAX_DELAY_S, Action, RetryPolicy


def policy(**kw: float) -> RetryPolicy:
    return RetryPolicy(rng=random.Random(7), **kw)  # type: ignore[arg-type]


def test_permanent_errors_are_never_retried() -> None:
    assert policy().decide(TranscriptsDisabled(), attempt=1).action is Action.ACK


def test_backoff_doubles_and_is_capped() -> None:
    p = policy(base_s=10, cap_s=100, jitter=0)
    delays = [p.decide(UpstreamUnavailable(), attempt=a).delay_s for a in (1, 2, 3, 4, 5)]
    assert delays[:3] == [10, 20, 40]
    assert max(delays) == 100 or delays[-1] <= 100


def test_jitter_spreads_but_never_below_the_fixed_share() -> None:
    p = policy(base_s=100, cap_s=1000, jitter=0.5)
    delays = {p.decide(UpstreamUnavailable(), attempt=1).delay_s for _ in range(50)}
    assert len(delays) > 5  # spread out
    assert min(delays) >= 50 and max(delays) <= 100


def test_retry_after_from_the_server_wins_when_longer() -> None:
    d = policy(base_s=1, jitter=0).decide(RateLimited(retry_after=37.0), attempt=1)
    assert (d.action, d.delay_s) == (Action.RETRY, 37)


def test_blocked_ip_waits_at_least_its_floor() -> None:
    d = policy(base_s=1, jitter=0).decide(RequestBlocked(), attempt=1)
    assert d.delay_s >= 15 * 60


def test_delay_never_exceeds_cloudflare_limit() -> None:
    d = policy(base_s=1, cap_s=43_200, jitter=0).decide(RateLimited(retry_after=10**9), 1)
    assert d.delay_s == MAX_DELAY_S


@pytest.mark.parametrize(
    ("attempt", "action"),
    [(1, Action.RETRY), (3, Action.RETRY), (4, Action.DEAD), (9, Action.DEAD)],
)
def test_out_of_retries_means_dead_letter(attempt: int, action: Action) -> None:
    assert policy(max_retries=3).decide(UnexpectedError("boom"), attempt).action is action


def test_sqlite_errors_are_classified() -> None:
    import sqlite3

    from shared.classify import classify
    from shared.errors import ConfigError, UpstreamUnavailable

    busy = sqlite3.OperationalError("database is locked")
    assert isinstance(classify(busy), UpstreamUnavailable)
    try:
        sqlite3.connect("/proc/definitely/not/here.db")
    except sqlite3.OperationalError as exc:
        assert isinstance(classify(exc), ConfigError)
        assert "TUBEQ_DATA_DIR" in str(classify(exc))
    else:
        raise AssertionError("opening a file in a missing folder should have failed")


def test_a_malformed_dsn_never_echoes_the_password() -> None:
    import psycopg

    from shared.classify import classify
    from shared.errors import ConfigError

    try:
        psycopg.connect("host=127.0.0.1 password=Super SecretPw")
    except psycopg.Error as exc:
        err = classify(exc)
        assert isinstance(err, ConfigError) and "TUBEQ_DATABASE_URL" in err.message
        assert "SecretPw" not in err.message
    else:
        raise AssertionError("a malformed connection string should not connect")


# ---- handbacks: failures that are not the message's -----------------------------------


def test_a_handback_is_short_where_free_and_long_where_it_counts() -> None:
    from shared.errors import AccessDenied, StoreUnavailable

    p = policy(jitter=0)
    assert p.hand_back(StoreUnavailable(), counts_attempt=False).delay_s == p.outage_delay_s
    assert p.hand_back(StoreUnavailable(), counts_attempt=True).delay_s == 600
    assert p.hand_back(StoreUnavailable(retry_after=900), counts_attempt=False).delay_s == 900
    assert p.hand_back(AccessDenied(), counts_attempt=False).delay_s >= 60
    assert p.hand_back(AccessDenied(), counts_attempt=True).delay_s == 3600
    assert p.hand_back(AccessDenied(), counts_attempt=True).action is Action.HANDED_BACK


def test_a_duplicate_waiting_on_its_peer_comes_back_when_the_peer_should_be_done() -> None:
    from shared.errors import TransientError

    class PeerBusy(TransientError):
        waits_on_peer = True

    p = policy(jitter=0)
    assert p.hand_back(PeerBusy(retry_after=7), counts_attempt=False).delay_s == 7
    assert p.hand_back(PeerBusy(), counts_attempt=False).delay_s == round(p.backoff(1))


# ---- what the stores' failures are classified as -------------------------------------


def test_sqlite_full_disk_and_long_locks_are_store_outages() -> None:
    import sqlite3

    from shared.classify import classify
    from shared.errors import StoreUnavailable

    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorname = "SQLITE_FULL"  # type: ignore[attr-defined]
    assert isinstance(classify(full), StoreUnavailable)
    assert isinstance(classify(sqlite3.OperationalError("database is locked")), StoreUnavailable)


@pytest.mark.parametrize(
    ("exc", "path"),
    [
        (PermissionError(13, "Permission denied", "/srv/tubeq/artifacts/v/analysis.md"), True),
        (OSError(30, "Read-only file system", "/srv/tubeq/data/results.sqlite3"), True),
        (PermissionError(13, "Permission denied"), False),
    ],
)
def test_a_permission_error_is_systemic_and_names_the_path(exc: OSError, path: bool) -> None:
    from shared.classify import classify
    from shared.errors import ConfigError, StorePermissionDenied

    err = classify(exc)
    assert isinstance(err, StorePermissionDenied) and isinstance(err, ConfigError)
    assert err.systemic and err.code == "permission_denied"
    if path:
        assert str(exc.filename) in err.message
    assert "TUBEQ_ARTIFACTS_DIR" in err.message


def test_no_space_left_is_a_store_outage() -> None:
    import errno

    from shared.classify import classify
    from shared.errors import StoreUnavailable

    err = classify(OSError(errno.ENOSPC, "No space left on device", "/srv/a/b.md"))
    assert isinstance(err, StoreUnavailable) and "/srv/a/b.md" in err.message


def test_other_os_errors_stay_unexpected_or_network() -> None:
    from shared.classify import classify
    from shared.errors import StoreUnavailable

    assert classify(FileNotFoundError(2, "No such file", "/x")).code == "unexpected"
    refused = classify(ConnectionRefusedError(111, "Connection refused"))
    assert refused.code == "upstream_unavailable" and not isinstance(refused, StoreUnavailable)


@pytest.mark.parametrize(
    ("sqlstate", "outage"),
    [
        ("08006", True),  # connection failure
        ("57P01", True),  # admin shutdown
        ("57P03", True),  # cannot connect now (starting up)
        ("53100", True),  # disk full
        ("53300", True),  # too many connections
        ("57014", False),  # statement timeout: this call
        ("40P01", False),  # deadlock: this call
    ],
)
def test_postgres_sqlstates_that_mean_the_server_is_out(sqlstate: str, outage: bool) -> None:
    from shared.classify.storage import sqlstate_is_outage

    assert sqlstate_is_outage(sqlstate) is outage
