"""``ringplus-tui token|refresh|revoke|forget``: using and dropping an account's tokens.

``token`` is called from mail clients and shell loops: its common case (a fresh
token) reads the settings and one keyring entry without starting the service, so it
loads neither asyncio's HTTP stack, authlib nor Textual.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ringplus_tui.core.errors import RingPlusError
from ringplus_tui.core.status import TokenStatus, token_status

from . import exits
from .common import config_dir_of, err, run_command, utc, with_service

if TYPE_CHECKING:
    from ringplus_tui.service.facade import OAuthService


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add the ``token``, ``refresh``, ``revoke`` and ``forget`` commands to ``subparsers``.

    Args:
        subparsers: The top-level command set.
        common: The parent parser with the options every command takes.
    """

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return subparsers.add_parser(name, help=help, description=help, parents=[common])

    token_ = command("token", "print a valid access token, refreshing first when needed")
    token_.add_argument("account", metavar="ACCOUNT")
    token_.set_defaults(run=run_token)
    refresh_ = command("refresh", "refresh tokens now")
    refresh_.add_argument("accounts", nargs="*", metavar="ACCOUNT")
    refresh_.add_argument("--all", action="store_true", help="every signed-in account")
    refresh_.set_defaults(run=with_service(refresh))
    revoke_ = command("revoke", "revoke the tokens at the provider, then forget them here")
    revoke_.add_argument("account", metavar="ACCOUNT")
    revoke_.set_defaults(run=with_service(revoke))
    forget_ = command("forget", "forget the tokens here only")
    forget_.add_argument("account", metavar="ACCOUNT")
    forget_.set_defaults(run=with_service(forget))


def run_token(args: argparse.Namespace) -> int:
    """``token ACCOUNT``: the fast path (:func:`fast_token`), else the service's."""
    config_dir = config_dir_of(args)
    try:
        found = fast_token(config_dir, args.account)
    except RingPlusError as error:
        return exits.fail(error, config_dir)
    if found is not None:
        print(found)
        return 0
    return run_command(config_dir, token, args)


def fast_token(config_dir: Path, account: str) -> str | None:
    """The stored access token when it is fresh, read without starting the service.

    Only parses the settings and reads one keyring entry: no asyncio, no HTTP
    libraries, no lock. The read is bounded by the keyring timeout like every
    other keyring call.

    Returns:
        The token, or ``None`` when the full path is needed (unknown account,
        not signed in, due for refresh, nothing stored, or settings that cannot
        be read: the full path says why).

    Raises:
        SecretStoreError: The keyring failed or did not answer within
            :data:`~ringplus_tui.store.secret_store.KEYRING_TIMEOUT` seconds (the
            full path would meet the same keyring, and wait as long again).
    """
    import time

    from ringplus_tui.core.status import refresh_due
    from ringplus_tui.store.secret_store import (
        KEYRING_TIMEOUT,
        KeyringSecretStore,
        access_token_key,
        call_bounded,
        keyring_service,
    )
    from ringplus_tui.store.settings import SettingsStore

    try:
        record = SettingsStore(config_dir).load().accounts.get(account)
    except RingPlusError:
        return None
    if record is None or not record.signed_in or record.expires_at is None:
        return None
    if record.needs_sign_in:
        return None
    now = time.time()
    if record.expires_at <= now or refresh_due(record, now):
        return None
    store = KeyringSecretStore(keyring_service(config_dir))
    found = call_bounded(
        "read a secret", store.get, access_token_key(account), timeout=KEYRING_TIMEOUT
    )
    return found or None


async def token(service: OAuthService, args: argparse.Namespace) -> int:
    """``token ACCOUNT``: print only a valid access token, refreshing first when needed."""
    print(await service.valid_access_token(args.account))
    return 0


async def refresh(service: OAuthService, args: argparse.Namespace) -> int:
    """``refresh [ACCOUNT ...|--all]`` (RFC 6749 §6): exit status of the worst failure."""
    names = list(args.accounts)
    if args.all:
        names = [
            name
            for name, account in sorted(service.settings.accounts.items())
            if account.signed_in
            and token_status(account, service.clock()) != TokenStatus.NEEDS_SIGN_IN
        ]
    if not names:
        err("ringplus-tui: name the accounts to refresh, or use --all.")
        return 2
    for name in names:
        service.settings.account(name)  # unknown names fail before any request
    results = await service.refresh_all(names)
    worst = 0
    for name in names:
        outcome = results[name]
        if isinstance(outcome, RingPlusError):
            err(f"{name}: {outcome.title}: {outcome.message}")
            worst = max(worst, exits.exit_status(outcome))
        else:
            print(f"{name}\trefreshed\texpires {utc(outcome.expires_at)}")
    return worst


async def revoke(service: OAuthService, args: argparse.Namespace) -> int:
    """``revoke ACCOUNT`` (RFC 7009), then forget the tokens here."""
    if not service.settings.account(args.account).signed_in:
        err(f"'{args.account}' has no tokens here; nothing to revoke.")
        return 0
    await service.revoke(args.account)
    err(f"Revoked and forgot the tokens of '{args.account}'.")
    return 0


async def forget(service: OAuthService, args: argparse.Namespace) -> int:
    """``forget ACCOUNT``: drop the tokens on this machine only."""
    if not service.settings.account(args.account).signed_in:
        err(f"'{args.account}' has no tokens here; nothing to forget.")
        return 0
    await service.forget(args.account)
    err(f"Forgot the tokens of '{args.account}' on this machine (not revoked).")
    return 0
