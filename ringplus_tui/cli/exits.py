"""Exit statuses: the one table from error class to exit status, and the one error report.

::

    0    success
    1    failure, including settings that cannot be read (the file is not valid TOML,
         holds an invalid value, or cannot be opened) and a keyring that fails or does
         not answer
    2    usage error or unknown app/account (the command line or a name is wrong)
    3    the account needs signing in
    4    temporary failure (network, timeout, 5xx), nothing changed
    130  interrupted (Ctrl+C)

A settings file that cannot be read is a failure (1), not a usage error (2): the
command was typed correctly and a name in it may well exist; the file needs fixing,
which the message says (file, line, key). So ``status`` and the dashboard launch
agree on 1, and 2 keeps meaning "change what you typed". The store says which it is
(:class:`~ringplus_tui.core.errors.SettingsFileError` for the files themselves).
"""

from __future__ import annotations

import sys

from ringplus_tui.core.errors import (
    ConfigError,
    NeedsSignInError,
    NetworkError,
    RingPlusError,
    SettingsFileError,
)

OK = 0
FAILURE = 1
USAGE = 2
NEEDS_SIGN_IN = 3
TEMPORARY = 4
INTERRUPTED = 130


EXIT_STATUS: dict[type[BaseException], int] = {
    KeyboardInterrupt: INTERRUPTED,
    NeedsSignInError: NEEDS_SIGN_IN,
    NetworkError: TEMPORARY,
    SettingsFileError: FAILURE,
    ConfigError: USAGE,  # unknown app/account, a taken name, an invalid field
    RingPlusError: FAILURE,
}
"""Exit status by error class; the most specific class in an error's MRO wins."""


def exit_status(error: BaseException) -> int:
    """The documented exit status for ``error`` (see :data:`EXIT_STATUS`); 1 for
    anything not listed."""
    for cls in type(error).__mro__:
        if cls in EXIT_STATUS:
            return EXIT_STATUS[cls]
    return FAILURE


FLAG_OF_FIELD = {
    "name": "NAME",
    "account": "NAME",
    "client_id": "--client-id",
    "redirect_uri": "--redirect-uri",
    "authorization_endpoint": "--authorization-endpoint",
    "token_endpoint": "--token-endpoint",
    "revocation_endpoint": "--revocation-endpoint",
    "api_base": "--api-base",
    "token_endpoint_auth_method": "--client-auth",
    "provider": "--provider",
    "issuer": "--issuer",
    "authorization_params": "--param",
    "token_placement": "--token-placement",
}
"""The command-line spelling of each form field a :class:`FieldError` can name."""


SHOWN_MESSAGE = 4000
"""Characters of an error message shown at most (its external parts are cut sooner)."""


def fail(error: RingPlusError) -> int:
    """Report ``error`` on stderr as ``ringplus-tui: TITLE: MESSAGE`` (a field error
    as ``ringplus-tui: --flag: MESSAGE``) and return its exit status.

    Title and message go through :func:`~ringplus_tui.core.safe_text.safe_text`: text
    a provider put there cannot drive the terminal.

    Args:
        error: What went wrong.
    """
    from ringplus_tui.core.safe_text import safe_text
    from ringplus_tui.core.validation import FieldError

    message = safe_text(error.message, limit=SHOWN_MESSAGE)
    if isinstance(error, FieldError):
        flag = safe_text(FLAG_OF_FIELD.get(error.field, error.field), limit=60)
        print(f"ringplus-tui: {flag}: {message}", file=sys.stderr)
        return USAGE
    title = safe_text(error.title, limit=100)
    print(f"ringplus-tui: {title}: {message}", file=sys.stderr)
    return exit_status(error)
