"""The catalogue, service part: one case per entry of shared bad-inputs.md (numbered as
there), and per kind of fault in issue 4. Each asserts the message a person sees, and that
what was stored is unchanged unless the operation succeeded.

Real parts throughout (the sandbox on loopback, the real service; secrets in memory); HTTPX's
transport hook only for faults a real server cannot produce. The keyring cases are in
``tests/contract/test_keyring_faults.py``, the app's in ``tests/tui/test_bad_inputs_tui.py``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import httpx2
import pytest

from ringplus_tui.core.errors import (
    AccessDeniedError,
    ConfigError,
    NetworkError,
    RedirectMismatchError,
    StateMismatchError,
    TokenEndpointError,
)
from ringplus_tui.core.models import Account
from ringplus_tui.core.status import TokenStatus, refresh_due, token_status
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import access_token_key, refresh_token_key
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.bad_inputs import open_service, point_token_endpoint, stored
from tests.helpers.faults import on_grant
from tests.helpers.flows import browse, prepare, sign_in

# -- 1. error=access_denied in the pasted URL -----------------------------------------


@pytest.mark.parametrize(
    "extra",
    ["", "&error_uri=https%3A%2F%2Fprovider.example%2Fdocs", "NOSTATE"],
)
async def test_01_access_denied_makes_no_token_request(
    service: OAuthService, sandbox: Sandbox, extra: str
) -> None:
    await prepare(service, sandbox)
    pending = await service.start_authorization("alice")
    state = "" if extra == "NOSTATE" else f"&state={pending.state}"
    url = (
        f"{sandbox.redirect_uri}?error=access_denied"
        f"&error_description=The+resource+owner+denied+the+request{state}"
        + ("" if extra == "NOSTATE" else extra)
    )
    with pytest.raises(AccessDeniedError) as caught:
        await service.complete_authorization(url)
    assert caught.value.message.startswith(
        "The provider did not grant access (access_denied): The resource owner denied the request."
    )
    assert sandbox.token_requests == []


# -- 2. a foreign state --------------------------------------------------------------


async def test_02_foreign_state_is_refused_and_the_pending_sign_in_stays_open(
    service: OAuthService, sandbox: Sandbox
) -> None:
    await prepare(service, sandbox)
    pending = await service.start_authorization("alice")
    with pytest.raises(StateMismatchError, match="does not belong to a sign-in started here"):
        await service.complete_authorization(f"{sandbox.redirect_uri}?code=C0DE&state=ATTACKER")
    assert sandbox.token_requests == []
    account = await service.complete_authorization(await browse(pending.authorization_url))
    assert account.signed_in


# -- 3. state lost between starting and pasting --------------------------------------


async def test_03a_sign_in_survives_a_restart(
    config_dir: Path, secret_store, sandbox: Sandbox
) -> None:
    async with open_service(config_dir, secret_store) as (first, _):
        await prepare(first, sandbox)
        pending = await first.start_authorization("alice")
    redirected = await browse(pending.authorization_url)
    async with open_service(config_dir, secret_store) as (restarted, _):
        account = await restarted.complete_authorization(redirected)
    assert account.signed_in


async def test_03b_url_of_a_before_b_goes_to_a(service: OAuthService, sandbox: Sandbox) -> None:
    await prepare(service, sandbox, "a")
    await service.add_account("b", "sandbox")
    first = await service.start_authorization("a")
    await service.start_authorization("b")
    assert (await service.complete_authorization(await browse(first.authorization_url))).name == "a"


async def test_03c_a_new_sign_in_replaces_the_first_and_only_the_latest_completes(
    service: OAuthService, sandbox: Sandbox
) -> None:
    """One pending sign-in per account (the TUI and the command line alike): the URL of a
    sign-in that was started over is refused, with nothing changed, and the latest works."""
    await prepare(service, sandbox)
    first = await service.start_authorization("alice")
    latest = await service.start_authorization("alice")
    with pytest.raises(StateMismatchError) as caught:
        await service.complete_authorization(await browse(first.authorization_url))
    assert "Start the sign-in again" in caught.value.message
    assert not service.settings.account("alice").signed_in
    assert (await service.complete_authorization(await browse(latest.authorization_url))).signed_in


# -- 4. garbled pastes, and a truncated code ------------------------------------------


async def test_04_truncated_code_is_rejected_and_a_working_token_is_kept(
    service: OAuthService, sandbox: Sandbox, secret_store, config_dir: Path
) -> None:
    await sign_in(service, sandbox)
    before = stored(config_dir, secret_store)
    pending = await service.start_authorization("alice")
    redirected = await browse(pending.authorization_url)
    code = redirected.split("code=")[1].split("&")[0]
    truncated = redirected.replace(code, code[:-1])
    with pytest.raises(TokenEndpointError) as caught:
        await service.complete_authorization(f'  "{truncated}"  '.replace("&", "&amp;"))
    assert caught.value.title == "Code rejected"
    assert "start the sign-in again" in caught.value.message
    assert stored(config_dir, secret_store)[1:] == before[1:]


# -- 7. the redirect URI must match byte for byte -------------------------------------


async def test_07_the_same_redirect_uri_goes_to_both_requests(
    config_dir: Path, secret_store, sandbox: Sandbox
) -> None:
    async with open_service(config_dir, secret_store, rule=lambda r: None) as (service, wire):
        await prepare(service, sandbox)
        pending = await service.start_authorization("alice")
        await service.complete_authorization(await browse(pending.authorization_url))
    exchange = next(r for r in wire.requests if b"grant_type=authorization_code" in r.content)
    sent = httpx2.QueryParams(exchange.content.decode())["redirect_uri"]
    asked = httpx2.URL(pending.authorization_url).params["redirect_uri"]
    assert sent == asked == sandbox.redirect_uri


async def test_07_provider_redirect_error_is_shown_verbatim(
    config_dir: Path, secret_store, sandbox: Sandbox
) -> None:
    reply = httpx2.Response(
        400,
        json={
            "error": "invalid_grant",
            "error_description": "The redirect URI included is not valid.",
        },
    )
    async with open_service(
        config_dir, secret_store, rule=on_grant("authorization_code", reply)
    ) as (service, _):
        await prepare(service, sandbox)
        pending = await service.start_authorization("alice")
        with pytest.raises(TokenEndpointError) as caught:
            await service.complete_authorization(await browse(pending.authorization_url))
    assert "The redirect URI included is not valid." in caught.value.message


@pytest.mark.parametrize("variant", ["/callback/", "/other"])
async def test_07_a_redirect_to_another_path_is_refused(
    service: OAuthService, sandbox: Sandbox, variant: str
) -> None:
    await prepare(service, sandbox)
    pending = await service.start_authorization("alice")
    url = f"{sandbox.base_url}{variant}?code=C0DE&state={pending.state}"
    with pytest.raises(RedirectMismatchError, match="path"):
        await service.complete_authorization(url)


# -- 8-10, 14, 17: token endpoint answers, through the code exchange and the refresh ------


BAD_ANSWERS = {
    "8 error JSON with 200": (
        httpx2.Response(
            200, json={"error": "bad_verification_code", "error_description": "The code is wrong."}
        ),
        TokenEndpointError,
        "The code is wrong.",
    ),
    "9 200 without access_token": (
        httpx2.Response(200, json={"message": "ok", "data": {"token": "AT1", "ttl": 86400}}),
        TokenEndpointError,
        "no access token",
    ),
    "10 400 HTML": (
        httpx2.Response(
            400, text="<html><body>Bad Request</body></html>", headers={"content-type": "text/html"}
        ),
        TokenEndpointError,
        "HTTP 400",
    ),
    "10 429 Retry-After": (
        httpx2.Response(429, text="Too Many Requests", headers={"Retry-After": "30"}),
        NetworkError,
        "HTTP 429",
    ),
    "10 502 HTML": (
        httpx2.Response(
            502, text="<html>Bad gateway</html>", headers={"content-type": "text/html"}
        ),
        NetworkError,
        "HTTP 502",
    ),
    "10 200 plain text": (
        httpx2.Response(200, text="OK", headers={"content-type": "text/plain"}),
        TokenEndpointError,
        "not a JSON token response",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ANSWERS))
async def test_bad_refresh_answers_keep_everything(
    config_dir: Path, secret_store, sandbox: Sandbox, case: str
) -> None:
    reply, kind, words = BAD_ANSWERS[case]
    async with open_service(config_dir, secret_store, rule=on_grant("refresh_token", reply)) as (
        service,
        _,
    ):
        await sign_in(service, sandbox)
        before = stored(config_dir, secret_store)
        with pytest.raises(kind) as caught:
            await service.refresh("alice")
        assert words in caught.value.message
        assert stored(config_dir, secret_store) == before
        if case == "10 429 Retry-After":
            assert caught.value.retry_after == 30  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", list(BAD_ANSWERS))
async def test_bad_code_exchange_answers_store_nothing(
    config_dir: Path, secret_store, sandbox: Sandbox, case: str
) -> None:
    reply, kind, words = BAD_ANSWERS[case]
    async with open_service(
        config_dir, secret_store, rule=on_grant("authorization_code", reply)
    ) as (service, _):
        await prepare(service, sandbox)
        pending = await service.start_authorization("alice")
        with pytest.raises(kind) as caught:
            await service.complete_authorization(await browse(pending.authorization_url))
        assert words in caught.value.message
        assert secret_store.get(access_token_key("alice")) is None
        assert not service.settings.accounts["alice"].signed_in


async def test_10_form_encoded_token_answer_is_read(
    config_dir: Path, secret_store, sandbox: Sandbox
) -> None:
    reply = httpx2.Response(
        200,
        text="access_token=AT-FORM-0123456789&token_type=bearer&expires_in=86400",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    async with open_service(config_dir, secret_store, rule=on_grant("refresh_token", reply)) as (
        service,
        _,
    ):
        await sign_in(service, sandbox)
        refresh_before = secret_store.get(refresh_token_key("alice"))
        await service.refresh("alice")
        assert secret_store.get(access_token_key("alice")) == "AT-FORM-0123456789"
        assert secret_store.get(refresh_token_key("alice")) == refresh_before


@pytest.mark.parametrize(
    ("refresh", "kept"),
    [
        ({}, True),
        ({"refresh_token": None}, True),
        ({"refresh_token": ""}, True),
        ({"refresh_token": "RT2-NEW-0123456789"}, False),
    ],
)
async def test_14_refresh_answer_without_a_usable_refresh_token_keeps_the_old_one(
    config_dir: Path, secret_store, sandbox: Sandbox, refresh: dict, kept: bool
) -> None:
    body = {
        "access_token": "AT2-0123456789",
        "token_type": "bearer",
        "expires_in": 86400,
        **refresh,
    }
    reply = httpx2.Response(200, json=body)
    async with open_service(config_dir, secret_store, rule=on_grant("refresh_token", reply)) as (
        service,
        _,
    ):
        await sign_in(service, sandbox)
        old = secret_store.get(refresh_token_key("alice"))
        await service.refresh("alice")
        await service.refresh("alice")  # a second refresh still has a refresh token
        assert secret_store.get(access_token_key("alice")) == "AT2-0123456789"
        assert secret_store.get(refresh_token_key("alice")) == (
            old if kept else "RT2-NEW-0123456789"
        )


async def test_17_narrower_or_odd_scope_is_accepted_and_shown(
    config_dir: Path, secret_store, sandbox: Sandbox
) -> None:
    reply = httpx2.Response(
        200, json={"access_token": "AT-0123456789", "token_type": "BEARER", "scope": "read,openid"}
    )
    async with open_service(config_dir, secret_store, rule=on_grant("refresh_token", reply)) as (
        service,
        _,
    ):
        await sign_in(service, sandbox)
        account = await service.refresh("alice")
    assert account.scope == ("read", "openid")
    assert account.token_type == "BEARER"
    assert account.lifetime_assumed  # no expires_in: RingPlus's 24 hours, marked assumed


# -- 11-13: expiry -----------------------------------------------------------------------


def test_12_zero_lifetime_is_expired_and_due_now() -> None:
    now = 1_000_000.0
    account = Account(name="a", app="x", expires_at=now, obtained_at=now, has_refresh_token=True)
    assert token_status(account, now) == TokenStatus.EXPIRED
    assert refresh_due(account, now)


def test_13_a_record_without_expires_at_is_never_taken_as_fresh() -> None:
    account = Account(name="a", app="x", obtained_at=0.0, has_refresh_token=True)
    assert token_status(account, 1.0) == TokenStatus.EXPIRED
    assert refresh_due(account, 1.0)


# -- 15, 16: persisting rotated refresh tokens; concurrent refreshes -------------------------


async def test_15_a_rotated_refresh_token_survives_a_restart(
    config_dir: Path, secret_store, rotating_sandbox: Sandbox
) -> None:
    async with open_service(config_dir, secret_store) as (first, _):
        await sign_in(first, rotating_sandbox)
        await first.refresh("alice")
    async with open_service(config_dir, secret_store) as (restarted, _):
        assert (await restarted.refresh("alice")).signed_in  # the old RT is revoked


async def test_16_two_instances_refreshing_at_once_send_one_request(
    config_dir: Path, secret_store, rotating_sandbox: Sandbox
) -> None:
    async with open_service(config_dir, secret_store) as (first, _):
        await sign_in(first, rotating_sandbox)
        async with open_service(config_dir, secret_store) as (second, _):
            a, b = await asyncio.gather(first.refresh("alice"), second.refresh("alice"))
    assert a.expires_at == b.expires_at
    assert rotating_sandbox.token_requests.count("refresh_token") == 1
    assert not a.needs_sign_in and not b.needs_sign_in


# -- 18: insecure transport -------------------------------------------------------------


async def test_18_plain_http_endpoint_off_loopback_is_refused_before_any_request(
    service: OAuthService, sandbox: Sandbox, config_dir: Path
) -> None:
    await prepare(service, sandbox)
    point_token_endpoint(config_dir, "http://auth.example.test/oauth/token")
    await service.reload()
    with pytest.raises(ConfigError, match="must use https://"):
        await service.start_authorization("alice")


# -- 19, 22: timeouts, DNS and connection failures ---------------------------------------


async def test_19_timeout_during_code_exchange_names_host_and_limit_and_allows_a_retry(
    config_dir: Path, secret_store, sandbox: Sandbox
) -> None:
    failures = [httpx2.ReadTimeout("")]

    def rule(request: httpx2.Request):
        if b"grant_type=authorization_code" in request.content and failures:
            return failures.pop()
        return None

    async with open_service(config_dir, secret_store, rule=rule) as (service, _):
        await prepare(service, sandbox)
        pending = await service.start_authorization("alice")
        redirected = await browse(pending.authorization_url)
        with pytest.raises(NetworkError) as caught:
            await service.complete_authorization(redirected)
        host = httpx2.URL(sandbox.base_url).netloc.decode()
        assert f"{host} did not answer within 30 s (ReadTimeout)" in caught.value.message
        assert "submit the same URL again" in caught.value.message
        assert (await service.complete_authorization(redirected)).signed_in


async def test_22_dns_failure_is_temporary_and_changes_nothing(
    service: OAuthService, sandbox: Sandbox, secret_store, config_dir: Path
) -> None:
    await sign_in(service, sandbox)
    point_token_endpoint(config_dir, "https://nonexistent.invalid/oauth/token")
    await service.reload()
    before = stored(config_dir, secret_store)
    with pytest.raises(NetworkError, match=r"nonexistent\.invalid"):
        await service.refresh("alice")
    assert stored(config_dir, secret_store) == before


# -- 29-31: settings file -------------------------------------------------------------------


def test_31_a_datetime_in_the_settings_says_what_is_expected(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[accounts.a]\napp = "x"\nexpires_at = 2030-01-01T00:00:00Z\n'
    )
    with pytest.raises(ConfigError, match="expires_at must be UTC epoch seconds"):
        SettingsStore(tmp_path).load()


async def test_settings_edited_by_hand_into_invalid_toml_are_reported_not_overwritten(
    service: OAuthService, sandbox: Sandbox, config_dir: Path
) -> None:
    await sign_in(service, sandbox)
    broken = b"[apps.sandbox\nclient_id = 1\n"
    (config_dir / "config.toml").write_bytes(broken)
    with pytest.raises(ConfigError, match="line 1"):
        await service.reload()
    with pytest.raises(ConfigError):
        await service.refresh("alice")
    assert (config_dir / "config.toml").read_bytes() == broken


# -- 33: the clock ------------------------------------------------------------------------


async def test_33_clock_skew_in_the_date_header_is_warned_once(
    config_dir: Path, secret_store, sandbox: Sandbox
) -> None:
    skewed = time.time() + 3600

    async with open_service(config_dir, secret_store, clock=lambda: skewed) as (service, _):
        await sign_in(service, sandbox)  # the sandbox's Date is an hour behind this clock
        warning = service.take_clock_warning()
        assert warning and "60 minutes behind" in warning
        await service.refresh("alice")
        assert service.take_clock_warning() is None  # once


# -- 20, 21: proxies and TLS ----------------------------------------------------------------


async def test_20_proxy_from_the_environment_is_used(
    config_dir: Path, secret_store, sandbox: Sandbox, monkeypatch
) -> None:
    import http.server
    import threading

    seen: list[str] = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def forward(self) -> None:
            seen.append(self.path)
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in ("host", "proxy-connection")
            }
            with httpx2.Client(trust_env=False) as client:
                answer = client.request(self.command, self.path, content=body, headers=headers)
            self.send_response(answer.status_code)
            for key, value in answer.headers.items():
                if key.lower() not in (
                    "transfer-encoding",
                    "content-encoding",
                    "content-length",
                    "connection",
                ):
                    self.send_header(key, value)
            self.send_header("content-length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = forward

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with open_service(config_dir, secret_store) as (service, _):
            await prepare(service, sandbox)
            pending = await service.start_authorization("alice")
            await service.complete_authorization(await browse(pending.authorization_url))
            await service.refresh("alice")
    finally:
        server.shutdown()
    assert f"{sandbox.base_url}/oauth/token" in seen
    assert f"{sandbox.base_url}/users/me" in seen


def test_20_an_unusable_proxy_setting_warns_and_connects_directly(
    config_dir: Path, secret_store, monkeypatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    service = OAuthService(SettingsStore(config_dir), secret_store)
    warning = service.check_environment()
    assert warning and "ALL_PROXY" in warning
    asyncio.run(service.aclose())


async def test_21_tls_verification_failure_is_named_and_ssl_cert_file_is_honoured(
    config_dir: Path, secret_store, sandbox: Sandbox, tmp_path: Path, monkeypatch
) -> None:
    import datetime
    import http.server
    import ipaddress
    import json
    import ssl
    import threading

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ringplus-test-proxy")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    class Token(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = json.dumps(
                {"access_token": "AT-TLS-0123456789", "token_type": "bearer"}
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Token)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"https://127.0.0.1:{server.server_port}/oauth/token"
    try:
        async with open_service(config_dir, secret_store) as (service, _):
            await sign_in(service, sandbox)
        point_token_endpoint(config_dir, endpoint)
        async with open_service(config_dir, secret_store) as (service, _):
            with pytest.raises(NetworkError, match=r"TLS verification failed for 127\.0\.0\.1"):
                await service.refresh("alice")
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
        async with open_service(config_dir, secret_store) as (service, _):
            await service.refresh("alice")
        assert secret_store.get(access_token_key("alice")) == "AT-TLS-0123456789"
    finally:
        server.shutdown()


# -- kind 3: client authentication with reserved and non-ASCII characters -------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_client_credentials_with_reserved_and_non_ascii_characters(
    config_dir: Path, secret_store, method: str
) -> None:
    with Sandbox(client_id="app:1 ü/+", client_secret="p@ss:wörd/+&=% ∑") as odd:
        app = odd.demo_app()
        app = replace(app, provider=replace(app.provider, token_endpoint_auth_method=method))
        async with open_service(config_dir, secret_store) as (service, _):
            await service.save_app(app, odd.client_secret)
            await service.add_account("alice", "sandbox")
            pending = await service.start_authorization("alice")
            await service.complete_authorization(await browse(pending.authorization_url))
            assert (await service.refresh("alice")).signed_in
