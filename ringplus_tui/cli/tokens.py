"""``ringplus-tui token|refresh|revoke|forget``: using and dropping an account's tokens.

``token`` is called from mail clients and shell loops: its common case (a fresh
token) reads the settings and one keyring entry without starting the service, so it
loads neither asyncio's HTTP stack, authlib nor Textual.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from ringplus_tui.core.errors import ConfigError, NetworkError, RingPlusError
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
    token_.add_argument(
        "--min-validity",
        type=seconds,
        default=None,
        metavar="SECONDS",
        help="print only a token valid for at least this long, refreshing first when it has "
        "less left (default: refresh inside the account's refresh margin, and when that "
        "refresh fails for a temporary reason, print the current token while it is valid)",
    )
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


def seconds(text: str) -> float:
    """A number of seconds from the command line: finite and not negative.

    Raises:
        argparse.ArgumentTypeError: Anything else.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds (0 or more), not {text!r}")
    return value


def run_token(args: argparse.Namespace) -> int:
    """``token ACCOUNT``: the fast path (:func:`fast_token`), else the service's."""
    config_dir = config_dir_of(args)
    try:
        found = fast_token(config_dir, args.account, min_validity=args.min_validity or 0.0)
    except RingPlusError as error:
        return exits.fail(error)
    if found is not None:
        print(found)
        return 0
    return run_command(config_dir, token, args)


def fast_token(config_dir: Path, account: str, *, min_validity: float = 0.0) -> str | None:
    """The stored access token when it is fresh (outside its refresh margin, and valid
    for at least ``min_validity`` seconds), read without starting the service.

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
    left = record.expires_at - now
    if left <= 0 or left < min_validity or refresh_due(record, now):
        return None
    from ringplus_tui.store.trace import traced

    store = traced(KeyringSecretStore(keyring_service(config_dir)))
    found = call_bounded(
        "read a secret", store.get, access_token_key(account), timeout=KEYRING_TIMEOUT
    )
    return found or None


async def token(service: OAuthService, args: argparse.Namespace) -> int:
    """``token ACCOUNT [--min-validity SECONDS]``: print only a valid access token.

    The token is refreshed first when it is inside its refresh margin, or has less
    than ``--min-validity`` seconds left. When that refresh fails for a temporary
    reason (:class:`NetworkError`) and the current token is still valid (for at least
    ``--min-validity`` seconds, when given), it is printed with a warning on stderr:
    a mail client keeps working through a provider's hiccup. Otherwise the error
    stands (exit 4 when temporary).
    """
    name = args.account
    need: float | None = args.min_validity
    try:
        if need is not None:
            with contextlib.suppress(ConfigError):
                await service.reload()
            if _seconds_left(service, name) < need:
                await service.refresh(name)
        value = await service.valid_access_token(name)
    except NetworkError as error:
        floor = need or 0.0
        left = _seconds_left(service, name)
        current = await service.access_token(name) if left > floor and left > 0 else None
        if not current or service.settings.account(name).needs_sign_in:
            raise
        err(
            f"ringplus-tui: warning: could not refresh '{name}' ({error.title}: "
            f"{error.message}) Its current token is still valid for {left:.0f} s; "
            "printed that one."
        )
        print(current)
        return 0
    if need is not None and (left := _seconds_left(service, name)) < need:
        raise RingPlusError(
            f"The provider's tokens for '{name}' last less than the {need:g} s asked for "
            f"(this one: {left:.0f} s). Ask for less with --min-validity.",
            title="Token too short-lived",
        )
    print(value)
    return 0


def _seconds_left(service: OAuthService, name: str) -> float:
    """Seconds until ``name``'s access token expires; minus infinity without one.

    Raises:
        ConfigError: No such account.
    """
    record = service.settings.account(name)
    if not record.signed_in or record.expires_at is None:
        return -math.inf
    return record.expires_at - service.clock()


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
    if not names and args.all:
        waiting = sorted(
            name for name, account in service.settings.accounts.items() if account.signed_in
        )
        if waiting:  # signed in once, but their refresh tokens were refused
            err(
                "ringplus-tui: no account can be refreshed: "
                f"{', '.join(waiting)} must be signed in again "
                "('ringplus-tui authorize ACCOUNT')."
            )
            return exits.NEEDS_SIGN_IN
        err(
            "ringplus-tui: no account is signed in, so there is nothing to refresh. "
            "Sign one in with 'ringplus-tui authorize ACCOUNT'."
        )
        return exits.OK
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
    from ringplus_tui.core.errors import TokenEndpointError
    from ringplus_tui.service.tokens import REVOCATION_REFUSED

    try:
        await service.revoke(args.account)
    except TokenEndpointError as error:
        if error.title != REVOCATION_REFUSED:
            raise
        status = exits.fail(error)
        err(
            "To remove the tokens from this machine only: "
            f"ringplus-tui forget {shlex.quote(args.account)}"
        )
        return status
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
