"""Capturing the redirect on a loopback redirect URI (RFC 8252 §7.3), with real HTTP.

Every test talks to a real listener on a free port, with HTTPX or a raw socket, and
checks what a person would notice: the page the browser shows, whether the sign-in
finished, and whether the port is free again afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx2
import pytest

from ringplus_tui.core.errors import AccessDeniedError, RingPlusError
from ringplus_tui.oauth.loopback import (
    LoopbackListener,
    LoopbackUnavailableError,
    capture_redirect,
    loopback_address,
)
from ringplus_tui.oauth.redirect import parse_authorization_response
from tests.helpers.ports import free_port

STATE = "st4te-Xy_1"
CODE = "C0DE-very-secret-42"
PATH = "/callback"


def ipv6_loopback_works() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        free_port("::1")
    except OSError:
        return False
    return True


class Complete:
    """A ``complete`` callback that records the URLs it was given."""

    def __init__(self, result: Any = "alice", error: BaseException | None = None) -> None:
        self.result = result
        self.error = error
        self.urls: list[str] = []
        self.started = asyncio.Event()
        self.release: asyncio.Event | None = None
        self.cancelled = False

    async def __call__(self, url: str) -> Any:
        self.urls.append(url)
        self.started.set()
        if self.release is not None:
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        if self.error is not None:
            raise self.error
        return self.result


@contextlib.asynccontextmanager
async def listening(
    complete: Callable[[str], Awaitable[Any]],
    *,
    host: str = "127.0.0.1",
    bind_host: str = "127.0.0.1",
    path: str = PATH,
    **options: Any,
) -> AsyncIterator[tuple[LoopbackListener[Any], str]]:
    """A started listener on a free port; retried if another program takes the port."""
    for _ in range(5):
        port = free_port(bind_host)
        uri = f"http://{host}:{port}{path}"
        listener: LoopbackListener[Any] = LoopbackListener(uri, STATE, complete, **options)
        try:
            await listener.start()
        except LoopbackUnavailableError:
            continue  # the port was taken between probing and binding
        break
    else:
        pytest.fail("no free port on the loopback interface")
    try:
        yield listener, uri
    finally:
        await listener.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(trust_env=False, timeout=5) as browser:
        yield browser


def good(uri: str) -> str:
    return f"{uri}?code={CODE}&state={STATE}"


def direct(uri: str) -> str:
    """The same URI, but connecting to 127.0.0.1 (``localhost`` may resolve to ::1)."""
    return uri.replace("localhost", "127.0.0.1")


def port_of(uri: str) -> int:
    where = loopback_address(uri)
    assert where is not None
    return where[1]


def assert_no_tasks_left() -> None:
    others = asyncio.all_tasks() - {asyncio.current_task()}
    assert not others, others


async def raw_exchange(port: int, *chunks: bytes, pause: float = 0.0) -> bytes:
    """Send bytes over a raw socket and read until the listener closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
            if pause:
                await asyncio.sleep(pause)
        received = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := await asyncio.wait_for(reader.read(65536), 5):
                received += chunk
        return received
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


# -- the sign-in ----------------------------------------------------------------------


async def test_matching_request_completes_once_and_the_page_says_signed_in(
    client: httpx2.AsyncClient,
) -> None:
    complete = Complete(result="alice")
    async with listening(complete, describe=lambda name: f"Signed in as {name}.") as (
        listener,
        uri,
    ):
        assert listener.address == f"127.0.0.1:{port_of(uri)}"
        response = await client.get(good(uri))
        assert await asyncio.wait_for(listener.wait(), 5) == "alice"

        assert complete.urls == [good(uri)]
        assert response.status_code == 200
        assert "<title>Signed in</title>" in response.text
        assert "Signed in as alice." in response.text
        assert "You can close this tab and return to the terminal." in response.text
        assert CODE not in response.text and STATE not in response.text
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["connection"] == "close"
        assert response.headers["referrer-policy"] == "no-referrer"

        # Done: the listener no longer accepts connections.
        assert not listener.listening
        with pytest.raises(httpx2.ConnectError):
            await client.get(good(uri))
    assert complete.urls == [good(uri)]


async def test_describe_text_is_escaped(client: httpx2.AsyncClient) -> None:
    complete = Complete(result="<b>bob</b>")
    async with listening(complete, describe=lambda name: f"Hello {name}") as (listener, uri):
        response = await client.get(good(uri))
        await listener.wait()
    assert "Hello &lt;b&gt;bob&lt;/b&gt;" in response.text
    assert "<b>bob" not in response.text


async def test_default_page_text(client: httpx2.AsyncClient) -> None:
    async with listening(Complete()) as (listener, uri):
        response = await client.get(good(uri))
        await listener.wait()
    assert "You are signed in." in response.text


async def test_capture_redirect_returns_what_complete_returned(
    client: httpx2.AsyncClient,
) -> None:
    port = free_port()
    uri = f"http://127.0.0.1:{port}{PATH}"
    complete = Complete(result=42)
    task = asyncio.create_task(capture_redirect(uri, STATE, complete, describe=str))
    for _ in range(100):  # the task binds on its first step
        with contextlib.suppress(httpx2.ConnectError):
            response = await client.get(good(uri))
            break
        await asyncio.sleep(0.02)
    assert response.status_code == 200 and "42" in response.text
    assert await asyncio.wait_for(task, 5) == 42
    assert_no_tasks_left()


# -- requests that are not the redirect -------------------------------------------------


async def test_wrong_path_is_404_and_the_listener_keeps_waiting(
    client: httpx2.AsyncClient,
) -> None:
    complete = Complete()
    async with listening(complete) as (listener, uri):
        base = uri.removesuffix(PATH)
        for wrong in ("/favicon.ico", "/", f"{PATH}/extra", f"{PATH}x"):
            response = await client.get(f"{base}{wrong}?code={CODE}&state={STATE}")
            assert response.status_code == 404, wrong
            assert CODE not in response.text
        assert complete.urls == []
        assert (await client.get(good(uri))).status_code == 200
        assert await listener.wait() == "alice"
    assert len(complete.urls) == 1


@pytest.mark.parametrize(
    "query",
    [
        f"code={CODE}",
        f"code={CODE}&state=",
        f"code={CODE}&state=someone-else",
        f"code={CODE}&state={STATE.upper()}",
        f"code={CODE}&state={STATE}x",
        f"code={CODE}&state={STATE}&state=other",
        f"code={CODE}&state=%C3%A9t%C3%A9",
        "",
    ],
)
async def test_wrong_or_missing_state_is_400_and_the_listener_keeps_waiting(
    client: httpx2.AsyncClient, query: str
) -> None:
    complete = Complete()
    async with listening(complete) as (listener, uri):
        response = await client.get(f"{uri}?{query}" if query else uri)
        assert response.status_code == 400
        assert "This request does not belong to the sign-in in progress" in response.text
        assert CODE not in response.text
        assert complete.urls == []
        assert (await client.get(good(uri))).status_code == 200
        assert await listener.wait() == "alice"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"])
async def test_other_methods_are_405(client: httpx2.AsyncClient, method: str) -> None:
    complete = Complete()
    async with listening(complete) as (listener, uri):
        content = b"code=x&" * 20000 if method in ("POST", "PUT") else None
        response = await client.request(method, good(uri), content=content)
        assert response.status_code == 405
        assert response.headers["allow"] == "GET"
        assert complete.urls == []
        assert (await client.get(good(uri))).status_code == 200
        await listener.wait()


async def test_second_matching_request_while_completing_gets_409(
    client: httpx2.AsyncClient,
) -> None:
    complete = Complete()
    complete.release = asyncio.Event()
    async with listening(complete) as (listener, uri):
        first = asyncio.create_task(client.get(good(uri)))
        await asyncio.wait_for(complete.started.wait(), 5)
        second = await client.get(good(uri))
        assert second.status_code == 409
        assert "already being handled" in second.text
        complete.release.set()
        assert (await first).status_code == 200
        assert await listener.wait() == "alice"
    assert len(complete.urls) == 1


# -- when complete() fails --------------------------------------------------------------


async def test_complete_raising_shows_the_escaped_message_and_wait_reraises(
    client: httpx2.AsyncClient,
) -> None:
    error = RingPlusError("The provider said <script>alert(1)</script> & gave up.")
    async with listening(Complete(error=error)) as (listener, uri):
        response = await client.get(good(uri))
        with pytest.raises(RingPlusError) as caught:
            await listener.wait()
        assert not listener.listening
    assert caught.value is error
    assert "Sign-in failed" in response.text
    assert "The provider said &lt;script&gt;alert(1)&lt;/script&gt; &amp; gave up." in response.text
    assert "<script>" not in response.text
    assert "Return to the terminal for details." in response.text


async def test_provider_error_response_is_shown_in_the_browser(
    client: httpx2.AsyncClient,
) -> None:
    """A realistic ``complete``: parse the URL and raise on ``error=`` (RFC 6749 §4.1.2.1)."""

    async def complete(url: str) -> str:
        parse_authorization_response(url).raise_for_error()
        return "unreachable"

    async with listening(complete) as (listener, uri):
        response = await client.get(
            f"{uri}?error=access_denied&error_description=%3Cscript%3Eno%3C%2Fscript%3E"
            f"&state={STATE}"
        )
        with pytest.raises(AccessDeniedError):
            await listener.wait()
    assert "access_denied" in response.text
    assert "&lt;script&gt;no&lt;/script&gt;" in response.text


async def test_unexpected_exception_is_500_without_details_and_reraised(
    client: httpx2.AsyncClient,
) -> None:
    async with listening(Complete(error=KeyError(f"secret {CODE}"))) as (listener, uri):
        response = await client.get(good(uri))
        with pytest.raises(KeyError):
            await listener.wait()
    assert response.status_code == 500
    assert "Sign-in failed" in response.text
    assert CODE not in response.text


# -- cannot listen ----------------------------------------------------------------------


async def test_busy_port_is_refused_with_a_message_naming_the_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        uri = f"http://127.0.0.1:{port}{PATH}"
        complete = Complete()
        with pytest.raises(LoopbackUnavailableError) as caught:
            async with LoopbackListener(uri, STATE, complete):
                pytest.fail("must not get here")
        with pytest.raises(LoopbackUnavailableError):
            await capture_redirect(uri, STATE, complete)
    assert str(port) in caught.value.message
    assert "127.0.0.1" in caught.value.message
    assert "Paste" in caught.value.message
    assert caught.value.title == "Cannot listen"
    assert isinstance(caught.value, RingPlusError)
    assert complete.urls == []
    assert_no_tasks_left()


@pytest.mark.parametrize(
    "uri",
    [
        "https://example.org/cb",
        "http://example.org:8765/cb",
        "https://127.0.0.1:8765/cb",
        "http://127.0.0.1/cb",
    ],
)
async def test_non_loopback_redirect_uri_is_refused(uri: str) -> None:
    assert loopback_address(uri) is None
    complete = Complete()
    listener = LoopbackListener(uri, STATE, complete)
    with pytest.raises(LoopbackUnavailableError) as caught:
        await listener.start()
    assert "Paste" in caught.value.message
    assert uri in caught.value.message
    with pytest.raises(LoopbackUnavailableError):
        await capture_redirect(uri, STATE, complete)
    assert complete.urls == []


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("http://127.0.0.1:8765/callback", ("127.0.0.1", 8765, "/callback")),
        ("http://127.0.0.1:8765", ("127.0.0.1", 8765, "/")),
        ("http://localhost:8765/cb", ("127.0.0.1", 8765, "/cb")),
        ("http://LOCALHOST:8765/cb/", ("127.0.0.1", 8765, "/cb/")),
        ("http://[::1]:8765/cb", ("::1", 8765, "/cb")),
        ("http://127.0.0.1:8765/cb?app=1", ("127.0.0.1", 8765, "/cb")),
        ("http://127.0.0.1/cb", None),
        ("http://localhost/cb", None),
        ("http://[::1]/cb", None),
        ("http://127.0.0.1:0/cb", None),
        ("http://127.0.0.1:99999/cb", None),
        ("http://127.0.0.1:port/cb", None),
        ("https://127.0.0.1:8765/cb", None),
        ("https://localhost:8765/cb", None),
        ("https://example.org/cb", None),
        ("http://example.org:8765/cb", None),
        ("http://192.168.1.20:8765/cb", None),
        ("http://0.0.0.0:8765/cb", None),
        ("http://user@127.0.0.1:8765/cb", None),
        ("127.0.0.1:8765/cb", None),
        ("", None),
    ],
)
def test_loopback_address(uri: str, expected: tuple[str, int, str] | None) -> None:
    assert loopback_address(uri) == expected


# -- other hosts ------------------------------------------------------------------------


async def test_localhost_redirect_uri_binds_127_0_0_1_and_keeps_the_host_name(
    client: httpx2.AsyncClient,
) -> None:
    complete = Complete()
    async with listening(complete, host="localhost") as (listener, uri):
        assert listener.address.startswith("127.0.0.1:")
        response = await client.get(direct(good(uri)))
        assert await listener.wait() == "alice"
    assert response.status_code == 200
    assert complete.urls == [good(uri)]
    assert complete.urls[0].startswith("http://localhost:")


@pytest.mark.skipif(not ipv6_loopback_works(), reason="no IPv6 loopback on this machine")
async def test_ipv6_loopback_redirect_uri(client: httpx2.AsyncClient) -> None:
    complete = Complete()
    async with listening(complete, host="[::1]", bind_host="::1") as (listener, uri):
        assert listener.address.startswith("[::1]:")
        response = await client.get(good(uri))
        assert await listener.wait() == "alice"
    assert response.status_code == 200
    assert complete.urls == [good(uri)]


# -- bad clients ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),  # TLS hello
        b"HELLO THERE\r\n\r\n",
        b"\x00" * 1000,
        b"GET /callback HTTP/9.9\r\n\r\n",
        b"GET /callback HTTP/1.1\r\nno colon here\r\n\r\n",
        b"GET /callback HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\n",
        b"GET /callback HTTP/1.1\r\nHost: x\r\n",  # then the client hangs up
    ],
)
async def test_garbage_does_not_crash_the_listener(
    client: httpx2.AsyncClient, garbage: bytes
) -> None:
    complete = Complete()
    async with listening(complete) as (listener, uri):
        port = port_of(uri)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(garbage)
        await writer.drain()
        if garbage.endswith(b"Host: x\r\n"):
            writer.write_eof()
        with contextlib.suppress(ConnectionResetError):
            answer = await asyncio.wait_for(reader.read(), 5)
            assert b" 200 " not in answer
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        assert complete.urls == []
        assert (await client.get(good(uri))).status_code == 200
        assert await listener.wait() == "alice"


async def test_request_sent_in_small_pieces_is_understood() -> None:
    complete = Complete()
    async with listening(complete) as (listener, uri):
        port = port_of(uri)
        request = (
            f"GET {PATH}?code={CODE}&state={STATE} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nUser-Agent: slow\r\n\r\n"
        ).encode()
        pieces = [request[i : i + 7] for i in range(0, len(request), 7)]
        answer = await raw_exchange(port, *pieces, pause=0.005)
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert await listener.wait() == "alice"
    assert complete.urls == [good(uri)]


async def test_a_client_that_stops_sending_is_dropped_after_the_read_timeout(
    client: httpx2.AsyncClient,
) -> None:
    complete = Complete()
    async with listening(complete, read_timeout=0.3) as (listener, uri):
        port = port_of(uri)
        loop = asyncio.get_running_loop()
        started = loop.time()
        answer = await raw_exchange(port, f"GET {PATH} HTTP/1.1\r\nHost: x".encode())
        assert answer == b""
        assert loop.time() - started < 3
        assert (await client.get(good(uri))).status_code == 200
        assert await listener.wait() == "alice"


async def test_oversized_request_head_is_dropped(client: httpx2.AsyncClient) -> None:
    complete = Complete()
    async with listening(complete) as (listener, uri):
        port = port_of(uri)
        huge = (
            f"GET {PATH}?code={CODE}&state={STATE} HTTP/1.1\r\nHost: x\r\n"
            f"X-Filler: {'a' * 20000}\r\n\r\n"
        ).encode()
        answer = await raw_exchange(port, huge)
        assert b" 200 " not in answer
        assert complete.urls == []
        assert (await client.get(good(uri))).status_code == 200
        await listener.wait()


# -- stopping -----------------------------------------------------------------------------


async def test_cancelling_wait_frees_the_port() -> None:
    complete = Complete()
    async with listening(complete) as (listener, uri):
        waiter = asyncio.create_task(listener.wait())
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert not listener.listening
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as again:
            again.bind(("127.0.0.1", port_of(uri)))  # no SO_REUSEADDR: nobody holds it
    assert complete.urls == []
    assert_no_tasks_left()


async def test_cancelling_closes_open_connections_and_a_running_complete() -> None:
    complete = Complete()
    complete.release = asyncio.Event()  # complete() never finishes by itself
    port = free_port()
    uri = f"http://127.0.0.1:{port}{PATH}"
    task = asyncio.create_task(capture_redirect(uri, STATE, complete))
    idle: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    for _ in range(100):
        with contextlib.suppress(OSError):
            idle = await asyncio.open_connection("127.0.0.1", port)  # a browser preconnect
            break
        await asyncio.sleep(0.02)
    assert idle is not None
    request = f"GET {good(uri)} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    browser = asyncio.create_task(raw_exchange(port, request))  # absolute-form target
    await asyncio.wait_for(complete.started.wait(), 5)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)

    assert complete.cancelled
    with contextlib.suppress(ConnectionResetError):
        assert await asyncio.wait_for(idle[0].read(), 5) == b""
    idle[1].close()
    assert b" 200 " not in await asyncio.wait_for(browser, 5)
    # The port is free for the next sign-in.
    async with LoopbackListener(uri, STATE, Complete()) as again:
        assert again.listening
    assert_no_tasks_left()


async def test_close_is_idempotent_and_a_closed_listener_cannot_restart() -> None:
    async with listening(Complete()) as (listener, _uri):
        await listener.close()
        await listener.close()
        with pytest.raises(RuntimeError):
            await listener.start()
    assert_no_tasks_left()


def test_empty_state_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        LoopbackListener("http://127.0.0.1:8765/cb", "", Complete())
