"""The ``ringplus-tui`` command: builds the parser from one module per command group
and runs what was asked.

``ringplus-tui`` opens the dashboard, ``ringplus-tui --sandbox`` opens it against an
embedded sandbox provider (:mod:`.dashboard`). The commands, each beside its parser:

==========================================  =====================
``app add|list|rename|remove``              :mod:`.apps`
``account add|list|rename|remove``          :mod:`.accounts`
``authorize``, ``login``                    :mod:`.sign_in`
``token``, ``refresh``, ``revoke``, ``forget``  :mod:`.tokens`
``status``                                  :mod:`.status`
``sandbox``                                 :mod:`.sandbox`
==========================================  =====================

``--debug FILE`` (before or after the command) writes a trace of every HTTP exchange
and keyring call to FILE, secrets redacted (:mod:`ringplus_tui.store.trace`).

Exit statuses are mapped in :mod:`.exits`. Errors go to stderr as one or two plain
sentences, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ringplus_tui.core.errors import RingPlusError

from . import accounts, apps, exits, sandbox, sign_in, status, tokens
from .common import common_options, config_dir_of
from .dashboard import SANDBOX_TOKEN_LIFETIME, sandbox_demo

__all__ = ["SANDBOX_TOKEN_LIFETIME", "main", "sandbox_demo"]

EPILOG = (
    "Exit status: 0 success; 1 failure (also: settings that cannot be read, a keyring that "
    "fails or does not answer); 2 usage error or unknown app/account; 3 the account needs "
    "signing in; 4 temporary failure (network, timeout, 5xx), nothing changed; "
    "130 interrupted (Ctrl+C)."
)


def _parser() -> argparse.ArgumentParser:
    """The whole command line: the top-level options and every command group's parser."""
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="ringplus-tui",
        description="A terminal dashboard for the OAuth2 tokens of several RingPlus accounts. "
        "Without a command it opens the dashboard.",
        epilog=EPILOG,
        parents=[common],
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="try the app against a built-in RingPlus-compatible provider; "
        "uses throw-away settings and secrets, touches nothing of yours",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in (apps, accounts, sign_in, tokens, status, sandbox):
        group.add_parser(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns:
        The exit status (see :mod:`.exits`).
    """
    args = _parser().parse_args(argv)
    config_dir: Path | None = None
    debug: Path | None = getattr(args, "debug", None)
    try:
        if debug is not None:
            from ringplus_tui.store import trace

            trace.start(debug)
        if args.command == "sandbox":
            return int(args.run(args))
        if args.sandbox:
            from .dashboard import run_sandbox_dashboard

            return run_sandbox_dashboard()
        config_dir = config_dir_of(args)
        if args.command is None:
            from .dashboard import run_dashboard

            return run_dashboard(config_dir)
        return int(args.run(args))
    except RingPlusError as err:
        return exits.fail(err)
    except KeyboardInterrupt:
        return exits.INTERRUPTED
    finally:
        if debug is not None:
            from ringplus_tui.store import trace

            trace.stop()


def entry() -> None:
    """The installed ``ringplus-tui`` command: :func:`main`, then exit with its status.

    When a keyring call is still blocked on its (daemon) thread, the process ends
    with :func:`os._exit` after flushing stdout and stderr, so nothing a backend
    registered for shutdown can wait on that thread. Secret writes were already
    given their chance to finish (:func:`.common.finish_secret_writes`).
    """
    status = main()
    store = sys.modules.get("ringplus_tui.store.secret_store")
    if store is not None and store.calls_in_flight():
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # closed or broken pipe
                stream.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    entry()
