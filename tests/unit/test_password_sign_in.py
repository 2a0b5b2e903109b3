"""The password sign-in shortcut against the sandbox, and against pages it cannot use."""

from __future__ import annotations

import httpx2
import pytest

from ringplus_tui.oauth.password import PasswordSignInError
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import access_token_key
from ringplus_tui.store.settings import SettingsStore


async def make(service: OAuthService, sandbox: Sandbox) -> None:
    await service.save_app(sandbox.demo_app(), sandbox.client_secret)
    await service.add_account("alice", "sandbox")


async def test_right_password_signs_in(
    service: OAuthService, sandbox: Sandbox, secret_store
) -> None:
    await make(service, sandbox)
    account = await service.sign_in_with_password("alice", "alice@example.com", "alice-pass")
    assert account.signed_in and account.user == "Alice Example <alice@example.com>"
    assert secret_store.get(access_token_key("alice"))
    assert "alice-pass" not in secret_store.values  # the password is never stored


async def test_wrong_password_says_so_and_stores_nothing(
    service: OAuthService, sandbox: Sandbox, secret_store
) -> None:
    await make(service, sandbox)
    with pytest.raises(PasswordSignInError, match="did not accept that email and password"):
        await service.sign_in_with_password("alice", "alice@example.com", "wrong")
    assert secret_store.get(access_token_key("alice")) is None
    assert sandbox.token_requests == []


def _pages(body: str) -> httpx2.MockTransport:
    return httpx2.MockTransport(
        lambda request: httpx2.Response(200, text=body, headers={"content-type": "text/html"})
    )


@pytest.mark.parametrize(
    ("page", "words"),
    [
        ("<html><body><h1>We moved!</h1></body></html>", "neither a sign-in form"),
        (
            '<form method="post"><input name="otp"><button>Verify</button></form>',
            "neither a sign-in form",
        ),
    ],
)
async def test_a_page_without_the_expected_form_gets_a_clear_message(
    config_dir, secret_store, sandbox: Sandbox, page: str, words: str
) -> None:
    service = OAuthService(SettingsStore(config_dir), secret_store, transport=_pages(page))
    try:
        await make(service, sandbox)
        with pytest.raises(PasswordSignInError, match=words):
            await service.sign_in_with_password("alice", "alice@example.com", "alice-pass")
        assert not service.settings.accounts["alice"].signed_in
    finally:
        await service.aclose()
