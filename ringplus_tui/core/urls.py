"""One strict reading of the URLs this app sends secrets to or listens on. Pure functions.

Python's :func:`urllib.parse.urlsplit` and a browser (the WHATWG URL standard) can
read one string as two different hosts: ``http://evil.example\\@127.0.0.1/`` is
127.0.0.1 to the first and evil.example to the second. So every endpoint, redirect
URI, ``api_base`` and pasted URL goes through :func:`parse_url`, which accepts only
what both read the same way:

- the scheme ``http`` or ``https`` (RFC 3986 §3.1, any letter case);
- no user information (``name:password@``, RFC 3986 §3.2.1);
- no backslash, space or control character anywhere;
- a host that is an ASCII DNS name (letters, digits, ``-`` and ``_`` in labels; a
  non-ASCII name is IDNA-encoded, RFC 5891), a dotted-quad IPv4 address, or an IPv6
  literal in brackets (RFC 3986 §3.2.2); a name WHATWG would read as an IPv4
  number (``127.1``, ``0x7f.0.0.1``) is refused;
- a decimal port from 0 to 65535.

Loopback (:func:`is_loopback_host`) means exactly ``localhost``, ``127.0.0.0/8`` and
``::1``: a ``*.localhost`` name is resolved by whatever DNS answers, so it is not.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

__all__ = ["ParsedURL", "URLError", "is_loopback_host", "origin", "parse_url"]

DEFAULT_PORTS = {"http": 80, "https": 443}
"""The port a URL without one uses, per scheme (RFC 9110 §4.2)."""

_FORBIDDEN = re.compile(r"[\x00-\x20\x7f-\x9f\\]")
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)$")
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


class URLError(ValueError):
    """A URL outside the strict grammar.

    Attributes:
        reason: Why, as the end of a sentence ("contains a backslash").
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ParsedURL:
    """An absolute http(s) URL, read strictly.

    Attributes:
        scheme: ``http`` or ``https``, lower case.
        host: The host in lower case: an ASCII DNS name (IDNA-encoded), a dotted
            IPv4 address, or an IPv6 address without brackets.
        port: The port as written, or ``None`` when there is none.
        path: The path as written (may be empty).
        query: The query without ``?`` (may be empty).
        fragment: The fragment without ``#`` (may be empty).
    """

    scheme: str
    host: str
    port: int | None
    path: str
    query: str
    fragment: str

    @property
    def effective_port(self) -> int:
        """The port, or the scheme's default (80 or 443)."""
        return self.port if self.port is not None else DEFAULT_PORTS[self.scheme]

    @property
    def netloc(self) -> str:
        """``host[:port]``, IPv6 in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        """Whether the host is this machine; see :func:`is_loopback_host`."""
        return is_loopback_host(self.host)

    @property
    def origin(self) -> tuple[str, str, int]:
        """``(scheme, host, port)``: the URL's origin (RFC 6454 §4), default port filled in."""
        return self.scheme, self.host, self.effective_port


def _host(text: str) -> str:
    if text.startswith("["):
        if not text.endswith("]"):
            raise URLError("has an invalid IPv6 address")
        try:
            return str(ipaddress.IPv6Address(text[1:-1]))
        except ValueError:
            raise URLError("has an invalid IPv6 address") from None
    if not text:
        raise URLError("has no host name")
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            raise URLError("has a host name that cannot be IDNA-encoded") from None
    name = text.lower()
    labels = (name[:-1] if name.endswith(".") else name).split(
        "."
    )  # "example.org." is DNS root-anchored
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise URLError("has an invalid host name")
    if _NUMERIC_LABEL.match(labels[-1]):
        try:
            return str(ipaddress.IPv4Address(name))
        except ValueError:
            raise URLError("has a host that is not a valid IPv4 address") from None
    return name


def parse_url(text: str) -> ParsedURL:
    """Read ``text`` as an absolute http(s) URL under the module's strict grammar.

    Args:
        text: The URL, already stripped of surrounding whitespace.

    Returns:
        Its parts.

    Raises:
        URLError: Outside the grammar; ``reason`` says how.
    """
    found = _FORBIDDEN.search(text)
    if found is not None:
        if found.group() == "\\":
            raise URLError("contains a backslash")
        raise URLError("contains a space or a control character")
    match = _URL.match(text)
    if match is None:
        raise URLError("is not a full http:// or https:// URL")
    scheme = match["scheme"].lower()
    if scheme not in DEFAULT_PORTS:
        raise URLError("is not a full http:// or https:// URL")
    authority = match["authority"]
    if not authority:
        raise URLError("is not a full http:// or https:// URL")
    if "@" in authority:
        raise URLError("contains user information (a name or password before '@')")
    host_text, port_text = authority, ""
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            raise URLError("has an invalid IPv6 address")
        host_text, tail = authority[: close + 1], authority[close + 1 :]
        if tail and not tail.startswith(":"):
            raise URLError("has an invalid port")
        port_text = tail[1:] if tail else ""
        has_port = bool(tail)
    else:
        host_text, colon, port_text = authority.partition(":")
        has_port = bool(colon)
    port: int | None = None
    if has_port and port_text:
        if not port_text.isdigit() or not port_text.isascii() or int(port_text) > 65535:
            raise URLError("has an invalid port")
        port = int(port_text)
    elif has_port and not port_text:
        port = None  # "host:" means the default port (RFC 3986 §3.2.3)
    host = _host(host_text)
    rest = match["rest"]
    rest, _, fragment = rest.partition("#")
    path, _, query = rest.partition("?")
    return ParsedURL(scheme, host, port, path, query, fragment)


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is exactly ``localhost``, an address in ``127.0.0.0/8``, or
    ``::1`` (brackets allowed). ``*.localhost`` names and other spellings are not."""
    name = host.lower()
    if name == "localhost":
        return True
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in ipaddress.IPv4Network("127.0.0.0/8")
    return address == ipaddress.IPv6Address("::1")


def origin(url: str) -> tuple[str, str, int] | None:
    """The origin ``(scheme, host, port)`` of ``url`` (RFC 6454 §4), or ``None`` when
    ``url`` is outside the grammar of :func:`parse_url`."""
    try:
        return parse_url(url).origin
    except URLError:
        return None
