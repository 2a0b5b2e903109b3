"""The password shortcut sends the password only to the authorization endpoint's origin,
over https unless it is loopback (issue 15, finding 1). Each test is the attack: a fake
provider on loopback that points the form or a redirect elsewhere, and a catcher server
on another port (another origin) that must receive nothing."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl

import httpx2
import pytest

from ringplus_tui.oauth.password import PasswordSignInError, follow_password_sign_in
from tests.helpers.security_fakes import FakeServer, Reply, Seen

PASSWORD = "alice-pass-9d1f"
CALLBACK = "http://127.0.0.1:1/callback"
"""The app's redirect URI: never contacted, only recognised."""


def login_page(action: str) -> Reply:
    return Reply(
        200,
        f'<form method="post" action="{action}"><input type="hidden" name="csrf" value="t">'
        '<input name="email"><input type="password" name="password">'
        "<button>Sign in</button></form>",
    )


@pytest.fixture
def catcher() -> Iterator[FakeServer]:
    """Another origin (same host, another port): must never be contacted."""
    with FakeServer(lambda seen: Reply(200, "thanks")) as server:
        yield server


async def walk(url: str) -> str:
    async with httpx2.AsyncClient(follow_redirects=False, timeout=10) as client:
        return await follow_password_sign_in(client, url, CALLBACK, "alice@example.com", PASSWORD)


async def test_a_form_posting_to_another_origin_gets_nothing(catcher: FakeServer) -> None:
    with (
        FakeServer(lambda seen: login_page(f"{catcher.base_url}/steal")) as provider,
        pytest.raises(PasswordSignInError, match=rf"127\.0\.0\.1:{catcher.port}") as caught,
    ):
        await walk(f"{provider.base_url}/authorize")
    assert "nothing was sent" in caught.value.message
    assert catcher.seen == []
    assert all(PASSWORD.encode() not in seen.body for seen in provider.seen)


@pytest.mark.parametrize("status", [302, 303, 307, 308])
async def test_a_redirect_to_another_origin_after_the_form_gets_nothing(
    catcher: FakeServer, status: int
) -> None:
    def provider_pages(seen: Seen) -> Reply:
        if seen.method == "GET":
            return login_page("/login")
        return Reply(status, "", {"Location": f"{catcher.base_url}/login"})

    with (
        FakeServer(provider_pages) as provider,
        pytest.raises(PasswordSignInError, match=rf"127\.0\.0\.1:{catcher.port}"),
    ):
        await walk(f"{provider.base_url}/authorize")
    assert catcher.seen == []  # a 307/308 would have re-sent the password there


async def test_a_redirect_to_another_origin_before_the_form_gets_nothing(
    catcher: FakeServer,
) -> None:
    with (
        FakeServer(
            lambda seen: Reply(302, "", {"Location": f"{catcher.base_url}/authorize?x=1"})
        ) as provider,
        pytest.raises(PasswordSignInError, match="redirect leads to"),
    ):
        await walk(f"{provider.base_url}/authorize")
    assert catcher.seen == []


async def test_a_307_on_the_same_origin_resends_the_form_and_the_callback_is_not_followed() -> None:
    def provider_pages(seen: Seen) -> Reply:
        if seen.method == "GET":
            return login_page("/login")
        if seen.path == "/login":
            return Reply(307, "", {"Location": "/login-again"})
        return Reply(302, "", {"Location": f"{CALLBACK}?code=c0de&state=s"})

    with FakeServer(provider_pages) as provider:
        redirected = await walk(f"{provider.base_url}/authorize")
    assert redirected == f"{CALLBACK}?code=c0de&state=s"
    resent = provider.seen[-1]
    assert resent.method == "POST" and resent.path == "/login-again"
    assert dict(parse_qsl(resent.body.decode()))["password"] == PASSWORD


def _mock(pages: dict[str, httpx2.Response], sent: list[httpx2.Request]) -> httpx2.MockTransport:
    def answer(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return pages.get(str(request.url), httpx2.Response(404))

    return httpx2.MockTransport(answer)


def _html(body: str) -> httpx2.Response:
    return httpx2.Response(200, text=body, headers={"content-type": "text/html"})


FORM = (
    '<form method="post" action="{}"><input name="email"><input type="password" name="pw"></form>'
)


async def test_a_plain_http_sign_in_page_that_is_not_loopback_gets_no_password() -> None:
    sent: list[httpx2.Request] = []
    pages = {"http://id.example/authorize": _html(FORM.format("/login"))}
    async with httpx2.AsyncClient(transport=_mock(pages, sent)) as client:
        with pytest.raises(PasswordSignInError, match=r"plain http.*nothing was sent"):
            await follow_password_sign_in(
                client, "http://id.example/authorize", CALLBACK, "a@example.com", PASSWORD
            )
    assert all(PASSWORD.encode() not in request.content for request in sent)


@pytest.mark.parametrize(
    "action", ["http://id.example/login", "https://id.example:8443/login", "https://evil.example/"]
)
async def test_an_https_sign_in_form_posting_elsewhere_gets_no_password(action: str) -> None:
    sent: list[httpx2.Request] = []
    pages = {"https://id.example/authorize": _html(FORM.format(action))}
    async with httpx2.AsyncClient(transport=_mock(pages, sent)) as client:
        with pytest.raises(PasswordSignInError, match="sign-in form leads to"):
            await follow_password_sign_in(
                client, "https://id.example/authorize", CALLBACK, "a@example.com", PASSWORD
            )
    assert [request.method for request in sent] == ["GET"]


async def test_a_tls_proxy_downgrading_the_redirect_to_http_gets_no_password() -> None:
    sent: list[httpx2.Request] = []
    pages = {
        "https://id.example/authorize": httpx2.Response(
            302, headers={"location": "http://id.example/login"}
        ),
        "http://id.example/login": _html(FORM.format("/login")),
    }
    async with httpx2.AsyncClient(transport=_mock(pages, sent)) as client:
        with pytest.raises(PasswordSignInError, match=r"http://id\.example"):
            await follow_password_sign_in(
                client, "https://id.example/authorize", CALLBACK, "a@example.com", PASSWORD
            )
    assert [str(request.url) for request in sent] == ["https://id.example/authorize"]
