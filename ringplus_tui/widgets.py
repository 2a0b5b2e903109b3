"""Small widgets the screens share."""

from __future__ import annotations

import re

from textual import events
from textual.widgets import Input


class PasteInput(Input):
    """An :class:`Input` for one pasted URL: keeps a whole multi-line paste, and a new
    paste replaces what was there.

    Textual's ``Input`` keeps only the first line of a paste; a URL that a
    terminal wrapped over several lines would lose its ``state``. This joins the
    lines and drops all whitespace, which never belongs in a URL. Pasting again
    after a failed attempt replaces the old URL instead of appending to it.
    """

    def _on_paste(self, event: events.Paste) -> None:
        # Textual calls the handlers of every class in the MRO: stop Input's own,
        # which would insert the first line a second time.
        event.prevent_default()
        text = re.sub(r"\s+", "", event.text)
        if text:
            self.value = text
            self.cursor_position = len(text)
            self.scroll_visible()
        event.stop()
