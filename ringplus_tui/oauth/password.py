"""Sign in with a password: follow the provider's own pages with an HTTP client.

The seed tutorial's "Avoiding the Redirect Dance": fetch the authorization URL,
fill the sign-in form's email and password fields, submit, allow the consent page
if one is shown, and stop at the redirect to the registered ``redirect_uri``. It
depends on the provider's page, so every way it can go wrong has its own message.
The password is used for one request and never stored or logged.

Credentials go only to the authorization endpoint's origin (scheme, host and
port, RFC 6454), over https unless that origin is loopback: a form or a redirect
pointing anywhere else stops the walk before anything is sent to it. The final
redirect to the app's ``redirect_uri`` is returned, never followed.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import httpx2

from ringplus_tui.core.errors import RingPlusError
from ringplus_tui.core.safe_text import safe_text
from ringplus_tui.core.urls import ParsedURL, URLError, parse_url

from .htmlforms import Form, parse_forms

MAX_STEPS = 12
"""Pages followed at most before giving up (sign-in, consent and their redirects)."""

_ALLOW_WORDS = ("allow", "authorize", "authorise", "approve", "accept", "grant", "yes", "continue")


class PasswordSignInError(RingPlusError):
    """The password sign-in shortcut could not get through the provider's pages."""

    title = "Password sign-in failed"


def _is_redirect_target(location: str, redirect_uri: str) -> bool:
    got, want = urlsplit(location), urlsplit(redirect_uri)
    return (got.scheme, got.netloc.lower(), got.path or "/") == (
        want.scheme,
        want.netloc.lower(),
        want.path or "/",
    )


_RESEND = (307, 308)
"""Redirects that repeat the request with its method and body (RFC 9110 §15.4.8-9)."""


def _where(url: str) -> str:
    try:
        parts = parse_url(url)
    except URLError:
        return safe_text(url, limit=80)
    return f"{parts.scheme}://{parts.netloc}"


def _check_start(authorization_url: str) -> ParsedURL:
    """The authorization endpoint's URL, if credentials may be sent to its origin."""
    try:
        start = parse_url(authorization_url)
    except URLError as err:
        raise PasswordSignInError(
            f"The authorization endpoint {err.reason}, so no password is sent to it. "
            "Sign in through the browser instead."
        ) from None
    if start.scheme != "https" and not start.is_loopback:
        raise PasswordSignInError(
            f"The sign-in page at {start.netloc} uses plain http, so the password would "
            "travel unencrypted; nothing was sent. Sign in through the browser instead."
        )
    return start


def _check_same_origin(url: str, start: ParsedURL, what: str) -> None:
    """Stop unless ``url`` has the origin of ``start`` (RFC 6454 §5)."""
    try:
        same = parse_url(url).origin == start.origin
    except URLError:
        same = False
    if not same:
        raise PasswordSignInError(
            f"The provider's {what} leads to {_where(url)}, not to "
            f"{start.scheme}://{start.netloc} where "
            "this sign-in started, so the sign-in was stopped and nothing was sent there. "
            "Sign in through the browser instead."
        )


def _allow_button(form: Form) -> tuple[str, str] | None:
    for button in form.buttons:
        words = f"{button.name} {button.value}".lower()
        if any(word in words for word in _ALLOW_WORDS):
            return button.name, button.value
    return None


async def follow_password_sign_in(
    client: httpx2.AsyncClient,
    authorization_url: str,
    redirect_uri: str,
    username: str,
    password: str,
) -> str:
    """Walk the provider's sign-in and consent pages; return the redirected URL.

    Args:
        client: A fresh client with its own cookie jar, not following redirects.
        authorization_url: Where the sign-in starts.
        redirect_uri: The registered ``redirect_uri``; the walk stops at it.
        username: The account's email or user name.
        password: Its password (used once, never kept).

    Returns:
        The URL the provider redirected to (with ``code`` and ``state``, or ``error``).

    Raises:
        PasswordSignInError: Wrong password, a page without the expected form, a
            consent page without an Allow button, too many pages, a plain-http
            authorization endpoint that is not loopback, or a form or redirect
            (307 and 308 included, which repeat the form) to another origin.
        httpx2.HTTPError: Network failures (the service translates them).
    """
    start = _check_start(authorization_url)
    url = authorization_url
    response = await client.get(url)
    submitted_password = False
    sent: tuple[str, dict[str, str]] | None = None  # the last form's method and data
    for _ in range(MAX_STEPS):
        if response.is_redirect:
            location = urljoin(url, response.headers.get("location", ""))
            if _is_redirect_target(location, redirect_uri):
                return location
            _check_same_origin(location, start, "redirect")
            url = location
            if response.status_code in _RESEND and sent is not None:
                response = await client.request(sent[0], url, data=sent[1])
            else:
                sent = None
                response = await client.get(url)
            continue
        sent = None
        forms = (
            parse_forms(response.text)
            if "html" in response.headers.get("content-type", "text/html")
            else []
        )
        login = next((f for f in forms if f.password_field is not None), None)
        if login is not None:
            if submitted_password:
                raise PasswordSignInError(
                    "The provider did not accept that email and password. Check them and "
                    "try again, or sign in through the browser instead."
                )
            name_field, password_field = login.login_field, login.password_field
            if name_field is None or password_field is None:
                raise PasswordSignInError(
                    "The provider's sign-in page has no email field this app recognises. "
                    "Sign in through the browser instead."
                )
            data = login.hidden_values()
            data[name_field.name] = username
            data[password_field.name] = password
            url = urljoin(url, login.action or url)
            _check_same_origin(url, start, "sign-in form")
            sent = (login.method, data)
            response = await client.request(login.method, url, data=data)
            submitted_password = True
            continue
        consent = next((f for f in forms if _allow_button(f) is not None), None)
        if consent is not None:
            button = _allow_button(consent)
            assert button is not None
            data = consent.hidden_values()
            if button[0]:
                data[button[0]] = button[1]
            url = urljoin(url, consent.action or url)
            _check_same_origin(url, start, "consent form")
            sent = (consent.method, data)
            response = await client.request(consent.method, url, data=data)
            continue
        if response.status_code >= 400:
            raise PasswordSignInError(
                f"The provider's sign-in page answered HTTP {response.status_code}. "
                "Check the app's authorization endpoint and client ID, or sign in through "
                "the browser instead."
            )
        raise PasswordSignInError(
            "The provider's page has neither a sign-in form nor an Allow button this app "
            "recognises (the page may have changed). Sign in through the browser instead."
        )
    raise PasswordSignInError(
        f"The provider's pages went on for more than {MAX_STEPS} steps without returning "
        "to the redirect URI. Sign in through the browser instead."
    )
