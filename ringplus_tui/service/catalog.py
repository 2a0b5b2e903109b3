"""Apps and accounts: add, rename, remove, and the settings of each account. No Textual.

An account's secret-store entries change only under its lock, so a rename or a
remove waits for another process's refresh of it and never leaves a token behind.
"""

from __future__ import annotations

from dataclasses import replace

from ringplus_tui.core.errors import ConfigError
from ringplus_tui.core.models import Account, AppConfig
from ringplus_tui.core.validation import check_name
from ringplus_tui.store.secret_store import client_secret_key
from ringplus_tui.store.settings import Settings

from .clients import Clients
from .records import TOKEN_KEYS, Records


def _token_audience(app: AppConfig) -> tuple[object, ...]:
    """What decides where an app's tokens are sent: changing any of it moves them."""
    p = app.provider
    return (app.client_id, p.issuer, p.token_endpoint, p.revocation_endpoint, p.api_base)


def refresh_token_warning(app: AppConfig, account: Account) -> str | None:
    """A warning for an account that signed in without getting a refresh token.

    Without one, the account must sign in again when the access token expires
    (RFC 6749 §4.1.4: the refresh token is optional). Many providers issue one only
    for the ``offline_access`` scope (OpenID Connect Core §11) or with
    ``prompt=consent`` (Google also wants ``access_type=offline``).

    Returns:
        The warning, or ``None`` when there is a refresh token or no token at all.
    """
    if account.has_refresh_token or not account.signed_in:
        return None
    fixes = []
    if "offline_access" not in app.scopes:
        fixes.append("the offline_access scope")
    if ("prompt", "consent") not in app.authorization_params:
        fixes.append("the extra parameter prompt=consent (Google: also access_type=offline)")
    advice = (
        f" Most providers send one when asked: add {' or '.join(fixes)} to the app '{app.name}'."
        if fixes
        else ""
    )
    return (
        f"'{account.name}' is signed in, but the provider sent no refresh token, so it "
        f"cannot be refreshed: sign in again when the access token expires.{advice}"
    )


class Catalog:
    """Adds, renames and removes apps and accounts.

    Args:
        records: The settings and the secret store.
        clients: The per-app OAuth clients, dropped when their app changes.
    """

    def __init__(self, records: Records, clients: Clients) -> None:
        self.records = records
        self.clients = clients
        self.vault = records.vault

    async def save_app(self, app: AppConfig, client_secret: str | None) -> None:
        """Add or replace an app; store its client secret when one is given.

        Args:
            app: The app (already validated, see :func:`~ringplus_tui.core.validation.build_app`).
            client_secret: The new client secret, or ``None`` to keep the stored one.

        Raises:
            ConfigError: No secret given for a new confidential app; the change
                would send signed-in accounts' tokens elsewhere (another client ID,
                issuer, token, revocation or API endpoint); or the settings file
                cannot be written.
            SecretStoreError: The keyring failed; then nothing was changed.
        """
        settings = self.records.settings
        old = settings.apps.get(app.name)
        if old is not None and _token_audience(old) != _token_audience(app):
            holders = [
                name for name in settings.accounts_of(app.name)
                if settings.accounts[name].signed_in
            ]  # fmt: skip
            if holders:
                raise ConfigError(
                    f"The app '{app.name}' has signed-in accounts ({', '.join(holders)}). "
                    "Changing its client ID, issuer, token, revocation or API endpoint would "
                    "send their tokens to another server. Revoke or forget their tokens "
                    "first, or add the new settings as another app.",
                    title="Accounts are signed in",
                )
        if app.public:
            # A public client has no secret (RFC 6749 §2.1); drop one kept from before.
            await self.vault.delete(client_secret_key(app.name))
        elif client_secret is not None and client_secret.strip():
            await self.vault.set(client_secret_key(app.name), client_secret.strip())
        elif old is None or old.public:
            raise ConfigError(
                "The client secret is required for this app: copy it from the app's "
                "settings at the provider, or choose client authentication 'none' for a "
                "public client (PKCE, no secret).",
            )
        await self.records.update(lambda settings: settings.with_app(app))
        self.clients.drop(app.name)

    async def rename_app(self, old: str, new: str) -> None:
        """Rename an app; its accounts follow and its client secret moves with it.

        Raises:
            ConfigError: Unknown app, invalid or taken new name.
            SecretStoreError: The keyring failed; then nothing was changed.
        """
        new = check_name("name", new, label="App name")
        app = self.records.settings.app(old)
        if new == old:
            return
        if new in self.records.settings.apps:
            raise ConfigError(f"There is already an app called '{new}'.")
        secret = await self.vault.get(client_secret_key(old))
        if secret:
            await self.vault.set(client_secret_key(new), secret)

        def apply(settings: Settings) -> Settings:
            settings = settings.without_app(old).with_app(replace(app, name=new))
            for name in settings.accounts_of(old):
                settings = settings.with_account(replace(settings.accounts[name], app=new))
            return settings

        await self.records.update(apply)
        self.clients.drop(old)
        await self.vault.delete(client_secret_key(old))

    async def remove_app(self, name: str, *, with_accounts: bool = False) -> list[str]:
        """Remove an app and its client secret.

        Args:
            name: The app.
            with_accounts: Also remove the accounts that use it (and their
                tokens). Without it, an app in use is not removed.

        Returns:
            The accounts removed with it.

        Raises:
            ConfigError: Unknown app, or accounts use it and ``with_accounts``
                is false (the message names them).
            SecretStoreError: The keyring failed.
        """
        self.records.settings.app(name)
        users = self.records.settings.accounts_of(name)
        if users and not with_accounts:
            raise ConfigError(
                f"The app '{name}' is used by {', '.join(users)}. Remove those accounts too, "
                "or move them to another app first.",
                title="App in use",
            )
        for account in users:
            await self.remove_account(self.records.account(account))
        await self.records.update(lambda settings: settings.without_app(name))
        self.clients.drop(name)
        await self.vault.delete(client_secret_key(name))
        return users

    async def add_account(self, name: str, app: str) -> Account:
        """Add an account that signs in through ``app``; an existing one is kept.

        Returns:
            The account (an existing signed-out account switches to ``app``).

        Raises:
            ConfigError: Invalid name, unknown app, the account is signed in through
                another app (its tokens must not go to another provider), or the
                settings cannot be written.
        """
        name = check_name("account", name, label="Account name")
        self.records.settings.app(app)
        existing = self.records.settings.accounts.get(name)
        if existing is not None and existing.app != app and existing.signed_in:
            raise ConfigError(
                f"'{name}' is signed in through the app '{existing.app}'. Its tokens belong "
                f"to that app's provider, so it cannot move to '{app}' while it has them: "
                "revoke or forget them first, or choose another name.",
                title="Account is signed in",
            )

        def apply(settings: Settings) -> Settings:
            existing = settings.accounts.get(name)
            if existing is not None and existing.app == app:
                return settings
            account = replace(existing, app=app) if existing else Account(name=name, app=app)
            return settings.with_account(account)

        return (await self.records.update(apply)).account(name)

    async def rename_account(self, account: Account, new: str) -> Account:
        """Rename ``account``; its tokens move with it, under its lock.

        Raises:
            ConfigError: Invalid or taken new name.
            SecretStoreError: The keyring failed; then the old entries remain.
        """
        old = account.name
        new = check_name("account", new, label="Account name")
        if new == old:
            return account
        if new in self.records.settings.accounts:
            raise ConfigError(f"There is already an account called '{new}'.")
        async with self.records.lock(old):
            for key in TOKEN_KEYS:
                value = await self.vault.get(key(old))
                if value is not None:
                    await self.vault.set(key(new), value)

            def apply(settings: Settings) -> Settings:
                current = settings.account(old)
                return settings.without_account(old).with_account(replace(current, name=new))

            renamed = (await self.records.update(apply)).account(new)
            await self.records.delete_tokens(old, keys=TOKEN_KEYS)
        return renamed

    async def remove_account(self, account: Account) -> None:
        """Remove ``account`` and its tokens from this machine (no revocation).

        Holds the account's lock, so a refresh running in another process ends
        first and the tokens it stores are removed too.

        Raises:
            ConfigError: The settings cannot be written.
            SecretStoreError: The keyring failed.
            RingPlusError: Another process held the account's lock too long.
        """
        name = account.name
        async with self.records.lock(name):
            await self.records.update(lambda settings: settings.without_account(name))
            await self.records.delete_tokens(name, keys=TOKEN_KEYS)

    async def set_auto_refresh(
        self, account: Account, enabled: bool, margin: float | None = None
    ) -> Account:
        """Switch automatic refresh of ``account`` on or off, with its margin in seconds.

        Raises:
            ConfigError: The settings cannot be written.
        """
        return await self.records.update_account(
            account.name,
            lambda current: replace(current, auto_refresh=enabled, refresh_margin=margin),
        )
