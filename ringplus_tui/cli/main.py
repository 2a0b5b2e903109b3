"""The ``ringplus-tui`` command.

``ringplus-tui`` opens the dashboard; ``ringplus-tui --sandbox`` opens it against
an embedded sandbox provider with throw-away settings and secrets;
``ringplus-tui sandbox`` runs the sandbox provider alone until Ctrl+C.

Script commands (``app``, ``account``, ``authorize``, ``login``, ``token``,
``status``, ``refresh``, ``revoke``, ``forget``) live in :mod:`ringplus_tui.cli.commands`.

Exit status: 0 success; 1 failure; 2 usage error or unknown app/account; 3 the
account needs signing in; 4 temporary failure with nothing changed. Errors go to
stderr as one or two plain sentences, never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ringplus_tui.core.errors import RingPlusError

if TYPE_CHECKING:
    from ringplus_tui.core.prefill import CredentialsPrefill
    from ringplus_tui.sandbox import Sandbox

SANDBOX_TOKEN_LIFETIME = 300
"""Seconds an access token lasts in ``--sandbox`` mode: short, to watch the countdown."""


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="settings directory (default: $RINGPLUS_TUI_HOME or the platform's config dir)",
    )
    parser = argparse.ArgumentParser(
        prog="ringplus-tui",
        description="A terminal dashboard for the OAuth2 tokens of several RingPlus accounts. "
        "Without a command it opens the dashboard.",
        epilog="Exit status: 0 success; 1 failure; 2 usage error or unknown app/account; "
        "3 the account needs signing in; 4 temporary failure (network, timeout, 5xx), "
        "nothing changed; 130 interrupted (Ctrl+C).",
        parents=[common],
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="try the app against a built-in RingPlus-compatible provider; "
        "uses throw-away settings and secrets, touches nothing of yours",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, description=help, parents=[common])

    app = command("app", "add, list, rename or remove apps (client credentials)")
    app_commands = app.add_subparsers(dest="app_command", metavar="ACTION", required=True)
    add = app_commands.add_parser(
        "add",
        parents=[common],
        help="add or update an app; the client secret is read from stdin or a hidden prompt",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--client-id", required=True)
    add.add_argument("--redirect-uri", required=True)
    add.add_argument("--scope", action="append", default=[], help="a scope (repeatable)")
    add.add_argument(
        "--issuer",
        default="",
        metavar="URL",
        help="find the endpoints from the provider's metadata (RFC 8414 / OpenID Connect)",
    )
    add.add_argument("--provider", choices=["ringplus", "custom"], default=None)
    add.add_argument("--authorization-endpoint", default="")
    add.add_argument("--token-endpoint", default="")
    add.add_argument("--revocation-endpoint", default="")
    add.add_argument("--api-base", default="")
    add.add_argument(
        "--client-auth",
        choices=["client_secret_basic", "client_secret_post", "none"],
        default=None,
        help="how the app authenticates at the token endpoint; 'none' is a public client "
        "(PKCE, no secret). Default: client_secret_basic, or with --issuer the provider's "
        "choice, and 'none' when no secret is given",
    )
    add.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an extra authorization parameter, e.g. prompt=consent (repeatable)",
    )
    add.add_argument(
        "--token-placement",
        choices=["header", "query"],
        default="header",
        help="how API calls carry the token: Authorization header, or access_token query",
    )
    app_commands.add_parser("list", parents=[common], help="list apps")
    rename = app_commands.add_parser("rename", parents=[common], help="rename an app")
    rename.add_argument("old", metavar="OLD")
    rename.add_argument("new", metavar="NEW")
    remove = app_commands.add_parser("remove", parents=[common], help="remove an app")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument(
        "--yes", action="store_true", help="also remove the accounts that use it, without asking"
    )

    account = command("account", "add, list, rename or remove accounts")
    account_commands = account.add_subparsers(
        dest="account_command", metavar="ACTION", required=True
    )
    add = account_commands.add_parser("add", parents=[common], help="add an account")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--app", required=True, help="the app it signs in through")
    account_commands.add_parser("list", parents=[common], help="list accounts")
    rename = account_commands.add_parser("rename", parents=[common], help="rename an account")
    rename.add_argument("old", metavar="OLD")
    rename.add_argument("new", metavar="NEW")
    remove = account_commands.add_parser(
        "remove", parents=[common], help="remove an account and its tokens (no revocation)"
    )
    remove.add_argument("name", metavar="NAME")

    authorize = command(
        "authorize",
        "print the authorization URL; with --redirected-url, finish the sign-in",
    )
    authorize.add_argument("account", metavar="ACCOUNT")
    how = authorize.add_mutually_exclusive_group()
    how.add_argument(
        "--redirected-url", metavar="URL", help="the address the browser ended on, or - for stdin"
    )
    how.add_argument(
        "--listen",
        action="store_true",
        help="wait for the browser on the app's loopback redirect URI "
        "(http://127.0.0.1:PORT/...) and finish the sign-in by itself",
    )
    login = command("login", "sign in with email and password (password from stdin or a prompt)")
    login.add_argument("account", metavar="ACCOUNT")
    login.add_argument("--username", required=True, metavar="EMAIL")
    token = command("token", "print a valid access token, refreshing first when needed")
    token.add_argument("account", metavar="ACCOUNT")
    status = command("status", "show every account's token status")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    refresh = command("refresh", "refresh tokens now")
    refresh.add_argument("accounts", nargs="*", metavar="ACCOUNT")
    refresh.add_argument("--all", action="store_true", help="every signed-in account")
    revoke = command("revoke", "revoke the tokens at the provider, then forget them here")
    revoke.add_argument("account", metavar="ACCOUNT")
    forget = command("forget", "forget the tokens here only")
    forget.add_argument("account", metavar="ACCOUNT")

    sandbox = command("sandbox", "run the RingPlus-compatible sandbox provider until Ctrl+C")
    sandbox.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    sandbox.add_argument(
        "--token-lifetime",
        type=int,
        default=86400,
        metavar="SECONDS",
        help="access-token lifetime (default 86400, like RingPlus)",
    )
    sandbox.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long before each token response, like a network round trip",
    )
    sandbox.add_argument(
        "--rotate-refresh-tokens",
        action="store_true",
        help="issue a new refresh token on every refresh and revoke the old one",
    )
    return parser


def _run_sandbox(args: argparse.Namespace) -> int:
    from ringplus_tui.sandbox import Sandbox

    sandbox = Sandbox(
        args.host,
        args.port,
        token_lifetime=args.token_lifetime,
        rotate_refresh_tokens=args.rotate_refresh_tokens,
        latency=args.latency,
    )
    try:
        sandbox.start()
    except OSError as err:
        print(
            f"ringplus-tui: cannot listen on {args.host}:{args.port} ({err.strerror}). "
            "Choose another --port.",
            file=sys.stderr,
        )
        return 1
    provider = sandbox.provider()
    print(f"RingPlus sandbox running at {sandbox.base_url}")
    print(f"  authorization endpoint  {provider.authorization_endpoint}")
    print(f"  token endpoint          {provider.token_endpoint}")
    print(f"  revocation endpoint     {provider.revocation_endpoint}")
    print(f"  API base                {provider.api_base}  (GET /users/me, /accounts)")
    print("Demo application:")
    print(f"  client_id      {sandbox.client_id}")
    print(f"  client_secret  {sandbox.client_secret}")
    print(f"  redirect_uri   {sandbox.redirect_uri}")
    print("Demo users:")
    for user in sandbox.users:
        print(f"  {user.email}  password: {user.password}")
    print(f"Tokens last {args.token_lifetime} s. Press Ctrl+C to stop.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


def _run_tui(config_dir: Path) -> int:
    from ringplus_tui.store.secret_store import KeyringSecretStore, keyring_service
    from ringplus_tui.tui.factory import make_app

    app = make_app(config_dir, KeyringSecretStore(keyring_service(config_dir)))
    app.run()
    return 0


def sandbox_demo(sandbox: Sandbox) -> tuple[CredentialsPrefill, str]:
    """What ``--sandbox`` starts with: the credentials form with the demo app filled in
    (its client secret too), and the hint the sign-in screens show (the demo users)."""
    from ringplus_tui.core.prefill import CredentialsPrefill

    prefill = replace(
        CredentialsPrefill.from_app(sandbox.demo_app(), account="alice", editing=False),
        client_secret=sandbox.client_secret,
        intro=(
            "Sandbox demo: a local RingPlus-like provider is running, and its demo app "
            "(client ID, client secret, redirect URI) is filled in below. Press Ctrl+S "
            "to save it and sign in the account 'alice'."
        ),
    )
    users = " or ".join(f"{u.email} / {u.password}" for u in sandbox.users)
    hint = (
        f"Sandbox: sign in as {users}. Tokens last "
        f"{SANDBOX_TOKEN_LIFETIME // 60} minutes here, so you can watch them expire."
    )
    return prefill, hint


def _run_sandbox_tui() -> int:
    from ringplus_tui.sandbox import Sandbox
    from ringplus_tui.store.secret_store import MemorySecretStore
    from ringplus_tui.tui.factory import make_app

    with (
        Sandbox(token_lifetime=SANDBOX_TOKEN_LIFETIME) as sandbox,
        tempfile.TemporaryDirectory(prefix="ringplus-tui-sandbox-") as home,
    ):
        prefill, hint = sandbox_demo(sandbox)
        app = make_app(Path(home), MemorySecretStore(), prefill=prefill, sign_in_hint=hint)
        app.run()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns:
        The exit status.
    """
    args = _parser().parse_args(argv)
    try:
        if args.command == "sandbox":
            return _run_sandbox(args)
        if args.sandbox:
            return _run_sandbox_tui()
        from ringplus_tui.store.settings import default_config_dir

        config_dir = getattr(args, "config_dir", None) or default_config_dir()
        if args.command is None:
            return _run_tui(config_dir)
        from .commands import run

        return run(config_dir, args)
    except RingPlusError as err:
        print(f"ringplus-tui: {err.title}: {err.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
