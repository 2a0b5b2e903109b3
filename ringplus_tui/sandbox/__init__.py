"""A local RingPlus-compatible OAuth2 provider, for the demo and the tests.

RingPlus is gone; this serves its shape on 127.0.0.1: a sign-in form and a
consent page at ``/oauth/authorize``, ``/oauth/token`` (authorization code with
PKCE, refresh token), ``/oauth/revoke`` (RFC 7009), and a small API
(``GET /users/me``, ``GET /accounts``) that needs a bearer token.

Example::

    with Sandbox(token_lifetime=300) as sandbox:
        print(sandbox.base_url, sandbox.client_id)
"""

from __future__ import annotations

import logging
import secrets
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from ringplus_tui.core.errors import ConfigError
from ringplus_tui.core.models import AppConfig, Provider
from ringplus_tui.core.urls import is_loopback_host

from .server import DemoClient, DemoUser, PhoneLine, ProviderState, create_app

__all__ = ["DemoUser", "Sandbox", "SandboxHostError"]

_log = logging.getLogger(__name__)

DEMO_CLIENT_ID = "ringplus-demo-app"


class _QuietHandler(WSGIRequestHandler):
    """Logs nothing: request lines carry codes and state, and the TUI owns the terminal."""

    def log(self, type: str, message: str, *args: Any) -> None:
        return None


def _demo_users() -> list[DemoUser]:
    return [
        DemoUser(
            id=1,
            name="Alice Example",
            email="alice@example.com",
            password="alice-pass",
            lines=[
                PhoneLine(101, "Alice's phone", "+1 555 0101", "Nexus 5"),
                PhoneLine(102, "Tablet", "+1 555 0102", "iPad mini"),
            ],
        ),
        DemoUser(
            id=2,
            name="Bob Example",
            email="bob@example.com",
            password="bob-pass",
            lines=[PhoneLine(201, "Bob's phone", "+1 555 0201", "Moto G")],
        ),
    ]


class SandboxHostError(ConfigError):
    """The sandbox was asked to listen on an address other machines can reach."""

    title = "Sandbox stays on this machine"


class Sandbox:
    """The sandbox provider, served from a background thread.

    It speaks plain-http OAuth with published demo passwords, so it listens on
    loopback only (``localhost``, ``127.0.0.0/8``, ``::1``) unless ``allow_remote``
    is given; then :meth:`start` logs :attr:`remote_warning` at WARNING level.

    Args:
        host: Address to listen on: a loopback address, or any with ``allow_remote``.
        port: Port to listen on; 0 picks a free one.
        token_lifetime: Access-token lifetime in seconds (RingPlus: 86400).
        rotate_refresh_tokens: Issue a new refresh token on every refresh and
            revoke the old one.
        client_id: The demo app's client ID.
        client_secret: The demo app's client secret; random when omitted.
        latency: Seconds the token endpoint waits before answering, to stand in
            for a network round trip (benchmarks); 0 by default.
        allow_remote: Listen on a non-loopback ``host`` too (with a warning).

    Raises:
        SandboxHostError: ``host`` is not loopback and ``allow_remote`` is false.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token_lifetime: int = 86400,
        rotate_refresh_tokens: bool = False,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str | None = None,
        latency: float = 0.0,
        allow_remote: bool = False,
    ) -> None:
        if not is_loopback_host(host) and not allow_remote:
            raise SandboxHostError(
                f"The sandbox serves plain-http OAuth with published demo passwords, so it "
                f"listens only on this machine (127.0.0.1, ::1 or localhost), not on "
                f"'{host}'. Give --allow-remote to expose it anyway."
            )
        self.allow_remote = allow_remote
        self.host = host
        self.port = port
        self.state = ProviderState(
            token_lifetime=token_lifetime, rotate_refresh_tokens=rotate_refresh_tokens
        )
        self.state.latency = latency
        self.state.users = _demo_users()
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def remote_warning(self) -> str | None:
        """The warning for a non-loopback host, or ``None`` on loopback."""
        if is_loopback_host(self.host):
            return None
        return (
            f"Warning: the sandbox listens on {self.host}, reachable from other machines: "
            "anyone who can connect can sign in with the published demo passwords, and "
            "tokens travel over plain http."
        )

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` once started."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def redirect_uri(self) -> str:
        """The demo app's registered redirect URI: a page that shows the address to copy."""
        return f"{self.base_url}/callback"

    @property
    def users(self) -> list[DemoUser]:
        """The demo users who can sign in."""
        return self.state.users

    @property
    def token_requests(self) -> list[str]:
        """``grant_type`` of every token endpoint request so far."""
        with self.state.lock:
            return list(self.state.token_requests)

    def provider(self) -> Provider:
        """The sandbox's endpoints as a custom provider."""
        return Provider(
            name="custom",
            authorization_endpoint=f"{self.base_url}/oauth/authorize",
            token_endpoint=f"{self.base_url}/oauth/token",
            revocation_endpoint=f"{self.base_url}/oauth/revoke",
            api_base=self.base_url,
            token_endpoint_auth_method="client_secret_basic",
        )

    def demo_app(self, name: str = "sandbox") -> AppConfig:
        """The demo application's settings (its client secret is :attr:`client_secret`)."""
        return AppConfig(
            name=name,
            client_id=self.client_id,
            redirect_uri=self.redirect_uri,
            scopes=("read",),
            provider=self.provider(),
        )

    def revoke_all_tokens(self) -> None:
        """Make the sandbox reject every access token and refresh token issued so far."""
        with self.state.lock:
            for token in self.state.tokens:
                token.access_revoked = True
                token.refresh_revoked = True

    def start(self) -> Sandbox:
        """Start serving in a daemon thread; returns ``self``.

        Raises:
            OSError: The address is taken or cannot be bound.
        """
        if self.remote_warning:
            _log.warning(self.remote_warning)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # authlib's grants log each issued token at DEBUG; a provider's tokens are
        # secrets too, and the sandbox runs inside the app's process.
        logging.getLogger("authlib.oauth2.rfc6749.grants").setLevel(logging.INFO)
        app = create_app(self.state, lambda: self.base_url)
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._server.server_port
        with self.state.lock:
            self.state.clients[self.client_id] = DemoClient(
                client_id=self.client_id,
                client_secret=self.client_secret,
                redirect_uris=[self.redirect_uri],
            )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ringplus-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
