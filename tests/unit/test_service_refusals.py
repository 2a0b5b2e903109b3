"""The service's refresh under the refusals real providers send (issue: faults item 10).

A refresh token the provider dropped marks the account needs-sign-in (exit 3) with the
provider's own words, whatever shape the 400 takes; refused app credentials leave the
account as it was (exit 1). The sandbox signs in; the refusal comes from a fault
injected on the refresh request only.
"""

from __future__ import annotations

import httpx2
import pytest

from ringplus_tui.cli.exits import exit_status
from ringplus_tui.core.errors import ClientAuthError, NeedsSignInError
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import MemorySecretStore, refresh_token_key
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.faults import FaultyTransport, on_grant
from tests.helpers.flows import sign_in

GLEWLWYD_EMPTY_400 = httpx2.Response(400, content=b"")
IDPYOIDC_INACTIVE = httpx2.Response(
    400, json={"error": "invalid_request", "error_description": "Refresh token inactive"}
)
STANDARD = httpx2.Response(400, json={"error": "invalid_grant", "error_description": "revoked"})
APP_REFUSED = httpx2.Response(401, json={"error": "invalid_client"})


async def _refresh_with(config_dir, sandbox: Sandbox, answer: httpx2.Response):  # type: ignore[no-untyped-def]
    secrets = MemorySecretStore()
    service = OAuthService(
        SettingsStore(config_dir),
        secrets,
        transport=FaultyTransport(on_grant("refresh_token", answer)),
    )
    try:
        await sign_in(service, sandbox)
        before = secrets.get(refresh_token_key("alice"))
        with pytest.raises((NeedsSignInError, ClientAuthError)) as caught:
            await service.refresh("alice")
        await service.reload()
        return caught.value, service.settings.account("alice"), before, secrets
    finally:
        await service.aclose()


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (GLEWLWYD_EMPTY_400, "HTTP 400"),
        (IDPYOIDC_INACTIVE, "Refresh token inactive"),
        (STANDARD, "revoked"),
    ],
    ids=["glewlwyd-empty-400", "idpyoidc-invalid_request", "invalid_grant"],
)
async def test_a_dropped_refresh_token_needs_sign_in_in_the_providers_words(
    config_dir, sandbox: Sandbox, answer: httpx2.Response, words: str
) -> None:
    error, account, before, secrets = await _refresh_with(config_dir, sandbox, answer)
    assert isinstance(error, NeedsSignInError)
    assert exit_status(error) == 3
    assert words in str(error) and "'alice'" in str(error)
    assert account.needs_sign_in
    assert secrets.get(refresh_token_key("alice")) == before  # kept, in case it comes back


async def test_refused_app_credentials_leave_the_account_as_it_was(
    config_dir, sandbox: Sandbox
) -> None:
    error, account, before, secrets = await _refresh_with(config_dir, sandbox, APP_REFUSED)
    assert isinstance(error, ClientAuthError)
    assert exit_status(error) == 1
    assert not account.needs_sign_in
    assert secrets.get(refresh_token_key("alice")) == before
