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
