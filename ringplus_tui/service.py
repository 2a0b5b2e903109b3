"""The OAuth service under every screen and the command line. No Textual here.

It owns the settings, the secret store and one HTTP connection pool, and runs
the authorization-code flow with PKCE (RFC 6749 §4.1, RFC 7636) and refresh
(RFC 6749 §6) through authlib's :class:`AsyncOAuth2Client`. Every error leaving
it is a :class:`~ringplus_tui.errors.RingPlusError`; stored accounts and tokens
change only when an operation succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from base64 import b64encode
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from .errors import (
    ConfigError,
    NeedsSignInError,
    NetworkError,
    RingPlusError,
    StateMismatchError,
    TokenEndpointError,
)
from .models import Account, AppConfig, PendingAuthorization, Token
from .redirect import check_redirect_uri, parse_authorization_response
from .secret_store import (
    SecretStore,
    SecretVault,
    access_token_key,
    client_secret_key,
    refresh_token_key,
)
from .settings import Settings, SettingsStore
from .tokens import token_from_response
from .validation import check_name

DEFAULT_TIMEOUT = httpx2.Timeout(30.0, connect=10.0)
"""Seconds for each HTTP request: 10 s to connect, 30 s for the rest."""

_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}

Clock = Callable[[], float]
"""A function returning the current time as UTC epoch seconds."""


def _encode_client_secret_basic(
    client: Any, method: str, uri: str, headers: dict[str, str], body: str
) -> tuple[str, dict[str, str], str]:
    """HTTP Basic client authentication, form-encoding first (RFC 6749 §2.3.1).

    authlib's own encoder skips the form-encoding step and fails on non-Latin-1
    characters; a client ID or secret with ``:`` or ``%`` needs it too.
    """
    user = quote(client.client_id or "", safe="")
    password = quote(client.client_secret or "", safe="")
    headers["Authorization"] = "Basic " + b64encode(f"{user}:{password}".encode()).decode()
    return uri, headers, body


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
    return text[:120] + ("…" if len(text) > 120 else "")


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
        error = str(err.error or "error")
        description = err.description or None
        text = f"{host} refused the request ({error})"
        text += f": {description}" if description else "."
        return TokenEndpointError(text.rstrip(".") + ".", error=error, description=description)
    if isinstance(err, httpx2.TimeoutException):
        limit = f" within {timeout:g} s" if timeout else ""
        return NetworkError(
            f"{host} did not answer{limit} ({type(err).__name__}). "
            "Check your connection and try again; nothing was changed."
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


class OAuthService:
    """Apps, accounts and their tokens, with the flows that change them.

    Args:
        settings_store: Where ``config.toml`` lives.
        secret_store: Where secrets live (OS keyring, or memory for the sandbox).
        transport: HTTPX transport; tests pass one, production uses a pooled
            :class:`httpx2.AsyncHTTPTransport` shared by every request.
        clock: Returns the current time, UTC epoch seconds.
        timeout: HTTP timeouts.
        token_factory: Makes random strings for ``state`` and ``code_verifier``
            (tests pass a deterministic one).

    Raises:
        ConfigError: The settings file cannot be read.
    """

    def __init__(
        self,
        settings_store: SettingsStore,
        secret_store: SecretStore,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Clock = time.time,
        timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
        token_factory: Callable[[int], str] = secrets.token_urlsafe,
    ) -> None:
        self._store = settings_store
        self._settings = settings_store.load()
        self.vault = SecretVault(secret_store)
        self._transport = transport or httpx2.AsyncHTTPTransport()
        self._timeout = timeout
        self.clock = clock
        self._token_factory = token_factory
        self._clients: dict[str, tuple[tuple[str, ...], AsyncOAuth2Client]] = {}
        self._pending: dict[str, PendingAuthorization] = {}
        self._used_states: set[str] = set()
        self._refreshing: dict[str, asyncio.Future[Account]] = {}
        self._save_lock = asyncio.Lock()

    # -- reading ----------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The current settings (immutable; replaced after each change)."""
        return self._settings

    @property
    def secret_backend(self) -> str:
        """Human name of the secret store in use."""
        return self.vault.store.description

    def pending(self, account: str) -> PendingAuthorization | None:
        """The newest unexpired pending authorization of ``account``, if any."""
        now = self.clock()
        found = [p for p in self._pending.values() if p.account == account and p.expires_at > now]
        return max(found, key=lambda p: p.created_at, default=None)

    async def access_token(self, account: str) -> str | None:
        """Return the stored access token of ``account`` (whether or not it expired).

        Raises:
            ConfigError: No such account.
            SecretStoreError: The keyring failed.
        """
        self._settings.account(account)
        return await self.vault.get(access_token_key(account))

    # -- changing apps and accounts ---------------------------------------

    async def _save(self, settings: Settings) -> None:
        await asyncio.to_thread(self._store.save, settings)
        self._settings = settings

    async def save_app(self, app: AppConfig, client_secret: str | None) -> None:
        """Add or replace an app; store its client secret when one is given.

        Args:
            app: The app (already validated, see :func:`~ringplus_tui.validation.build_app`).
            client_secret: The new client secret, or ``None`` to keep the stored one.

        Raises:
            ConfigError: No secret given for a new app, or the settings file
                cannot be written.
            SecretStoreError: The keyring failed; then nothing was changed.
        """
        async with self._save_lock:
            if client_secret is not None and client_secret.strip():
                await self.vault.set(client_secret_key(app.name), client_secret.strip())
            elif app.name not in self._settings.apps:
                raise ConfigError(
                    "The client secret is required for a new app: copy it from the app's "
                    "settings at the provider.",
                )
            await self._save(self._settings.with_app(app))
            self._clients.pop(app.name, None)

    async def add_account(self, name: str, app: str) -> Account:
        """Add an account that signs in through ``app``; an existing one is kept.

        Args:
            name: The account's name.
            app: The name of an existing app.

        Returns:
            The account (existing accounts keep their tokens and switch to ``app``).

        Raises:
            ConfigError: Invalid name, unknown app, or the settings cannot be written.
        """
        name = check_name("account", name, label="Account name")
        self._settings.app(app)
        async with self._save_lock:
            existing = self._settings.accounts.get(name)
            if existing is not None and existing.app == app:
                return existing
            account = replace(existing, app=app) if existing else Account(name=name, app=app)
            await self._save(self._settings.with_account(account))
            return account

    # -- HTTP --------------------------------------------------------------

    async def _client(self, app: AppConfig, *, need_secret: bool) -> AsyncOAuth2Client:
        secret = await self.vault.get(client_secret_key(app.name))
        if need_secret and not secret:
            raise ConfigError(
                f"The app '{app.name}' has no client secret in the keyring. Enter it again "
                "on the app credentials screen (key c).",
                title="Client secret missing",
            )
        fingerprint = (
            app.client_id,
            secret or "",
            app.redirect_uri,
            app.provider.token_endpoint_auth_method,
        )
        cached = self._clients.get(app.name)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        client = AsyncOAuth2Client(
            client_id=app.client_id,
            client_secret=secret,
            token_endpoint_auth_method=app.provider.token_endpoint_auth_method,
            redirect_uri=app.redirect_uri,
            code_challenge_method="S256",
            transport=self._transport,
            timeout=self._timeout,
        )
        client.register_client_auth_method(("client_secret_basic", _encode_client_secret_basic))
        self._clients[app.name] = (fingerprint, client)
        return client

    async def aclose(self) -> None:
        """Close the connection pool. Call once, when the program ends."""
        for _, client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        await self._transport.aclose()

    # -- the authorization-code flow ---------------------------------------

    async def start_authorization(self, account: str) -> PendingAuthorization:
        """Start signing ``account`` in: make the authorization URL (RFC 6749 §4.1.1).

        A fresh random ``state`` and a PKCE S256 ``code_verifier`` (RFC 7636
        §4.1-4.2) are kept with the exact ``redirect_uri`` for 10 minutes.

        Args:
            account: The account's name.

        Returns:
            The pending authorization; open its ``authorization_url``.

        Raises:
            ConfigError: Unknown account or app.
            SecretStoreError: The keyring failed.
        """
        record = self._settings.account(account)
        app = self._settings.app(record.app)
        client = await self._client(app, need_secret=False)
        now = self.clock()
        self._pending = {s: p for s, p in self._pending.items() if p.expires_at > now}
        state = self._token_factory(32)
        code_verifier = self._token_factory(64)
        url, _ = client.create_authorization_url(
            app.provider.authorization_endpoint,
            state=state,
            code_verifier=code_verifier,
            redirect_uri=app.redirect_uri,
            scope=" ".join(app.scopes) or None,
        )
        pending = PendingAuthorization(
            account=account,
            app=app.name,
            state=state,
            code_verifier=code_verifier,
            redirect_uri=app.redirect_uri,
            authorization_url=url,
            created_at=now,
        )
        self._pending[state] = pending
        return pending

    async def complete_authorization(self, pasted: str) -> Account:
        """Finish a sign-in from the pasted redirected URL (RFC 6749 §4.1.2-4.1.4).

        The URL is checked before any request: an ``error=`` response, a
        ``state`` that matches no pending authorization (or an expired one), a
        URL that is not the registered ``redirect_uri``, and a missing ``code``
        are refused without contacting the token endpoint. The URL is routed to
        the account whose pending ``state`` it carries.

        Args:
            pasted: What the person pasted (cleaned here).

        Returns:
            The signed-in account with its new token metadata.

        Raises:
            AuthorizationResponseError: The URL cannot be used (see above).
            TokenEndpointError: The provider refused the code.
            NetworkError: Temporary failure; the pending sign-in is kept, so
                the same URL can be submitted again.
            SecretStoreError: The token could not be stored.
        """
        response = parse_authorization_response(pasted)
        if response.error is not None:
            if response.state:
                self._pending.pop(response.state, None)
            response.raise_for_error()
        if not response.state:
            raise StateMismatchError(
                "The URL has no 'state', so it cannot be matched to a sign-in started here. "
                "Copy the whole address bar, or start the sign-in again."
            )
        pending = self._pending.get(response.state)
        if pending is None:
            if response.state in self._used_states:
                raise StateMismatchError(
                    "This URL was already used to sign in; an authorization code works "
                    "only once. Start the sign-in again for a new one.",
                    title="URL already used",
                )
            raise StateMismatchError(
                "This URL does not belong to a sign-in started here (the app may have "
                "restarted since). Start the sign-in again and paste the new URL."
            )
        if self.clock() > pending.expires_at:
            self._pending.pop(response.state, None)
            raise StateMismatchError(
                "This sign-in was started more than 10 minutes ago and has expired. "
                "Start it again and paste the new URL."
            )
        if response.url is not None:
            check_redirect_uri(response.url, pending.redirect_uri)
        record = self._settings.account(pending.account)
        app = self._settings.app(pending.app)
        client = await self._client(app, need_secret=True)
        del self._pending[response.state]
        self._used_states.add(response.state)
        try:
            data = await client.fetch_token(
                app.provider.token_endpoint,
                grant_type="authorization_code",
                code=response.code,
                code_verifier=pending.code_verifier,
                redirect_uri=pending.redirect_uri,
            )
        except Exception as err:
            error = translate_error(
                err, url=app.provider.token_endpoint, timeout=self._read_timeout
            )
            if isinstance(error, NetworkError):
                # The code may still be good: let the person submit the same URL again.
                self._used_states.discard(response.state)
                self._pending[response.state] = pending
            elif isinstance(error, TokenEndpointError) and error.error == "invalid_grant":
                error = TokenEndpointError(
                    "The provider rejected the authorization code "
                    f"({error.description or 'invalid_grant'}). "
                    "A code works once and only for a few minutes, and must be copied whole: "
                    "start the sign-in again and paste the new URL.",
                    error=error.error,
                    description=error.description,
                    title="Code rejected",
                )
            raise error from err
        token = self._token(data, app, record, previous_refresh_token=None)
        return await self._store_token(record.name, token, refreshed=False)

    @property
    def _read_timeout(self) -> float | None:
        return self._timeout.read

    def _token(
        self,
        data: Mapping[str, Any],
        app: AppConfig,
        account: Account,
        *,
        previous_refresh_token: str | None,
    ) -> Token:
        return token_from_response(
            dict(data),
            now=self.clock(),
            default_lifetime=app.provider.default_token_lifetime,
            requested_scope=account.scope or app.scopes,
            previous_refresh_token=previous_refresh_token,
        )

    async def _store_token(self, name: str, token: Token, *, refreshed: bool) -> Account:
        # The refresh token goes first: a rotated one must never be lost, even
        # if storing the access token then fails.
        if token.refresh_token:
            await self.vault.set(refresh_token_key(name), token.refresh_token)
        else:
            await self.vault.delete(refresh_token_key(name))
        await self.vault.set(access_token_key(name), token.access_token)
        async with self._save_lock:
            current = self._settings.account(name)
            account = replace(
                current,
                expires_at=token.expires_at,
                obtained_at=token.obtained_at,
                scope=token.scope,
                token_type=token.token_type,
                has_refresh_token=bool(token.refresh_token),
                last_refresh_at=token.obtained_at if refreshed else current.last_refresh_at,
                lifetime_assumed=token.lifetime_assumed,
                needs_sign_in=False,
            )
            await self._save(self._settings.with_account(account))
        return account

    # -- refresh -------------------------------------------------------------

    async def refresh(self, account: str) -> Account:
        """Refresh ``account``'s access token (RFC 6749 §6).

        Only one refresh per account runs at a time: a second call while one
        is running waits for the same result. A response without a refresh
        token keeps the old one. A failure never deletes or overwrites a
        stored token.

        Args:
            account: The account's name.

        Returns:
            The account with its new token metadata.

        Raises:
            ConfigError: Unknown account or app, or no client secret.
            NeedsSignInError: No refresh token, or the provider rejected it
                (``invalid_grant``); the account is marked ``needs-sign-in``.
            TokenEndpointError: Another refusal (e.g. ``invalid_client``).
            NetworkError: Temporary failure; nothing changed.
            SecretStoreError: The keyring failed.
        """
        running = self._refreshing.get(account)
        if running is None:
            running = asyncio.ensure_future(self._refresh(account))
            self._refreshing[account] = running
            running.add_done_callback(lambda done: self._refresh_done(account, done))
        # Shielded: if the caller is cancelled, the refresh still finishes and
        # stores a rotated refresh token.
        return await asyncio.shield(running)

    def _refresh_done(self, account: str, done: asyncio.Future[Account]) -> None:
        self._refreshing.pop(account, None)
        if not done.cancelled():
            done.exception()  # retrieved here, so an abandoned refresh never warns

    async def _refresh(self, name: str) -> Account:
        record = self._settings.account(name)
        app = self._settings.app(record.app)
        refresh_token = await self.vault.get(refresh_token_key(name))
        if not refresh_token:
            raise NeedsSignInError(
                f"'{name}' has no refresh token, so it cannot be refreshed. Sign in again (key s)."
            )
        client = await self._client(app, need_secret=True)
        try:
            data = await client.refresh_token(
                app.provider.token_endpoint, refresh_token=refresh_token
            )
        except Exception as err:
            error = translate_error(
                err, url=app.provider.token_endpoint, timeout=self._read_timeout
            )
            if isinstance(error, TokenEndpointError) and error.error == "invalid_grant":
                error = NeedsSignInError(
                    f"The provider no longer accepts the refresh token of '{name}' "
                    f"({error.description or 'invalid_grant'}). Sign in again (key s); "
                    "the stored token was kept.",
                    error=error.error,
                    description=error.description,
                )
                with contextlib.suppress(RingPlusError):
                    await self._mark_needs_sign_in(name)
            raise error from err
        token = self._token(data, app, record, previous_refresh_token=refresh_token)
        return await self._store_token(name, token, refreshed=True)

    async def _mark_needs_sign_in(self, name: str) -> None:
        async with self._save_lock:
            current = self._settings.account(name)
            if not current.needs_sign_in:
                await self._save(self._settings.with_account(replace(current, needs_sign_in=True)))
