"""``ringplus-tui authorize`` and ``ringplus-tui login``: signing an account in."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from typing import TYPE_CHECKING

from .common import err, read_secret, utc, with_service

if TYPE_CHECKING:
    from ringplus_tui.core.models import Account, PendingAuthorization
    from ringplus_tui.service.facade import OAuthService


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add the ``authorize`` and ``login`` commands to ``subparsers``.

    Args:
        subparsers: The top-level command set.
        common: The parent parser with the options every command takes.
    """
    help = "print the authorization URL; with --redirected-url, finish the sign-in"
    authorize_ = subparsers.add_parser("authorize", help=help, description=help, parents=[common])
    authorize_.add_argument("account", metavar="ACCOUNT")
    how = authorize_.add_mutually_exclusive_group()
    how.add_argument(
        "--redirected-url", metavar="URL", help="the address the browser ended on, or - for stdin"
    )
    how.add_argument(
        "--listen",
        action="store_true",
        help="wait for the browser on the app's loopback redirect URI "
        "(http://127.0.0.1:PORT/...) and finish the sign-in by itself",
    )
    authorize_.set_defaults(run=with_service(authorize))
    help = "sign in with email and password (password from stdin or a prompt)"
    login_ = subparsers.add_parser("login", help=help, description=help, parents=[common])
    login_.add_argument("account", metavar="ACCOUNT")
    login_.add_argument("--username", required=True, metavar="EMAIL")
    login_.set_defaults(run=with_service(login))


async def authorize(service: OAuthService, args: argparse.Namespace) -> int:
    """``authorize ACCOUNT [--redirected-url URL|-|--listen]`` (RFC 6749 §4.1, RFC 7636)."""
    if args.redirected_url is None:
        pending = await service.start_authorization(args.account)
        paste_hint = (
            "copy the address the browser ends on (the page may not load) and run:\n"
            f"  ringplus-tui authorize {shlex.quote(args.account)} --redirected-url 'ADDRESS'\n"
            "within 10 minutes."
        )
        if args.listen:
            return await _listen(service, pending, paste_hint)
        print(pending.authorization_url)
        err(f"Open that URL in a browser, sign in and allow access. Then {paste_hint}")
        if service.capturable(pending):
            err(
                "(The redirect URI is on this machine: 'ringplus-tui authorize "
                f"{shlex.quote(args.account)} --listen' finishes by itself instead.)"
            )
        return 0
    pasted = args.redirected_url
    if pasted == "-":
        pasted = await asyncio.to_thread(sys.stdin.read)
    account = await service.complete_authorization(pasted, args.account)
    signed_in(service, account)
    return 0


async def _listen(service: OAuthService, pending: PendingAuthorization, paste_hint: str) -> int:
    """Capture the redirect on the loopback redirect URI (``authorize --listen``, RFC 8252 §7.3)."""
    from ringplus_tui.core.errors import LoopbackUnavailableError

    try:
        listener = service.listen_for_redirect(pending)
        await listener.start()
    except LoopbackUnavailableError as error:
        print(pending.authorization_url)
        err(f"ringplus-tui: {error.title}: {error.message}")
        err(f"Open the URL above, sign in and allow access. Then {paste_hint}")
        return 1
    try:
        print(pending.authorization_url, flush=True)
        err(
            f"Open that URL in a browser, sign in and allow access. Waiting for the browser "
            f"on {listener.address} (up to 10 minutes; Ctrl+C to stop)…"
        )
        left = max(1.0, pending.expires_at - service.clock())
        try:
            account = await asyncio.wait_for(listener.wait(), left)
        except asyncio.CancelledError:  # Ctrl+C
            err(f"\nStopped listening. The sign-in stays open for pasting: {paste_hint}")
            raise
        except TimeoutError:
            err(
                "ringplus-tui: Timed out: no sign-in reached "
                f"{listener.address} within 10 minutes; nothing was changed. If the browser "
                "showed an error from the provider, check that the app's redirect URI is "
                "exactly the one registered there."
            )
            return 4
    finally:
        await listener.close()
    signed_in(service, account)
    return 0


def signed_in(service: OAuthService, account: Account) -> None:
    """Say on stderr who ``account`` is signed in as and when its token expires, and
    warn when the provider sent no refresh token."""
    from ringplus_tui.service.facade import refresh_token_warning

    who = f" as {account.user}" if account.user else ""
    err(f"Signed in '{account.name}'{who}; the token expires {utc(account.expires_at)}.")
    warning = refresh_token_warning(service.settings.app(account.app), account)
    if warning:
        err(f"ringplus-tui: warning: {warning}")


async def login(service: OAuthService, args: argparse.Namespace) -> int:
    """``login ACCOUNT --username EMAIL``: the password sign-in shortcut."""
    password = await asyncio.to_thread(read_secret, f"Password for {args.username}: ")
    if not password:
        err("ringplus-tui: no password given; nothing was changed.")
        return 2
    account = await service.sign_in_with_password(args.account, args.username, password)
    signed_in(service, account)
    return 0
