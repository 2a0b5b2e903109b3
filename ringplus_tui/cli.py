"""The ``ringplus-tui`` command.

``ringplus-tui`` opens the dashboard; ``ringplus-tui --sandbox`` opens it against
an embedded sandbox provider with throw-away settings and secrets;
``ringplus-tui sandbox`` runs the sandbox provider alone until Ctrl+C.

Exit status: 0 success, 1 failure, 2 usage error. Errors go to stderr as plain
sentences, never a traceback.
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

from .errors import RingPlusError

SANDBOX_TOKEN_LIFETIME = 300
"""Seconds an access token lasts in ``--sandbox`` mode: short, to watch the countdown."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ringplus-tui",
        description="A terminal dashboard for the OAuth2 tokens of several RingPlus accounts.",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        help="settings directory (default: $RINGPLUS_TUI_HOME or the platform's config dir)",
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="try the app against a built-in RingPlus-compatible provider; "
        "uses throw-away settings and secrets, touches nothing of yours",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    sandbox = commands.add_parser(
        "sandbox", help="run the RingPlus-compatible sandbox provider until Ctrl+C"
    )
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
        "--rotate-refresh-tokens",
        action="store_true",
        help="issue a new refresh token on every refresh and revoke the old one",
    )
    return parser


def _run_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import Sandbox

    sandbox = Sandbox(
        args.host,
        args.port,
        token_lifetime=args.token_lifetime,
        rotate_refresh_tokens=args.rotate_refresh_tokens,
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
    print(f"  API                     {provider.api_base}/users/me, /accounts")
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


def _run_tui(args: argparse.Namespace) -> int:
    from .factory import make_app
    from .secret_store import KeyringSecretStore
    from .settings import default_config_dir

    config_dir = args.config_dir or default_config_dir()
    app = make_app(config_dir, KeyringSecretStore())
    app.run()
    return 0


def _run_sandbox_tui() -> int:
    from .factory import make_app
    from .prefill import CredentialsPrefill
    from .sandbox import Sandbox
    from .secret_store import MemorySecretStore

    with (
        Sandbox(token_lifetime=SANDBOX_TOKEN_LIFETIME) as sandbox,
        tempfile.TemporaryDirectory(prefix="ringplus-tui-sandbox-") as home,
    ):
        prefill = replace(
            CredentialsPrefill.from_app(sandbox.demo_app(), account="alice", editing=False),
            client_secret=sandbox.client_secret,
        )
        users = " or ".join(f"{u.email} / {u.password}" for u in sandbox.users)
        hint = (
            f"Sandbox: sign in as {users}. Tokens last "
            f"{SANDBOX_TOKEN_LIFETIME // 60} minutes here, so you can watch them expire."
        )
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
        return _run_tui(args)
    except RingPlusError as err:
        print(f"ringplus-tui: {err.title}: {err.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
