"""ringplus-tui against a provider nobody on the project wrote: django-oauth-toolkit.

Everything goes over loopback HTTP to the real server (started by ``.ci/run``, or by
the ``dot`` fixture), through the real keyring: discovery from the issuer alone,
sign-in with the test playing the browser, the code exchange with PKCE, each client
authentication method, refresh with rotation, RFC 9207 ``iss`` checks, the verified
OpenID Connect identity, loopback capture and revocation.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx2
import pytest

from ringplus_tui.core.errors import (
    DiscoveryError,
    IssuerMismatchError,
    LoopbackUnavailableError,
    StateMismatchError,
)
from ringplus_tui.core.models import AppConfig
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import access_token_key, refresh_token_key
from tests.helpers.cli import Cli
from tests.helpers.dot_provider import DotServer, dot_sign_in_and_consent
from tests.helpers.ports import free_port
from tests.helpers.stores import RecordingKeyringStore

SCOPES = ("openid", "profile", "email", "read")


async def dot_app(
    service: OAuthService,
    dot: DotServer,
    *,
    client_type: str = "confidential",
    method: str | None = None,
    redirect_uri: str = "http://127.0.0.1:8765/callback",
    name: str = "dot",
) -> AppConfig:
    """Register a client at the provider and save it as an app found by discovery alone."""
    client_id, secret = await asyncio.to_thread(dot.register_client, client_type, redirect_uri)
    found = await service.discover(dot.issuer)
    auth = method or found.auth_method_for(has_secret=secret is not None)
    app = AppConfig(
        name=name,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=SCOPES,
        provider=replace(found.provider, token_endpoint_auth_method=auth),
    )
    await service.save_app(app, secret)
    return app


async def browse(url: str, *, allow: bool = True) -> str:
    return await asyncio.to_thread(dot_sign_in_and_consent, url, allow=allow)


async def userinfo_status(dot: DotServer, token: str) -> int:
    async with httpx2.AsyncClient() as http:
        response = await http.get(
            f"{dot.issuer}/userinfo/", headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_discovery_from_the_issuer_alone(service: OAuthService, dot: DotServer) -> None:
    found = await service.discover(dot.issuer)
    provider = found.provider
    assert provider.issuer == dot.issuer
    assert provider.authorization_endpoint == f"{dot.issuer}/authorize/"
    assert provider.token_endpoint == f"{dot.issuer}/token/"
    assert provider.revocation_endpoint == f"{dot.issuer}/revoke_token/"
    assert provider.jwks_uri is not None
    assert provider.authorization_response_iss_parameter_supported
    assert found.auth_method_for(has_secret=False) == "none"
    assert found.auth_method_for(has_secret=True) == "client_secret_basic"


async def test_discovery_refuses_an_issuer_that_is_not_exactly_the_documents(
    service: OAuthService, dot: DotServer
) -> None:
    with pytest.raises(DiscoveryError) as caught:
        await service.discover(dot.issuer + "/")
    assert "must match exactly" in caught.value.message or "No OAuth2" in caught.value.message
    with pytest.raises(DiscoveryError, match="No OAuth2 or OpenID Connect metadata"):
        await service.discover(dot.url + "/nowhere")


@pytest.mark.parametrize(
    ("client_type", "method"),
    [
        ("confidential", "client_secret_basic"),
        ("confidential", "client_secret_post"),
        ("public", "none"),
    ],
)
async def test_sign_in_refresh_and_revoke_with_each_client_authentication(
    service: OAuthService, dot: DotServer, client_type: str, method: str
) -> None:
    app = await dot_app(service, dot, client_type=client_type, method=method)
    assert app.public == (method == "none")
    await service.add_account("alice", "dot")

    pending = await service.start_authorization("alice")
    query = dict(parse_qsl(urlsplit(pending.authorization_url).query))
    assert query["code_challenge_method"] == "S256"
    assert "nonce" in query  # the openid scope asks for an id_token tied to this request
    account = await service.complete_authorization(await browse(pending.authorization_url))

    # The verified id_token names the person.
    assert account.subject
    assert account.email == "alice@example.org"
    assert account.user == "Alice Example <alice@example.org>"
    assert account.has_refresh_token
    first_access = await service.access_token("alice")
    first_refresh = await service.vault.get(refresh_token_key("alice"))
    assert first_access and await userinfo_status(dot, first_access) == 200

    # Refresh with rotation: new tokens, the old refresh token is gone at the provider.
    refreshed = await service.refresh("alice")
    assert refreshed.last_refresh_at is not None
    second_access = await service.access_token("alice")
    assert second_access and second_access != first_access
    assert await service.vault.get(refresh_token_key("alice")) != first_refresh
    assert await userinfo_status(dot, second_access) == 200
    again = await service.refresh("alice")
    assert again.obtained_at is not None

    # Revoke (RFC 7009): the provider no longer accepts the token, nothing is kept here.
    current = await service.access_token("alice")
    assert current is not None
    await service.revoke("alice")
    assert await userinfo_status(dot, current) == 401
    assert await service.vault.get(access_token_key("alice")) is None
    assert not service.settings.account("alice").signed_in


async def test_a_redirect_naming_another_issuer_is_refused_before_the_code_is_used(
    service: OAuthService, dot: DotServer
) -> None:
    await dot_app(service, dot)
    await service.add_account("alice", "dot")
    pending = await service.start_authorization("alice")
    redirected = await browse(pending.authorization_url)
    assert dict(parse_qsl(urlsplit(redirected).query))["iss"] == dot.issuer

    with pytest.raises(IssuerMismatchError, match="mix-up"):
        await service.complete_authorization(with_query(redirected, iss="https://evil.example"))
    with pytest.raises(IssuerMismatchError, match="always sends one"):
        await service.complete_authorization(with_query(redirected, iss=None))
    assert not service.settings.account("alice").signed_in

    # The code was never sent anywhere, so the genuine URL still works.
    account = await service.complete_authorization(redirected)
    assert account.signed_in


async def test_extra_authorization_parameters_reach_the_provider(
    service: OAuthService, dot: DotServer
) -> None:
    app = await dot_app(service, dot)
    await service.save_app(replace(app, authorization_params=(("prompt", "login"),)), None)
    await service.add_account("alice", "dot")
    pending = await service.start_authorization("alice")
    assert dict(parse_qsl(urlsplit(pending.authorization_url).query))["prompt"] == "login"
    account = await service.complete_authorization(await browse(pending.authorization_url))
    assert account.signed_in


async def test_loopback_capture_signs_in_from_a_real_browser_request(
    service: OAuthService, dot: DotServer
) -> None:
    port = free_port()
    await dot_app(service, dot, redirect_uri=f"http://127.0.0.1:{port}/callback")
    await service.add_account("alice", "dot")
    pending = await service.start_authorization("alice")
    async with service.listen_for_redirect(pending) as listener:
        waiting = asyncio.ensure_future(listener.wait())
        redirected = await browse(pending.authorization_url)
        async with httpx2.AsyncClient() as browser:  # the browser follows the redirect
            page = await browser.get(redirected)
        account = await asyncio.wait_for(waiting, 30)
    assert page.status_code == 200
    assert "signed in" in page.text
    assert "You can close this tab" in page.text
    assert account.signed_in and account.email == "alice@example.org"
    # The URL was used by the listener; pasting it as well is refused, not run twice.
    with pytest.raises(StateMismatchError):
        await service.complete_authorization(redirected)


async def test_a_busy_loopback_port_says_to_paste_instead(
    service: OAuthService, dot: DotServer
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        await dot_app(service, dot, redirect_uri=f"http://127.0.0.1:{port}/callback")
        await service.add_account("alice", "dot")
        pending = await service.start_authorization("alice")
        with pytest.raises(LoopbackUnavailableError, match="Paste"):
            async with service.listen_for_redirect(pending):
                pass
    # Pasting still works.
    account = await service.complete_authorization(await browse(pending.authorization_url))
    assert account.signed_in


# -- the command line, as a person with an OAuth2 client elsewhere would use it ----------


@pytest.fixture
def cli(config_dir: Path, keyring_store: RecordingKeyringStore) -> Iterator[Cli]:
    """``ringplus-tui`` in a subprocess with this test's settings and keyring service."""
    yield Cli(config_dir, keyring_store.service)
    keyring_store.delete("app:work:client_secret")
    for key in ("access_token", "refresh_token", "pending"):
        keyring_store.delete(f"account:jane:{key}")


def test_command_line_signs_in_with_issuer_alone_and_listens_for_the_browser(
    cli: Cli, dot: DotServer
) -> None:
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/callback"
    client_id, _ = dot.register_client("public", redirect_uri)
    added = cli(
        "app", "add", "work",
        "--issuer", dot.issuer,
        "--client-id", client_id,
        "--redirect-uri", redirect_uri,
        "--scope", "openid", "--scope", "email", "--scope", "profile",
        stdin="\n",  # no client secret: a public client
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert f"{dot.issuer}/token/" in added.stderr  # the discovered values are shown
    assert "none" in added.stderr
    assert cli("account", "add", "jane", "--app", "work").returncode == 0

    waiting = cli.start("authorize", "jane", "--listen")
    try:
        assert waiting.stdout is not None
        url = waiting.stdout.readline().strip()
        redirected = dot_sign_in_and_consent(url)
        page = httpx2.get(redirected, timeout=30)
        assert "You can close this tab" in page.text
        _out, err = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert waiting.returncode == 0, err
    assert "Signed in 'jane' as Alice Example <alice@example.org>" in err

    token = cli("token", "jane")
    assert token.returncode == 0 and token.stdout.strip()
    status = json.loads(cli("status", "--json").stdout)
    assert status[0]["status"] == "valid"
    refreshed = cli("refresh", "jane")
    assert refreshed.returncode == 0, refreshed.stderr


def test_command_line_listen_on_a_busy_port_falls_back_to_pasting(cli: Cli, dot: DotServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        redirect_uri = f"http://127.0.0.1:{taken.getsockname()[1]}/callback"
        client_id, secret = dot.register_client("confidential", redirect_uri)
        assert cli(
            "app", "add", "work", "--issuer", dot.issuer, "--client-id", client_id,
            "--redirect-uri", redirect_uri, stdin=f"{secret}\n",
        ).returncode == 0  # fmt: skip
        assert cli("account", "add", "jane", "--app", "work").returncode == 0
        busy = cli("authorize", "jane", "--listen")
    assert busy.returncode == 1
    assert "in use" in busy.stderr and "--redirected-url" in busy.stderr
    redirected = dot_sign_in_and_consent(busy.stdout.strip())
    pasted = cli("authorize", "jane", "--redirected-url", redirected)
    assert pasted.returncode == 0, pasted.stderr


async def test_a_wrong_client_secret_says_what_to_check(
    service: OAuthService, dot: DotServer
) -> None:
    from ringplus_tui.core.errors import TokenEndpointError

    app = await dot_app(service, dot)
    await service.save_app(app, "not-the-secret")
    await service.add_account("alice", "dot")
    pending = await service.start_authorization("alice")
    with pytest.raises(TokenEndpointError) as caught:
        await service.complete_authorization(await browse(pending.authorization_url))
    assert caught.value.error == "invalid_client"
    assert "client ID, client secret and client authentication method" in caught.value.message
    assert not service.settings.account("alice").signed_in


def test_command_line_refuses_a_secret_for_a_public_client(cli: Cli, dot: DotServer) -> None:
    result = cli(
        "app", "add", "work", "--issuer", dot.issuer, "--client-id", "x",
        "--redirect-uri", "http://127.0.0.1:8765/callback", "--client-auth", "none",
        stdin="s3cret\n",
    )  # fmt: skip
    assert result.returncode == 2
    assert "public client" in result.stderr and "Nothing was saved" in result.stderr
    assert cli("app", "list").stdout == ""


def test_command_line_warns_about_a_scope_the_provider_does_not_offer(
    cli: Cli, dot: DotServer
) -> None:
    result = cli(
        "app", "add", "work", "--issuer", dot.issuer, "--client-id", "x",
        "--redirect-uri", "http://127.0.0.1:8765/callback", "--client-auth", "none",
        "--scope", "openid", "--scope", "offline_access",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "does not list the scope(s) offline_access" in result.stderr


def test_ctrl_c_while_listening_says_the_sign_in_can_still_be_pasted(
    cli: Cli, dot: DotServer
) -> None:
    import signal
    import time

    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    client_id, _ = dot.register_client("public", redirect_uri)
    assert cli(
        "app", "add", "work", "--issuer", dot.issuer, "--client-id", client_id,
        "--redirect-uri", redirect_uri, "--client-auth", "none",
    ).returncode == 0  # fmt: skip
    assert cli("account", "add", "jane", "--app", "work").returncode == 0
    waiting = cli.start("authorize", "jane", "--listen")
    assert waiting.stdout is not None and waiting.stderr is not None
    url = waiting.stdout.readline().strip()
    deadline = time.monotonic() + 20
    while "Waiting for the browser" not in waiting.stderr.readline():
        assert time.monotonic() < deadline
    waiting.send_signal(signal.SIGINT)
    _out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 130
    assert "Stopped listening" in err and "--redirected-url" in err
    pasted = cli("authorize", "jane", "--redirected-url", dot_sign_in_and_consent(url))
    assert pasted.returncode == 0, pasted.stderr


async def test_a_url_for_another_redirect_uri_is_named_as_that_not_as_a_mix_up(
    service: OAuthService, dot: DotServer
) -> None:
    from ringplus_tui.core.errors import RedirectMismatchError

    await dot_app(service, dot)
    await service.add_account("alice", "dot")
    pending = await service.start_authorization("alice")
    wrong_port = f"http://127.0.0.1:41851/callback?code=abc&state={pending.state}"
    with pytest.raises(RedirectMismatchError, match="port is 41851"):
        await service.complete_authorization(wrong_port)
