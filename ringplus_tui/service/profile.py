"""The provider's own API: who is signed in and which phone lines they have. No Textual."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ringplus_tui.core.errors import ConfigError, NeedsSignInError
from ringplus_tui.core.models import Account, AppConfig
from ringplus_tui.store.secret_store import access_token_key

from .clients import Clients
from .hints import Hints
from .records import Records

if TYPE_CHECKING:
    from ringplus_tui.oauth.provider_api import Profile


class ProfileApi:
    """Asks the provider's REST API about an account (RFC 6750 bearer requests).

    Args:
        records: The settings and the secret store.
        clients: The HTTP pool.
        hints: How messages say to sign in.
    """

    def __init__(self, records: Records, clients: Clients, hints: Hints) -> None:
        self.records = records
        self.clients = clients
        self.hints = hints

    async def fetch(
        self, account: Account, app: AppConfig, *, access_token: str | None = None
    ) -> Profile:
        """Ask the API who ``account`` is and which phone lines it has.

        Args:
            account: The account.
            app: Its app.
            access_token: The token just stored, if the caller has it; otherwise
                it is read from the secret store.

        Raises:
            ConfigError: The app has no API base URL, or it is refused before the
                token is sent (plain http off this machine, or outside the strict
                URL grammar): checked at every call.
            NeedsSignInError: No access token, or the API refused it (HTTP 401).
            NetworkError: Temporary failure.
            SecretStoreError: The keyring failed.
        """
        base = (app.provider.api_base or "").rstrip("/")
        if not base:
            raise ConfigError(f"The app '{app.name}' has no API base URL.")
        self.clients.check_sent_to(app, "api_base", base, label="API base URL")
        token = access_token or await self.records.vault.get(access_token_key(account.name))
        if not token:
            raise NeedsSignInError(
                f"'{account.name}' is not signed in. {self.hints.sign_in(account.name)}"
            )
        from ringplus_tui.oauth.provider_api import fetch_profile

        with self.clients.translating(base):
            return await fetch_profile(
                self.clients.http(),
                base,
                token,
                account=account.name,
                token_placement=app.provider.token_placement,
            )

    async def update(
        self, account: Account, app: AppConfig, *, access_token: str | None = None
    ) -> Account:
        """Fetch the profile and store the user and the number of phone lines.

        Raises:
            The errors of :meth:`fetch`.
        """
        profile = await self.fetch(account, app, access_token=access_token)
        return await self.records.update_account(
            account.name,
            lambda current: replace(current, user=profile.user, phone_lines=len(profile.lines)),
        )
