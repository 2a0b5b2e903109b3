"""Steps most service tests share: set up the sandbox's app, play the browser, sign in."""

from __future__ import annotations

import asyncio

from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from tests.helpers.browser import sign_in_and_consent

ALICE = ("alice@example.com", "alice-pass")


async def prepare(service: OAuthService, sandbox: Sandbox, name: str = "alice") -> None:
    """Save the sandbox's demo app as 'sandbox' and add the account ``name`` to it."""
    await service.save_app(sandbox.demo_app(), sandbox.client_secret)
    await service.add_account(name, "sandbox")


async def browse(url: str, *, allow: bool = True) -> str:
    """Sign in as alice at ``url`` and answer the consent page; return the redirect."""
    return await asyncio.to_thread(sign_in_and_consent, url, *ALICE, allow=allow)


async def sign_in(service: OAuthService, sandbox: Sandbox, name: str = "alice") -> None:
    """The whole flow for ``name``."""
    await prepare(service, sandbox, name)
    pending = await service.start_authorization(name)
    await service.complete_authorization(await browse(pending.authorization_url))
