"""Small widgets the screens share."""

from __future__ import annotations

import re

from textual import events
from textual.widgets import Input


class PasteInput(Input):
    """An :class:`Input` that keeps a whole multi-line paste.

    Textual's ``Input`` keeps only the first line of a paste; a URL that a
    terminal wrapped over several lines would lose its ``state``. This joins the
    lines and drops all whitespace, which never belongs in a URL.
    """

    def _on_paste(self, event: events.Paste) -> None:
        # Textual calls the handlers of every class in the MRO: stop Input's own,
        # which would insert the first line a second time.
        event.prevent_default()
        text = re.sub(r"\s+", "", event.text)
        if text:
            if self.selection.is_empty:
                self.insert_text_at_cursor(text)
            else:
                self.replace(text, *self.selection)
        event.stop()
