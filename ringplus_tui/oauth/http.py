"""HTTP plumbing shared by the service: one transport, client authentication, error translation.

Knows HTTPX and authlib; knows nothing of Textual, settings or secrets.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from base64 import b64encode
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import quote, urlsplit

import httpx2
from authlib.integrations.httpx_client import OAuthError

from ringplus_tui.core.errors import (
    ClientAuthError,
    DeadlineError,
    EndpointError,
    NeedsSignInError,
    NetworkError,
    ResponseTooLargeError,
    RingPlusError,
    TokenEndpointError,
)

from .sent_secrets import provider_text, remember_request

DEFAULT_TIMEOUT = httpx2.Timeout(30.0, connect=10.0)
"""Seconds for each step of an HTTP request: 10 s to connect, 30 s for each read or write."""

DEFAULT_DEADLINE = 60.0
"""Seconds one HTTP request may take in all: connecting, sending and reading the whole
answer. Bounds a server that trickles its answer, which no per-read timeout catches."""

MIB = 1024 * 1024

MAX_RETRY_AFTER = 86400.0
"""Seconds: the longest ``Retry-After`` honoured; a larger one is cut to this."""

_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}

Operation = Literal["token", "refresh", "revoke"]
"""What a translated request was: a token request (code exchange, password), a refresh
(RFC 6749 §6) or a revocation (RFC 7009)."""

_APP_ERRORS = {"invalid_client", "unauthorized_client", "invalid_scope", "unsupported_grant_type"}
"""RFC 6749 §5.2 codes that are about the app, not the grant."""

_TEMPORARY_ERRORS = {"temporarily_unavailable", "server_error"}

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


ClientAuthEncoder = Callable[[Any, str, str, dict[str, str], str], tuple[str, dict[str, str], str]]
"""authlib's client-authentication hook: ``(client, method, uri, headers, body)``."""


def basic_auth_header(client_id: str, client_secret: str, *, form_encoded: bool = True) -> str:
    """The ``Authorization`` value for ``client_secret_basic``.

    Args:
        client_id: The app's client ID.
        client_secret: The app's client secret.
        form_encoded: ``True``: form-encode both before joining them with ``:``, as
            RFC 6749 §2.3.1 says. ``False``: join them as they are (UTF-8), which is
            what many providers expect although the RFC says otherwise.

    Returns:
        ``Basic`` and the base64 of ``id:secret``.
    """
    user, password = (
        _form_encoded(client_id, client_secret) if form_encoded else (client_id, client_secret)
    )
    return "Basic " + b64encode(f"{user}:{password}".encode()).decode()


def basic_encoder(*, form_encoded: bool = True) -> ClientAuthEncoder:
    """An authlib client-auth encoder for ``client_secret_basic`` (register it with
    ``client.register_client_auth_method(("client_secret_basic", encoder))``).

    Args:
        form_encoded: As in :func:`basic_auth_header`.
    """

    def encode(
        client: Any, method: str, uri: str, headers: dict[str, str], body: str
    ) -> tuple[str, dict[str, str], str]:
        headers["Authorization"] = basic_auth_header(
            client.client_id or "", client.client_secret or "", form_encoded=form_encoded
        )
        return uri, headers, body

    return encode


def encode_client_secret_basic(
    client: Any, method: str, uri: str, headers: dict[str, str], body: str
) -> tuple[str, dict[str, str], str]:
    """HTTP Basic client authentication, form-encoding first (RFC 6749 §2.3.1).

    authlib's own encoder skips the form-encoding step and fails on non-Latin-1
    characters; a client ID or secret with ``:`` or ``%`` needs it too.
    """
    return basic_encoder(form_encoded=True)(client, method, uri, headers, body)


def client_secret_basic(
    client_id: str, client_secret: str, *, form_encoded: bool = True
) -> httpx2.BasicAuth:
    """The same header as :func:`basic_auth_header`, as an HTTPX auth.

    Passed as ``auth=`` to authlib's token requests, it sets the header on the
    request in place; authlib's own client auth re-reads the body and builds a
    second request, a tenth of a refresh's CPU on loopback.

    Args:
        form_encoded: As in :func:`basic_auth_header`.
    """
    if form_encoded:
        return httpx2.BasicAuth(*_form_encoded(client_id, client_secret))
    return httpx2.BasicAuth(client_id, client_secret)


def form_encoding_changes(client_id: str, client_secret: str) -> bool:
    """Whether RFC 6749 §2.3.1's form-encoding changes the client ID or secret (any
    character outside ``A-Z a-z 0-9 - . _ ~``, e.g. ``s3cr:t+/ %&=x``); only then do
    the two forms of :func:`basic_auth_header` differ."""
    return _form_encoded(client_id, client_secret) != (client_id, client_secret)


def client_refused(error: BaseException) -> bool:
    """Whether ``error`` (from :func:`translate_error`) says the provider refused the
    app's credentials: ``invalid_client``, or HTTP 401 without a code (RFC 6749 §5.2).
    ``unauthorized_client`` (the grant is not allowed) is not a refusal of the
    credentials."""
    return isinstance(error, ClientAuthError) and error.error in (None, "invalid_client")


def retry_with_unencoded_basic(
    error: BaseException, *, method: str, client_id: str, client_secret: str | None
) -> bool:
    """Whether a request refused with ``error`` is worth sending once more with the
    unencoded form of HTTP Basic (``basic_auth_header(..., form_encoded=False)``).

    True only for ``client_secret_basic``, when :func:`client_refused` and the
    form-encoding changes the credentials (so the other form is really different).
    """
    return (
        method == "client_secret_basic"
        and bool(client_secret)
        and client_refused(error)
        and form_encoding_changes(client_id, client_secret or "")
    )


def _form_encoded(client_id: str, client_secret: str) -> tuple[str, str]:
    """RFC 6749 §2.3.1: the client ID and secret form-encoded, before HTTP Basic."""
    return quote(client_id, safe=""), quote(client_secret, safe="")


REVOCATION_AUTH_DEFAULT = ("client_secret_basic",)
"""RFC 8414 §2: the revocation endpoint's client authentication when the metadata
does not list ``revocation_endpoint_auth_methods_supported``."""


def can_revoke_with(method: str, supported: Sequence[str] | None) -> bool:
    """Whether a client authenticating with ``method`` (``client_secret_basic``,
    ``client_secret_post``, ``none``) may call the revocation endpoint.

    Args:
        method: The app's client authentication method.
        supported: The metadata's ``revocation_endpoint_auth_methods_supported``
            (RFC 8414 §2); ``None`` or empty when the document does not list it,
            which means ``client_secret_basic`` only.
    """
    return method in (supported or REVOCATION_AUTH_DEFAULT)


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def retry_after(response: httpx2.Response, now: float | None = None) -> float | None:
    """Seconds ``Retry-After`` asks to wait (RFC 9110 §10.2.3: delay-seconds or an
    HTTP-date), cut to 0…:data:`MAX_RETRY_AFTER`; ``None`` when absent or unreadable.

    Args:
        response: The answer.
        now: The current time, UTC epoch seconds, for an HTTP-date (default: the clock).
    """
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if now is None:
        import time

        now = time.time()
    delay = when - now
    if not math.isfinite(delay):
        return None
    return min(max(delay, 0.0), MAX_RETRY_AFTER)


def _retry_after(response: httpx2.Response) -> float | None:
    return retry_after(response)


def _excerpt(response: httpx2.Response) -> str:
    try:
        text = " ".join(response.text.split())
    except (httpx2.ResponseNotRead, UnicodeDecodeError, LookupError):
        return ""
    return provider_text(text, limit=121)


def _provider_words(response: httpx2.Response) -> str | None:
    """What a refusal says, in the provider's own words: its ``error_description``,
    ``error`` or ``message``, else the start of the body; ``None`` when it is empty."""
    try:
        data = response.json()
    except (ValueError, httpx2.ResponseNotRead, UnicodeDecodeError, LookupError):
        data = None
    if isinstance(data, dict):
        for key in ("error_description", "error", "message"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return provider_text(" ".join(value.split()), limit=200)
    return _excerpt(response) or None


def _label(operation: Operation) -> str:
    return "revocation endpoint" if operation == "revoke" else "token endpoint"


_APP_HINT = "(A, then e in the app; or 'ringplus-tui app add')"


def translate_error(
    err: Exception,
    *,
    url: str,
    timeout: float | None = None,
    operation: Operation = "token",
) -> RingPlusError:
    """Turn an authlib, HTTPX or decoding error into one of ours.

    The rule for a refusal (RFC 6749 §5.2, and providers as they behave):

    * ``invalid_client`` / ``unauthorized_client``, or HTTP 401:
      :class:`ClientAuthError` (the app's credentials; the grant is untouched).
    * On ``operation="refresh"``: ``invalid_grant``, any other code that is not
      about the app (e.g. ``invalid_request`` "Refresh token inactive"), or an
      HTTP 400 with no code at all: :class:`NeedsSignInError` with the provider's
      own words.
    * HTTP 404 or 405: :class:`EndpointError` (the URL is not that endpoint).
    * HTTP 408, 425, 429, 5xx, ``temporarily_unavailable``, connection failures
      and timeouts: :class:`NetworkError` with ``retry_after`` from ``Retry-After``.

    Args:
        err: What authlib or HTTPX raised during the request.
        url: The endpoint that was called (only its host is shown).
        timeout: The read timeout in seconds, named in timeout messages.
        operation: What the request was (see :data:`Operation`).

    Returns:
        The error to raise. Our own errors (:class:`DeadlineError`,
        :class:`ResponseTooLargeError` from :class:`SharedTransport`) are returned
        as they are.
    """
    host = _host(url)
    label = _label(operation)
    if isinstance(err, RingPlusError):
        return err
    if isinstance(err, OAuthError):
        # Provider text: control characters escaped, echoed secrets redacted.
        error = provider_text(err.error or "error", limit=100)
        description = provider_text(err.description) if err.description else None
        text = f"{host} refused the request ({error})"
        text += f": {description}" if description else "."
        text = text.rstrip(".") + "."
        if error in _TEMPORARY_ERRORS:
            return NetworkError(
                f"{text} This is usually temporary: try again later; nothing was changed."
            )
        if operation == "refresh" and error not in _APP_ERRORS:
            return NeedsSignInError(
                f"{host} no longer accepts the refresh token ({error}"
                + (f": {description}" if description else "")
                + "). Sign in again; the stored token was kept.",
                error=error,
                description=description,
            )
        advice = _TOKEN_ERROR_ADVICE.get(error)
        if advice:
            text += f" {advice}"
        if error in ("invalid_client", "unauthorized_client"):
            return ClientAuthError(text, error=error, description=description)
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
        return _status_error(err.response, host=host, label=label, operation=operation)
    if isinstance(err, httpx2.RequestError):
        reason = str(err).strip() or type(err).__name__
        return NetworkError(f"The request to {host} failed ({reason:.100}). Try again later.")
    if isinstance(err, ValueError):
        return TokenEndpointError(
            f"{host} sent an answer that is not a JSON token response. Check the app's {label}.",
            title="Unexpected token response",
        )
    return RingPlusError(f"Unexpected failure talking to {host}: {type(err).__name__}.")


def _status_error(
    response: httpx2.Response, *, host: str, label: str, operation: Operation
) -> RingPlusError:
    """The error for an HTTP error status whose body is no RFC 6749 §5.2 error object."""
    status = response.status_code
    words = _provider_words(response)
    said = f": {words}" if words else " with no explanation"
    if status in _TRANSIENT_STATUS or status >= 500:
        return NetworkError(
            f"{host} answered HTTP {status} ({response.reason_phrase}). This is usually "
            "temporary: try again later; nothing was changed.",
            retry_after=retry_after(response),
        )
    if status in (404, 405):
        return EndpointError(
            f"{host} answered HTTP {status} ({response.reason_phrase}) at "
            f"{response.request.url.path if _has_request(response) else 'the URL'}: "
            f"it is not the app's {label}. Check the app's {label} {_APP_HINT}.",
        )
    if status == 401:
        return ClientAuthError(
            f"{host} refused the app's credentials (HTTP 401{said}). "
            + _TOKEN_ERROR_ADVICE["invalid_client"],
        )
    if operation == "refresh" and status == 400:
        return NeedsSignInError(
            f"{host} no longer accepts the refresh token (HTTP 400{said}). Sign in again; "
            "the stored token was kept.",
            description=words,
        )
    if operation == "revoke":
        return TokenEndpointError(
            f"{host} refused to revoke the token (HTTP {status}{said}). Some providers "
            "let only confidential clients revoke; 'forget' removes the tokens from this "
            "machine without revoking them.",
            title="Revocation refused",
        )
    return TokenEndpointError(
        f"{host} answered HTTP {status} with something that is not a token response: "
        f"{_excerpt(response)!r}. Check the app's {label}.",
        title="Unexpected token response",
    )


def _has_request(response: httpx2.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises RuntimeError when unset
    except RuntimeError:
        return False
    return True


def check_token_response(response: httpx2.Response) -> httpx2.Response:
    """Compliance hook for token and refresh responses (authlib's
    ``access_token_response`` / ``refresh_token_response``).

    Applies :func:`form_encoded_to_json`, then raises :class:`httpx2.HTTPStatusError`
    for an error status whose body is not an RFC 6749 §5.2 error object, and for
    404, 405, 408, 425, 429 and 5xx whatever the body says, so that
    :func:`translate_error` sees the status (and ``Retry-After``) instead of
    authlib's bare error code.

    Raises:
        httpx2.HTTPStatusError: As above.
    """
    response = form_encoded_to_json(response)
    status = response.status_code
    if status < 400:
        return response
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError, LookupError):
        data = None
    error_object = isinstance(data, dict) and isinstance(data.get("error"), str)
    if status in (404, 405) or status in _TRANSIENT_STATUS or status >= 500 or not error_object:
        raise httpx2.HTTPStatusError(f"HTTP {status}", request=response.request, response=response)
    return response


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


ResponseKind = Literal["token", "discovery", "jwks", "api"]
"""The kinds of answer with their own size limit."""

RESPONSE_KIND = "ringplus_response_kind"
"""Request extension naming the :data:`ResponseKind` of a request, when guessing it
from the request (see :func:`response_kind`) would not do."""


@dataclass(frozen=True)
class ResponseLimits:
    """The largest answer body accepted per kind of request, in bytes (after ``gzip`` or
    ``deflate`` decoding). Reading stops at the limit, so memory stays bounded.

    Attributes:
        token: Token, refresh and revocation responses, and any other POST.
        discovery: Metadata documents (``/.well-known/…``).
        jwks: Key sets (a ``jwks_uri``).
        api: Everything else: the provider's API, sign-in pages.
    """

    token: int = MIB
    discovery: int = MIB
    jwks: int = MIB
    api: int = MIB

    def limit(self, kind: ResponseKind) -> int:
        """The limit for ``kind``, in bytes."""
        value: int = getattr(self, kind)
        return value


DEFAULT_LIMITS = ResponseLimits()
"""1 MiB for every kind of answer."""

_NAMES = {
    "token": "token response",
    "discovery": "metadata document",
    "jwks": "key set",
    "api": "answer",
}


def response_kind(request: httpx2.Request) -> ResponseKind:
    """The kind of answer ``request`` expects: the :data:`RESPONSE_KIND` extension when
    set; else ``token`` for a POST, ``discovery`` for a ``/.well-known/`` path,
    ``jwks`` for a path ending in ``jwks``, ``jwks.json``, ``certs`` or ``keys``,
    and ``api`` for the rest."""
    kind = request.extensions.get(RESPONSE_KIND)
    if kind in ("token", "discovery", "jwks", "api"):
        return kind  # type: ignore[no-any-return]
    if request.method == "POST":
        return "token"
    path = request.url.path.lower()
    if "/.well-known/" in path:
        return "discovery"
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if last in ("jwks", "jwks.json", "certs", "keys") or last.endswith(".jwks"):
        return "jwks"
    return "api"


def _deadline_error(request: httpx2.Request, deadline: float) -> DeadlineError:
    return DeadlineError(
        f"{request.url.host} did not finish answering within {deadline:g} s. Check your "
        "connection and try again later; nothing was changed.",
        deadline=deadline,
    )


def _too_large(request: httpx2.Request, kind: ResponseKind, limit: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"{request.url.host} sent a {_NAMES[kind]} larger than {limit / MIB:g} MiB, so "
        f"reading it was stopped; nothing was changed. Check the URL "
        f"({request.url.scheme}://{request.url.host}{request.url.path}).",
        limit=limit,
    )


class _BoundedStream(httpx2.AsyncByteStream):
    """An answer body read under an absolute deadline and a size limit.

    A ``gzip`` or ``deflate`` body is decoded here, in steps of at most the bytes
    still allowed, so the limit holds for what is decoded too (a small compressed
    body cannot grow to gigabytes); the response then carries no
    ``Content-Encoding`` and HTTPX passes the bytes on as they are.
    """

    def __init__(
        self,
        inner: httpx2.AsyncByteStream,
        *,
        request: httpx2.Request,
        deadline_at: float,
        deadline: float,
        kind: ResponseKind,
        limit: int,
        encoding: str | None = None,
    ) -> None:
        self._inner = inner
        self._request = request
        self._deadline_at = deadline_at
        self._deadline = deadline
        self._kind: ResponseKind = kind
        self._limit = limit
        self._encoding = encoding

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import zlib

        received = 0
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 32) if self._encoding is not None else None
        chunks = self._inner.__aiter__()
        while True:
            try:
                async with asyncio.timeout_at(self._deadline_at):
                    raw = await anext(chunks)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise _deadline_error(self._request, self._deadline) from None
            if decoder is None:
                received += len(raw)
                if received > self._limit:
                    raise _too_large(self._request, self._kind, self._limit)
                yield raw
                continue
            while raw:
                try:
                    out = decoder.decompress(raw, self._limit - received + 1)
                except zlib.error:
                    if self._encoding != "deflate" or received:
                        raise httpx2.DecodingError(
                            f"The {self._encoding} body cannot be decoded."
                        ) from None
                    decoder = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate (RFC 1951)
                    self._encoding = "raw deflate"
                    continue
                received += len(out)
                if received > self._limit:
                    raise _too_large(self._request, self._kind, self._limit)
                if out:
                    yield out
                raw = decoder.unconsumed_tail
        if decoder is not None:
            rest = decoder.flush()
            if received + len(rest) > self._limit:
                raise _too_large(self._request, self._kind, self._limit)
            if rest:
                yield rest

    async def aclose(self) -> None:
        await self._inner.aclose()


class SharedTransport(httpx2.AsyncBaseTransport):
    """Lends one HTTP client's connection pool to many HTTPX clients, and bounds every
    request in time and size.

    The service makes an authlib client per app and a short-lived client (with
    its own cookies) per password sign-in; they all send through one inner
    :class:`httpx2.AsyncClient`, which honours the proxy and CA-bundle
    environment variables (``HTTPS_PROXY``, ``NO_PROXY``, ``SSL_CERT_FILE`` …)
    like any HTTPX client. Closing an outer client leaves the pool open; the
    service closes it once with :meth:`close_pool`.

    Each request must be answered in full within ``deadline`` seconds (on top of
    the clients' connect and read timeouts, :data:`DEFAULT_TIMEOUT`), else
    :class:`DeadlineError`; a body larger than its kind's limit
    (:func:`response_kind`) raises :class:`ResponseTooLargeError` as soon as the
    limit is passed (or at once, from ``Content-Length``). Both come out of the
    outer client's ``send``.

    Args:
        client: The inner client that owns the pool.
        deadline: Seconds per request in all; default :data:`DEFAULT_DEADLINE`.
        limits: Size limits; default :data:`DEFAULT_LIMITS`.
    """

    def __init__(
        self,
        client: httpx2.AsyncClient,
        *,
        deadline: float | None = None,
        limits: ResponseLimits | None = None,
    ) -> None:
        self.client = client
        self.deadline = DEFAULT_DEADLINE if deadline is None else deadline
        self.limits = DEFAULT_LIMITS if limits is None else limits

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request`` through the shared pool (the body is streamed to the caller).

        The outer client has already applied auth, redirects and timeouts; only the
        inner client's choice of transport (a proxy, per the environment) is needed,
        so the request goes straight to that transport instead of through a second
        full ``send``.

        Raises:
            DeadlineError: No complete answer within :attr:`deadline` seconds.
            ResponseTooLargeError: The answer's ``Content-Length`` or body passed
                its limit.
        """
        remember_request(request)  # so an echo of its secrets is redacted from errors
        deadline_at = asyncio.get_running_loop().time() + self.deadline
        if "accept-encoding" in request.headers:
            request.headers["Accept-Encoding"] = "gzip, deflate"  # the ones bounded here
        kind = response_kind(request)
        limit = self.limits.limit(kind)
        try:
            async with asyncio.timeout_at(deadline_at):
                response = await self._send(request)
        except TimeoutError:
            raise _deadline_error(request, self.deadline) from None
        length = response.headers.get("content-length", "")
        if length.isascii() and length.isdigit() and int(length) > limit:
            await response.aclose()
            raise _too_large(request, kind, limit)
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            del response.headers["content-encoding"]
        else:
            encoding = ""  # identity, or one HTTPX decodes (br, zstd): counted as sent
        response.stream = _BoundedStream(
            cast(httpx2.AsyncByteStream, response.stream),
            request=request,
            deadline_at=deadline_at,
            deadline=self.deadline,
            kind=kind,
            limit=limit,
            encoding=("deflate" if encoding == "deflate" else "gzip") if encoding else None,
        )
        return response

    async def _send(self, request: httpx2.Request) -> httpx2.Response:
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
