"""Serve the test provider: ``python -m tests.dot_server.serve [--port N]`` (from the repo root).

Migrates a SQLite database in ``$DOT_SERVER_DATA`` (default: a temporary directory removed on
exit), creates the user ``alice`` (password ``correct horse``, Alice Example, alice@example.org),
then serves on 127.0.0.1 with a threaded WSGI server. Once connections are accepted it prints
exactly one line to stdout, ``READY http://127.0.0.1:PORT``; anything else (errors) goes to
stderr. SIGTERM exits cleanly (status 0).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import tempfile

USERNAME = "alice"
PASSWORD = "correct horse"


def _prepare_database() -> None:
    """Create the tables and the one user."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    user_model = get_user_model()
    if not user_model.objects.filter(username=USERNAME).exists():
        user_model.objects.create_user(
            USERNAME,
            email="alice@example.org",
            password=PASSWORD,
            first_name="Alice",
            last_name="Example",
        )


def main(argv: list[str] | None = None) -> int:
    """Parse ``--port``, prepare the database and serve until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 (default) picks a free port")
    args = parser.parse_args(argv)

    # SIGTERM behaves like Ctrl-C, even during start-up: the temporary directory is removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="dot-server-") as default_data:
        os.environ.setdefault("DOT_SERVER_DATA", default_data)
        os.environ["DJANGO_SETTINGS_MODULE"] = "tests.dot_server.settings"
        with contextlib.suppress(KeyboardInterrupt):
            _serve(args.port)
    return 0


def _serve(port: int) -> None:
    import django

    django.setup()
    _prepare_database()

    from django.core.wsgi import get_wsgi_application
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request lines
    server = make_server("127.0.0.1", port, get_wsgi_application(), threaded=True)
    # make_server() has bound and is listening: connections queue until serve_forever().
    print(f"READY http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()  # returns on KeyboardInterrupt, closing the socket


if __name__ == "__main__":
    sys.exit(main())
