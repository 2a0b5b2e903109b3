"""What every command group shares: the ``--config-dir`` option, output helpers, and
running one command over a fresh service.

Nothing here imports the service, HTTP or Textual at module level, so building the
parser stays cheap for ``token``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ringplus_tui.core.errors import RingPlusError

from . import exits

if TYPE_CHECKING:
    from ringplus_tui.service.facade import OAuthService

Command = Callable[["OAuthService", argparse.Namespace], Awaitable[int]]
"""A script command: runs over a service, returns its exit status."""
Runner = Callable[[argparse.Namespace], int]
"""What a parser's ``run`` default holds: runs the parsed command, returns its exit status."""


def common_options() -> argparse.ArgumentParser:
    """The options every command takes (``--config-dir``, ``--debug``), as a parent
    parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="settings directory (default: $RINGPLUS_TUI_HOME or the platform's config dir)",
    )
    common.add_argument(
        "--debug",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="write a trace of every HTTP exchange and keyring call to FILE (mode 0600), "
        "with every secret redacted, to attach to a problem report",
    )
    return common


def config_dir_of(args: argparse.Namespace) -> Path:
    """The settings directory: ``--config-dir``, else ``$RINGPLUS_TUI_HOME`` or the
    platform's config directory."""
    from ringplus_tui.store.settings import default_config_dir

    found: Path | None = getattr(args, "config_dir", None)
    return found or default_config_dir()


SHOWN_LINE = 4000
"""Characters of one stderr line shown at most (its external parts are cut sooner)."""


def show(value: object) -> str:
    """``value`` (a name, user, scope or message from outside) made safe for a
    terminal: control characters escaped, cut to 500 characters
    (:func:`~ringplus_tui.core.safe_text.safe_text`). Never for machine output."""
    from ringplus_tui.core.safe_text import safe_text

    return safe_text(value)


def err(text: str) -> None:
    """Print a line for the person on stderr.

    Each line of ``text`` goes through :func:`~ringplus_tui.core.safe_text.safe_text`,
    so a provider's or a stored name's escape sequence is shown as text and never
    drives the terminal.
    """
    from ringplus_tui.core.safe_text import safe_text

    lines = (safe_text(line, limit=SHOWN_LINE) for line in str(text).split("\n"))
    print("\n".join(lines), file=sys.stderr)


def utc(epoch: float | None) -> str:
    """``epoch`` (UTC epoch seconds) as ``YYYY-MM-DD HH:MM:SS UTC``; ``—`` for ``None``;
    never raises (:func:`~ringplus_tui.core.status.format_utc`)."""
    from ringplus_tui.core.status import format_utc

    return format_utc(epoch)


def read_secret(prompt: str) -> str:
    """Read a secret from stdin when it is piped, else from a hidden prompt.

    Returns:
        The secret without its trailing newline (may be empty).
    """
    if not sys.stdin.isatty():
        return sys.stdin.read().strip()
    return getpass.getpass(prompt).strip()


def with_service(command: Command) -> Runner:
    """A :data:`Runner` that runs ``command`` over a fresh service (see :func:`run_command`)."""

    def run(args: argparse.Namespace) -> int:
        return run_command(config_dir_of(args), command, args)

    return run


def run_command(config_dir: Path, command: Command, args: argparse.Namespace) -> int:
    """Run one script command over a fresh service on the OS keyring.

    Warnings the service collected (proxy, clock skew) go to stderr after the
    command. Ctrl+C and SIGTERM stop the command, but a refresh already sent to the
    provider finishes and stores its token first (:meth:`OAuthService.aclose`).
    Before returning, secret writes still in flight (a keyring that answered late)
    get one more keyring timeout to finish, so a refresh token the provider already
    rotated is kept whenever the keyring answers at all.

    Returns:
        The command's exit status, the one :mod:`.exits` gives its error, or
        :data:`TERMINATED` after SIGTERM.

    Raises:
        KeyboardInterrupt: Ctrl+C (after the refreshes in flight were stored).
    """
    from ringplus_tui.service.factory import make_service
    from ringplus_tui.store.secret_store import KeyringSecretStore, keyring_service
    from ringplus_tui.store.trace import traced

    from .hints import CliHints

    terminated: list[int] = []

    async def main() -> int:
        service = make_service(
            config_dir, traced(KeyringSecretStore(keyring_service(config_dir))), hints=CliHints()
        )
        stop_on_sigterm(terminated)
        try:
            return await command(service, args)
        finally:
            for warning in (service.proxy_warning, service.take_clock_warning()):
                if warning:
                    err(f"ringplus-tui: warning: {warning}")
            if service.refreshing:
                err("ringplus-tui: letting the refresh already sent finish and store its token…")
            await service.aclose()

    try:
        return asyncio.run(main())
    except RingPlusError as error:
        return exits.fail(error)
    except asyncio.CancelledError:
        if not terminated:
            raise
        return TERMINATED
    finally:
        finish_secret_writes()


TERMINATED = 128 + signal.SIGTERM
"""Exit status after SIGTERM (143), as a shell reports a process the signal ended."""


def stop_on_sigterm(terminated: list[int]) -> None:
    """Make SIGTERM cancel the running task (the command), as Ctrl+C does, so its
    ``finally`` blocks run; a repeated SIGTERM is ignored while they do. Notes the
    signal in ``terminated``. Call from inside the event loop.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def on_sigterm() -> None:
        if not terminated and task is not None:
            terminated.append(signal.SIGTERM)
            task.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)


def finish_secret_writes() -> None:
    """Wait up to one keyring timeout for secret writes still running, saying so."""
    from ringplus_tui.store import secret_store

    if not secret_store.writes_in_flight():
        return
    timeout = secret_store.KEYRING_TIMEOUT
    err(f"ringplus-tui: waiting up to {timeout:g} s more for the keyring to finish storing…")
    if secret_store.wait_for_writes(timeout):
        err("ringplus-tui: the keyring answered late and kept what it was given.")
    else:
        err(
            "ringplus-tui: the keyring still has not answered, so a new token may not be "
            "stored. If the next refresh fails, sign the account in again."
        )
