"""URLs are read one way only (issue 15, finding 6): what a browser would send elsewhere
is refused, and only localhost, 127.0.0.0/8 and ::1 count as this machine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringplus_tui.core.errors import RedirectMismatchError
from ringplus_tui.core.urls import URLError, is_loopback_host, origin, parse_url
from ringplus_tui.core.validation import AppInput, FieldError, build_app, check_url
from ringplus_tui.oauth.loopback import loopback_address
from ringplus_tui.oauth.redirect import check_redirect_uri

BACKSLASH = "http://evil.example\\@127.0.0.1/authorize"
"""127.0.0.1 to Python's urlsplit, evil.example to a browser (WHATWG URL)."""


def custom(**fields: str) -> AppInput:
    values = {
        "name": "x",
        "client_id": "c",
        "redirect_uri": "http://127.0.0.1:8765/callback",
        "provider": "custom",
        "authorization_endpoint": "https://id.example/authorize",
        "token_endpoint": "https://id.example/token",
    }
    values.update(fields)
    return AppInput(**values)


def test_the_backslash_url_is_refused_as_an_endpoint() -> None:
    with pytest.raises(FieldError, match="backslash") as caught:
        build_app(custom(authorization_endpoint=BACKSLASH))
    assert caught.value.field == "authorization_endpoint"
    with pytest.raises(FieldError, match="backslash"):
        check_url("redirect_uri", BACKSLASH, label="Redirect URI", require_https=False)


def test_the_backslash_url_is_refused_as_a_pasted_redirect() -> None:
    pasted = "http://evil.example\\@127.0.0.1:8765/callback?code=abc&state=xyz"
    with pytest.raises(RedirectMismatchError, match="backslash"):
        check_redirect_uri(pasted, "http://127.0.0.1:8765/callback")


def test_the_backslash_url_is_not_listened_for() -> None:
    assert loopback_address("http://evil.example\\@127.0.0.1:8765/callback") is None


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pass@127.0.0.1/token",
        "http://evil.example@127.0.0.1/token",
        "https://@id.example/token",
    ],
)
def test_user_information_is_refused(url: str) -> None:
    with pytest.raises(FieldError, match="user information"):
        check_url("token_endpoint", url, label="Token endpoint")


@pytest.mark.parametrize(
    "url", ["https://id.example/\x1b]0;x\x07", "https://id.exa\tmple/", "https://id.example/a b"]
)
def test_control_characters_and_spaces_are_refused_and_not_echoed(url: str) -> None:
    with pytest.raises(FieldError, match="control character") as caught:
        check_url("token_endpoint", url, label="Token endpoint")
    assert "\x1b" not in caught.value.message and "\t" not in caught.value.message


@pytest.mark.parametrize("host", ["foo.localhost", "localhost.evil.example", "127.1", "0x7f.0.0.1"])
def test_only_exact_loopback_allows_plain_http(host: str) -> None:
    with pytest.raises(FieldError):
        check_url("token_endpoint", f"http://{host}/token", label="Token endpoint")


def test_foo_localhost_is_not_loopback() -> None:
    assert not is_loopback_host("foo.localhost")
    assert not is_loopback_host("localhost.")
    assert is_loopback_host("localhost") and is_loopback_host("LOCALHOST")
    assert is_loopback_host("127.0.0.1") and is_loopback_host("127.9.8.7")
    assert is_loopback_host("::1") and is_loopback_host("[::1]")
    assert not is_loopback_host("::ffff:127.0.0.1") and not is_loopback_host("10.0.0.1")


def test_an_international_name_is_idna_encoded() -> None:
    assert parse_url("https://Bücher.example/x").host == "xn--bcher-kva.example"
    assert check_url("api_base", "https://bücher.example/api", label="API base URL")
    with pytest.raises(FieldError, match="invalid host name"):
        check_url("api_base", "https://exa$mple.org/", label="API base URL")


@pytest.mark.parametrize(
    "url",
    [
        "https://id.example/authorize",
        "HTTPS://ID.EXAMPLE/authorize",
        "http://localhost:8080/cb",
        "http://127.0.0.1:8765/callback",
        "http://[::1]:8765/callback",
        "https://id.example:8443/t?x=1&y=%20",
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "https://my_host.internal.example/",
        "https://10.1.2.3/token",
        "https://id.example",
        "https://id.example./token",
    ],
)
def test_ordinary_urls_are_still_accepted(url: str) -> None:
    assert check_url("token_endpoint", url, label="Token endpoint") == url


def test_todays_messages_keep_their_words() -> None:
    with pytest.raises(FieldError, match="must be a full URL starting with https://"):
        check_url("token_endpoint", "id.example/token", label="Token endpoint")
    with pytest.raises(FieldError, match="has no host name"):
        check_url("token_endpoint", "https://:443/token", label="Token endpoint")
    with pytest.raises(FieldError, match="has an invalid port"):
        check_url("token_endpoint", "https://id.example:99999/", label="Token endpoint")
    with pytest.raises(FieldError, match="must use https://"):
        check_url("token_endpoint", "http://id.example/", label="Token endpoint")


def test_origin_fills_in_the_default_port() -> None:
    assert origin("https://ID.example/a") == ("https", "id.example", 443)
    assert origin("http://127.0.0.1:8080/a") == ("http", "127.0.0.1", 8080)
    assert origin(BACKSLASH) is None


@given(st.text(max_size=80))
def test_parse_url_only_raises_url_error(text: str) -> None:
    try:
        parsed = parse_url(text)
    except URLError:
        return
    assert parsed.scheme in ("http", "https")
    assert "\\" not in text and "@" not in parsed.netloc
