"""Capturing the OAuth 2.0 redirect on a loopback redirect URI (RFC 8252 §7.3).

When an app's ``redirect_uri`` is ``http://127.0.0.1:PORT/…``, ``http://[::1]:PORT/…``
or ``http://localhost:PORT/…``, the browser is sent back to this machine with the
authorization response (RFC 6749 §4.1.2) in the query. A :class:`LoopbackListener`
listens on that address for the length of one sign-in, hands the full redirected URL
to a ``complete`` coroutine (which parses it and exchanges the code), answers the
browser with a short page, and stops. A person never has to copy the address bar.

The listener is a tiny HTTP/1.1 server on asyncio streams, parsed with h11. It
answers ``GET`` requests only, one request per connection (``Connection: close``),
and never writes the URL, the code or the state into a page or a log. A request that
is not for the redirect path (a browser asks for ``/favicon.ico``) or whose ``state``
does not match the sign-in in progress (RFC 6749 §10.12) is refused and the listener
keeps waiting; only the first matching request runs ``complete``.

This module imports neither Textual nor HTTPX.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import html
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from types import TracebackType
from typing import Generic, Self, TypeVar
from urllib.parse import parse_qsl, urlsplit

import h11

from ringplus_tui.core.errors import LoopbackUnavailableError, RingPlusError
from ringplus_tui.core.safe_text import safe_text
from ringplus_tui.core.urls import URLError, parse_url

__all__ = [
    "MAX_HEADER_BYTES",
    "READ_TIMEOUT",
    "LoopbackListener",
    "LoopbackUnavailableError",
    "capture_redirect",
    "loopback_address",
]

T = TypeVar("T")

READ_TIMEOUT = 10.0
"""Seconds a connection may take to send its request line and headers."""

MAX_HEADER_BYTES = 16 * 1024
"""Largest request line plus headers accepted, in bytes; a larger request is dropped."""

MAX_CONNECTIONS = 64
"""Connections served at once. When all are taken, a new connection is accepted and
the oldest one still sending its request head is dropped, so slow or idle
connections cannot keep the browser's redirect out; a new connection is refused
only when every slot is answering a complete request."""

_LINGER_TIMEOUT = 2.0  # seconds to read away an unread request body before closing
_LINGER_BYTES = 1024 * 1024
_CLOSE_TIMEOUT = 5.0  # seconds to flush a response before the socket is dropped
_NO_IPV6 = (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)
_READ_CHUNK = 64 * 1024

_PASTE = "Paste the redirected URL instead."
_LOOPBACK_FORMS = "http://127.0.0.1:PORT/…, http://[::1]:PORT/… or http://localhost:PORT/…"


def _signed_in(_: object) -> str:
    return "You are signed in."


def loopback_address(redirect_uri: str) -> tuple[str, int, str] | None:
    """Where to listen for a loopback redirect URI (RFC 8252 §7.3).

    Args:
        redirect_uri: The app's ``redirect_uri``.

    Returns:
        ``(host to bind, port, path)`` when ``redirect_uri`` is
        ``http://127.0.0.1:PORT/…``, ``http://[::1]:PORT/…`` or
        ``http://localhost:PORT/…`` with an explicit port from 1 to 65535;
        ``localhost`` binds ``127.0.0.1`` (and :class:`LoopbackListener` also ``::1``
        when this machine has IPv6) and ``[::1]`` binds ``::1``. The path is
        the URI's path exactly as written, ``"/"`` when empty. Otherwise ``None``
        (``https``, another host, no port, or a URI outside the strict grammar of
        :func:`ringplus_tui.core.urls.parse_url`, such as user information or a
        backslash).
    """
    try:
        parts = parse_url(redirect_uri.strip())
    except URLError:
        return None
    host, port = parts.host, parts.port
    if parts.scheme != "http" or port is None or port == 0:
        return None
    if host == "localhost" or host == "127.0.0.1":
        bind = "127.0.0.1"
    elif host == "::1":
        bind = "::1"
    else:
        return None
    return bind, port, parts.path or "/"


def _not_loopback_message(redirect_uri: str) -> str:
    shown = redirect_uri.strip()
    shown = safe_text(shown, limit=81)
    try:
        parse_url(redirect_uri.strip())
    except URLError as err:
        if "://" in redirect_uri and redirect_uri.strip().lower().startswith("http://"):
            return f"The redirect URI {shown} {err.reason}, so it cannot be listened on. {_PASTE}"
    try:
        parts = urlsplit(redirect_uri.strip())
        port = parts.port
    except ValueError:
        return f"The redirect URI {shown} has an invalid port. {_PASTE}"
    if parts.scheme.lower() == "https":
        reason = "uses https, which this program cannot answer"
    elif parts.scheme.lower() != "http":
        reason = "is not an http address"
    elif parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        reason = "does not point to this machine"
    elif not port:
        reason = "has no port"
    else:
        reason = "cannot be listened on"
    return (
        f"The redirect URI {shown} {reason}, so the redirect cannot be captured here "
        f"(only {_LOOPBACK_FORMS} can be). {_PASTE}"
    )


def _bind_error_message(err: OSError, host: str, port: int) -> str:
    tail = f"so the redirect cannot be captured here. {_PASTE}"
    if err.errno == errno.EADDRINUSE:
        return f"Port {port} on {host} is in use by another program, {tail}"
    if err.errno in (errno.EACCES, errno.EPERM):
        why = " (ports below 1024 need administrator rights)" if port < 1024 else ""
        return f"This program is not allowed to listen on port {port} on {host}{why}, {tail}"
    if err.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return f"The address {host} is not available on this machine (port {port}), {tail}"
    reason = err.strerror or type(err).__name__
    return f"Cannot listen on port {port} on {host} ({reason}), {tail}"


def _bind(host: str, port: int) -> socket.socket:
    """Bind and listen synchronously, so a busy port fails before anything else runs."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name == "posix":
            # Rebind while the last sign-in's connections sit in TIME_WAIT. POSIX still
            # refuses a port another socket listens on; Windows would not, hence the else.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        elif hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # pragma: no cover - Windows
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        sock.bind((host, port))
        sock.listen(16)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;display:flex;min-height:100vh;"
    "align-items:center;justify-content:center;background:#f6f6f6;color:#222}"
    "main{max-width:32rem;padding:2rem;background:#fff;border-radius:.5rem;"
    "box-shadow:0 1px 4px #0002}h1{margin-top:0;font-size:1.4rem}"
    "@media(prefers-color-scheme:dark){body{background:#1e1e1e;color:#ddd}"
    "main{background:#2a2a2a}}"
)


def _page(title: str, *paragraphs: str) -> bytes:
    """A small self-contained HTML page; every text is escaped."""
    text = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{text}</main></body></html>"
    ).encode()


class _Response:
    """Status and page of one answer."""

    __slots__ = ("body", "status")

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body


_NOT_FOUND = _Response(404, _page("Not found", "This page is not part of the sign-in."))
_NOT_ALLOWED = _Response(405, _page("Method not allowed", "Only GET requests are answered here."))
_WRONG_STATE = _Response(
    400,
    _page(
        "Wrong sign-in",
        "This request does not belong to the sign-in in progress.",
        "Start the sign-in from the terminal and follow the link it shows.",
    ),
)
_BUSY = _Response(
    409,
    _page(
        "Sign-in in progress",
        "This sign-in is already being handled.",
        "You can close this tab and return to the terminal.",
    ),
)
_INTERNAL = _Response(
    500,
    _page(
        "Sign-in failed",
        "Something went wrong while finishing the sign-in.",
        "Return to the terminal for details.",
    ),
)


class LoopbackListener(Generic[T]):
    """Listens on a loopback redirect URI for one authorization response (RFC 8252 §7.3).

    Use it as an async context manager; entering binds the port (so a busy port is
    reported before the browser is opened), leaving closes everything::

        async with LoopbackListener(redirect_uri, state, service.finish) as listener:
            open_browser(authorization_url)  # after the port is known to be ours
            account = await listener.wait()

    For every ``GET`` to the redirect URI's path whose ``state`` equals ``state``, the
    full redirected URL (``http://{host as in redirect_uri}:{port}{path}?{query}``,
    the authorization response of RFC 6749 §4.1.2, error responses included) is
    passed to ``complete``. Its result is the result of :meth:`wait`. Only one
    ``complete`` ever runs; afterwards the listener stops accepting connections.

    Args:
        redirect_uri: The app's ``redirect_uri``; see :func:`loopback_address`.
        state: The ``state`` sent with the authorization request; must not be empty.
        complete: Called once with the redirected URL (it holds the authorization
            code; do not log it). It may raise :class:`RingPlusError`, whose
            ``message`` is then shown in the browser.
        describe: Text for the success page from ``complete``'s result, e.g. the
            account name. Shown HTML-escaped. Defaults to "You are signed in.".
        read_timeout: Seconds a connection may take to send its request head
            (default :data:`READ_TIMEOUT`); a slower one is closed.

    Raises:
        ValueError: ``state`` is empty.
    """

    def __init__(
        self,
        redirect_uri: str,
        state: str,
        complete: Callable[[str], Awaitable[T]],
        *,
        describe: Callable[[T], str] = _signed_in,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        if not state:
            raise ValueError("state must not be empty")
        self._redirect_uri = redirect_uri
        self._state = state.encode()
        self._complete = complete
        self._describe = describe
        self._read_timeout = read_timeout
        self._where = loopback_address(redirect_uri)
        self._netloc = urlsplit(redirect_uri.strip()).netloc
        self._servers: list[asyncio.Server] = []
        self._hosts: list[str] = []
        self._connections: set[asyncio.Task[None]] = set()
        self._idle: dict[asyncio.Task[None], None] = {}  # still reading, oldest first
        self._result: asyncio.Future[T] | None = None
        self._claimed = False
        self._closed = False

    @property
    def address(self) -> str:
        """``host:port`` listened on, e.g. ``127.0.0.1:8765`` or ``[::1]:8765``; for
        ``localhost`` once started on both, ``127.0.0.1:8765 and [::1]:8765``.

        For a redirect URI that is not a loopback address, its ``netloc`` as written.
        """
        if self._where is None:
            return self._netloc
        _, port, _ = self._where
        hosts = self._hosts or [self._where[0]]
        return " and ".join(f"[{h}]:{port}" if ":" in h else f"{h}:{port}" for h in hosts)

    @property
    def listening(self) -> bool:
        """Whether the listener accepts connections now."""
        return bool(self._servers) and all(server.is_serving() for server in self._servers)

    async def start(self) -> None:
        """Bind the redirect URI's address and start accepting connections.

        The socket is bound before this coroutine first yields to the event loop, so
        a busy port fails fast. Calling it again while started does nothing.

        A ``localhost`` redirect URI is served on both ``127.0.0.1`` and ``::1`` (a
        browser may try either), unless this machine has no IPv6; if another program
        holds ``[::1]:PORT`` it would receive the code, so the sign-in is refused.

        Raises:
            LoopbackUnavailableError: The redirect URI is not a loopback address with a
                port, or binding failed (port in use, on ``::1`` too for ``localhost``,
                permission denied, address not available); the message names the
                address and suggests pasting.
            RuntimeError: The listener was already closed.
        """
        if self._closed:
            raise RuntimeError("this LoopbackListener is closed; make a new one")
        if self._servers:
            return
        if self._where is None:
            raise LoopbackUnavailableError(_not_loopback_message(self._redirect_uri))
        socks = self._bind_all()
        self._result = asyncio.get_running_loop().create_future()
        try:
            for sock in socks:
                self._servers.append(await asyncio.start_server(self._accept, sock=sock))
        except BaseException:
            for server in self._servers:
                server.close()
            for sock in socks:
                sock.close()
            self._servers = []
            self._result.cancel()
            raise

    def _bind_all(self) -> list[socket.socket]:
        """Bind every address of the redirect URI: one, or two for ``localhost``."""
        assert self._where is not None
        host, port, _ = self._where
        try:
            socks = [_bind(host, port)]
        except OSError as err:
            raise LoopbackUnavailableError(_bind_error_message(err, host, port)) from err
        self._hosts = [host]
        if urlsplit(self._redirect_uri.strip()).hostname != "localhost":
            return socks
        try:
            socks.append(_bind("::1", port))
        except OSError as err:
            if err.errno in _NO_IPV6:
                return socks  # no IPv6 here: a browser cannot reach ::1 either
            socks[0].close()
            if err.errno == errno.EADDRINUSE:
                message = (
                    f"Port {port} on ::1 (IPv6 localhost) is in use by another program, "
                    "which would receive the sign-in where the browser prefers IPv6, so "
                    f"the redirect is not captured here. {_PASTE}"
                )
            else:
                message = _bind_error_message(err, "::1", port)
            raise LoopbackUnavailableError(message) from err
        self._hosts.append("::1")
        return socks

    async def wait(self) -> T:
        """Wait for the browser's redirect and return what ``complete`` returned.

        Starts the listener first if :meth:`start` was not called. Cancelling this
        coroutine closes the listener (see :meth:`close`).

        Returns:
            The value ``complete`` returned for the first matching request.

        Raises:
            RingPlusError: What ``complete`` raised (re-raised as is), or
                :class:`LoopbackUnavailableError` from starting.
            asyncio.CancelledError: The listener was closed before a redirect arrived.
            Exception: Any other exception ``complete`` raised.
        """
        await self.start()
        assert self._result is not None
        try:
            return await asyncio.shield(self._result)
        except asyncio.CancelledError:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop listening and close every open connection; safe to call twice.

        A ``complete`` still running is cancelled. Returns once the port is free again
        and no task of the listener is left.
        """
        self._closed = True
        self._stop_listening()
        if self._result is not None:
            if not self._result.done():
                self._result.cancel()
            elif not self._result.cancelled():
                self._result.exception()  # mark retrieved: no "never retrieved" warning
        tasks = [task for task in self._connections if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- serving ---------------------------------------------------------------------

    def _stop_listening(self) -> None:
        """Close the listening socket and drop idle connections (not the current task)."""
        for server in self._servers:
            server.close()
        current = asyncio.current_task()
        for task in self._connections:
            if task is not current:
                task.cancel()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Called synchronously for each new connection, so every task is tracked.

        When :data:`MAX_CONNECTIONS` are open, the oldest connection still sending its
        request head makes room; with none such, the new connection is closed.
        """
        if self._closed:
            writer.transport.abort()
            return
        if len(self._connections) - self._dropping() >= MAX_CONNECTIONS:
            if not self._idle:
                writer.transport.abort()
                return
            oldest = next(iter(self._idle))
            del self._idle[oldest]
            oldest.cancel()
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._connections.add(task)
        self._idle[task] = None
        task.add_done_callback(self._forget)

    def _dropping(self) -> int:
        """Connections cancelled but not finished yet (they hold no slot)."""
        return sum(1 for task in self._connections if task.cancelling())

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._connections.discard(task)
        self._idle.pop(task, None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        try:
            try:
                async with asyncio.timeout(self._read_timeout):  # the per-connection deadline
                    request, body_read = await self._read_request(conn, reader)
            except (TimeoutError, h11.RemoteProtocolError):
                return  # too slow, or not HTTP: just close
            current = asyncio.current_task()
            if current is not None:
                self._idle.pop(current, None)  # a whole head arrived: not idle any more
            if request is None:
                return
            response = self._triage(request)
            if response is not None:
                await self._answer(conn, reader, writer, request, response, body_read)
                return
            await self._finish_sign_in(conn, reader, writer, request, body_read)
        except (OSError, h11.ProtocolError):
            pass  # the browser went away, or we could not answer it
        finally:
            writer.transport.abort()  # no-op after a clean close; prompt when cancelled

    @staticmethod
    async def _read_request(
        conn: h11.Connection, reader: asyncio.StreamReader
    ) -> tuple[h11.Request | None, bool]:
        """Read up to the request head; returns it and whether its body is read too."""
        request: h11.Request | None = None
        fed = 0
        while True:
            event = conn.next_event()  # raises once MAX_HEADER_BYTES pass without a head
            if event is h11.NEED_DATA:
                if request is not None:
                    return request, False  # a body is still coming; read it away later
                # Never feed h11 more than the limit plus one byte before the head is
                # complete, so an oversized head is refused however the bytes arrive.
                data = await reader.read(max(1, MAX_HEADER_BYTES + 1 - fed))
                fed += len(data)
                conn.receive_data(data)
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.EndOfMessage):
                return request, True
            elif isinstance(event, h11.Data):
                continue
            else:  # ConnectionClosed or PAUSED
                return request, False

    def _target(self, request: h11.Request) -> tuple[str, str]:
        """The request's path and query, as sent (still percent-encoded)."""
        target = request.target.decode("latin-1")
        if not target.startswith("/"):  # absolute-form, e.g. from a proxy
            parts = urlsplit(target)
            return parts.path or "/", parts.query
        path, _, query = target.partition("?")
        return path, query.partition("#")[0]

    def _triage(self, request: h11.Request) -> _Response | None:
        """The answer to a request that must not run ``complete``; ``None`` to run it."""
        if request.method != b"GET":
            return _NOT_ALLOWED
        assert self._where is not None
        path, query = self._target(request)
        if path != self._where[2]:
            return _NOT_FOUND
        states = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "state"]
        if not states or not all(
            secrets.compare_digest(value.encode(), self._state) for value in states
        ):
            return _WRONG_STATE
        if self._claimed:
            return _BUSY
        return None

    async def _finish_sign_in(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: h11.Request,
        body_read: bool,
    ) -> None:
        """Run ``complete`` once, answer the browser, then resolve :meth:`wait`."""
        result = self._result
        assert result is not None
        self._claimed = True
        path, query = self._target(request)
        settle: Callable[[], None]
        try:
            value = await self._complete(f"http://{self._netloc}{path}?{query}")
        except RingPlusError as err:
            settle = functools.partial(result.set_exception, err)
            response = _Response(
                200,
                _page("Sign-in failed", err.message, "Return to the terminal for details."),
            )
        except Exception as err:
            settle = functools.partial(result.set_exception, err)
            response = _INTERNAL
        else:
            settle = functools.partial(result.set_result, value)
            try:
                text = self._describe(value)
            except Exception:
                text = _signed_in(value)
            response = _Response(
                200,
                _page("Signed in", text, "You can close this tab and return to the terminal."),
            )
        try:
            with contextlib.suppress(OSError, h11.ProtocolError):
                await self._answer(conn, reader, writer, request, response, body_read)
        finally:
            self._stop_listening()
            if not result.done():
                settle()

    async def _answer(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: h11.Request,
        response: _Response,
        body_read: bool,
    ) -> None:
        """Send one response and close the connection cleanly."""
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(response.body))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"),
        ]
        if response.status == 405:
            headers.append(("Allow", "GET"))
        reason = HTTPStatus(response.status).phrase.encode()
        data = conn.send(h11.Response(status_code=response.status, headers=headers, reason=reason))
        if request.method != b"HEAD":
            data += conn.send(h11.Data(data=response.body))
        data += conn.send(h11.EndOfMessage())
        writer.write(data)
        async with asyncio.timeout(_CLOSE_TIMEOUT):  # a client that never reads is dropped
            await writer.drain()
        if not body_read:
            # Read away what the client still sends, so closing does not reset the
            # connection before it has read our answer.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_LINGER_TIMEOUT):
                    if writer.can_write_eof():
                        writer.write_eof()
                    drained = 0
                    while drained < _LINGER_BYTES and (chunk := await reader.read(_READ_CHUNK)):
                        drained += len(chunk)
        writer.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await writer.wait_closed()


async def capture_redirect(
    redirect_uri: str,
    state: str,
    complete: Callable[[str], Awaitable[T]],
    *,
    describe: Callable[[T], str] = _signed_in,
) -> T:
    """Listen on a loopback redirect URI until the browser returns (RFC 8252 §7.3).

    A thin wrapper around :class:`LoopbackListener`; use the class directly to learn
    that the port is bound before opening the browser.

    Args:
        redirect_uri: ``http://127.0.0.1:PORT/…``, ``http://[::1]:PORT/…`` or
            ``http://localhost:PORT/…``.
        state: The ``state`` of the authorization request (RFC 6749 §4.1.1); requests
            without it are refused.
        complete: Called once with the full redirected URL (the authorization response
            of RFC 6749 §4.1.2); its result is returned.
        describe: Text for the browser's success page from ``complete``'s result.

    Returns:
        What ``complete`` returned.

    Raises:
        LoopbackUnavailableError: Not a loopback redirect URI, or the port cannot be
            listened on.
        RingPlusError: What ``complete`` raised.
    """
    async with LoopbackListener(redirect_uri, state, complete, describe=describe) as listener:
        return await listener.wait()
