"""``python -m ringplus_tui``: the same as the ``ringplus-tui`` command."""

from ringplus_tui.cli.main import entry

entry()
