"""``ringplus-tui account add|list|rename|remove``: the accounts."""

from __future__ import annotations

import argparse
import shlex
from typing import TYPE_CHECKING

from ringplus_tui.core.status import token_status

from .common import err, show, with_service

if TYPE_CHECKING:
    from ringplus_tui.service.facade import OAuthService


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add the ``account`` command and its actions to ``subparsers``.

    Args:
        subparsers: The top-level command set.
        common: The parent parser with the options every command takes.
    """
    help = "add, list, rename or remove accounts"
    account = subparsers.add_parser("account", help=help, description=help, parents=[common])
    actions = account.add_subparsers(dest="account_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", parents=[common], help="add an account")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--app", required=True, help="the app it signs in through")
    add.set_defaults(run=with_service(account_add))
    actions.add_parser("list", parents=[common], help="list accounts").set_defaults(
        run=with_service(account_list)
    )
    rename = actions.add_parser("rename", parents=[common], help="rename an account")
    rename.add_argument("old", metavar="OLD")
    rename.add_argument("new", metavar="NEW")
    rename.set_defaults(run=with_service(account_rename))
    remove = actions.add_parser(
        "remove", parents=[common], help="remove an account and its tokens (no revocation)"
    )
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(run=with_service(account_remove))


async def account_add(service: OAuthService, args: argparse.Namespace) -> int:
    """``account add NAME --app APP``."""
    before = service.settings.accounts.get(args.name.strip())
    account = await service.add_account(args.name, args.app)
    if before is not None and before.app == account.app:
        err(f"'{account.name}' already exists (app '{account.app}'); nothing changed.")
        return 0
    moved = f" (moved from the app '{before.app}')" if before is not None else ""
    err(f"Added '{account.name}'{moved}. Sign it in with:")
    err(f"  ringplus-tui authorize {shlex.quote(account.name)}")
    return 0


async def account_list(service: OAuthService, args: argparse.Namespace) -> int:
    """``account list``: one line per account."""
    now = service.clock()
    for name, account in sorted(service.settings.accounts.items()):
        print(f"{show(name)}\t{show(account.app)}\t{token_status(account, now).value}")
    return 0


async def account_rename(service: OAuthService, args: argparse.Namespace) -> int:
    """``account rename OLD NEW``."""
    await service.rename_account(args.old, args.new)
    err(f"Renamed '{args.old}' to '{args.new}'; its tokens moved with it.")
    return 0


async def account_remove(service: OAuthService, args: argparse.Namespace) -> int:
    """``account remove NAME``."""
    await service.remove_account(args.name)
    err(f"Removed '{args.name}' and its tokens from this machine (not revoked).")
    return 0
