"""Issue 16, item 8: the numbers a provider sends, absurd ones included.

``expires_in`` and ``expires_at`` are read as a JSON number or an ASCII decimal
string; anything else is refused as an invalid token response, lifetimes are cut
to 0…10 years, and every formatting function answers for any time at all.
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringplus_tui.core.errors import TokenEndpointError
from ringplus_tui.core.models import Account
from ringplus_tui.core.status import (
    format_clock_time,
    format_countdown,
    format_utc,
    refresh_due,
    token_status,
)
from ringplus_tui.oauth.token_response import MAX_LIFETIME, provider_number, token_from_response

NOW = 1_764_400_000.0
TEN_YEARS = 10 * 365.25 * 86400


def make(**expiry: object):
    return token_from_response({"access_token": "AT1", **expiry}, now=NOW, default_lifetime=3600)


def test_ten_years_is_the_bound() -> None:
    assert MAX_LIFETIME == TEN_YEARS


@pytest.mark.parametrize(
    ("value", "lifetime"),
    [
        (3600, 3600),
        ("3600", 3600),
        (" 3600 ", 3600),
        ("3600.5", 3600.5),
        (".5", 0.5),
        ("36e2", 3600),
        ("3.6E+3", 3600),
        ("+60", 60),
        (1e12, TEN_YEARS),  # the lifetime that crashed 'refresh' and the dashboard
        ("1e12", TEN_YEARS),
        (10**400, TEN_YEARS),
        ("1e400", TEN_YEARS),
        (-5, 0),
        ("-1e400", 0),
        (0, 0),
    ],
)
def test_expires_in_as_a_number_or_a_decimal_string(value: object, lifetime: float) -> None:
    token = make(expires_in=value)
    assert token.lifetime == pytest.approx(lifetime)
    assert not token.lifetime_assumed


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        math.inf,
        -math.inf,
        "NaN",
        "nan",
        "Infinity",
        "inf",
        "-inf",
        "",
        "   ",
        True,
        False,
        "\u0663\u0666\u0660\u0660",  # Arabic-Indic digits, which float() takes
        "\uff13\uff16\uff10\uff10",  # fullwidth digits
        "3_600",
        "0x10",
        "1h",
        "3600s",
        [3600],
        {"seconds": 3600},
    ],
)
@pytest.mark.parametrize("field", ["expires_in", "expires_at"])
def test_anything_else_is_an_invalid_token_response(field: str, value: object) -> None:
    with pytest.raises(TokenEndpointError) as caught:
        make(**{field: value})
    assert caught.value.title == "Unexpected token response"
    assert field in caught.value.message


@pytest.mark.parametrize(
    "value",
    [1e300, 253_402_300_800.0, "9999-12-31T23:59:59Z", 10**30, "1e30"],
)
def test_an_expires_at_beyond_year_9999_is_cut_to_ten_years(value: object) -> None:
    token = make(expires_at=value)
    assert NOW < token.expires_at <= NOW + TEN_YEARS


def test_an_expires_at_in_the_past_is_expired_on_arrival() -> None:
    assert make(expires_at=NOW - 100).expires_at == NOW


DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

numbers = st.integers(min_value=-(10**30), max_value=10**30) | st.floats(
    allow_nan=False, allow_infinity=False
)
decimal_strings = st.from_regex(DECIMAL, fullmatch=True)


@given(numbers | decimal_strings)
def test_every_accepted_expires_in_gives_a_lifetime_within_bounds(value: object) -> None:
    token = make(expires_in=value)
    assert 0 <= token.lifetime <= TEN_YEARS
    assert math.isfinite(token.expires_at)


@given(st.text().filter(lambda text: not DECIMAL.fullmatch(text.strip(" \t\r\n"))))
def test_every_other_string_is_refused(text: str) -> None:
    with pytest.raises(TokenEndpointError):
        provider_number(text, "expires_in")


# -- formatting is total ------------------------------------------------------------

any_float = st.floats(allow_nan=True, allow_infinity=True)


@given(st.none() | any_float)
def test_format_countdown_is_total(seconds: float | None) -> None:
    assert isinstance(format_countdown(seconds), str)


@given(st.none() | any_float)
def test_time_formatting_is_total(epoch: float | None) -> None:
    assert isinstance(format_utc(epoch), str)
    assert isinstance(format_clock_time(epoch), str)


@pytest.mark.parametrize(
    ("epoch", "text"),
    [
        (1_764_400_000.0, "2025-11-29 07:06:40 UTC"),
        (1e12 + NOW, "after 9999"),
        (math.inf, "after 9999"),
        (-1e13, "before 0001"),
        (math.nan, "—"),
        (None, "—"),
    ],
)
def test_format_utc(epoch: float | None, text: str) -> None:
    assert format_utc(epoch) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1e12, "10000d+"), (math.inf, "10000d+"), (math.nan, "—"), (-math.inf, "expired")],
)
def test_absurd_countdowns(seconds: float, text: str) -> None:
    assert format_countdown(seconds) == text


def test_status_of_an_absurd_stored_expiry() -> None:
    # An account stored before the bound existed, with expires_at past year 9999.
    account = Account(name="a", app="x", expires_at=NOW + 1e12, obtained_at=NOW)
    assert token_status(account, NOW) == "valid"
    assert not refresh_due(account, NOW)
    assert format_utc(account.expires_at) == "after 9999"
