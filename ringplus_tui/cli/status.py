"""``ringplus-tui status [--json]``: every account's token status."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from ringplus_tui.core.status import format_countdown, token_status

from .common import err, show, with_service

if TYPE_CHECKING:
    from ringplus_tui.core.models import Account
    from ringplus_tui.service.facade import OAuthService


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add the ``status`` command to ``subparsers``.

    Args:
        subparsers: The top-level command set.
        common: The parent parser with the options every command takes.
    """
    help = "show every account's token status"
    parser = subparsers.add_parser("status", help=help, description=help, parents=[common])
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=with_service(status))


def status_record(account: Account, now: float) -> dict[str, object]:
    """The ``status --json`` record of one account (times in UTC epoch seconds)."""
    return {
        "account": account.name,
        "app": account.app,
        "status": token_status(account, now).value,
        "expires_at": account.expires_at,
        "expires_in": None if account.expires_at is None else int(account.expires_at - now),
        "scope": list(account.scope),
        "user": account.user,
    }


async def status(service: OAuthService, args: argparse.Namespace) -> int:
    """``status [--json]``: one line (or JSON record) per account, soonest expiry first."""
    now = service.clock()
    accounts = sorted(
        service.settings.accounts.values(),
        key=lambda a: (a.expires_at is None, a.expires_at or 0, a.name),
    )
    if args.json:
        print(json.dumps([status_record(a, now) for a in accounts], indent=2))
        return 0
    if not accounts:
        err("No accounts yet: ringplus-tui account add NAME --app APP")
    for account in accounts:
        left = None if account.expires_at is None else account.expires_at - now
        print(
            f"{show(account.name)}\t{show(account.app)}\t{token_status(account, now).value}\t"
            f"{format_countdown(left)}\t{show(account.user or '—')}"
        )
    return 0
