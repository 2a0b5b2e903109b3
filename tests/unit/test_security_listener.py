"""The loopback listener cannot be kept from the real redirect, nor shadowed on IPv6
(issue 15, finding 8). Real sockets on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from ringplus_tui.oauth.loopback import MAX_CONNECTIONS, LoopbackListener, LoopbackUnavailableError
from tests.helpers.ports import free_port

STATE = "st4te-Xy_1"


def ipv6_loopback_works() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        free_port("::1")
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not ipv6_loopback_works(), reason="no IPv6 loopback here")


async def _done(url: str) -> str:
    return "alice"


@contextlib.asynccontextmanager
async def listening(host: str = "127.0.0.1") -> AsyncIterator[tuple[LoopbackListener[Any], int]]:
    for _ in range(5):
        port = free_port("127.0.0.1")
        listener: LoopbackListener[Any] = LoopbackListener(f"http://{host}:{port}/cb", STATE, _done)
        try:
            await listener.start()
        except LoopbackUnavailableError:
            continue
        break
    else:
        pytest.fail("no free port on loopback")
    try:
        yield listener, port
    finally:
        await listener.close()


async def test_a_hundred_slow_connections_do_not_keep_the_real_redirect_out() -> None:
    assert MAX_CONNECTIONS < 100
    async with listening() as (listener, port):
        slow: list[asyncio.StreamWriter] = []
        try:
            for _ in range(100):  # each sends half a request head and then nothing
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /cb?state=")
                await writer.drain()
                slow.append(writer)
            await asyncio.sleep(0.3)  # all of them accepted and waiting
            async with httpx2.AsyncClient(trust_env=False, timeout=5) as browser:
                response = await browser.get(f"http://127.0.0.1:{port}/cb?code=C0DE&state={STATE}")
            assert response.status_code == 200 and "Signed in" in response.text
            assert await asyncio.wait_for(listener.wait(), 5) == "alice"
        finally:
            for writer in slow:
                writer.close()


@needs_ipv6
async def test_a_squatter_on_ipv6_localhost_stops_the_sign_in_with_a_reason() -> None:
    for _ in range(5):
        port = free_port("127.0.0.1")
        squatter = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            squatter.bind(("::1", port))
        except OSError:
            squatter.close()
            continue
        break
    else:
        pytest.fail("no port free on both 127.0.0.1 and ::1")
    squatter.listen(1)
    try:
        listener: LoopbackListener[Any] = LoopbackListener(
            f"http://localhost:{port}/cb", STATE, _done
        )
        with pytest.raises(LoopbackUnavailableError, match=r"::1.*in use by another program"):
            await listener.start()
        await listener.close()
        with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
            pytest.fail(f"127.0.0.1:{port} was left listening ({probe})")
    except ConnectionRefusedError:
        pass  # nothing left listening on 127.0.0.1 either
    finally:
        squatter.close()


@needs_ipv6
async def test_a_localhost_redirect_uri_is_served_on_ipv6_too() -> None:
    async with listening("localhost") as (listener, port):
        assert listener.address == f"127.0.0.1:{port} and [::1]:{port}"
        async with httpx2.AsyncClient(trust_env=False, timeout=5) as browser:
            response = await browser.get(f"http://[::1]:{port}/cb?code=C0DE&state={STATE}")
        assert response.status_code == 200
        assert await asyncio.wait_for(listener.wait(), 5) == "alice"
