"""A hand-written comment in ``config.toml`` survives the command line's sign-in, refresh and
``forget`` too."""

from __future__ import annotations

from ringplus_tui.sandbox import Sandbox
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.cli import Cli, add_sandbox_app, cli_sign_in
from tests.helpers.notes import annotate


def test_the_command_line_keeps_the_comments_too(cli: Cli, sandbox: Sandbox, config_dir) -> None:
    """``refresh`` and ``forget`` from the command line, each a process of its own."""
    add_sandbox_app(cli, sandbox)
    cli("account", "add", "alice", "--app", "sandbox")
    path = config_dir / "config.toml"
    before = annotate(path)

    cli_sign_in(cli, "alice")  # ``account add`` of an existing account changes nothing
    assert path.read_bytes() == before
    refreshed = cli("refresh", "alice")
    assert refreshed.returncode == 0, refreshed.stderr
    assert path.read_bytes() == before
    forgot = cli("forget", "alice")
    assert forgot.returncode == 0, forgot.stderr
    assert path.read_bytes() == before
    assert not SettingsStore(config_dir).load().accounts["alice"].signed_in
