"""Helpers for driving the real app with Pilot."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from textual.pilot import Pilot

from ringplus_tui.cli.main import sandbox_demo
from ringplus_tui.core.prefill import CredentialsPrefill
from ringplus_tui.sandbox import Sandbox


async def wait_for(
    pilot: Pilot[object], condition: Callable[[], object], seconds: float = 15
) -> None:
    """Let the app run until ``condition()`` is true."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.05)


def sandbox_prefill(sandbox: Sandbox, *, with_secret: bool = True) -> CredentialsPrefill:
    """The credentials form as ``--sandbox`` fills it (without the secret: to type it)."""
    prefill, _ = sandbox_demo(sandbox)
    return prefill if with_secret else replace(prefill, client_secret="")
