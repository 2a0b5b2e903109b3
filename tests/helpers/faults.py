"""Faults a real server cannot produce, injected through HTTPX's own transport hook."""

from __future__ import annotations

from collections.abc import Callable

import httpx2

Rule = Callable[[httpx2.Request], "httpx2.Response | Exception | None"]


class FaultyTransport(httpx2.AsyncBaseTransport):
    """Sends requests to the real (loopback) server unless ``rule`` returns a fault.

    Args:
        rule: Gets each request; returns ``None`` to pass it through, or a response
            or an exception to answer with instead.
    """

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.real = httpx2.AsyncHTTPTransport()
        self.requests: list[httpx2.Request] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        fault = self.rule(request)
        if fault is None:
            return await self.real.handle_async_request(request)
        if isinstance(fault, Exception):
            raise fault
        return fault

    async def aclose(self) -> None:
        await self.real.aclose()


def on_grant(grant: str, fault: httpx2.Response | Exception) -> Rule:
    """Answer token requests of ``grant`` (e.g. ``refresh_token``) with ``fault``."""

    def rule(request: httpx2.Request) -> httpx2.Response | Exception | None:
        if request.url.path.endswith("/oauth/token") and f"grant_type={grant}".encode() in (
            request.content
        ):
            return fault
        return None

    return rule


class Reroute:
    """A rule's answer meaning: send this request to ``base`` (a :class:`FaultServer`)
    instead, same path and body."""

    def __init__(self, base: str) -> None:
        self.base = httpx2.URL(base)


class ReroutingTransport(FaultyTransport):
    """A :class:`FaultyTransport` whose rule may also answer :class:`Reroute`."""

    def __init__(self, rule: Callable[[httpx2.Request], object]) -> None:
        super().__init__(rule)  # type: ignore[arg-type]

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        fault = self.rule(request)
        if isinstance(fault, Reroute):
            self.requests.append(request)
            request.url = request.url.copy_with(
                scheme=fault.base.scheme, host=fault.base.host, port=fault.base.port
            )
            request.headers["Host"] = f"{fault.base.host}:{fault.base.port}"
            return await self.real.handle_async_request(request)
        return await super().handle_async_request(request)


class FaultServer:
    """A real HTTP/1.1 server on 127.0.0.1 that misbehaves, in a thread.

    Modes:
        ``trickle``: headers promising 1000 bytes of JSON, then one byte every
            ``interval`` seconds.
        ``endless``: a chunked body of 64 KiB chunks that never ends.
        ``huge``: a ``Content-Length`` of 300 MB, then the body as fast as possible.

    Attributes:
        url: ``http://127.0.0.1:PORT``.
        sent: Body bytes written so far (all connections).
    """

    def __init__(self, mode: str, *, interval: float = 5.0) -> None:
        import socketserver
        import threading

        self.mode = mode
        self.interval = interval
        self.sent = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._stop = threading.Event()

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def _count(self, n: int) -> None:
        with self._lock:
            self.sent += n

    def _serve(self, sock: object) -> None:
        import socket

        assert isinstance(sock, socket.socket)
        data = b""
        while b"\r\n\r\n" not in data:
            more = sock.recv(65536)
            if not more:
                return
            data += more
        try:
            if self.mode == "trickle":
                sock.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 1000\r\n\r\n"
                )
                for _ in range(1000):
                    if self._stop.wait(self.interval):
                        return
                    sock.sendall(b" ")
                    self._count(1)
            elif self.mode == "endless":
                sock.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                )
                chunk = b" " * 65536
                frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
                while not self._stop.is_set():
                    sock.sendall(frame)
                    self._count(len(chunk))
            elif self.mode == "huge":
                sock.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 300000000\r\n\r\n"
                )
                chunk = b" " * 65536
                while not self._stop.is_set():
                    sock.sendall(chunk)
                    self._count(len(chunk))
        except OSError:
            return
