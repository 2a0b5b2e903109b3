"""``ringplus-tui sandbox``: the RingPlus-compatible sandbox provider alone, until Ctrl+C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add the ``sandbox`` command to ``subparsers``.

    Args:
        subparsers: The top-level command set.
        common: The parent parser with the options every command takes.
    """
    help = "run the RingPlus-compatible sandbox provider until Ctrl+C"
    sandbox = subparsers.add_parser("sandbox", help=help, description=help, parents=[common])
    sandbox.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    sandbox.add_argument(
        "--allow-remote",
        action="store_true",
        help="also listen on a non-loopback --host: plain HTTP with published demo "
        "passwords, reachable by anyone on that network",
    )
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
    sandbox.set_defaults(run=run_sandbox, uses_settings=False)


def run_sandbox(args: argparse.Namespace) -> int:
    """Serve the sandbox provider, print its endpoints, demo app and users, and stop on
    Ctrl+C or SIGTERM.

    Returns:
        0 after a stop; 1 when the address cannot be listened on.
    """
    from ringplus_tui.sandbox import Sandbox

    sandbox = Sandbox(
        args.host,
        args.port,
        token_lifetime=args.token_lifetime,
        rotate_refresh_tokens=args.rotate_refresh_tokens,
        latency=args.latency,
        allow_remote=args.allow_remote,
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
