"""Small widgets the screens share."""

from __future__ import annotations

import re
from collections.abc import Sequence

from textual import events
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input
from textual.widgets._data_table import CellDoesNotExist, CellType, ColumnKey, RowKey

FooterKeys = tuple[object, ...]


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
        self.take_paste(event.text)
        event.stop()

    def take_paste(self, pasted: str) -> None:
        """Put a pasted URL here (lines joined, whitespace dropped), replacing what was
        there, and move the focus here; an empty paste changes nothing."""
        text = re.sub(r"\s+", "", pasted)
        if text:
            self.value = text
            self.cursor_position = len(text)
            self.focus()
            self.scroll_visible()


class KeysFooter(Footer):
    """Textual's :class:`Footer`, rebuilt only when the keys it shows change.

    ``Footer`` throws away and re-mounts all its keys whenever the screen's
    bindings *may* have changed: the screen is shown, focus moves, or an app calls
    ``refresh_bindings``. Opening the dashboard does that three times, and each
    rebuild re-styles every key (about a third of the start-up time over a bare
    app). This compares what the keys would be (key, label, enabled, tooltip,
    group) and skips a rebuild that would draw the same footer.
    """

    _shown: FooterKeys | None = None

    def _keys(self) -> FooterKeys:
        if not self._bindings_ready:
            return ()
        palette = self.app.COMMAND_PALETTE_BINDING
        keys = tuple(
            (key, active.enabled, active.tooltip, *_shown_fields(active.binding))
            for key, active in self.screen.active_bindings.items()
            if active.binding.show or key == palette
        )
        return (keys, self.compact, self.show_command_palette, self.app.ENABLE_COMMAND_PALETTE)

    async def recompose(self) -> None:
        """Rebuild the keys if they differ from the ones on screen."""
        if not self.is_attached:  # its screen has gone since the rebuild was asked for
            return
        keys = self._keys()
        if keys == self._shown and self.children:
            return
        self._shown = keys
        await super().recompose()


def _shown_fields(binding: Binding) -> tuple[object, ...]:
    return (binding.action, binding.description, binding.group, binding.tooltip)


class CountdownTable(DataTable[CellType]):
    """A :class:`DataTable` whose live cells (countdowns) change without re-rendering
    the rest of the table.

    ``DataTable.update_cell`` drops every cached cell, row and line (it bumps one
    update counter) and repaints the whole widget, so a countdown in each visible
    row costs a full re-render every second: about 10 % of a core for a screenful
    of rows. :meth:`update_live_cells` drops only the changed cells' cache entries
    and repaints only their rows.

    It relies on ``DataTable``'s private caches as Textual 8 has them; if they are
    not there or shaped otherwise, it falls back to what ``update_cell`` does
    (correct, only slower).
    """

    def update_live_cells(self, changes: Sequence[tuple[str, str, CellType]]) -> None:
        """Set cells by (row key, column key, value) and repaint only their rows.

        Raises:
            CellDoesNotExist: A row or column key is unknown.
        """
        if not changes:
            return
        try:
            data = self._data
            caches = (self._cell_render_cache, self._row_render_cache, self._line_cache)
            renderables = self._row_renderable_cache
        except AttributeError:  # a Textual whose DataTable keeps other caches
            for row, column, value in changes:
                self.update_cell(row, column, value)
            return
        cells: set[tuple[object, object]] = set()
        rows: dict[RowKey, int] = {}
        for row, column, value in changes:
            row_key, column_key = RowKey(row), ColumnKey(column)
            if row_key not in data or column_key not in self.columns:
                raise CellDoesNotExist(
                    f"No cell exists for row_key={row!r}, column_key={column!r}."
                )
            data[row_key][column_key] = value
            cells.add((row_key, column_key))
            rows.setdefault(row_key, self.get_row_index(row_key))
        try:
            regions = {key: self._get_row_region(index) for key, index in rows.items()}
            lines = {y for region in regions.values() for y in range(region.y, region.bottom)}
            cell_cache, row_cache, line_cache = caches
            for cell_key in [k for k in cell_cache.keys() if (k[0], k[1]) in cells]:  # noqa: SIM118
                cell_cache.discard(cell_key)
            for render_key in [k for k in row_cache.keys() if k[0] in rows]:  # noqa: SIM118
                row_cache.discard(render_key)
            for line_key in [k for k in line_cache.keys() if k[0] in lines]:  # noqa: SIM118
                line_cache.discard(line_key)
            indexes = set(rows.values())
            for index_key in [k for k in renderables.keys() if k[1] in indexes]:  # noqa: SIM118
                renderables.discard(index_key)
        except (AttributeError, IndexError, TypeError):  # caches shaped otherwise
            self._update_count += 1  # what update_cell does: every cache is stale
            self.refresh()
            return
        for region in regions.values():
            self._refresh_region(region)
