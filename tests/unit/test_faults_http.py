"""Issue 16, the protocol faults: deadlines and size limits on every request (item 6),
providers' refusals as they really answer them (item 10), HTTP Basic in both forms
(item 11) and which client authentication may revoke (item 12).

The deadline and size tests talk to real misbehaving servers on loopback
(:class:`faults.FaultServer`); the refusal tests replay glewlwyd's and idpyoidc's
answers through ``httpx2.MockTransport``.
"""

from __future__ import annotations

import asyncio
import time
from base64 import b64decode
from collections.abc import AsyncIterator, Callable

import httpx2
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client

from ringplus_tui.cli.exits import exit_status
from ringplus_tui.core.errors import (
    ClientAuthError,
    DeadlineError,
    EndpointError,
    NeedsSignInError,
    NetworkError,
    ResponseTooLargeError,
    RingPlusError,
    TokenEndpointError,
)
from ringplus_tui.oauth import http
from ringplus_tui.oauth.discovery import discover, provider_from_metadata
from ringplus_tui.oauth.http import (
    DEFAULT_DEADLINE,
    DEFAULT_LIMITS,
    MIB,
    ResponseLimits,
    SharedTransport,
    basic_auth_header,
    basic_encoder,
    can_revoke_with,
    check_token_response,
    client_refused,
    client_secret_basic,
    form_encoding_changes,
    response_kind,
    retry_after,
    retry_with_unencoded_basic,
    translate_error,
)
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import access_token_key, refresh_token_key
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.faults import FaultServer, Reroute, ReroutingTransport
from tests.helpers.flows import sign_in

TOKEN_URL = "https://idp.example/oauth/token"

# -- item 6: an overall deadline and a size limit per request ------------------------


async def _refresh_through(shared: SharedTransport, token_url: str) -> tuple[RingPlusError, float]:
    """Refresh with authlib through ``shared``; the translated error and seconds taken."""
    client = AsyncOAuth2Client(
        client_id="app", client_secret="secret", transport=shared, timeout=http.DEFAULT_TIMEOUT
    )
    start = time.monotonic()
    try:
        await client.refresh_token(token_url, refresh_token="RT1")
    except Exception as err:
        return translate_error(err, url=token_url, operation="refresh"), time.monotonic() - start
    finally:
        await client.aclose()
        await shared.close_pool()
    raise AssertionError("the refresh did not fail")


def test_defaults_are_visible() -> None:
    shared = SharedTransport(httpx2.AsyncClient())
    assert shared.deadline == DEFAULT_DEADLINE == 60.0
    assert shared.limits == DEFAULT_LIMITS
    assert {DEFAULT_LIMITS.limit(k) for k in ("token", "discovery", "jwks", "api")} == {MIB}


async def test_a_trickling_token_endpoint_ends_within_the_deadline() -> None:
    # One byte every 2 s never trips the 30 s read timeout; the overall deadline does.
    with FaultServer("trickle", interval=2.0) as server:
        shared = SharedTransport(httpx2.AsyncClient(), deadline=1.0)
        error, took = await _refresh_through(shared, server.url + "/oauth/token")
    assert isinstance(error, DeadlineError)
    assert exit_status(error) == 4  # temporary: nothing changed, try again
    assert took < 3.0
    assert "did not finish answering within 1 s" in error.message


async def test_an_endless_chunked_token_response_stops_at_the_limit() -> None:
    with FaultServer("endless") as server:
        shared = SharedTransport(httpx2.AsyncClient(), deadline=30.0)
        error, took = await _refresh_through(shared, server.url + "/oauth/token")
        sent = server.sent
    assert isinstance(error, ResponseTooLargeError)
    assert "token response larger than 1 MiB" in error.message
    assert took < 10.0
    # Reading stopped at the limit: the server could only fill the socket buffers more.
    assert sent < 64 * MIB


async def test_an_endless_body_within_a_short_deadline_ends_at_the_deadline() -> None:
    with FaultServer("endless") as server:
        shared = SharedTransport(
            httpx2.AsyncClient(), deadline=0.5, limits=ResponseLimits(token=10**12)
        )
        error, took = await _refresh_through(shared, server.url + "/oauth/token")
    assert isinstance(error, DeadlineError)
    assert took < 3.0


async def test_a_300_mb_discovery_document_is_refused_from_its_length() -> None:
    with FaultServer("huge") as server:
        shared = SharedTransport(httpx2.AsyncClient())
        try:
            async with httpx2.AsyncClient(transport=shared) as client:
                start = time.monotonic()
                with pytest.raises(ResponseTooLargeError) as caught:
                    await discover(client, server.url)
                took = time.monotonic() - start
        finally:
            await shared.close_pool()
    assert "metadata document larger than 1 MiB" in caught.value.message
    assert took < 5.0


async def test_a_larger_limit_lets_a_large_answer_through() -> None:
    body = b'{"access_token": "AT2", "pad": "' + b"x" * (2 * MIB) + b'"}'
    inner = httpx2.AsyncClient(
        transport=httpx2.MockTransport(lambda r: httpx2.Response(200, content=body))
    )
    shared = SharedTransport(inner, limits=ResponseLimits(token=4 * MIB))
    async with httpx2.AsyncClient(transport=shared) as client:
        response = await client.post(TOKEN_URL, data={"grant_type": "refresh_token"})
    assert response.json()["access_token"] == "AT2"
    small = SharedTransport(
        httpx2.AsyncClient(
            transport=httpx2.MockTransport(lambda r: httpx2.Response(200, content=body))
        )
    )
    async with httpx2.AsyncClient(transport=small) as client:
        with pytest.raises(ResponseTooLargeError):
            await client.post(TOKEN_URL, data={"grant_type": "refresh_token"})


@pytest.mark.parametrize(
    ("method", "url", "kind"),
    [
        ("POST", TOKEN_URL, "token"),
        ("GET", "https://idp.example/.well-known/openid-configuration", "discovery"),
        ("GET", "https://idp.example/.well-known/oauth-authorization-server/t", "discovery"),
        ("GET", "https://idp.example/oauth/jwks", "jwks"),
        ("GET", "https://idp.example/jwks.json", "jwks"),
        ("GET", "https://idp.example/api/v1/users/me", "api"),
    ],
)
def test_response_kind(method: str, url: str, kind: str) -> None:
    assert response_kind(httpx2.Request(method, url)) == kind


def test_response_kind_extension_wins() -> None:
    request = httpx2.Request(
        "GET", "https://idp.example/k", extensions={http.RESPONSE_KIND: "jwks"}
    )
    assert response_kind(request) == "jwks"


@pytest.mark.parametrize(
    ("mode", "error_class"), [("trickle", DeadlineError), ("endless", ResponseTooLargeError)]
)
async def test_a_misbehaving_token_endpoint_ends_the_refresh_and_frees_the_account(
    config_dir,
    secret_store,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    error_class: type[RingPlusError],
) -> None:
    # The service builds its transport with the module's defaults; a short deadline here.
    monkeypatch.setattr(http, "DEFAULT_DEADLINE", 1.0)
    with FaultServer(mode, interval=5.0) as server:
        grant = b"grant_type=refresh_token"
        service = OAuthService(
            SettingsStore(config_dir),
            secret_store,
            transport=ReroutingTransport(
                lambda r: Reroute(server.url) if grant in r.content else None
            ),
        )
        try:
            await sign_in(service, sandbox)
            before = secret_store.get(refresh_token_key("alice"))
            settings = (config_dir / "config.toml").read_bytes()
            start = time.monotonic()
            with pytest.raises(RingPlusError) as caught:
                await service.refresh("alice")
            assert time.monotonic() - start < 4.0
            assert isinstance(caught.value, error_class)
            assert secret_store.get(refresh_token_key("alice")) == before
            assert (config_dir / "config.toml").read_bytes() == settings
        finally:
            await service.aclose()
    # The account lock is free again: another process refreshes at once.
    other = OAuthService(SettingsStore(config_dir), secret_store)
    try:
        account = await asyncio.wait_for(other.refresh("alice"), 10)
        assert account.signed_in
        assert secret_store.get(access_token_key("alice"))
    finally:
        await other.aclose()


# -- item 10: refusals of a refresh, as real providers answer them -------------------

Reply = Callable[[httpx2.Request], httpx2.Response]


async def _refresh_error(reply: Reply) -> RingPlusError:
    client = AsyncOAuth2Client(
        client_id="app",
        client_secret="secret",
        token_endpoint_auth_method="client_secret_basic",
        transport=httpx2.MockTransport(reply),
    )
    client.register_compliance_hook("refresh_token_response", check_token_response)
    try:
        await client.refresh_token(TOKEN_URL, refresh_token="RT1")
    except Exception as err:
        return translate_error(err, url=TOKEN_URL, operation="refresh")
    finally:
        await client.aclose()
    raise AssertionError("the refresh did not fail")


def _json(status: int, body: object, **headers: str) -> Reply:
    return lambda request: httpx2.Response(status, json=body, headers=headers)


def _text(status: int, body: str = "", **headers: str) -> Reply:
    return lambda request: httpx2.Response(status, text=body, headers=headers)


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        # glewlwyd: a revoked refresh token gets an empty 400.
        (_text(400), "HTTP 400 with no explanation"),
        # idpyoidc: invalid_request, "Refresh token inactive".
        (
            _json(400, {"error": "invalid_request", "error_description": "Refresh token inactive"}),
            "Refresh token inactive",
        ),
        (_json(400, {"error": "invalid_grant", "error_description": "revoked"}), "revoked"),
        (_json(400, {"error": "token_gone_fishing"}), "token_gone_fishing"),
        (_json(400, {"message": "Refresh token expired"}), "Refresh token expired"),
        (_text(400, "<html>Bad token</html>"), "Bad token"),
    ],
)
async def test_a_gone_refresh_token_needs_sign_in_in_the_providers_words(
    reply: Reply, words: str
) -> None:
    error = await _refresh_error(reply)
    assert isinstance(error, NeedsSignInError)
    assert exit_status(error) == 3
    assert words in error.message
    assert "Sign in again" in error.message


@pytest.mark.parametrize(
    "reply",
    [
        _json(
            401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        ),
        _text(401, "", **{"WWW-Authenticate": 'Basic realm="idp"'}),
        _json(400, {"error": "invalid_client"}),
        _json(400, {"error": "unauthorized_client"}),
    ],
)
async def test_refused_app_credentials_point_at_the_app(reply: Reply) -> None:
    error = await _refresh_error(reply)
    assert isinstance(error, ClientAuthError)
    assert not isinstance(error, NeedsSignInError)  # the account is left as it is
    assert exit_status(error) == 1
    assert "the app" in error.message or "this client" in error.message


@pytest.mark.parametrize("status", [404, 405])
async def test_404_and_405_name_the_endpoint(status: int) -> None:
    error = await _refresh_error(_text(status, "<html>Not here</html>"))
    assert isinstance(error, EndpointError)
    assert exit_status(error) == 1
    assert f"HTTP {status}" in error.message
    assert "/oauth/token" in error.message
    assert "Check the app's token endpoint" in error.message


@pytest.mark.parametrize(
    ("reply", "wait"),
    [
        (_text(408, "timeout"), None),
        (_json(429, {"error": "slow_down"}, **{"Retry-After": "30"}), 30.0),
        (_text(429, "<html>Too many</html>", **{"Retry-After": "7"}), 7.0),
        (_text(500, ""), None),
        (_json(503, {"error": "temporarily_unavailable"}, **{"Retry-After": "120"}), 120.0),
        (_text(502, "bad gateway"), None),
        (_json(400, {"error": "temporarily_unavailable"}), None),
    ],
)
async def test_temporary_answers_back_off_and_honour_retry_after(
    reply: Reply, wait: float | None
) -> None:
    error = await _refresh_error(reply)
    assert isinstance(error, NetworkError)
    assert exit_status(error) == 4
    assert error.retry_after == wait


def _response(status: int = 503, **headers: str) -> httpx2.Response:
    return httpx2.Response(status, headers=headers, request=httpx2.Request("POST", TOKEN_URL))


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("99999999999", 86400.0),
        ("nan", None),
        ("inf", None),
        ("-5", None),
        ("1e3", None),
        ("١٢".encode(), None),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_is_read_strictly_and_bounded(
    value: str | bytes, seconds: float | None
) -> None:
    request = httpx2.Request("POST", TOKEN_URL)
    response = httpx2.Response(503, headers=[(b"Retry-After", value)], request=request)
    assert retry_after(response) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
    response = _response(**{"Retry-After": "Tue, 14 Nov 2023 22:14:20 GMT"})
    assert retry_after(response, now) == pytest.approx(60.0)
    past = _response(**{"Retry-After": "Tue, 14 Nov 2023 22:00:00 GMT"})
    assert retry_after(past, now) == 0.0


async def test_a_revocation_refusal_speaks_of_revocation_not_the_token_endpoint() -> None:
    # glewlwyd allows revocation only for confidential clients.
    request = httpx2.Request("POST", "https://idp.example/oauth/revoke")
    response = httpx2.Response(403, json={"error": "unauthorized"}, request=request)
    err = httpx2.HTTPStatusError("HTTP 403", request=request, response=response)
    error = translate_error(err, url=str(request.url), operation="revoke")
    assert isinstance(error, TokenEndpointError)
    assert "refused to revoke" in error.message
    assert "forget" in error.message
    assert "token endpoint" not in error.message


async def test_a_code_exchange_keeps_todays_messages() -> None:
    # Without operation="refresh", invalid_grant is not turned into needs-sign-in here:
    # the code exchange has its own message for it.
    client = AsyncOAuth2Client(
        client_id="app",
        transport=httpx2.MockTransport(
            _json(400, {"error": "invalid_grant", "error_description": "code used"})
        ),
    )
    try:
        with pytest.raises(Exception) as caught:
            await client.fetch_token(TOKEN_URL, grant_type="authorization_code", code="c")
    finally:
        await client.aclose()
    error = translate_error(caught.value, url=TOKEN_URL)
    assert type(error) is TokenEndpointError
    assert error.error == "invalid_grant"


# -- item 11: client_secret_basic with a secret that form-encoding changes -----------

SECRET = "s3cr:t+/ %&=x"


def _basic(header: str) -> str:
    assert header.startswith("Basic ")
    return b64decode(header.removeprefix("Basic ")).decode()


def test_basic_auth_in_both_forms() -> None:
    assert _basic(basic_auth_header("app", SECRET)) == "app:s3cr%3At%2B%2F%20%25%26%3Dx"
    assert _basic(basic_auth_header("app", SECRET, form_encoded=False)) == f"app:{SECRET}"
    request = httpx2.Request("POST", TOKEN_URL)
    flow = client_secret_basic("app", SECRET, form_encoded=False).auth_flow(request)
    assert _basic(next(flow).headers["Authorization"]) == f"app:{SECRET}"
    headers: dict[str, str] = {}

    class Client:
        client_id, client_secret = "app", SECRET

    basic_encoder(form_encoded=False)(Client(), "client_secret_basic", TOKEN_URL, headers, "")
    assert _basic(headers["Authorization"]) == f"app:{SECRET}"


@pytest.mark.parametrize(
    ("client_id", "secret", "changes"),
    [
        ("app", SECRET, True),
        ("app", "plain-Secret_0.9~", False),
        ("my app", "plain", True),
        ("app", "sécret", True),
    ],
)
def test_whether_form_encoding_changes_the_credentials(
    client_id: str, secret: str, changes: bool
) -> None:
    assert form_encoding_changes(client_id, secret) is changes


def _unencoded_only(request: httpx2.Request) -> httpx2.Response:
    """A provider (glewlwyd, idpyoidc) that compares the Basic password unencoded."""
    if _basic(request.headers.get("Authorization", "Basic ")) == f"app:{SECRET}":
        return httpx2.Response(200, json={"access_token": "AT2", "token_type": "Bearer"})
    return httpx2.Response(401, json={"error": "invalid_client"})


async def test_a_refused_encoded_secret_is_worth_one_unencoded_try() -> None:
    client = AsyncOAuth2Client(
        client_id="app", client_secret=SECRET, transport=httpx2.MockTransport(_unencoded_only)
    )
    client.register_compliance_hook("refresh_token_response", check_token_response)
    try:
        with pytest.raises(Exception) as caught:
            await client.refresh_token(
                TOKEN_URL, refresh_token="RT1", auth=client_secret_basic("app", SECRET)
            )
        error = translate_error(caught.value, url=TOKEN_URL, operation="refresh")
        assert client_refused(error)
        assert retry_with_unencoded_basic(
            error, method="client_secret_basic", client_id="app", client_secret=SECRET
        )
        token = await client.refresh_token(
            TOKEN_URL,
            refresh_token="RT1",
            auth=client_secret_basic("app", SECRET, form_encoded=False),
        )
        assert token["access_token"] == "AT2"
    finally:
        await client.aclose()


def test_no_second_try_where_it_cannot_help() -> None:
    refused = ClientAuthError("refused", error="invalid_client")
    kwargs = {"client_id": "app", "client_secret": SECRET}
    assert not retry_with_unencoded_basic(refused, method="client_secret_post", **kwargs)
    assert not retry_with_unencoded_basic(
        refused, method="client_secret_basic", client_id="app", client_secret="plain"
    )
    not_allowed = ClientAuthError("no", error="unauthorized_client")
    assert not client_refused(not_allowed)
    assert not retry_with_unencoded_basic(not_allowed, method="client_secret_basic", **kwargs)
    gone = NeedsSignInError("gone", error="invalid_grant")
    assert not retry_with_unencoded_basic(gone, method="client_secret_basic", **kwargs)


# -- item 12: which client authentication may revoke --------------------------------


def _metadata(**extra: object) -> dict[str, object]:
    return {
        "issuer": "https://idp.example",
        "authorization_endpoint": "https://idp.example/auth",
        "token_endpoint": TOKEN_URL,
        "revocation_endpoint": "https://idp.example/oauth/revoke",
        **extra,
    }


def test_revocation_auth_methods_are_read_from_the_metadata() -> None:
    listed = provider_from_metadata(
        "https://idp.example",
        _metadata(
            revocation_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"]
        ),
        document_url="https://idp.example/.well-known/openid-configuration",
    )
    supported = listed.revocation_endpoint_auth_methods_supported
    assert supported == ("client_secret_basic", "client_secret_post")
    assert can_revoke_with("client_secret_post", supported)
    assert not can_revoke_with("none", supported)  # a public client cannot revoke there


def test_without_the_list_only_client_secret_basic_may_revoke() -> None:
    found = provider_from_metadata(
        "https://idp.example", _metadata(), document_url="https://idp.example/.well-known/x"
    )
    supported = found.revocation_endpoint_auth_methods_supported
    assert supported == ()
    assert can_revoke_with("client_secret_basic", supported)  # RFC 8414 §2 default
    assert not can_revoke_with("client_secret_post", supported)
    assert can_revoke_with("none", ("none",))


def _encoded(body: bytes, encoding: str) -> bytes:
    import gzip
    import zlib

    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "deflate":
        return zlib.compress(body)
    squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)  # raw deflate, as some servers send
    return squeezer.compress(body) + squeezer.flush()


async def _post_through_limit(content: bytes, encoding: str, limit: int) -> httpx2.Response:
    async def streamed() -> AsyncIterator[bytes]:  # as a real server's body arrives
        for start in range(0, len(content), 65536):
            yield content[start : start + 65536]

    def reply(request: httpx2.Request) -> httpx2.Response:
        assert request.headers["Accept-Encoding"] == "gzip, deflate"
        name = "deflate" if encoding == "raw" else encoding
        return httpx2.Response(200, content=streamed(), headers={"Content-Encoding": name})

    inner = httpx2.AsyncClient(transport=httpx2.MockTransport(reply))
    shared = SharedTransport(inner, limits=ResponseLimits(token=limit))
    async with httpx2.AsyncClient(transport=shared) as client:
        return await client.post(TOKEN_URL, data={"grant_type": "refresh_token"})


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw"])
async def test_a_compressed_answer_is_decoded_within_the_limit(encoding: str) -> None:
    body = b'{"access_token": "AT2", "token_type": "Bearer"}'
    response = await _post_through_limit(_encoded(body, encoding), encoding, MIB)
    assert response.json()["access_token"] == "AT2"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compression_bomb_stops_at_the_limit(encoding: str) -> None:
    bomb = _encoded(b" " * (200 * MIB), encoding)  # about 200 KB on the wire
    assert len(bomb) < MIB
    with pytest.raises(ResponseTooLargeError):
        await _post_through_limit(bomb, encoding, MIB)
