"""Reading the pasted redirected URL (RFC 6749 §4.1.2): messy pastes, errors, mismatches."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringplus_tui.core.errors import (
    AccessDeniedError,
    AuthorizationResponseError,
    RedirectMismatchError,
    RingPlusError,
)
from ringplus_tui.oauth.redirect import check_redirect_uri, parse_authorization_response

REDIRECT = "http://localhost:8080/callback"
GOOD = f"{REDIRECT}?code=C0DE&state=S1"


@pytest.mark.parametrize(
    "pasted",
    [
        GOOD,
        f"  {GOOD}  ",
        f'"{GOOD}"',
        f"'{GOOD}'",
        f"<{GOOD}>",
        f"\u201c{GOOD}\u201d",
        GOOD.replace("&", "&amp;"),
        f"{REDIRECT}?code=C0DE&sta\nte=S1",
        f"\n{GOOD}\r\n",
        f"{GOOD}#_=_",
        "?code=C0DE&state=S1",
        "code=C0DE&state=S1",
    ],
)
def test_messy_pastes_give_code_and_state(pasted: str) -> None:
    response = parse_authorization_response(pasted)
    assert (response.code, response.state) == ("C0DE", "S1")


def test_error_response_is_returned_then_raised_with_provider_text() -> None:
    response = parse_authorization_response(
        f"{REDIRECT}?error=access_denied&error_description=The+resource+owner+denied&state=S1"
    )
    with pytest.raises(AccessDeniedError) as caught:
        response.raise_for_error()
    assert "access_denied" in caught.value.message
    assert "The resource owner denied" in caught.value.message


def test_error_without_state_is_still_an_error_response() -> None:
    response = parse_authorization_response(f"{REDIRECT}?error=access_denied")
    assert response.error == "access_denied" and response.state is None


@pytest.mark.parametrize("pasted", ["", "   ", f"{REDIRECT}?state=S1", f"{REDIRECT}"])
def test_no_code_says_what_is_missing(pasted: str) -> None:
    with pytest.raises(AuthorizationResponseError) as caught:
        parse_authorization_response(pasted)
    assert "address bar" in caught.value.message


def test_parameter_twice_with_different_values_is_refused() -> None:
    with pytest.raises(AuthorizationResponseError, match="twice"):
        parse_authorization_response(f"{GOOD}&state=S2")


def test_code_is_not_in_repr() -> None:
    assert "C0DE" not in repr(parse_authorization_response(GOOD))


@pytest.mark.parametrize(
    ("url", "part"),
    [
        ("https://localhost:8080/callback", "scheme"),
        ("http://127.0.0.1:8080/callback", "host"),
        ("http://localhost:9090/callback", "port"),
        ("http://localhost/callback", "port"),
        ("http://localhost:8080/callback/", "path"),
        ("http://localhost:8080/other", "path"),
    ],
)
def test_redirect_uri_mismatch_names_the_part(url: str, part: str) -> None:
    with pytest.raises(RedirectMismatchError) as caught:
        check_redirect_uri(f"{url}?code=C&state=S", REDIRECT)
    assert f"URL's {part} is" in caught.value.message


@pytest.mark.parametrize(
    "url",
    [
        "HTTP://LOCALHOST:8080/callback",
        "http://localhost:8080/callback?account=work",
    ],
)
def test_redirect_uri_match_ignores_case_of_scheme_and_host_and_extra_query(url: str) -> None:
    check_redirect_uri(url, REDIRECT)


def test_default_port_equals_explicit_port() -> None:
    check_redirect_uri("https://www.ringplus.net:443/cb?code=1", "https://www.ringplus.net/cb")


@given(st.text())
def test_any_paste_gives_a_response_or_our_error(text: str) -> None:
    try:
        response = parse_authorization_response(text)
    except RingPlusError:
        return
    assert response.code or response.error


@given(st.text(), st.text())
def test_any_url_pair_matches_or_raises_our_error(url: str, redirect_uri: str) -> None:
    with contextlib.suppress(RingPlusError):
        check_redirect_uri(url, redirect_uri)
