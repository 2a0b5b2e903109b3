"""HTTP plumbing shared by the service: one transport, client authentication, error translation.

Knows HTTPX and authlib; knows nothing of Textual, settings or secrets.
"""

from __future__ import annotations

import logging
import re
from base64 import b64encode
from typing import Any
from urllib.parse import quote, urlsplit

import httpx2
from authlib.integrations.httpx_client import OAuthError

from ringplus_tui.core.errors import NetworkError, RingPlusError, TokenEndpointError

from .sent_secrets import provider_text, remember_request

DEFAULT_TIMEOUT = httpx2.Timeout(30.0, connect=10.0)
"""Seconds for each HTTP request: 10 s to connect, 30 s for the rest."""

_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}

_TOKEN_ERROR_ADVICE = {
    "invalid_client": (
        "Check the app's client ID, client secret and client authentication method "
        "(A, then e in the app; or 'ringplus-tui app add'): a public client uses 'none', "
        "a confidential one its secret."
    ),
    "unauthorized_client": "The provider does not allow this client that grant; check its "
    "settings at the provider.",
    "invalid_scope": "Check the app's scopes against the ones the provider offers.",
}
"""What to do about the token endpoint's error codes (RFC 6749 §5.2)."""

_SECRET_IN_URL = re.compile(
    r"\b(access_token|refresh_token|id_token|code|client_secret)=[^&\s\"']*", re.IGNORECASE
)


def redact_url(text: str) -> str:
    """Replace the values of secret query parameters (``access_token``, ``code``, …)
    in ``text`` with ``[redacted]``."""
    return _SECRET_IN_URL.sub(r"\1=[redacted]", text)


class RedactSecrets(logging.Filter):
    """Removes tokens from URLs in HTTPX's request log lines.

    An API call with the token in the query (RFC 6750 §2.3) has it in its URL,
    and HTTPX logs every URL at INFO level; RFC 6750 §5.3 warns against exactly
    that. Installed on the ``httpx2`` logger when this module is imported.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_url(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


logging.getLogger("httpx2").addFilter(RedactSecrets())


def encode_client_secret_basic(
    client: Any, method: str, uri: str, headers: dict[str, str], body: str
) -> tuple[str, dict[str, str], str]:
    """HTTP Basic client authentication, form-encoding first (RFC 6749 §2.3.1).

    authlib's own encoder skips the form-encoding step and fails on non-Latin-1
    characters; a client ID or secret with ``:`` or ``%`` needs it too.
    """
    user, password = _form_encoded(client.client_id or "", client.client_secret or "")
    headers["Authorization"] = "Basic " + b64encode(f"{user}:{password}".encode()).decode()
    return uri, headers, body


def client_secret_basic(client_id: str, client_secret: str) -> httpx2.BasicAuth:
    """The same header as :func:`encode_client_secret_basic`, as an HTTPX auth.

    Passed as ``auth=`` to authlib's token requests, it sets the header on the
    request in place; authlib's own client auth re-reads the body and builds a
    second request, a tenth of a refresh's CPU on loopback.
    """
    return httpx2.BasicAuth(*_form_encoded(client_id, client_secret))


def _form_encoded(client_id: str, client_secret: str) -> tuple[str, str]:
    """RFC 6749 §2.3.1: the client ID and secret form-encoded, before HTTP Basic."""
    return quote(client_id, safe=""), quote(client_secret, safe="")


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def _excerpt(response: httpx2.Response) -> str:
    text = " ".join(response.text.split())
    return provider_text(text, limit=121)


def translate_error(err: Exception, *, url: str, timeout: float | None = None) -> RingPlusError:
    """Turn an authlib, HTTPX or decoding error into one of ours.

    Args:
        err: What authlib or HTTPX raised during a token request.
        url: The endpoint that was called (only its host is shown).
        timeout: The read timeout in seconds, named in timeout messages.

    Returns:
        The error to raise: :class:`NetworkError` for temporary failures
        (connection, timeout, HTTP 408/425/429/5xx), :class:`TokenEndpointError`
        for refusals (RFC 6749 §5.2).
    """
    host = _host(url)
    if isinstance(err, RingPlusError):
        return err
    if isinstance(err, OAuthError):
        # Provider text: control characters escaped, echoed secrets redacted.
        error = provider_text(err.error or "error", limit=100)
        description = provider_text(err.description) if err.description else None
        text = f"{host} refused the request ({error})"
        text += f": {description}" if description else "."
        text = text.rstrip(".") + "."
        advice = _TOKEN_ERROR_ADVICE.get(error)
        if advice:
            text += f" {advice}"
        return TokenEndpointError(text, error=error, description=description)
    if isinstance(err, httpx2.TimeoutException):
        limit = f" within {timeout:g} s" if timeout else ""
        return NetworkError(
            f"{host} did not answer{limit} ({type(err).__name__}). "
            "Check your connection and try again; nothing was changed."
        )
    if isinstance(err, httpx2.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(err):
        return NetworkError(
            f"TLS verification failed for {host}: its certificate is not trusted here. Behind "
            "a TLS-inspecting proxy, set SSL_CERT_FILE to that proxy's CA certificate; "
            "certificate checks are never turned off.",
            title="TLS problem",
        )
    if isinstance(err, httpx2.ConnectError):
        reason = str(err).strip() or type(err).__name__
        return NetworkError(
            f"Could not connect to {host} ({reason:.100}). Check your connection and the "
            "provider's address, then try again; nothing was changed."
        )
    if isinstance(err, httpx2.HTTPStatusError):
        response = err.response
        status = response.status_code
        if status in _TRANSIENT_STATUS:
            return NetworkError(
                f"{host} answered HTTP {status} ({response.reason_phrase}). This is usually "
                "temporary: try again later; nothing was changed.",
                retry_after=_retry_after(response),
            )
        return TokenEndpointError(
            f"{host} answered HTTP {status} with something that is not a token response: "
            f"{_excerpt(response)!r}. Check the app's token endpoint.",
            title="Unexpected token response",
        )
    if isinstance(err, httpx2.RequestError):
        reason = str(err).strip() or type(err).__name__
        return NetworkError(f"The request to {host} failed ({reason:.100}). Try again later.")
    if isinstance(err, ValueError):
        return TokenEndpointError(
            f"{host} sent an answer that is not a JSON token response. Check the app's "
            "token endpoint.",
            title="Unexpected token response",
        )
    return RingPlusError(f"Unexpected failure talking to {host}: {type(err).__name__}.")


CLOCK_SKEW_LIMIT = 300.0
"""Seconds of difference between our clock and a server's ``Date`` worth a warning."""


def form_encoded_to_json(response: httpx2.Response) -> httpx2.Response:
    """Turn a form-encoded token response (GitHub's without ``Accept: application/json``)
    into the JSON one RFC 6749 §5.1 specifies; any other response is returned as is."""
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", "text/plain"):
        return response
    from urllib.parse import parse_qsl

    text = response.text.strip()
    if "=" not in text or "<" in text:
        return response
    data = dict(parse_qsl(text, keep_blank_values=True))
    if not ("access_token" in data or "error" in data):
        return response
    return httpx2.Response(
        response.status_code,
        json=data,
        headers={k: v for k, v in response.headers.items() if k.lower() == "date"},
        request=response.request,
    )


def clock_skew(response: httpx2.Response, now: float) -> float | None:
    """Seconds the server's ``Date`` header is ahead of ``now`` (negative: behind), or ``None``."""
    from email.utils import parsedate_to_datetime

    value = response.headers.get("date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp() - now
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class SharedTransport(httpx2.AsyncBaseTransport):
    """Lends one HTTP client's connection pool to many HTTPX clients.

    The service makes an authlib client per app and a short-lived client (with
    its own cookies) per password sign-in; they all send through one inner
    :class:`httpx2.AsyncClient`, which honours the proxy and CA-bundle
    environment variables (``HTTPS_PROXY``, ``NO_PROXY``, ``SSL_CERT_FILE`` …)
    like any HTTPX client. Closing an outer client leaves the pool open; the
    service closes it once with :meth:`close_pool`.

    Args:
        client: The inner client that owns the pool.
    """

    def __init__(self, client: httpx2.AsyncClient) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request`` through the shared pool (the body is streamed to the caller).

        The outer client has already applied auth, redirects and timeouts; only the
        inner client's choice of transport (a proxy, per the environment) is needed,
        so the request goes straight to that transport instead of through a second
        full ``send``.
        """
        remember_request(request)  # so an echo of its secrets is redacted from errors
        choose = getattr(self.client, "_transport_for_url", None)
        if choose is None:  # an HTTPX without that (private) method: the long way
            return await self.client.send(request, stream=True)
        transport: httpx2.AsyncBaseTransport = choose(request.url)
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        """Do nothing: a client closing must not close the shared pool."""

    async def close_pool(self) -> None:
        """Close the inner client, once, when the service ends."""
        await self.client.aclose()
