"""The dashboard's small pieces on their own: keys and cookies (``access``), charts as
inline SVG (``charts``), the static export's links (``links``), durations in words."""

from __future__ import annotations

import re

from pydantic import SecretStr
from starlette.requests import Request

from producer.dashboard import charts
from producer.dashboard.access import COOKIE, Access, Role
from producer.dashboard.links import ServerLinks, SiteLinks, site_file
from producer.dashboard.overview import human_duration

OPS = [SecretStr("op-1"), SecretStr("op-2")]
ANALYSTS = [SecretStr("an-1")]


def request(headers: dict[str, str] | None = None, cookie: str | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if cookie is not None:
        raw.append((b"cookie", f"{COOKIE}={cookie}".encode()))
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


def test_roles_from_bearer_keys() -> None:
    access = Access(OPS, ANALYSTS)
    assert access.role(request({"Authorization": "Bearer op-2"})) == Role.OPERATOR
    assert access.role(request({"Authorization": "Bearer an-1"})) == Role.ANALYST
    assert access.role(request({"Authorization": "Bearer nope"})) is None
    assert access.role(request()) is None


def test_the_cookie_is_a_keyed_hmac_and_dies_with_the_secret() -> None:
    access = Access(OPS, ANALYSTS, secret=b"s" * 32)
    cookie = access.cookie_for("an-1")
    assert cookie is not None and re.fullmatch(r"[0-9a-f]{64}", cookie)
    assert "an-1" not in cookie
    assert access.cookie_for("wrong") is None
    assert access.role(request(cookie=cookie)) == Role.ANALYST
    assert access.role(request(cookie="zz")) is None
    assert access.role(request(cookie=cookie[:-2])) is None
    other = Access(OPS, ANALYSTS, secret=b"t" * 32)
    assert other.role(request(cookie=cookie)) is None


def test_a_login_outlives_a_restart_and_dies_when_a_key_changes() -> None:
    cookie = Access(OPS, ANALYSTS).cookie_for("an-1")
    assert cookie is not None
    assert Access(OPS, ANALYSTS).role(request(cookie=cookie)) == Role.ANALYST  # a new process
    rotated = [*OPS[:-1], SecretStr("op-new")]
    assert Access(rotated, ANALYSTS).role(request(cookie=cookie)) is None


def test_csrf_token_is_tied_to_the_cookie() -> None:
    access = Access(OPS, ANALYSTS)
    one, two = access.cookie_for("op-1"), access.cookie_for("an-1")
    assert one and two
    token = access.csrf_token(request(cookie=one))
    assert access.csrf_ok(request(cookie=one), token)
    assert not access.csrf_ok(request(cookie=two), token)
    assert not access.csrf_ok(request(cookie=one), "")
    # a key in the Authorization header cannot be sent by another site's form
    assert access.csrf_ok(request({"Authorization": "Bearer op-1"}), "")


def test_no_operator_key_means_open_as_on_the_api() -> None:
    assert Access([], []).role(request()) == Role.OPERATOR
    assert not Access(OPS, []).open


def test_charts_are_inline_svg_with_distinct_ids() -> None:
    one = charts.bars("Videos", ["2026-01", "2026-02"], [("done", [3, 1])], integer=True)
    two = charts.heatmap("Topics", ["soup", "oil"], ["2026-01"], [[2], [1]])
    three = charts.histogram("Durations", [1.0, 2.5, 30.0], xlabel="minutes")
    for svg in (one, two, three):
        assert svg.startswith("<svg ")
        assert "<?xml" not in svg and "<!DOCTYPE" not in svg
        assert 'role="img"' in svg
    ids = lambda svg: set(re.findall(r'id="([^"]+)"', svg))  # noqa: E731
    assert not ids(one) & ids(two)
    assert "soup" in two  # text stays text (svg.fonttype none): searchable, scalable
    empty = charts.bars("Spend", ["2026-01"], [("USD", [0.0])], empty="no spend")
    assert "no spend" in empty


def test_links_on_the_server_and_in_the_export() -> None:
    assert ServerLinks().video("tq-sample01") == "/videos/tq-sample01"
    assert SiteLinks(1).video("tq-sample01") == "../videos/tq-sample01.html"
    assert SiteLinks(0).channel("UCx-y_z") == "channels/UCx-y_z.html"
    assert SiteLinks(1).asset("dashboard.css") == "../static/dashboard.css"
    assert site_file("videos", "tq-sample01") == "videos/tq-sample01.html"


def test_durations_in_words() -> None:
    assert human_duration(20) == "under a minute"
    assert human_duration(600) == "10 min"
    assert human_duration(3 * 3600 + 300) == "3 h 05 min"
    assert human_duration(5 * 86400) == "5.0 days"
