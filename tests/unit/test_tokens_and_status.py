"""Token responses in the shapes real servers send, and the status/countdown logic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringplus_tui.core.errors import RingPlusError, TokenEndpointError
from ringplus_tui.core.models import Account, Token, mask
from ringplus_tui.core.status import TokenStatus, format_countdown, refresh_margin, token_status
from ringplus_tui.oauth.token_response import parse_scope, token_from_response

NOW = 1_600_000_000.0
"""2020-09-13: the absolute expiries below are within the 10-year lifetime bound."""


def make(data: dict, previous: str | None = None) -> Token:
    return token_from_response(
        data,
        now=NOW,
        default_lifetime=86400,
        requested_scope=("read",),
        previous_refresh_token=previous,
    )


@pytest.mark.parametrize(
    ("expiry", "expected", "assumed"),
    [
        ({"expires_in": 3600}, NOW + 3600, False),
        ({"expires_in": "3600"}, NOW + 3600, False),
        ({"expires_in": 3600.5}, NOW + 3600.5, False),
        ({"expires_in": 0}, NOW, False),
        ({}, NOW + 86400, True),
        ({"expires_in": None}, NOW + 86400, True),
        ({"expires_at": 1_612_807_300.16}, 1_612_807_300.16, False),
        ({"expires_at": "2030-01-01T00:00:00Z"}, 1_893_456_000.0, False),
    ],
)
def test_expiry_in_every_shape(expiry: dict, expected: float, assumed: bool) -> None:
    token = make({"access_token": "AT1", "token_type": "bearer", **expiry})
    assert token.expires_at == pytest.approx(expected)
    assert token.lifetime_assumed is assumed


@pytest.mark.parametrize("refresh", [{}, {"refresh_token": None}, {"refresh_token": ""}])
def test_refresh_response_without_refresh_token_keeps_the_old_one(refresh: dict) -> None:
    token = make({"access_token": "AT2", **refresh}, previous="RT1")
    assert token.refresh_token == "RT1"


def test_rotated_refresh_token_replaces_the_old_one() -> None:
    assert (
        make({"access_token": "AT2", "refresh_token": "RT2"}, previous="RT1").refresh_token == "RT2"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("read write", ("read", "write")),
        ("read,write", ("read", "write")),
        (["read", "write"], ("read", "write")),
        (None, ("read",)),
        ("", ()),
    ],
)
def test_scope_shapes(value: object, expected: tuple[str, ...]) -> None:
    assert parse_scope(value, ("read",)) == expected


@pytest.mark.parametrize(
    "data",
    [
        {"error": "invalid_grant", "error_description": "expired"},
        {"message": "ok", "data": {"token": "AT1"}},
        {"access_token": ""},
        {"access_token": 42},
        # An expiry that is not a number is refused rather than guessed at.
        {"access_token": "AT1", "expires_in": "soon"},
    ],
)
def test_error_or_tokenless_response_is_refused(data: dict) -> None:
    with pytest.raises(TokenEndpointError):
        make(data)


def test_secrets_are_not_in_repr() -> None:
    token = make({"access_token": "AT-SECRET", "refresh_token": "RT-SECRET"})
    assert "SECRET" not in repr(token)


@given(
    st.dictionaries(
        st.text(), st.none() | st.integers() | st.floats() | st.text() | st.lists(st.text())
    )
)
def test_any_response_gives_a_token_or_our_error(data: dict) -> None:
    try:
        token = make(data)
    except RingPlusError:
        return
    assert token.access_token


def account(expires_in: float | None, lifetime: float = 3600, **extra: object) -> Account:
    if expires_in is None:
        return Account(name="a", app="x", **extra)  # type: ignore[arg-type]
    return Account(
        name="a",
        app="x",
        expires_at=NOW + expires_in,
        obtained_at=NOW + expires_in - lifetime,
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("acc", "status"),
    [
        (account(None), TokenStatus.SIGNED_OUT),
        (account(3000), TokenStatus.VALID),
        (account(300), TokenStatus.EXPIRING),
        (account(-1), TokenStatus.EXPIRED),
        (account(3000, needs_sign_in=True), TokenStatus.NEEDS_SIGN_IN),
        # A 60-second token is not "expiring" the moment it arrives.
        (account(59, lifetime=60), TokenStatus.VALID),
    ],
)
def test_status(acc: Account, status: TokenStatus) -> None:
    assert token_status(acc, NOW) == status


def test_refresh_margin() -> None:
    assert refresh_margin(86400) == 8640
    assert refresh_margin(300) == 60
    assert refresh_margin(60) == 30


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (-5, "expired"),
        (0, "expired"),
        (59.9, "00:59"),
        (400, "06:40"),
        (3599, "59:59"),
        (3600, "1h 00m"),
        (3661, "1h 01m"),
        (86399, "23h 59m"),
        (90061, "1d 01h"),
    ],
)
def test_countdown_text(seconds: float | None, text: str) -> None:
    assert format_countdown(seconds) == text


def test_mask() -> None:
    assert mask("abcdefghijklmnopqrstuvwxyz") == "abcd…wxyz"
    assert mask("short") == "…"
    assert mask(None) == "—"
