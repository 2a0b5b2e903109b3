"""``config.toml``: what a person sets, read with :mod:`tomllib`, written with tomlkit.

The file holds apps (their provider, endpoints, client id, redirect URI, scopes)
and accounts (their app and options)::

    [apps.work]
    provider = "ringplus"              # a built-in preset, or "custom" with endpoints
    client_id = "abc123"
    redirect_uri = "https://example.org/callback"
    scopes = ["read"]

    [accounts.alice]
    app = "work"
    auto_refresh = false

Writing changes only the tables whose meaning changed, and in them only the keys
whose value changed, so the person's comments, order and layout stay. Token
metadata found here (written by versions before the state file) is accepted on
reading and removed on the next write, after it was saved to the state file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from ringplus_tui.core.errors import SettingsFileError

Tables = dict[str, dict[str, Any]]
"""Per app or account name, its table as plain values."""
SECTIONS = ("apps", "accounts")


def read_text(path: Path) -> str | None:
    """The file's text (a UTF-8 byte-order mark dropped); ``None`` when missing.

    Raises:
        ConfigError: It cannot be read.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise SettingsFileError(
            f"Cannot read {path}: {err.strerror}. Check the file's permissions."
        ) from err
    return raw.decode("utf-8-sig", errors="replace")


def parse_text(text: str, path: Path) -> dict[str, Any]:
    """Parse TOML text.

    Raises:
        ConfigError: It is not TOML; the message gives line and column.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SettingsFileError(
            f"{path} is not valid TOML ({err}). Fix that line, or move the file "
            "away to start with empty settings."
        ) from err


def render(
    text: str | None,
    wanted: Mapping[str, Tables],
    same: Callable[[str, str, dict[str, Any]], bool],
    drop: Mapping[str, frozenset[str]],
) -> str:
    """Edit the TOML ``text`` so that it holds the ``wanted`` tables, keeping the rest.

    Args:
        text: The file as it is (``None`` or unparsable: start a new document).
        wanted: Per section (``apps``, ``accounts``), every table it should hold.
        same: ``same(section, name, table)`` tells whether a table as found
            already means what is wanted; such a table is left untouched.
        drop: Per section, keys always removed from a table that is rewritten.

    Returns:
        The new text; tables and keys that did not change keep their comments.
    """
    import tomlkit
    from tomlkit.items import InlineTable, Table

    try:
        doc = tomlkit.parse(text or "")
    except Exception:  # an unparsable file is replaced as a whole
        doc = tomlkit.document()
    for section in SECTIONS:
        tables = wanted.get(section, {})
        container = doc.get(section)
        if not isinstance(container, Table | InlineTable):
            if not tables and section not in doc:
                continue
            if section in doc:
                del doc[section]
            container = tomlkit.table(is_super_table=True)
            doc[section] = container
        for name in [n for n in container if n not in tables]:
            del container[name]
        for name, table in tables.items():
            current = container.get(name)
            if isinstance(current, Table | InlineTable):
                if not (drop.get(section, frozenset()) & set(current)) and same(
                    section, name, current.unwrap()
                ):
                    continue
                _edit(current, table, partial(same, section, name), drop.get(section, frozenset()))
            else:
                if name in container:
                    del container[name]
                new = tomlkit.table()
                for key, value in table.items():
                    new[key] = value
                # Comments after the last table belong to what follows it: keep
                # them below the new table, so they stay above the next section.
                previous = _last_table(container)
                tail = _detach_tail(previous) if previous is not None else []
                if tail and previous is not None:
                    previous.add(tomlkit.nl())
                new.value.body.extend(tail or [(None, tomlkit.nl())])
                container[name] = new
    return tomlkit.dumps(doc)


def _last_table(container: Any) -> Any:
    """The table whose body ends where ``container`` ends (the deepest last one)."""
    from tomlkit.items import Table

    found = None
    while True:
        tables = [item for key, item in container.value.body if key is not None]
        if not tables or not isinstance(tables[-1], Table):
            return found
        found = container = tables[-1]
        if container.value.body and container.value.body[-1][0] is None:
            return found


def _detach_tail(table: Any) -> list[tuple[None, Any]]:
    """Remove and return the comments and blank lines at the end of ``table``'s body."""
    body = table.value.body
    tail: list[tuple[None, Any]] = []
    while body and body[-1][0] is None:
        tail.insert(0, body.pop())
    return tail


def _edit(
    current: Any,
    table: Mapping[str, Any],
    same: Callable[[dict[str, Any]], bool],
    drop: frozenset[str],
) -> None:
    """Set the keys whose value changed; drop stale ones unless they mean the same.

    A new key goes after the table's last key, above any comment that ends the table.
    """
    tail = _detach_tail(current)
    for key, value in table.items():
        if key not in current or _plain(current[key]) != value:
            current[key] = value
    current.value.body.extend(tail)
    extras = [key for key in current if key not in table]
    for key in extras:
        if key in drop:
            del current[key]
    if not same(current.unwrap()):
        for key in extras:
            if key in current:
                del current[key]


def _plain(item: Any) -> Any:
    unwrap = getattr(item, "unwrap", None)
    return unwrap() if callable(unwrap) else item
