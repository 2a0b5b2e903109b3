"""Reading the redirected URL a person pastes (the authorization response).

We parse it ourselves before any library sees it, because a paste is messy
(whitespace, quotes, line breaks from a terminal, ``&amp;`` from an e-mail) and
because authlib guesses wrongly on ``error=`` responses (it then asks the token
endpoint for a ``client_credentials`` grant). Source: RFC 6749 §4.1.2 (response)
and §4.1.2.1 (error response).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import SplitResult, parse_qsl, urlsplit

from ringplus_tui.core.errors import (
    AccessDeniedError,
    AuthorizationResponseError,
    IssuerMismatchError,
    RedirectMismatchError,
)
from ringplus_tui.core.safe_text import safe_text
from ringplus_tui.core.urls import URLError, parse_url

_QUOTES = "\"'<>`\u201c\u201d\u2018\u2019"  # ASCII and typographic quotes


@dataclass(frozen=True)
class AuthorizationResponse:
    """The parts of a pasted redirected URL we use.

    Attributes:
        url: The cleaned URL, or ``None`` when only a query string was pasted
            (it holds the code, so it is hidden from ``repr``).
        code: The authorization code (secret; hidden from ``repr``).
        state: The ``state`` value, if present.
        error: The ``error`` code, if the provider refused.
        error_description: The provider's ``error_description``, if any.
        iss: The ``iss`` parameter (RFC 9207 §2), if present.
    """

    url: str | None = field(repr=False)
    code: str | None = field(default=None, repr=False)
    state: str | None = None
    error: str | None = None
    error_description: str | None = None
    iss: str | None = None

    def raise_for_error(self) -> None:
        """Raise :class:`AccessDeniedError` when the provider sent ``error=``.

        Raises:
            AccessDeniedError: The response is an error response (RFC 6749 §4.1.2.1).
        """
        if self.error is not None:
            # Anyone can craft a URL with error=: its text is shown only made safe.
            description = self.error_description
            raise AccessDeniedError(
                safe_text(self.error, limit=100),
                safe_text(description) if description is not None else None,
            )


def clean_paste(text: str) -> str:
    """Undo what terminals, e-mail and chat do to a pasted URL.

    Removes every whitespace character (leading, trailing and line breaks a
    terminal inserted inside the URL), surrounding quotes or angle brackets, and
    decodes HTML entities such as ``&amp;``.

    Args:
        text: What the person pasted.

    Returns:
        The cleaned text (may be empty).
    """
    text = re.sub(r"\s+", "", text)
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    text = text.strip(_QUOTES)
    return html.unescape(text)


def parse_authorization_response(text: str) -> AuthorizationResponse:
    """Parse a pasted redirected URL, or just its query string.

    Args:
        text: The pasted text: a full URL (``https://host/cb?code=…&state=…``) or
            a bare query string (``?code=…&state=…`` or ``code=…&state=…``).

    Returns:
        The parsed response. An error response is returned, not raised; call
        :meth:`AuthorizationResponse.raise_for_error`.

    Raises:
        AuthorizationResponseError: Empty paste, a parameter given twice, or
            neither ``code`` nor ``error`` present (the message names what is
            missing and suggests copying the whole address bar).
    """
    cleaned = clean_paste(text)
    if not cleaned:
        raise AuthorizationResponseError(
            "Nothing was pasted. Copy the whole address from the browser's address bar "
            "after you allowed access, then paste it here."
        )
    url: str | None
    if "://" in cleaned:
        url = cleaned
        parts = urlsplit(cleaned)
        query, fragment = parts.query, parts.fragment
    else:
        url = None
        query, _, fragment = cleaned.lstrip("?").partition("#")
    # Some providers (and the implicit grant) put parameters in the fragment;
    # we read the query, and the fragment only when the query is empty.
    pairs = parse_qsl(query or fragment, keep_blank_values=True)
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params and params[key] != value:
            shown_key = safe_text(key, limit=40)
            raise AuthorizationResponseError(
                f"The URL has the parameter '{shown_key}' twice with different values. "
                "Copy the address bar again, exactly as the browser shows it."
            )
        params[key] = value

    error = params.get("error") or None
    code = params.get("code") or None
    state = params.get("state") or None
    if error is None and code is None and "=" not in cleaned:
        shown = " ".join(text.split())
        shown = safe_text(shown, limit=41)
        raise AuthorizationResponseError(
            f"The pasted text ('{shown}') is not an address with an authorization code. "
            "Copy the whole address from the browser's address bar after you allowed "
            "access; the page itself may show an error, the address is what matters."
        )
    if error is None and code is None:
        found = safe_text(", ".join(sorted(params)), limit=200) or "no parameters"
        raise AuthorizationResponseError(
            f"The pasted text has no authorization code (found: {found}). "
            "Copy the whole address from the browser's address bar after you allowed "
            "access; the page itself may show an error, the address is what matters."
        )
    return AuthorizationResponse(
        url=url,
        code=code,
        state=state,
        error=error,
        error_description=params.get("error_description") or None,
        iss=params.get("iss") or None,
    )


def check_issuer_parameter(
    response: AuthorizationResponse, issuer: str | None, *, always_sent: bool
) -> None:
    """Check the authorization response's ``iss`` (RFC 9207 §2.4, mix-up protection).

    Args:
        response: The parsed response (success or error).
        issuer: The app's issuer identifier, or ``None`` when it is not known (an
            app with hand-entered endpoints), in which case ``iss`` cannot be checked.
        always_sent: The provider's metadata has
            ``authorization_response_iss_parameter_supported: true`` (RFC 9207 §3).

    Raises:
        IssuerMismatchError: ``iss`` differs from ``issuer`` (exact comparison,
            RFC 9207 §2.4), or a successful response lacks it although ``always_sent``.
    """
    if issuer is None:
        return
    if response.iss is None:
        # A missing 'iss' on an error response is let through: nothing is sent to the
        # token endpoint for it, and some servers (django-oauth-toolkit) omit it there.
        if always_sent and response.error is None:
            raise IssuerMismatchError(
                f"The URL has no 'iss', but {issuer} always sends one (RFC 9207). It may "
                "come from another server posing as this one; nothing was sent. Start the "
                "sign-in again and copy the whole address bar."
            )
        return
    if response.iss != issuer:
        claimed = safe_text(response.iss, limit=100)
        raise IssuerMismatchError(
            f"The URL says it comes from '{claimed}', but this app signs in at "
            f"'{issuer}'. It may come from another server (a mix-up attack, RFC 9207); "
            "nothing was sent. Start the sign-in again from this app."
        )


def _origin_parts(parts: SplitResult) -> tuple[str, str, int | None, str]:
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, host, port, parts.path or "/"


def check_redirect_uri(url: str, redirect_uri: str) -> None:
    """Check that a pasted URL is the registered ``redirect_uri`` (RFC 6749 §3.1.2).

    The scheme, host, port and path must match; ``https://www.ringplus.net`` is
    not ``www.ringplus.net``. Extra query parameters of a registered URI are
    allowed. Comparison of scheme and host ignores letter case (RFC 3986 §6.2.2.1);
    the path is compared exactly, trailing slash included.

    Args:
        url: The cleaned pasted URL.
        redirect_uri: The ``redirect_uri`` sent with the authorization request.

    Raises:
        RedirectMismatchError: Naming the part that differs and both values, or the
            pasted URL is outside the strict grammar of
            :func:`ringplus_tui.core.urls.parse_url` (a backslash or user information
            lets a browser and this program read different hosts).
    """
    try:
        parse_url(url)
    except URLError as err:
        raise RedirectMismatchError(
            f"The pasted URL {err.reason}, so it cannot be checked against the app's "
            f"redirect URI ({redirect_uri}). Paste the address the provider redirected "
            "to, exactly as the browser's address bar shows it."
        ) from None
    got = _origin_parts(urlsplit(url))
    want = _origin_parts(urlsplit(redirect_uri))
    names = ("scheme", "host", "port", "path")
    for name, have, expected in zip(names, got, want, strict=True):
        if have != expected:
            shown = safe_text(have, limit=60)
            raise RedirectMismatchError(
                f"The pasted URL's {name} is {shown} but the app's redirect URI has "
                f"{expected!s:.60} ({redirect_uri}). Paste the address the provider "
                "redirected to, or fix the app's redirect URI to match its registration."
            )
