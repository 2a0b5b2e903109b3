"""Hand-written comments in ``config.toml``, as a person adds them, and the check that
they survive."""

from __future__ import annotations

import tomllib
from pathlib import Path

from ringplus_tui.store.schema import ACCOUNT_STATE_KEYS

NOTES = (
    "# My RingPlus settings. Keep the client id in sync with the portal.\n",
    "  # the sandbox app, set up on Monday\n",
    "# alice is the shared support line\n",
)


def annotate(path: Path) -> bytes:
    """Add hand-written comments: at the top, above a table, at the end of a line."""
    lines = path.read_text().splitlines(keepends=True)
    out = [NOTES[0], "\n"]
    for line in lines:
        if line.startswith("[accounts.alice]"):
            out.append(NOTES[2])
        if line.startswith("client_id"):
            line = line.rstrip("\n") + NOTES[1]
        out.append(line)
    path.write_text("".join(out))
    return path.read_bytes()


def assert_notes_kept(path: Path) -> None:
    """Every note is still in ``path``, and no program state moved into its accounts."""
    text = path.read_text()
    for note in NOTES:
        assert note.strip() in text
    assert not ACCOUNT_STATE_KEYS & set(tomllib.loads(text)["accounts"]["alice"])
