"""The sandbox stays on this machine unless told otherwise (issue 15, finding 9): it
serves plain-http OAuth with published demo passwords."""

from __future__ import annotations

import logging

import httpx2
import pytest

from ringplus_tui.sandbox import Sandbox, SandboxHostError


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.0.2.10", "foo.localhost"])
def test_a_non_loopback_host_is_refused(host: str) -> None:
    with pytest.raises(SandboxHostError, match="--allow-remote"):
        Sandbox(host)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_hosts_need_no_flag(host: str) -> None:
    assert Sandbox(host).remote_warning is None


def test_allow_remote_listens_everywhere_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ringplus_tui.sandbox"):
        sandbox = Sandbox("0.0.0.0", allow_remote=True)
        with sandbox:
            answer = httpx2.get(f"http://127.0.0.1:{sandbox.port}/oauth/authorize", timeout=10)
    assert answer.status_code < 500
    warned = [record.getMessage() for record in caplog.records]
    assert any("0.0.0.0" in text and "demo passwords" in text for text in warned)
