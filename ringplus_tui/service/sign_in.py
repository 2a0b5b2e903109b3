"""Signing an account in: the authorization-code flow with PKCE and its shortcuts.

RFC 6749 §4.1 with PKCE (RFC 7636), the pasted redirected URL or the loopback
redirect (RFC 8252 §7.3), the ``iss`` parameter (RFC 9207), the ``id_token``
(OpenID Connect Core §3.1.3.7) and the password shortcut. No Textual.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ringplus_tui.core.errors import (
    LoopbackUnavailableError,
    NetworkError,
    RingPlusError,
    StateMismatchError,
    TokenEndpointError,
)
from ringplus_tui.core.models import Account, AppConfig, PendingAuthorization
from ringplus_tui.store.secret_store import pending_key

from .clients import Clients
from .profile import ProfileApi
from .records import Records

if TYPE_CHECKING:
    from ringplus_tui.oauth.loopback import LoopbackListener
    from ringplus_tui.oauth.oidc import Identity


class SignIn:
    """Pending authorizations and the flows that finish them.

    Each account has at most one pending sign-in, in this process and in the secret
    store (where the command line and a restarted app find it): starting another one
    replaces it, and :meth:`cancel` drops it. A redirected URL finishes only the
    sign-in its ``state`` belongs to.

    Args:
        records: The settings and the secret store.
        clients: The OAuth clients.
        profile: The provider's API, asked who signed in.
        token_factory: Makes random strings for ``state``, ``code_verifier`` and
            ``nonce``.
    """

    def __init__(
        self,
        records: Records,
        clients: Clients,
        profile: ProfileApi,
        token_factory: Callable[[int], str],
    ) -> None:
        self.records = records
        self.clients = clients
        self.profile = profile
        self.vault = records.vault
        self._token_factory = token_factory
        self._pending: dict[str, PendingAuthorization] = {}
        """The pending authorization of each account, by account name."""
        self._used_states: set[str] = set()

    def pending(self, account: str) -> PendingAuthorization | None:
        """The unexpired pending authorization of ``account`` in this process."""
        found = self._pending.get(account)
        if found is None or found.expires_at <= self.records.clock():
            return None
        return found

    def renamed(self, old: str, new: str) -> None:
        """Move this process's pending authorization of ``old`` to ``new``."""
        found = self._pending.pop(old, None)
        if found is not None:
            self._pending[new] = replace(found, account=new)

    async def cancel(self, account: str) -> None:
        """Drop the pending authorization of ``account``, here and in the secret store;
        its URL is then refused. Never raises (a keyring that fails keeps an entry
        that expires by itself after 10 minutes)."""
        found = self._pending.get(account)
        if found is not None:
            await self.drop_pending(found)

    async def start(self, account: Account, app: AppConfig) -> PendingAuthorization:
        """Make the authorization URL of ``account`` (RFC 6749 §4.1.1).

        A fresh random ``state`` and a PKCE S256 ``code_verifier`` (RFC 7636
        §4.1-4.2) are kept with the exact ``redirect_uri`` for 10 minutes, in
        memory and in the secret store, so another process or a restarted app can
        finish it. It replaces the account's previous pending authorization, whose
        URL is refused from then on.

        Raises:
            ConfigError: An endpoint is not allowed.
            SecretStoreError: The keyring failed.
        """
        client = await self.clients.client(app, need_secret=False)
        now = self.records.clock()
        self._pending = {a: p for a, p in self._pending.items() if p.expires_at > now}
        state = self._token_factory(32)
        code_verifier = self._token_factory(64)
        # OpenID Connect Core §3.1.2.1: a nonce ties the id_token to this request.
        nonce = self._token_factory(32) if "openid" in app.scopes else None
        extra: dict[str, str] = dict(app.authorization_params)
        if nonce is not None:
            extra["nonce"] = nonce
        url, _ = client.create_authorization_url(
            app.provider.authorization_endpoint,
            state=state,
            code_verifier=code_verifier,
            redirect_uri=app.redirect_uri,
            scope=" ".join(app.scopes) or None,
            **extra,
        )
        pending = PendingAuthorization(
            account=account.name,
            app=app.name,
            state=state,
            code_verifier=code_verifier,
            redirect_uri=app.redirect_uri,
            authorization_url=url,
            created_at=now,
            nonce=nonce,
        )
        await self.vault.set(pending_key(account.name), json.dumps(pending.to_dict()))
        self._pending[account.name] = pending
        return pending

    async def _find_pending(self, state: str, account: str | None) -> PendingAuthorization | None:
        """The pending authorization whose ``state`` is ``state``: in this process, else
        in the secret store, looking at ``account`` first, then at every other account
        (so a URL of another account's sign-in is recognised as such)."""
        for found in self._pending.values():
            if found.state == state:
                return found
        accounts = self.records.settings.accounts
        names: list[str] = [account] if account is not None and account in accounts else []
        names += [name for name in accounts if name != account]
        for name in names:
            raw = await self.vault.get(pending_key(name))
            if not raw:
                continue
            try:
                stored = PendingAuthorization.from_dict(json.loads(raw))
            except (ValueError, TypeError, KeyError):
                continue
            if stored.state == state and stored.account == name:
                return stored
        return None

    async def complete(self, pasted: str, account: str | None = None) -> Account:
        """Finish a sign-in from the pasted redirected URL (RFC 6749 §4.1.2-4.1.4).

        The URL is checked before any request: an ``error=`` response, a
        ``state`` that matches no pending authorization (or an expired one), a
        URL that is not the registered ``redirect_uri``, and a missing ``code``
        are refused without contacting the token endpoint. With ``account``, a URL
        whose ``state`` belongs to another account's sign-in is refused too, naming
        that account, and nothing changes for either; without it, the URL is routed
        to the account whose pending ``state`` it carries.

        Args:
            pasted: What the person pasted (cleaned here).
            account: The account being signed in (the one on screen, or named on
                the command line); ``None`` accepts the sign-in of any account.

        Returns:
            The signed-in account with its new token metadata.

        Raises:
            AuthorizationResponseError: The URL cannot be used (see above).
            TokenEndpointError: The provider refused the code.
            NetworkError: Temporary failure; the pending sign-in is kept, so
                the same URL can be submitted again.
            SecretStoreError: The token could not be stored.
        """
        from ringplus_tui.oauth.redirect import (  # loaded at the first sign-in, not at start-up
            check_issuer_parameter,
            check_redirect_uri,
            parse_authorization_response,
        )

        response = parse_authorization_response(pasted)
        pending = await self._find_pending(response.state, account) if response.state else None
        if pending is not None and account is not None and pending.account != account:
            raise StateMismatchError(
                f"This URL is from the sign-in of '{pending.account}', not of '{account}', "
                "so it was not used and nothing was changed. Paste it where "
                f"'{pending.account}' is being signed in, or paste the URL of the sign-in "
                f"of '{account}'.",
                title="URL of another account",
            )
        if pending is not None and response.url is not None and response.error is None:
            # A URL that is not the redirect URI at all is named as that, not as a mix-up.
            check_redirect_uri(response.url, pending.redirect_uri)
        if pending is not None and pending.app in self.records.settings.apps:
            # RFC 9207 §2.4: check 'iss' before acting on the response, errors included.
            provider = self.records.settings.apps[pending.app].provider
            check_issuer_parameter(
                response,
                provider.issuer,
                always_sent=provider.authorization_response_iss_parameter_supported,
            )
        if response.error is not None:
            if pending is not None:
                await self.drop_pending(pending)
            response.raise_for_error()
        if not response.state:
            raise StateMismatchError(
                "The URL has no 'state', so it cannot be matched to a sign-in started here. "
                "Copy the whole address bar, or start the sign-in again."
            )
        if pending is None:
            if response.state in self._used_states:
                raise StateMismatchError(
                    "This URL was already used to sign in; an authorization code works "
                    "only once. Start the sign-in again for a new one.",
                    title="URL already used",
                )
            raise StateMismatchError(
                "This URL does not belong to a sign-in started here, or it was already "
                "used. Start the sign-in again and paste the new URL."
            )
        if self.records.clock() > pending.expires_at:
            await self.drop_pending(pending)
            raise StateMismatchError(
                "This sign-in was started more than 10 minutes ago and has expired. "
                "Start it again and paste the new URL."
            )
        record = self.records.account(pending.account)
        app = self.records.settings.app(pending.app)
        data = await self._exchange(app, pending, response.state, response.code)
        token = self.records.token_from(data, app, record, previous_refresh_token=None)
        identity = await self._verify_id_token(data, app, pending)
        async with self.records.lock(record.name):
            stored = await self.records.store_token(record, token, refreshed=False)
            if identity is not None:
                stored = await self.records.update_account(
                    record.name,
                    lambda current: replace(
                        current,
                        subject=identity.subject,
                        email=identity.email,
                        user=identity.label if identity.name or identity.email else None,
                    ),
                )
        await self.drop_pending(pending)
        if app.provider.api_base:
            with contextlib.suppress(RingPlusError):
                stored = await self.profile.update(stored, app, access_token=token.access_token)
        return stored

    async def _exchange(
        self, app: AppConfig, pending: PendingAuthorization, state: str, code: str | None
    ) -> Mapping[str, Any]:
        """Exchange the authorization code (RFC 6749 §4.1.3) and return the response."""
        client = await self.clients.client(app, need_secret=True)
        if pending is self._pending.get(pending.account):
            del self._pending[pending.account]
        self._used_states.add(state)
        try:
            with self.clients.translating(app.provider.token_endpoint):
                data: Mapping[str, Any] = await client.fetch_token(
                    app.provider.token_endpoint,
                    auth=self.clients.client_auth(client, app.provider.token_endpoint_auth_method),
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.code_verifier,
                    redirect_uri=pending.redirect_uri,
                )
                return data
        except NetworkError as error:
            # The code may still be good: let the person submit the same URL again.
            self._used_states.discard(state)
            self._pending.setdefault(pending.account, pending)  # unless replaced meanwhile
            raise NetworkError(
                f"{error.message} You can submit the same URL again; if the provider "
                "then rejects it, the code was used up: start the sign-in over.",
                retry_after=error.retry_after,
                title=error.title,
            ) from error.__cause__
        except TokenEndpointError as error:
            if error.error in ("invalid_client", "unauthorized_client"):
                self.clients.drop(app.name)  # the secret may have changed: read it again
            if error.error != "invalid_grant":
                raise
            raise TokenEndpointError(
                "The provider rejected the authorization code "
                f"({error.description or 'invalid_grant'}). "
                "A code works once and only for a few minutes, and must be copied whole: "
                "start the sign-in again and paste the new URL.",
                error=error.error,
                description=error.description,
                title="Code rejected",
            ) from error.__cause__

    async def _verify_id_token(
        self, data: Mapping[str, Any], app: AppConfig, pending: PendingAuthorization
    ) -> Identity | None:
        """Verify the token response's ``id_token``, if any (OpenID Connect Core §3.1.3.7).

        Returns ``None`` when there is none, or when the app has no issuer or
        ``jwks_uri`` to verify it with (then its claims are not used).

        Raises:
            IdTokenError: It does not verify; the sign-in is refused.
            NetworkError: The key set could not be fetched.
        """
        id_token = data.get("id_token")
        provider = app.provider
        if not isinstance(id_token, str) or not provider.issuer or not provider.jwks_uri:
            return None
        from ringplus_tui.oauth.oidc import fetch_jwks, verify_id_token

        with self.clients.translating(provider.jwks_uri):
            keys = await fetch_jwks(self.clients.http(), provider.jwks_uri)
        return verify_id_token(
            id_token,
            keys,
            issuer=provider.issuer,
            client_id=app.client_id,
            nonce=pending.nonce,
            now=self.records.clock(),
        )

    def capturable(self, pending: PendingAuthorization) -> bool:
        """Whether the redirect of ``pending`` can be captured on this machine: its
        ``redirect_uri`` is a loopback address with a port (RFC 8252 §7.3) that is not
        the provider's own (the sandbox serves its demo redirect page itself)."""
        from urllib.parse import urlsplit

        from ringplus_tui.oauth.loopback import loopback_address

        if loopback_address(pending.redirect_uri) is None:
            return False
        app = self.records.settings.apps.get(pending.app)
        if app is None:
            return False
        own = urlsplit(app.provider.authorization_endpoint).netloc.lower()
        return urlsplit(pending.redirect_uri).netloc.lower() != own

    def listen_for_redirect(self, pending: PendingAuthorization) -> LoopbackListener[Account]:
        """A listener that captures the redirect of ``pending`` and finishes the sign-in.

        Raises:
            LoopbackUnavailableError: The redirect URI is the provider's own page.
        """
        from ringplus_tui.oauth.loopback import LoopbackListener, loopback_address

        if loopback_address(pending.redirect_uri) is not None and not self.capturable(pending):
            raise LoopbackUnavailableError(
                "The redirect URI is a page of the provider itself, so there is nothing to "
                "listen for here. Paste the redirected URL instead."
            )

        async def complete(url: str) -> Account:
            return await self.complete(url, pending.account)

        def describe(account: Account) -> str:
            return f"'{account.name}' is signed in."

        return LoopbackListener(pending.redirect_uri, pending.state, complete, describe=describe)

    async def drop_pending(self, pending: PendingAuthorization) -> None:
        """Forget ``pending`` here and in the secret store (where it is still the
        account's pending authorization)."""
        if pending.state == getattr(self._pending.get(pending.account), "state", None):
            del self._pending[pending.account]
        with contextlib.suppress(RingPlusError):
            raw = await self.vault.get(pending_key(pending.account))
            if raw and json.loads(raw).get("state") == pending.state:
                await self.vault.delete(pending_key(pending.account))

    async def with_password(
        self, account: Account, app: AppConfig, username: str, password: str
    ) -> Account:
        """Sign in without the browser: fill the provider's sign-in form (the seed's
        "Avoiding the Redirect Dance").

        Fetches the authorization URL, fills the form's email and password fields,
        allows the consent page if shown, stops at the redirect to the registered
        ``redirect_uri`` and finishes the exchange. Depends on the provider's page.
        The password is used once and never stored or logged.

        Raises:
            PasswordSignInError: Wrong password, a changed page, or a consent
                this app cannot give.
            AccessDeniedError: The provider refused access.
            NetworkError: Temporary failure.
            TokenEndpointError: The code exchange failed.
        """
        pending = await self.start(account, app)
        import httpx2

        from ringplus_tui.oauth.password import follow_password_sign_in

        browser = httpx2.AsyncClient(
            transport=self.clients.pool(),
            timeout=self.clients.http().timeout,
            follow_redirects=False,
        )
        try:
            with self.clients.translating(app.provider.authorization_endpoint):
                redirected = await follow_password_sign_in(
                    browser, pending.authorization_url, pending.redirect_uri, username, password
                )
        except RingPlusError:
            await self.drop_pending(pending)
            raise
        finally:
            await browser.aclose()
            del password
        return await self.complete(redirected, account.name)
