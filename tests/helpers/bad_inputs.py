"""What the bad-input tests share: a service over a faulty transport, a hand edit of the
token endpoint, and a snapshot of everything a failure must leave alone."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import access_token_key, refresh_token_key
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.faults import FaultyTransport


@contextlib.asynccontextmanager
async def open_service(
    config_dir: Path, store, rule=None, **kwargs
) -> AsyncIterator[tuple[OAuthService, FaultyTransport | None]]:
    transport = FaultyTransport(rule) if rule else None
    service = OAuthService(SettingsStore(config_dir), store, transport=transport, **kwargs)
    try:
        yield service, transport
    finally:
        await service.aclose()


def point_token_endpoint(config_dir: Path, url: str) -> None:
    """Edit the sandbox app's token endpoint in config.toml, as a person would by hand."""

    def change(settings):  # type: ignore[no-untyped-def]
        app = settings.apps["sandbox"]
        return settings.with_app(replace(app, provider=replace(app.provider, token_endpoint=url)))

    SettingsStore(config_dir).update(change)


def stored(config_dir: Path, store, name: str = "alice") -> tuple[bytes, str | None, str | None]:
    """Everything a failure must leave alone."""
    return (
        (config_dir / "config.toml").read_bytes(),
        store.get(access_token_key(name)),
        store.get(refresh_token_key(name)),
    )
