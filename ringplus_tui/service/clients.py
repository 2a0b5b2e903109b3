"""The HTTP connection pool, one authlib client per app, endpoint checks and discovery.

An app's client is made on first use and kept while the app's record is unchanged,
so a refresh does not read the client secret from the keyring; it is made again
(and the secret read again) after the app changes or the provider refuses the
client. Every third-party error leaves through :func:`translating`. No Textual.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ringplus_tui.core.errors import ConfigError, RingPlusError
from ringplus_tui.core.models import AppConfig
from ringplus_tui.core.safe_text import safe_text
from ringplus_tui.core.validation import check_url
from ringplus_tui.store.secret_store import SecretVault, client_secret_key
from ringplus_tui.store.trace import Trace
from ringplus_tui.store.trace import active as active_trace

from .hints import Hints
from .records import Clock

if TYPE_CHECKING:  # HTTP libraries load on first use, so start-up and 'token' stay fast
    import httpx2
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    from ringplus_tui.oauth.discovery import Discovery
    from ringplus_tui.oauth.http import Operation, SharedTransport

_TRACE_START = "ringplus_trace_start"
"""The request extension holding when a traced request was sent (monotonic seconds)."""

DEFAULT_TIMEOUT = 30.0
"""Seconds an HTTP request may take (connecting: at most :data:`CONNECT_TIMEOUT`)."""
CONNECT_TIMEOUT = 10.0
"""Seconds connecting may take."""


@contextlib.contextmanager
def translating(
    url: str, *, timeout: float | None, operation: Operation = "token"
) -> Iterator[None]:
    """Turn an authlib, HTTPX or decoding error raised inside into one of ours.

    Ours pass through unchanged; see :func:`ringplus_tui.oauth.http.translate_error`
    for the rule on each refusal.

    Args:
        url: The endpoint being called (only its host is shown).
        timeout: The read timeout in seconds, named in timeout messages.
        operation: What the request is (``"token"``, ``"refresh"``, ``"revoke"``).

    Raises:
        NetworkError: A temporary failure (connection, timeout, HTTP 408/425/429/5xx).
        TokenEndpointError: A refusal (RFC 6749 §5.2) or another HTTP failure.
    """
    try:
        yield
    except RingPlusError:
        raise
    except Exception as err:
        from ringplus_tui.oauth.http import translate_error

        raise translate_error(err, url=url, timeout=timeout, operation=operation) from err


class Clients:
    """The shared HTTP pool and the per-app OAuth clients.

    Args:
        vault: Where the client secrets are.
        hints: How messages name the app's settings.
        clock: Returns the current time, UTC epoch seconds.
        transport: HTTPX transport for tests; by default one pooled client, which
            honours the proxy environment variables, carries every request.
        timeout: Seconds an HTTP request may take (connecting: at most 10 s).
    """

    def __init__(
        self,
        vault: SecretVault,
        hints: Hints,
        clock: Clock,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.vault = vault
        self.hints = hints
        self.clock = clock
        self.timeout = timeout
        """Seconds an HTTP request may take."""
        self.proxy_warning: str | None = None
        """Set when the proxy environment variables could not be used."""
        self._transport_override = transport
        self._shared: SharedTransport | None = None
        self._clients: dict[str, tuple[AppConfig, bool, AsyncOAuth2Client]] = {}
        self._checked_apps: set[AppConfig] = set()
        self._clock_warning: str | None = None
        self._clock_warned = False

    # -- the pool ------------------------------------------------------------

    def pool(self) -> SharedTransport:
        """The one connection pool, made on first use (HTTPX loads only then)."""
        if self._shared is None:
            import httpx2

            from ringplus_tui.oauth.http import SharedTransport

            timeout = httpx2.Timeout(self.timeout, connect=min(CONNECT_TIMEOUT, self.timeout))
            trace = active_trace()
            hooks = {} if trace is None else _trace_hooks(trace)
            try:
                pool = httpx2.AsyncClient(
                    transport=self._transport_override, timeout=timeout, event_hooks=hooks
                )
            except (ImportError, ValueError) as err:
                # e.g. ALL_PROXY=socks5://… without the socksio package, or a malformed URL.
                pool = httpx2.AsyncClient(
                    transport=self._transport_override,
                    timeout=timeout,
                    trust_env=False,
                    event_hooks=hooks,
                )
                self.proxy_warning = (
                    f"The proxy settings in the environment cannot be used ({err}); "
                    "connecting directly. Fix or unset HTTPS_PROXY, HTTP_PROXY and ALL_PROXY."
                )
            self._shared = SharedTransport(pool) if trace is None else _traced_shared(pool, trace)
        return self._shared

    def http(self) -> httpx2.AsyncClient:
        """The pooled HTTPX client for plain requests (discovery, key sets, the API)."""
        return self.pool().client

    def translating(
        self, url: str, *, operation: Operation = "token"
    ) -> contextlib.AbstractContextManager[None]:
        """:func:`translating` with this pool's read timeout."""
        return translating(url, timeout=self.timeout, operation=operation)

    async def aclose(self) -> None:
        """Close every client and the pool."""
        for _, _, client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        if self._shared is not None:
            await self._shared.close_pool()

    # -- per-app OAuth clients --------------------------------------------------

    async def client(self, app: AppConfig, *, need_secret: bool) -> AsyncOAuth2Client:
        """The OAuth client of ``app``; its client secret is read from the keyring only
        when the client is made.

        Args:
            app: The app's current record.
            need_secret: The request authenticates the client (RFC 6749 §2.3): a
                confidential app without a stored secret is refused.

        Raises:
            ConfigError: An endpoint is plain http off this machine, or the secret is
                needed and missing.
            SecretStoreError: The keyring failed.
        """
        if app not in self._checked_apps:
            self.check_endpoints(app)
            self._checked_apps.add(app)
        cached = self._clients.get(app.name)
        if cached is not None and cached[0] == app and (cached[1] or not need_secret):
            return cached[2]
        secret = None if app.public else await self.vault.get(client_secret_key(app.name))
        if need_secret and not app.public and not secret:
            raise ConfigError(
                f"The app '{app.name}' has no client secret in the keyring. "
                f"{self.hints.enter_secret(app.name)}",
                title="Client secret missing",
            )
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        from ringplus_tui.oauth.http import encode_client_secret_basic

        client = AsyncOAuth2Client(
            client_id=app.client_id,
            client_secret=secret,
            token_endpoint_auth_method=app.provider.token_endpoint_auth_method,
            revocation_endpoint_auth_method=app.provider.token_endpoint_auth_method,
            redirect_uri=app.redirect_uri,
            code_challenge_method="S256",
            transport=self.pool(),
            timeout=self.http().timeout,
        )
        client.register_client_auth_method(("client_secret_basic", encode_client_secret_basic))
        for hook in ("access_token_response", "refresh_token_response"):
            client.register_compliance_hook(hook, self._inspect_token_response)
        self._clients[app.name] = (app, app.public or bool(secret), client)
        return client

    def drop(self, app: str) -> None:
        """Forget the client of ``app``: the next request reads its secret again."""
        self._clients.pop(app, None)

    @staticmethod
    def client_auth(client: AsyncOAuth2Client, method: str) -> httpx2.Auth | None:
        """The ``auth=`` for a token or revocation request: HTTP Basic set in place for
        ``client_secret_basic`` (RFC 6749 §2.3.1), else ``None`` (authlib's own)."""
        if method != "client_secret_basic":
            return None
        from ringplus_tui.oauth.http import client_secret_basic

        return client_secret_basic(client.client_id or "", client.client_secret or "")

    def check_endpoints(self, app: AppConfig) -> None:
        """Refuse plain-http endpoints off this machine (RFC 6749 §3.1, §3.2 require TLS),
        and any URL outside the strict grammar of :mod:`ringplus_tui.core.urls`.

        Raises:
            ConfigError: One of the app's endpoints is not allowed; the message names
                the setting, the URL and why.
        """
        p = app.provider
        endpoints = [
            ("authorization_endpoint", p.authorization_endpoint, "Authorization endpoint"),
            ("token_endpoint", p.token_endpoint, "Token endpoint"),
        ]
        if p.revocation_endpoint:
            endpoints.append(("revocation_endpoint", p.revocation_endpoint, "Revocation endpoint"))
        for field, url, label in endpoints:
            self.check_sent_to(app, field, url, label=label)

    def check_sent_to(self, app: AppConfig, field: str, url: str, *, label: str) -> None:
        """Check, at the moment of use, a URL a token or secret is about to be sent to:
        https, or plain http only to loopback (RFC 6749 §3.1, §3.2, §7; RFC 6750 §5.3),
        under the strict grammar of :func:`ringplus_tui.core.urls.parse_url`. Saved
        settings are not checked when they load, so an app whose URL is now refused
        still loads and is refused here, with the reason.

        Args:
            app: The app the URL belongs to.
            field: The setting's name (``api_base``).
            url: The URL as saved.
            label: Human name of the setting ("API base URL").

        Raises:
            ConfigError: The URL is refused; nothing was sent. The message names the
                app, the setting, the URL (made safe to show) and why.
        """
        try:
            check_url(field, url, label=label)
        except ConfigError as err:
            shown = safe_text(url.strip(), limit=80)
            raise ConfigError(
                f"The app '{app.name}' cannot be used: {err.message} "
                f"(saved {label.lower()}: '{shown}'; nothing was sent to it.) "
                f"{self.hints.fix_app(app.name)}",
                title="Insecure endpoint",
            ) from None

    # -- token responses and discovery -----------------------------------------

    def take_clock_warning(self) -> str | None:
        """A warning, given once, that a token endpoint's clock differs from ours by more
        than 5 minutes (expiry times are then off by as much); ``None`` otherwise."""
        warning, self._clock_warning = self._clock_warning, None
        return warning

    def _inspect_token_response(self, response: httpx2.Response) -> httpx2.Response:
        from ringplus_tui.oauth.http import CLOCK_SKEW_LIMIT, check_token_response, clock_skew

        skew = clock_skew(response, self.clock())
        if skew is not None and abs(skew) > CLOCK_SKEW_LIMIT and not self._clock_warned:
            self._clock_warned = True
            direction = "ahead of" if skew > 0 else "behind"
            self._clock_warning = (
                f"The token endpoint's clock is {abs(skew) / 60:.0f} minutes {direction} this "
                "machine's. Countdowns use this machine's clock; check its time settings."
            )
        return check_token_response(response)

    async def discover(self, issuer: str) -> Discovery:
        """Find a provider's endpoints from its issuer URL (RFC 8414, OpenID Connect
        Discovery); see :func:`ringplus_tui.oauth.discovery.discover`.

        Raises:
            FieldError: The issuer is not an https URL (http only on loopback).
            DiscoveryError: No usable metadata, or it names another issuer.
            NetworkError: Temporary failure.
            TokenEndpointError: Another HTTP failure.
        """
        from ringplus_tui.oauth.discovery import discover

        with self.translating(issuer.strip()):
            return await discover(self.http(), issuer)


# -- the --debug trace of HTTP exchanges ---------------------------------------------


def traced_url(url: httpx2.URL) -> str:
    """``url`` for the trace: the values of secret query parameters (``access_token``,
    ``code``, … :data:`~ringplus_tui.oauth.sent_secrets.SECRET_FIELDS`) replaced by
    ``[redacted]``; the rest as sent."""
    from urllib.parse import parse_qsl, urlencode

    from ringplus_tui.core.safe_text import REDACTED
    from ringplus_tui.oauth.sent_secrets import SECRET_FIELDS

    base = str(url.copy_with(query=None, fragment=None))
    query = url.query.decode("latin-1")
    if not query:
        return base
    pairs = [
        (key, REDACTED if key.lower() in SECRET_FIELDS else value)
        for key, value in parse_qsl(query, keep_blank_values=True)
    ]
    return f"{base}?{urlencode(pairs, safe='[]')}"


def _trace_sent(trace: Trace, request: httpx2.Request) -> None:
    """Make the secrets ``request`` carries known to ``trace`` and note when it left."""
    import time

    from ringplus_tui.oauth.sent_secrets import remember_request, sent_secrets

    remember_request(request)
    trace.know(sent_secrets())
    request.extensions[_TRACE_START] = time.monotonic()


def _trace_answer(
    trace: Trace, request: httpx2.Request, outcome: str, *, began: float | None = None
) -> None:
    import time

    start = request.extensions.get(_TRACE_START) if began is None else began
    took = f" ({time.monotonic() - start:.3f} s)" if isinstance(start, float) else ""
    trace.write("http", f"{request.method} {traced_url(request.url)} -> {outcome}{took}")


def _trace_hooks(trace: Trace) -> dict[str, list[Any]]:
    """HTTPX event hooks that write each plain request (discovery, key sets, the API)
    of the pool's own client to ``trace``: method, URL, status, seconds taken."""

    async def on_request(request: httpx2.Request) -> None:
        _trace_sent(trace, request)

    async def on_response(response: httpx2.Response) -> None:
        _trace_answer(trace, response.request, str(response.status_code))

    return {"request": [on_request], "response": [on_response]}


def _traced_shared(pool: httpx2.AsyncClient, trace: Trace) -> SharedTransport:
    """A :class:`~ringplus_tui.oauth.http.SharedTransport` over ``pool`` that writes each
    exchange (token, revocation, password sign-in requests) to ``trace``."""
    from ringplus_tui.oauth.http import SharedTransport

    class TracedSharedTransport(SharedTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            import time

            _trace_sent(trace, request)
            began = time.monotonic()
            try:
                response = await super().handle_async_request(request)
            except BaseException as err:
                _trace_answer(trace, request, type(err).__name__, began=began)
                raise
            _trace_answer(trace, request, str(response.status_code), began=began)
            return response

    return TracedSharedTransport(pool)
